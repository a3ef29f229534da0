"""Three Docker hosts on this machine (tests/multihost/swarmlab.py), joined by a Swarm overlay (issue 14).

Brings three hosts up, copies the node image into each, runs one container per host on an attachable overlay,
shows that they reach each other and that the traffic crosses between the hosts, stops one host and brings
it back, then tears everything down and checks that nothing of the harness is left and that the machine's
own engine (containers, networks) and its iptables are as they were. Prints the figures (times, memory per
host) and writes them to build/swarmlab/figures-<name>.json.

Not in ``make test``: run it alone with ``make swarm-tier`` (about a minute and a half on 2 cores).
"""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "multihost"))
import swarmlab  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = [pytest.mark.docker, pytest.mark.swarm, pytest.mark.slow]

NAME = "sfswt"
NODE_IMAGE = "seedfate/seedemu-node:bookworm"
OVERLAY = NAME + "-ov"
OVERLAY_SUBNET = "10.137.0.0/24"
FIGURES = {}


def ip_of(i):
    return "10.137.0.1%d" % i


def machine_engine():
    """What must not change on the machine: its engine's containers and networks, and its iptables rules."""
    def lines(cmd):
        return sorted(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split("\n"))
    rules = [re.sub(r"\[\d+:\d+\]", "", line) for line in lines(["iptables-save"]) if not line.startswith("#")]
    return {
        "containers": lines(["docker", "-H", swarmlab.MACHINE_ENGINE, "ps", "-aq", "--no-trunc"]),
        "networks": lines(["docker", "-H", swarmlab.MACHINE_ENGINE, "network", "ls", "-q", "--no-trunc"]),
        "iptables": sorted(rules),
    }


