# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Link properties for real (issue 12 item 3): latency, bandwidth and loss per network and per interface.

IX135 with 5 ms latency; AS63 (its router's IX interface limited to 8 Mbit/s), AS64 (nothing), AS65 (its
network limited to 4 Mbit/s with 0.5 % loss); one plain host ``probe`` in each AS; no FATE party.

* compile only (seedemu, no Docker): every node's /ifinfo.txt carries the properties; seedemu's own
  interface_setup script, run with stand-ins for ip/ipcalc/tc, issues ``tbf rate 8000000bit`` and ``netem delay
  5ms`` for router0 of AS63 and, adapted for a host without netem, the tbf line alone with the raised queue.
* playbooks/network.yml (Docker): iperf3 from AS63's probe to AS64's gets about 8 Mbit/s, the reverse direction
  (nothing shaped) many times more, AS63 to AS65 about 4 Mbit/s; the run names what it applied and what it
  refused, and latency shows in ping exactly when this host has netem (asked of seed.fate.host_capabilities).
  Everything is removed at the end (Lab/cleaned_up of test_network_seedemu: the project's containers, networks,
  guard rules and the images it built).

Numbers of its own: IX135, AS63-65 (10.135.0.0/24, 10.63-65.0.0/24); project sftest-links-<random>.
"""

import json
import os
import re
import stat
import subprocess
import time

import pytest

from test_network_seedemu import Lab, busy_subnets, cleaned_up, sh
from test_transit_seedemu import durations, took

pytestmark = [pytest.mark.seedemu]

RATE_63_IX, RATE_65_NET = 8e6, 4e6


def links_lab():
    return {
        "seedfate_topology": {
            "internet_exchanges": [{"id": 135, "latency": "5ms"}],
            "autonomous_systems": {
                63: {"networks": ["net0"], "hosts": ["probe"],
                     "routers": {"router0": ["net0", {"network": "ix135", "bandwidth": "8mbit"}]}},
                64: {"networks": ["net0"], "hosts": ["probe"], "routers": {"router0": ["net0", "ix135"]}},
                65: {"networks": [{"name": "net0", "bandwidth": "4mbit", "loss": 0.5}], "hosts": ["probe"],
                     "routers": {"router0": ["net0", "ix135"]}},
            },
            "peerings": [{"ix": 135, "route_server": [63, 64, 65]}],
        },
        "seedfate_parties": {},
    }


def model():
    from ansible_collections.seed.fate.plugins.module_utils import topology as topo
    lab = links_lab()
    return topo.normalize(lab["seedfate_topology"], lab["seedfate_parties"])


def node_file(output, node, container_path):
    """Text of the file a node's Dockerfile copies to ``container_path``."""
    folder = os.path.join(output, node)
    with open(os.path.join(folder, "Dockerfile")) as f:
        for line in f:
            m = re.match(r"^COPY\s+(\S+)\s+(\S+)\s*$", line.strip())
            if m and m.group(2) == container_path:
                with open(os.path.join(folder, m.group(1))) as g:
                    return g.read()
    raise AssertionError("%s copies nothing to %s" % (node, container_path))


STUBS = {
    # `ip -j addr`: the node's interfaces as docker gives them (eth0, eth1), with the addresses of ifinfo.txt.
    "ip": '#!/bin/bash\nif [ "$1" = "-j" ]; then cat "$STUB_DIR/addr.json"; fi\nexit 0\n',
    "ipcalc": '#!/bin/bash\nnet=$(python3 -c "import ipaddress,sys; print(ipaddress.ip_interface(sys.argv[1]).network)" "$2")\n'
              'echo "Network:   $net           "\n',
    "tc": '#!/bin/bash\necho "tc $*" >> "$STUB_DIR/tc.log"\n',
}


