# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A transit AS with two routers between two IXes, for real (issue 12 items 1 and 4).

IX124 and IX125; transit AS240 with r1 at ix124 and r2 at ix125 and one internal network between them;
stubs AS241/242 at ix124 and AS243/244 at ix125, each a customer of AS240 (private peerings, provider
relationship); FATE parties in AS241 and AS243, a plain seedemu host ``probe`` in AS242 and AS244.

* compile only (seedemu, no Docker): AS240's routers get OSPF and iBGP, the stubs' routers neither;
  the testing switch SEEDFATE_TESTING_NO_IBGP=1 leaves iBGP out.
* playbooks/network.yml (Docker): the convergence wait passes (every party prefix in every party AS's
  routers), the probe in AS242 pings the probe in AS244 across r1 and r2 (four router hops); then the
  same lab recompiled without iBGP (the switch) fails the wait within a minute, naming the routers and the
  prefixes they lack. Everything is removed at the end (Lab/cleaned_up of test_network_seedemu).

Numbers of its own: IX124/125, AS240-244 (10.124.0.0/24, 10.125.0.0/24, 10.240-244.0.0/24).
"""

import os
import re
import time

import pytest

from test_network_seedemu import Lab, busy_subnets, cleaned_up, sh

pytestmark = [pytest.mark.seedemu]

LOOPBACKS = "10.0.0.0/24"


def stub(ix, **extra):
    return dict({"networks": ["net0"], "routers": {"router0": ["net0", "ix%d" % ix]}}, **extra)


def transit_lab():
    return {
        "seedfate_topology": {
            "internet_exchanges": [124, 125],
            "autonomous_systems": {
                240: {"networks": ["core"], "routers": {"r1": ["core", "ix124"], "r2": ["core", "ix125"]}},
                241: stub(124), 242: stub(124, hosts=["probe"]),
                243: stub(125), 244: stub(125, hosts=["probe"]),
            },
            "peerings": [{"ix": ix, "a": 240, "b": b, "relationship": "provider"}
                         for ix, b in ((124, 241), (124, 242), (125, 243), (125, 244))],
        },
        "seedfate_parties": {"1001": {"asn": 241}, "1002": {"asn": 243}},
    }


def model():
    from ansible_collections.seed.fate.plugins.module_utils import topology as topo
    lab = transit_lab()
    return topo.normalize(lab["seedfate_topology"], lab["seedfate_parties"])


def bird_conf(output, node):
    folder = os.path.join(output, node)
    texts = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            with open(path, errors="replace") as f:
                text = f.read()
            if "protocol kernel" in text or "protocol bgp" in text:
                texts.append(text)
    return "\n".join(texts)


def test_transit_program_has_ibgp_and_ospf_in_the_multi_router_as_only(tmp_path, monkeypatch):
    pytest.importorskip("seedemu")
    from ansible_collections.seed.fate.plugins.module_utils import seedemu_build as sb
    start = time.monotonic()
    out = sb.render_lab(model(), "sftest-transit-compile", str(tmp_path)).output_dir
    print("transit lab compile: %.1f s" % (time.monotonic() - start))
    r1, r2 = bird_conf(out, "brdnode_240_r1"), bird_conf(out, "brdnode_240_r2")
    for conf in (r1, r2):
        assert "protocol ospf ospf1" in conf and "protocol bgp ibgp1" in conf
        assert 'interface "core" { hello 1; dead count 2; }' in conf
    assert re.search(r"protocol bgp c_as241 .*?neighbor 10\.124\.0\.241 as 241", r1, re.S)
    assert re.search(r"protocol bgp c_as243 .*?neighbor 10\.125\.0\.243 as 243", r2, re.S)
    for stub in (241, 242, 243, 244):
        conf = bird_conf(out, "brdnode_%d_router0" % stub)
        assert "ospf" not in conf and "ibgp" not in conf, stub

    monkeypatch.setenv("SEEDFATE_TESTING_NO_IBGP", "1")
    no_ibgp = tmp_path / "no-ibgp"
    no_ibgp.mkdir()
    out = sb.render_lab(model(), "sftest-transit-compile", str(no_ibgp)).output_dir
    conf = bird_conf(out, "brdnode_240_r1")
    assert "protocol ospf ospf1" in conf and "ibgp" not in conf


def durations(doc):
    """{task name: seconds} of a run (ansible.posix.json callback)."""
    from datetime import datetime

    def at(text):
        return datetime.strptime(text.rstrip("Z")[:26], "%Y-%m-%dT%H:%M:%S.%f")
    out = {}
    for task in doc["plays"][0]["tasks"]:
        d = task["task"].get("duration") or {}
        if d.get("start") and d.get("end"):
            out[task["task"]["name"]] = out.get(task["task"]["name"], 0) + (at(d["end"]) - at(d["start"])).total_seconds()
    return out


def took(doc, name):
    """Seconds of the tasks whose name (after the role's "seed.fate.network : ") starts with ``name``."""
    return sum(v for k, v in durations(doc).items() if k.split(" : ")[-1].startswith(name))


def task_result(doc, name):
    for task in doc["plays"][0]["tasks"]:
        if task["task"]["name"].split(" : ")[-1].startswith(name) and "skipped" not in task["hosts"]["localhost"]:
            return task["hosts"]["localhost"]
    raise AssertionError("no task %r" % name)


WAIT = "Wait until every BGP session is Established and the parties' routes converged"


@pytest.mark.docker
@pytest.mark.slow
def test_transit_lab_converges_pings_across_and_a_broken_one_is_named(tmp_path):
    busy = busy_subnets({"10.124.0.0/24", "10.125.0.0/24"} | set("10.%d.0.0/24" % a for a in range(240, 245)))
    if busy:
        pytest.skip("the transit lab's subnets are in use (%s)" % ", ".join(busy))
    with cleaned_up(Lab(str(tmp_path), transit_lab(), name="sftest-transit"), tmp_path) as lab:
        start = time.monotonic()
        first = lab.play()
        print("transit lab: playbook %.0f s; compile %.1f s, image build %.1f s, compose up %.1f s, BGP + convergence "
              "wait %.1f s" % (time.monotonic() - start, took(first, "Compile the emulated Internet"),
                               took(first, "Build the node images"), took(first, "Start the emulated Internet"),
                               took(first, WAIT)))
        wait = task_result(first, WAIT)
        assert sorted(wait["route_targets"]) == sorted([lab.container(241, "router0"), lab.container(243, "router0")])
        assert wait["missing_routes"] == []
        # The wait did look at the routes: each party AS's router has the other party's prefix.
        routes = sh("docker", "exec", lab.container(241, "router0"), "ip", "-4", "route").stdout
        assert "10.243.0.0/24" in routes, routes

        # AS242's probe reaches AS244's: its router, r1, r2 (over AS240's core network), AS244's router.
        src, dst = lab.container(242, "probe"), lab.container(244, "probe")
        target = lab.address(dst)
        assert target.startswith("10.244.0.")
        ping = sh("docker", "exec", src, "ping", "-c", "3", "-W", "2", target)
        assert ping.returncode == 0, ping.stdout + ping.stderr
        assert "ttl=60" in ping.stdout, "expected four router hops: " + ping.stdout

        # The same lab without iBGP in AS240: every session comes up, no route crosses AS240.
        start = time.monotonic()
        doc, failed = lab.play("-e", "network_converge_timeout=20", env={"SEEDFATE_TESTING_NO_IBGP": "1"}, fail=True)
        wait = task_result(doc, WAIT)
        print("broken transit lab: playbook %.0f s, convergence wait failed after %.1f s"
              % (time.monotonic() - start, wait.get("elapsed", -1)))
        assert [name.split(" : ")[-1] for name, _msg in failed] == [WAIT], failed
        msg = failed[0][1]
        print("broken transit lab: " + msg)
        assert "routes did not converge" in msg, msg
        assert "%s lacks 10.243.0.0/24" % lab.container(241, "router0") in msg, msg
        assert "%s lacks 10.241.0.0/24" % lab.container(243, "router0") in msg, msg
        assert wait["not_established"] == [] and wait["elapsed"] < 60, wait

        down = lab.play("-e", "network_state=absent")
        assert down["stats"]["localhost"]["changed"] > 0
