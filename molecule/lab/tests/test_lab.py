"""molecule/lab: the parties really sit on the emulated Internet that seedemu built.

BGP sessions are Established on every router, every pod holds its seedemu-reserved address and routes
through its AS router, the verify play passes, and a packet from one party to another crosses
AS router -> IX -> AS router (probed hop by hop with TTL-limited pings).
"""

import ipaddress
import json
import os
import re
import subprocess
import sys

import pytest

SCENARIO = os.environ.get("MOLECULE_SCENARIO_DIRECTORY", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPO = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.dirname(os.path.dirname(SCENARIO)))
BUILD = os.path.join(SCENARIO, "build")
PROJECT = "sftest-lab"
IX_PREFIX = ipaddress.ip_network("10.107.0.0/24")


def sh(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=kw.get("timeout", 120))


def plain(obj):
    """ansible-inventory writes values read from files as {"__ansible_unsafe": value}."""
    if isinstance(obj, dict):
        if set(obj) == {"__ansible_unsafe"}:
            return obj["__ansible_unsafe"]
        return dict((k, plain(v)) for k, v in obj.items())
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    return obj


def inventory():
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), MOLECULE_SCENARIO_DIRECTORY=SCENARIO)
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    r = subprocess.run([exe, "-i", os.path.join(SCENARIO, "inventory"), "--list"], capture_output=True, text=True,
                       cwd=REPO, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    return plain(json.loads(r.stdout))


INV = inventory()
PARTIES = sorted(INV.get("fate_parties", {}).get("hosts", []))
HV = INV["_meta"]["hostvars"]


def playbook(name, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), MOLECULE_SCENARIO_DIRECTORY=SCENARIO,
               ANSIBLE_NOCOLOR="1")
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return subprocess.run([exe, "-i", os.path.join(SCENARIO, "inventory"), os.path.join(REPO, "playbooks", name)]
                          + list(extra), capture_output=True, text=True, cwd=REPO, env=env, timeout=900)


def test_three_parties_in_the_inventory():
    assert len(PARTIES) == 3, PARTIES


def test_bgp_sessions_established():
    ids = sh("docker", "ps", "-q", "--filter", "label=com.docker.compose.project=%s" % PROJECT).stdout.split()
    assert ids, "the emulated Internet is not running"
    sessions = {}
    for cid in ids:
        r = sh("docker", "exec", cid, "birdc", "show", "protocols")
        if r.returncode != 0:
            continue  # hosts without BIRD
        name = sh("docker", "inspect", "-f", "{{.Name}}", cid).stdout.strip()
        for line in r.stdout.splitlines():
            f = line.split()
            if len(f) >= 2 and f[1] == "BGP":
                sessions["%s %s" % (name, f[0])] = line
    assert sessions, "no BGP session found"
    down = [s for s, line in sessions.items() if "Established" not in line]
    assert not down, down


@pytest.mark.parametrize("party", PARTIES)
def test_pods_at_reserved_addresses(party):
    pid = HV[party]["seedfate_party_id"]
    for cluster, project in (("training", "confs-%s" % pid), ("serving", "serving-%s" % pid)):
        for comp, place in HV[party]["seedfate_clusters"].get(cluster, {}).items():
            pod = "%s-%s-pod-1" % (project, comp)
            addrs = sh("docker", "exec", pod, "ip", "-4", "-o", "addr", "show").stdout
            assert " %s/" % place["address"] in addrs, (pod, addrs)
            route = sh("docker", "exec", pod, "ip", "-4", "route", "show", "default").stdout.split()
            assert route[:3] == ["default", "via", place["gateway"]], (pod, route)


def test_verify_play_passes_across_the_emulated_routers():
    r = playbook("verify.yml")
    assert r.returncode == 0, r.stdout[-4000:]


def hop(src, dst, ttl):
    """Who answers a ping to ``dst`` with TTL ``ttl``: a router's address, or dst itself."""
    r = sh("docker", "exec", src, "ping", "-n", "-c", "1", "-W", "2", "-t", str(ttl), dst)
    m = re.search(r"From (\d+\.\d+\.\d+\.\d+).*(exceeded|Exceeded)", r.stdout)
    if m:
        return m.group(1)
    if r.returncode == 0:
        return dst
    return None


def test_path_goes_as_router_ix_as_router():
    a, b = HV[PARTIES[0]], HV[PARTIES[1]]
    src = "confs-%s-proxy-pod-1" % a["seedfate_party_id"]
    dst = b["seedfate_clusters"]["training"]["proxy"]["address"]
    hops = [hop(src, dst, ttl) for ttl in (1, 2, 3)]
    # 1: the source AS's router on the party's LAN; 2: the destination AS's router, answering from its
    # IX address; 3: the destination itself.
    assert hops[0] == a["seedfate_clusters"]["training"]["proxy"]["gateway"], hops
    assert hops[1] is not None and ipaddress.ip_address(hops[1]) in IX_PREFIX, hops
    assert hops[2] == dst, hops
