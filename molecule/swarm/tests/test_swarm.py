"""molecule/swarm: the lab really runs over three Docker hosts, and only there.

Each party's containers are on its own host and nowhere else, nothing of the lab is on this machine's own engine,
BGP is Established on the routers of every host, a probe from party 23600 (host 1) to party 23800 (host 3)
arrives at host 3 as VXLAN packets, the real FATE 2.2 toy job between host 1 (guest) and host 3 (host) succeeded
with its bytes counted on the routers of both ASes, and playbooks/verify.yml passes across the hosts. Figures
(memory per host, the harness's data roots, the toy job's time) go to build/swarmlab/figures-swmol.json (kept
after destroy) for docs/multihost.md.
"""

import json
import os
import subprocess
import sys
import time

import pytest

SCENARIO = os.environ.get("MOLECULE_SCENARIO_DIRECTORY", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPO = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.dirname(os.path.dirname(SCENARIO)))
sys.path.insert(0, os.path.join(REPO, "tests", "multihost"))
sys.path.insert(0, os.path.join(REPO, "collections"))
import swarmlab  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.seed.fate.plugins.module_utils import bird, fate_versions, naming  # noqa: E402

HARNESS = swarmlab.Lab("swmol", 3, subnet="192.168.250.0/24")
PROJECT = "sftest-swmol"
LAB_LABEL = "seed.fate/lab"
# party id -> the harness node its AS is placed on (inventory/group_vars/all.yml)
PLACED = {"23600": 1, "23700": 2, "23800": 3}
CATALOGUE = fate_versions.VERSIONS["2.2.0"]  # inventory/group_vars/all.yml: fate_version
TRAINING = CATALOGUE["clusters"]["training"]["components"]
REPORT = os.path.join(SCENARIO, "build", "verify", "report.json")


def ansible_env():
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), MOLECULE_SCENARIO_DIRECTORY=SCENARIO,
               ANSIBLE_NOCOLOR="1")
    env.pop("DOCKER_HOST", None)
    return env