def run_interface_setup(tmp_path, script, ifinfo, addresses):
    """Run a node's /interface_setup (seedemu's script) with stand-ins for ip, ipcalc and tc; the tc lines it ran."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    for name, text in STUBS.items():
        (bindir / name).write_text(text)
        (bindir / name).chmod(stat.S_IRWXU)
    (tmp_path / "addr.json").write_text(json.dumps([
        {"ifname": "eth%d" % i, "addr_info": [{"local": a.split("/")[0], "prefixlen": int(a.split("/")[1])}]}
        for i, a in enumerate(addresses)]))
    (tmp_path / "ifinfo.txt").write_text(ifinfo)
    (tmp_path / "interface_setup").write_text(script)
    log = tmp_path / "tc.log"
    if log.exists():
        log.unlink()
    env = dict(os.environ, PATH="%s:%s" % (bindir, os.environ["PATH"]), STUB_DIR=str(tmp_path))
    proc = subprocess.run(["bash", str(tmp_path / "interface_setup")], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return log.read_text().splitlines() if log.exists() else []


def test_compiled_nodes_carry_the_link_properties_and_their_tc_lines(tmp_path):
    pytest.importorskip("seedemu")
    if not sh("which", "jq").stdout.strip():
        pytest.skip("jq is needed to run seedemu's interface_setup script")
    from ansible_collections.seed.fate.plugins.module_utils import host_compat as hc
    from ansible_collections.seed.fate.plugins.module_utils import seedemu_build as sb
    start = time.monotonic()
    out = sb.render_lab(model(), "sftest-links-compile", str(tmp_path)).output_dir
    print("links lab compile: %.1f s" % (time.monotonic() - start))

    ifinfo = dict((node, node_file(out, node, "/ifinfo.txt")) for node in
                  ("brdnode_63_router0", "brdnode_64_router0", "brdnode_65_router0", "hnode_65_probe", "rs_ix_ix135"))
    # latency:bandwidth(bit/s):loss per interface; the join's bandwidth keeps the IX's latency.
    assert "ix135:10.135.0.0/24:5:8000000:0" in ifinfo["brdnode_63_router0"].splitlines()
    assert "net0:10.63.0.0/24:0:0:0" in ifinfo["brdnode_63_router0"].splitlines()
    assert "ix135:10.135.0.0/24:5:0:0" in ifinfo["brdnode_64_router0"].splitlines()
    assert "net0:10.65.0.0/24:0:4000000:0.5" in ifinfo["brdnode_65_router0"].splitlines()
    assert ifinfo["hnode_65_probe"].split() == ["net0:10.65.0.0/24:0:4000000:0.5"]
    assert ifinfo["rs_ix_ix135"].split() == ["ix135:10.135.0.0/24:5:0:0"]

    script = node_file(out, "brdnode_63_router0", "/interface_setup")
    addresses = ["10.63.0.254/24", "10.135.0.63/24"]
    tc = run_interface_setup(tmp_path, script, ifinfo["brdnode_63_router0"], addresses)
    assert "tc qdisc add dev ix135 root handle 1:0 tbf rate 8000000bit buffer 1000000 limit 1000" in tc, tc
    assert "tc qdisc add dev ix135 parent 1:0 handle 10: netem delay 5ms loss 0%" in tc, tc

    # Adapted for a host without netem: the tbf line alone, with a queue that holds full-size packets.
    files = {"brdnode_63_router0/Dockerfile": "COPY setup /interface_setup\n", "brdnode_63_router0/setup": script}
    notes = hc.adapt_output(files, {"privileged": True, "dummy_link": True, "netem": False})
    assert notes and "netem is unavailable" in notes[0]
    tc = run_interface_setup(tmp_path, files["brdnode_63_router0/setup"], ifinfo["brdnode_63_router0"], addresses)
    assert tc == ["tc qdisc add dev net0 root handle 1:0 tbf rate 1000000000000bit buffer 1000000 limit 1000000",
                  "tc qdisc add dev ix135 root handle 1:0 tbf rate 8000000bit buffer 1000000 limit 1000000"], tc


def host_has_netem(capsys):
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.seed.fate.plugins.modules import host_capabilities as module
    with patch_module_args({}):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)["netem"]


def task_result(doc, name):
    for task in doc["plays"][0]["tasks"]:
        if task["task"]["name"].split(" : ")[-1].startswith(name) and "skipped" not in task["hosts"]["localhost"]:
            return task["hosts"]["localhost"]
    raise AssertionError("no task %r" % name)


def iperf(sender_address, receiver):
    """The steady rate in bit/s from ``sender_address`` (an iperf3 server) to container ``receiver``: the median of
    the receiver's one-second intervals after the first three (the client receives, -R). The test's total will not
    do, nor its first seconds: every tbf on the path has a 1 MB bucket (8 Mbit), so a 4 Mbit/s link fed by an
    8 Mbit/s one passes about 8 Mbit/s until its bucket is empty, which takes about 2 s; and its 1 MB queue still
    delivers after the sender stopped."""
    proc = sh("docker", "exec", receiver, "iperf3", "-c", sender_address, "-R", "-t", "8", "-J",
              "--connect-timeout", "3000")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    intervals = json.loads(proc.stdout)["intervals"][3:]
    rates = sorted(i["sum"]["bits_per_second"] for i in intervals if i["sum"]["seconds"] >= 0.5)
    assert len(rates) >= 4, intervals
    return rates[len(rates) // 2]


def avg_rtt_ms(src, dst_address):
    proc = sh("docker", "exec", src, "ping", "-c", "3", "-i", "0.2", "-W", "2", dst_address)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return float(re.search(r"= [\d.]+/([\d.]+)/", proc.stdout).group(1))


@pytest.mark.docker
def test_shaped_links_measured_and_refusals_reported(tmp_path, capsys):
    busy = busy_subnets({"10.135.0.0/24", "10.63.0.0/24", "10.64.0.0/24", "10.65.0.0/24"})
    if busy:
        pytest.skip("the links lab's subnets are in use (%s)" % ", ".join(busy))
    netem = host_has_netem(capsys)
    with cleaned_up(Lab(str(tmp_path), links_lab(), name="sftest-links"), tmp_path) as lab:
        start = time.monotonic()
        doc = lab.play()
        up = time.monotonic() - start
        compiled = task_result(doc, "Compile the emulated Internet with seedemu")
        report = compiled["link_properties"]
        said = task_result(doc, "Say which link properties were applied")["msg"]
        slowest = sorted(durations(doc).items(), key=lambda kv: -kv[1])[:5]
        print("links lab: slowest tasks %s" % ", ".join("%s %.1f s" % (k.split(" : ")[-1][:40], v) for k, v in slowest))
        print("links lab (netem %s): up in %.0f s (compile %.1f s, image build %.1f s, compose up %.1f s, BGP wait "
              "%.1f s); %s" % ("present" if netem else "absent", up, took(doc, "Compile the emulated Internet"),
                               took(doc, "Build the node images"), took(doc, "Start the emulated Internet"),
                               took(doc, "Wait until every BGP session"), said))
        assert said == compiled["link_properties_summary"]
        applied = sorted((a["where"], a["what"]) for a in report["applied"])
        refused = sorted((r["where"], r["what"]) for r in report["refused"])
        bandwidth = [("AS63 router0 on ix135", "bandwidth 8mbit"), ("AS65 net0", "bandwidth 4mbit")]
        netem_ones = [("AS65 net0", "loss 0.5%"), ("ix135", "latency 5ms")]
        if netem:
            assert applied == sorted(bandwidth + netem_ones) and refused == [], report
        else:
            assert applied == sorted(bandwidth) and refused == netem_ones, report
            assert all("netem" in r["reason"] for r in report["refused"]), report
            # The module warned (warnings come as text or as structured summaries, by ansible-core version).
            assert "latency 5ms on ix135 is not applied" in json.dumps(compiled.get("warnings", [])), compiled

        # The status view labels what the compiled (and adapted) project holds.
        from ansible_collections.seed.fate.plugins.module_utils import lab_status
        shape = lab_status.read_lab(lab.build)
        off = "" if netem else " (off: no netem)"
        assert shape["exchanges"][0]["link"] == "5ms" + off
        as63, _as64, as65 = shape["systems"]
        assert as65["networks"][0]["link"] == "4mbit, loss 0.5%" + off
        assert [i.get("label") for i in as63["routers"][0]["interfaces"]] == [None, "8mbit, 5ms" + off]

        p63, p64, p65 = (lab.container(asn, "probe") for asn in (63, 64, 65))
        a63, a64, a65 = (lab.address(c) for c in (p63, p64, p65))
        for server in (p63, p64):
            assert sh("docker", "exec", server, "iperf3", "-s", "-D").returncode == 0

        # Latency: 5 ms on each IX interface crossed, once each way - there only when netem is.
        rtt = avg_rtt_ms(p63, a64)
        shaped = iperf(a63, p64)
        unshaped = iperf(a64, p63)
        net_shaped = iperf(a63, p65)
        print("links lab: AS63->AS64 %.2f Mbit/s (limit 8), AS64->AS63 %.1f Mbit/s (no limit), AS63->AS65 %.2f Mbit/s "
              "(limit 4), rtt AS63-AS64 %.2f ms; total %.0f s"
              % (shaped / 1e6, unshaped / 1e6, net_shaped / 1e6, rtt, time.monotonic() - start))
        assert 0.75 * RATE_63_IX <= shaped <= 1.1 * RATE_63_IX, shaped
        assert unshaped >= 5 * RATE_63_IX, unshaped
        assert 0.75 * RATE_65_NET <= net_shaped <= 1.1 * RATE_65_NET, net_shaped
        if netem:
            assert rtt >= 9.5, rtt
        else:
            assert rtt < 5, rtt
        # cleaned_up takes the project down (compose down, the guard's rules, the images it built): quicker than
        # the role's own down, which test_network_seedemu covers.
