# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mini-Internet example (inventories/mini-internet, issue 12 item 5), for real.

19 ASes on IX131-133: tier-1 transits AS2 (three routers), AS3 and AS4 (two each), regional transits
AS11-14 (AS12 with two routers), twelve stubs AS21-24, AS31-34, AS41-44; three FATE parties (AS22, AS33,
AS42) and a plain host ``host0`` in AS24 (ix131, a customer of AS3 only) and in AS41 (ix133, a customer of
AS12 only).

* no seedemu: the inventory's topology validates with its parties (FATE 2.2.0, no serving) and keeps to its
  own numbers (IX131-133, AS2-45), so it never collides with the built-in lab or another test's lab;
* compile only (seedemu, no Docker): OSPF and iBGP in the four multi-router ASes only;
* playbooks/network.yml with the shipped inventory itself (Docker; lab name, build folder, compose project
  and guard comment of the test's own through extra vars): the convergence wait passes (every party prefix
  in every party AS's routers); AS24's host reaches AS41's across AS3 and a second tier-1 (mtr names the
  hops, mapped to their containers); status.yml shows every router up and every BGP session Established;
  then down. Everything is removed at the end (Lab/cleaned_up of test_network_seedemu). Its wall time is
  printed: 4.5-6 min on 2 cores (node image build 60-80 s, BGP wait 60-85 s after compose up), so it has
  the marker ``mini_internet`` and a tier of its own (``make mini-internet-tier``), outside ``make test``.
"""

import json
import os
import re
import time

import pytest
import yaml

from test_network_seedemu import REPO, Lab, busy_subnets, cleaned_up, sh
from test_transit_seedemu import bird_conf, durations, task_result, took, WAIT

INVENTORY = os.path.join(REPO, "inventories", "mini-internet")
TOPOLOGY = os.path.join(INVENTORY, "group_vars", "all", "topology.yml")
TIER1 = (2, 3, 4)
MULTI_ROUTER = (2, 3, 4, 12)
STATUS_TASK = "Read the lab's state and write its picture"


def inventory_lab():
    """The inventory's topology and parties as the network role gets them (FATE 2.2.0: no serving)."""
    with open(TOPOLOGY) as f:
        lab = yaml.safe_load(f)
    for party in lab["seedfate_parties"].values():
        party["serving"] = False
    return lab


def model():
    from ansible_collections.seed.fate.plugins.module_utils import topology as topo
    lab = inventory_lab()
    return topo.normalize(lab["seedfate_topology"], lab["seedfate_parties"], fate_version="2.2.0")


def subnets(normalised):
    return set(str(x["prefix"]) for x in normalised["internet_exchanges"]) | \
        set(str(n["prefix"]) for s in normalised["autonomous_systems"] for n in s["networks"])


def expected_sessions(normalised):
    """BGP sessions as status.yml counts them: both ends of every private and route-server peering, and
    the full iBGP mesh of every multi-router AS."""
    count = 0
    for p in normalised["peerings"]:
        count += 2 * (len(p["asns"]) if p["type"] == "route_server" else 1)
    for s in normalised["autonomous_systems"]:
        n = len(s["routers"])
        count += n * (n - 1) if n > 1 else 0
    return count


def test_mini_internet_inventory_validates_with_numbers_of_its_own():
    m = model()
    systems = m["autonomous_systems"]
    assert [x["id"] for x in m["internet_exchanges"]] == [131, 132, 133]
    assert len(systems) == 19 and all(2 <= s["asn"] <= 45 for s in systems)
    from ansible_collections.seed.fate.plugins.module_utils import topology as topo
    assert sorted(topo.multi_router_asns(m)) == list(MULTI_ROUTER)
    # Tier-1s: no provider; every other AS has at least one.
    customers = set(p["b"] for p in m["peerings"] if p["type"] == "private" and p["relationship"] == "provider")
    assert customers == set(s["asn"] for s in systems) - set(TIER1)
    # Parties in stubs behind three different IXes.
    ix_of = dict((s["asn"], [j for r in s["routers"] for j in r["joins"] if j.startswith("ix")]) for s in systems)
    assert sorted(ix_of[p["asn"]][0] for p in m["parties"]) == ["ix131", "ix132", "ix133"]
    # The built-in lab (IX100, AS150-152) and the other test labs (AS >= 100) use none of these prefixes.
    assert all(re.match(r"^10\.([2-9]|[1-3][0-9]|4[0-5]|13[1-3])\.[0-9]+\.0/24$", prefix) for prefix in subnets(m))


@pytest.mark.seedemu
def test_mini_internet_compiles_with_ospf_and_ibgp_in_the_multi_router_ases(tmp_path):
    pytest.importorskip("seedemu")
    from ansible_collections.seed.fate.plugins.module_utils import seedemu_build as sb
    start = time.monotonic()
    out = sb.render_lab(model(), "sftest-mini-compile", str(tmp_path), fate_version="2.2.0").output_dir
    print("mini-Internet compile: %.1f s" % (time.monotonic() - start))
    nodes = sorted(d for d in os.listdir(out) if os.path.isdir(os.path.join(out, d)) and re.match(r"^(brdnode|rs_ix|hnode)_", d))
    assert len([n for n in nodes if n.startswith("brdnode_")]) == 24 and len([n for n in nodes if n.startswith("rs_ix_")]) == 3
    assert [n for n in nodes if n.startswith("hnode_")] == ["hnode_24_host0", "hnode_41_host0"]
    for system in model()["autonomous_systems"]:
        for router in system["routers"]:
            conf = bird_conf(out, "brdnode_%d_%s" % (system["asn"], router["name"]))
            interior = "protocol ospf ospf1" in conf and "protocol bgp ibgp1" in conf
            assert interior == (system["asn"] in MULTI_ROUTER), (system["asn"], router["name"])