def inventory():
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    r = subprocess.run([exe, "-i", os.path.join(SCENARIO, "inventory"), "--list"], capture_output=True, text=True,
                       cwd=REPO, env=ansible_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    # Strings read from files come wrapped as {"__ansible_unsafe": "..."}.
    return json.loads(r.stdout, object_hook=lambda o: o["__ansible_unsafe"] if list(o) == ["__ansible_unsafe"] else o)


INV = inventory()
HV = INV["_meta"]["hostvars"]
PARTIES = dict((str(HV[h]["seedfate_party_id"]), h) for h in INV.get("fate_parties", {}).get("hosts", []))


def docker(i, *args):
    """The docker CLI on harness node i (0: this machine's own engine)."""
    host = swarmlab.MACHINE_ENGINE if i == 0 else HARNESS.node(i)["docker_host"]
    return subprocess.run(["docker", "-H", host] + list(args), capture_output=True, text=True, timeout=120)


def names(i, *filters):
    args = ["ps", "-a", "--format", "{{.Names}}"]
    for f in filters:
        args += ["--filter", f]
    r = docker(i, *args)
    assert r.returncode == 0, r.stderr
    return sorted(r.stdout.split())


def figures(**more):
    os.makedirs(str(swarmlab.STATE_DIR), exist_ok=True)
    path = os.path.join(str(swarmlab.STATE_DIR), "figures-swmol.json")
    data = {}
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
    data.update(more)
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


def test_inventory_names_the_harness_hosts_and_places_each_party():
    assert sorted(PARTIES) == sorted(PLACED), PARTIES
    for i in (1, 2, 3):
        node = HARNESS.node(i)
        assert HV[node["hostname"]]["seedfate_docker_host"] == node["docker_host"]
    for pid, i in PLACED.items():
        assert HV[PARTIES[pid]]["seedfate_docker_host_name"] == HARNESS.node(i)["hostname"], pid


@pytest.mark.parametrize("pid", sorted(PLACED))
def test_party_runs_on_its_own_host_only(pid):
    label = "label=com.docker.compose.project=confs-%s" % pid
    own = names(PLACED[pid], label)
    # every training component and its network pod
    want = [naming.container_name(naming.bundle_project("training", pid), svc)
            for c in TRAINING for svc in (c, naming.pod_service(c))]
    assert sorted(set(want) - set(own)) == [], own
    for i in (1, 2, 3):
        if i != PLACED[pid]:
            assert names(i, label) == [], (pid, i)
    assert names(0, label) == [], "party %s has containers on this machine's own engine" % pid


def test_nothing_of_the_lab_on_this_machines_engine():
    assert names(0, "label=%s=%s" % (LAB_LABEL, PROJECT)) == []
    nets = docker(0, "network", "ls", "--format", "{{.Name}}").stdout.split()
    assert [n for n in nets if n.startswith(PROJECT)] == []


def test_bgp_established_on_every_host():
    for i in (1, 2, 3):
        sessions = []
        for name in names(i, "label=%s=%s" % (LAB_LABEL, PROJECT), "status=running"):
            r = docker(i, "exec", name, "birdc", "show", "protocols")
            if r.returncode == 0:  # hosts without BIRD fail here
                sessions += [(name, s) for s in bird.bgp_sessions(r.stdout)]
        assert sessions, "no BGP session on host %d" % i
        down = [(name, s["name"], s["bgp_state"]) for name, s in sessions if not s["established"]]
        assert not down, "host %d: %s" % (i, down)


def test_probe_from_host1_to_host3_crosses_as_vxlan():
    entry = CATALOGUE["entry"]
    src = naming.container_name(naming.bundle_project("training", "23600"), naming.pod_service(entry))
    dst = HV[PARTIES["23800"]]["seedfate_clusters"]["training"][entry]["address"]
    HARNESS.count_vxlan(3, "sftest-swmol-vxlan")
    before = HARNESS.vxlan_packets(3, "sftest-swmol-vxlan")
    rx, tx = HARNESS.veth_bytes(3)
    r = docker(1, "exec", src, "ping", "-n", "-c", "5", "-i", "0.2", "-W", "2", dst)
    assert r.returncode == 0, r.stdout + r.stderr
    arrived = HARNESS.vxlan_packets(3, "sftest-swmol-vxlan") - before
    assert arrived >= 5, arrived
    rx1, tx1 = HARNESS.veth_bytes(3)
    figures(host3_vxlan_packets_in_during_5_pings=arrived,
            host3_link_bytes_during_5_pings={"rx": rx1 - rx, "tx": tx1 - tx},
            ping_rtt=r.stdout.strip().splitlines()[-1])


def test_verify_play_passes_across_the_hosts():
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    start = time.monotonic()
    r = subprocess.run([exe, "-i", os.path.join(SCENARIO, "inventory"), os.path.join(REPO, "playbooks", "verify.yml")],
                       capture_output=True, text=True, cwd=REPO, env=ansible_env(), timeout=900)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert "Probe the other parties across the emulated network" in r.stdout
    figures(verify_s=round(time.monotonic() - start, 1),
            memory_mib={n["hostname"]: HARNESS.memory(n["index"]) for n in HARNESS.nodes()},
            data_roots_mib=HARNESS.storage_mib())


def test_toy_job_ran_between_host1_and_host3_across_the_routers():
    with open(REPORT) as f:
        report = json.load(f)
    toy = report["jobs"]["toy_example"]
    assert report["fate_version"] == "2.2.0" and toy["status"] == "success", toy
    assert toy["parties"] == {"guest": "23600", "host": "23800"}
    # The job's bytes went through the routers of AS236 (host 1) and AS238 (host 3), read on each host's engine.
    for asn in ("236", "238"):
        moved = sum(b["rx"] + b["tx"] for b in toy["routers"]["AS%s router0" % asn]["interfaces"].values())
        assert moved > 10000, (asn, toy["routers"])
    # Each party's broker and nginx saw the other AS's addresses.
    assert toy["peers"]["23600"]["broker_peers_foreign"] or toy["peers"]["23600"]["nginx_clients_foreign"], toy["peers"]
    figures(toy_job_s=toy["wall_seconds"], toy_job_id=toy["job_id"],
            toy_router_kib=dict((name, round(sum(b["rx"] + b["tx"] for b in r["interfaces"].values()) / 1024))
                                for name, r in toy["routers"].items()))