def machine_subnets():
    ids = subprocess.run(["docker", "-H", swarmlab.MACHINE_ENGINE, "network", "ls", "-q"], capture_output=True,
                         text=True, check=True).stdout.split()
    out = subprocess.run(["docker", "-H", swarmlab.MACHINE_ENGINE, "network", "inspect", "--format",
                          "{{range .IPAM.Config}}{{.Subnet}} {{end}}"] + ids,
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def wait_for(what, probe, timeout=90, step=0.2):
    """Seconds until probe() is true; fails the test after timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if probe():
            return time.monotonic() - start
        time.sleep(step)
    pytest.fail("%s: not within %ds" % (what, timeout))


def ping(lab, src, dst_ip, count=1, size=56, check=False):
    proc = lab.docker(src, "exec", "%s-c%d" % (NAME, src), "ping", "-c", str(count), "-i", "0.2", "-W", "1",
                      "-s", str(size), dst_ip, check=False, timeout=60)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.returncode == 0


@pytest.fixture(scope="module")
def before():
    return machine_engine()


@pytest.fixture(scope="module")
def lab(before):  # pylint: disable=redefined-outer-name,unused-argument
    lab = swarmlab.Lab(NAME, 3)
    lab.down()  # whatever an interrupted run left
    start = time.monotonic()
    times = lab.up([NODE_IMAGE])
    FIGURES["up_total_s"] = time.monotonic() - start
    FIGURES["images_copied"] = times.pop("images_copied")
    FIGURES.update({"up_%s_s" % k: v for k, v in times.items()})
    yield lab
    lab.down()


def test_overlay_across_hosts(lab):  # pylint: disable=redefined-outer-name
    assert not [s for s in machine_subnets() if s.startswith("10.137.")], "10.137.0.0/24 is taken on the machine"
    assert {h: s for h, (s, _a) in lab.swarm_nodes().items()} == {n["hostname"]: "ready" for n in lab.nodes()}
    start = time.monotonic()
    lab.docker(1, "network", "create", "-d", "overlay", "--attachable", "--subnet", OVERLAY_SUBNET, OVERLAY)
    for node in lab.nodes():
        i = node["index"]
        # --init: the container stops at once when its host's daemon goes away; --restart: it comes back with it.
        lab.docker(i, "run", "-d", "--init", "--restart", "always", "--name", "%s-c%d" % (NAME, i),
                   "--network", OVERLAY, "--ip", ip_of(i), NODE_IMAGE, "sleep", "infinity")
        assert lab.docker(i, "inspect", "--format", "{{.Config.Hostname}} {{.State.Running}}",
                          "%s-c%d" % (NAME, i)).stdout.split()[1] == "true"
    FIGURES["overlay_and_3_containers_s"] = time.monotonic() - start
    # Every host reaches every other over the overlay, by address and by name.
    for src in (1, 2, 3):
        for dst in (1, 2, 3):
            if src != dst:
                wait_for("c%d -> c%d" % (src, dst), lambda s=src, d=dst: ping(lab, s, ip_of(d)), timeout=30)
    proc = lab.docker(3, "exec", NAME + "-c3", "ping", "-c", "1", "-W", "2", NAME + "-c1", check=False)
    assert proc.returncode == 0 and ip_of(1) in proc.stdout, proc.stdout + proc.stderr
    # The traffic really crosses between the hosts: VXLAN packets arrive at host 3 and its link to the hub
    # carries the payload both ways.
    for i in (1, 3):
        lab.count_vxlan(i, "swarmlab-vxlan")
    rx0, tx0 = lab.veth_bytes(3)
    vx0 = lab.vxlan_packets(3, "swarmlab-vxlan")
    ping(lab, 1, ip_of(3), count=20, size=1200, check=True)
    rx1, tx1 = lab.veth_bytes(3)
    vx1 = lab.vxlan_packets(3, "swarmlab-vxlan")
    FIGURES["host3_link_bytes_during_20x1200B_ping"] = {"rx": rx1 - rx0, "tx": tx1 - tx0}
    FIGURES["host3_vxlan_packets_in"] = vx1 - vx0
    assert vx1 - vx0 >= 20
    assert rx1 - rx0 >= 20 * 1200 and tx1 - tx0 >= 20 * 1200
    FIGURES["memory_mib"] = {n["hostname"]: lab.memory(n["index"]) for n in lab.nodes()}
    FIGURES["data_roots_mib"] = lab.storage_mib()


def test_host_stopped_and_back(lab):  # pylint: disable=redefined-outer-name
    host3 = lab.node(3)["hostname"]
    start = time.monotonic()
    assert lab.stop_node(3)
    FIGURES["host3_daemon_stop_s"] = time.monotonic() - start
    assert not lab.answers(3)
    FIGURES["host3_marked_down_after_s"] = FIGURES["host3_daemon_stop_s"] + wait_for(
        "host 3 marked down", lambda: lab.swarm_nodes()[host3][0] == "down", timeout=60, step=0.5)
    assert not ping(lab, 1, ip_of(3)), "host 3 is stopped but its container still answers"
    start = time.monotonic()
    assert lab.start_node(3)
    FIGURES["host3_daemon_start_s"] = time.monotonic() - start
    FIGURES["host3_ready_after_start_s"] = wait_for(
        "host 3 ready again", lambda: lab.swarm_nodes()[host3][0] == "ready", timeout=60)
    FIGURES["overlay_back_after_start_s"] = wait_for(
        "c1 -> c3 again", lambda: ping(lab, 1, ip_of(3)), timeout=60, step=0.5)
    assert ping(lab, 3, ip_of(2)), "c3 does not reach c2 after the restart"


def test_teardown_leaves_nothing(lab, before):  # pylint: disable=redefined-outer-name
    start = time.monotonic()
    lab.down()
    FIGURES["down_s"] = time.monotonic() - start
    assert lab.leftovers() == []
    lab.down()  # a second time: nothing to do, nothing fails
    assert lab.leftovers() == []
    after = machine_engine()
    assert after["containers"] == before["containers"]
    assert after["networks"] == before["networks"]
    assert after["iptables"] == before["iptables"]
    figures = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in FIGURES.items()}
    swarmlab.STATE_DIR.mkdir(parents=True, exist_ok=True)
    (swarmlab.STATE_DIR / ("figures-%s.json" % NAME)).write_text(json.dumps(figures, indent=2) + "\n")
    print("\nswarm harness figures: " + json.dumps(figures, indent=2))