def container_map(project):
    """{address: 'AS<asn>/<node>'} of every container of the project."""
    ids = sh("docker", "ps", "-q", "--filter", "label=com.docker.compose.project=%s" % project).stdout.split()
    fmt = ('{{index .Config.Labels "org.seedsecuritylabs.seedemu.meta.asn"}} '
           '{{index .Config.Labels "org.seedsecuritylabs.seedemu.meta.nodename"}}'
           '{{range .NetworkSettings.Networks}} {{.IPAddress}}{{end}}')
    out = {}
    for line in sh("docker", "inspect", "--format", fmt, *ids).stdout.splitlines():
        fields = line.split()
        for addr in fields[2:]:
            out[addr] = "AS%s/%s" % (fields[0], fields[1])
    return out


def path(lab, src, target):
    """Hops from ``src`` to ``target`` (mtr, numeric), as AS<asn>/<node> where the address is a container's."""
    proc = sh("docker", "exec", src, "mtr", "--report", "--no-dns", "--report-cycles", "2", "--timeout", "2", target)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    hops = re.findall(r"^\s*\d+\.\|--\s+(\S+)", proc.stdout, re.M)
    names = container_map(lab.project)
    return [names.get(h, h) for h in hops], proc.stdout


@pytest.mark.seedemu
@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.mini_internet
def test_mini_internet_converges_routes_across_tier1s_and_status_is_established(tmp_path):
    test_start = time.monotonic()
    m = model()
    busy = busy_subnets(subnets(m))
    if busy:
        pytest.skip("the mini-Internet's subnets are in use (%s)" % ", ".join(busy))
    lab = Lab(str(tmp_path), {}, name="sftest-mini")
    # The shipped inventory itself, with the test's own lab name, build folder, compose project and guard comment.
    lab.inventory = INVENTORY
    overrides = os.path.join(str(tmp_path), "overrides.json")
    with open(overrides, "w") as f:
        json.dump({"seedfate_lab_name": lab.project, "seedfate_build_dir": lab.build,
                   "seedfate_network_project": lab.project, "network_isolation_guard_comment": lab.comment}, f)
    play = lab.play

    def play_here(*extra, **kwargs):
        return play("-e", "@" + overrides, *extra, **kwargs)
    lab.play = play_here

    with cleaned_up(lab, tmp_path):
        start = time.monotonic()
        first = lab.play()
        print("mini-Internet: network.yml %.0f s; compile %.1f s, image build %.1f s, compose up %.1f s, BGP + "
              "convergence wait %.1f s" % (time.monotonic() - start, took(first, "Compile the emulated Internet"),
                                           took(first, "Build the node images"), took(first, "Start the emulated Internet"),
                                           took(first, WAIT)))
        wait = task_result(first, WAIT)
        party_routers = [lab.container(s["asn"], r["name"]) for s in m["autonomous_systems"]
                         if s["asn"] in (22, 33, 42) for r in s["routers"]]
        assert sorted(wait["route_targets"]) == sorted(party_routers)
        assert wait["missing_routes"] == [] and wait["not_established"] == []
        assert sorted(wait["invocation"]["module_args"]["routes"]) == ["10.22.0.0/24", "10.33.0.0/24", "10.42.0.0/24"]

        # AS24's host (ix131, customer of AS3 only) reaches AS41's (ix133, behind AS12): AS3 has no customer
        # route to it, so the path crosses AS3 and the tier-1 peer it learnt the route from (AS2 or AS4).
        src, dst = lab.container(24, "host0"), lab.container(41, "host0")
        target = lab.address(dst)
        assert target.startswith("10.41.0.")
        ping = sh("docker", "exec", src, "ping", "-c", "3", "-W", "2", target)
        assert ping.returncode == 0, ping.stdout + ping.stderr
        hops, report = path(lab, src, target)
        print("mini-Internet path AS24/host0 -> AS41/host0: " + " -> ".join(hops))
        assert hops[0] == "AS24/router0" and hops[-1] == "AS41/host0", report
        assert "AS41/router0" in hops and any(h.startswith("AS12/") for h in hops), (hops, report)
        tier1 = [h.split("/")[0] for h in hops if h.split("/")[0] in ("AS%d" % a for a in TIER1)]
        assert tier1[0] == "AS3" and set(tier1) - {"AS3"}, "expected AS3 and a second tier-1 on %s" % hops

        status = task_result(lab.play(playbook="status.yml"), STATUS_TASK)
        summary = status["summary"]
        assert summary["network"] == "up", status["table"]
        assert summary["routers"] == summary["routers_up"] == 24 + 3, status["table"]
        assert summary["sessions"] == summary["sessions_up"] == expected_sessions(m), status["table"]
        states = [x["bgp_state"] for s in status["status"]["systems"] for r in s["routers"] for x in r["sessions"]]
        assert states and set(states) == {"Established"}, status["table"]

        lab.play("-e", "network_state=absent")
    print("mini-Internet test: %.0f s (%s)" % (time.monotonic() - test_start, ", ".join(
        "%s %.0f s" % (k.split(" : ")[-1][:24], v) for k, v in sorted(durations(first).items(), key=lambda kv: -kv[1])[:4])))
