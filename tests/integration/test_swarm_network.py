# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/network.yml with seedfate_target=swarm on three Docker hosts of this machine (issue 14).

The harness (tests/multihost/swarmlab.py, name ``swnet``, hosts in 192.168.251.0/24) brings up three Docker
engines without a swarm: the collection forms it. The lab: IX140 and ASes 250-252 (a router each, a plain host
``probe`` in AS250 and AS252, one FATE party per AS), placed 250 -> node 1 (with the route server), 251 -> node 2,
252 -> node 3. Checked: every BGP session on the routers of all three hosts is Established; the AS250 probe (node 1)
pings the AS252 probe (node 3) and VXLAN packets arrive on node 3's link; a second run reports changed=0 and
restarts no container; ``network_state=absent`` leaves no lab container, network or service on any host and takes
the hosts out of the swarm the lab created. The harness goes down in a finalizer. Figures (bring-up time, memory
per host) go to build/swarmlab/figures-swnet-network.json.

Not in ``make test``: ``make swarm-tier`` (needs root, seedemu and the node image on the machine's engine).
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "multihost"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import swarmlab  # noqa: E402  pylint: disable=wrong-import-position
from test_network_seedemu import Lab  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.seed.fate.plugins.module_utils import bird  # noqa: E402

pytestmark = [pytest.mark.swarm, pytest.mark.seedemu, pytest.mark.docker, pytest.mark.slow]

NAME = "swnet"
SUBNET = "192.168.251.0/24"
NODE_IMAGE = "seedfate/seedemu-node:bookworm"
LAB_LABEL = "seed.fate/lab"
PLACEMENT = {"ix": "node1", "ases": {250: "node1", 251: "node2", 252: "node3"}}
FIGURES = {}


def stub(**extra):
    return dict({"networks": ["net0"], "routers": {"router0": ["net0", "ix140"]}}, **extra)


def lab_vars():
    return {
        "seedfate_topology": {
            "internet_exchanges": [140],
            "autonomous_systems": {250: stub(hosts=["probe"]), 251: stub(), 252: stub(hosts=["probe"])},
            "peerings": [{"ix": 140, "route_server": [250, 251, 252]}],
        },
        "seedfate_parties": {"2500": {"asn": 250}, "2510": {"asn": 251}, "2520": {"asn": 252}},
        "seedfate_target": "swarm",
        "seedfate_placement": PLACEMENT,
    }


def docker(harness, i, *args, check=True):
    return harness.docker(i, *args, check=check, timeout=120)


def lab_things(harness, i, project):
    """What of the lab is on host i: containers, networks (by the lab label), services."""
    label = "label=%s=%s" % (LAB_LABEL, project)
    found = docker(harness, i, "ps", "-aq", "--filter", label).stdout.split()
    found += docker(harness, i, "network", "ls", "-q", "--filter", label).stdout.split()
    found += [n for n in docker(harness, i, "network", "ls", "--format", "{{.Name}}").stdout.split()
              if n.startswith(project + "_")]
    if harness.swarm_state(i) == "active" and i == 1:
        found += docker(harness, i, "service", "ls", "-q", "--filter", label).stdout.split()
    return found


def container(harness, i, asn, name):
    out = docker(harness, i, "ps", "--filter", "label=org.seedsecuritylabs.seedemu.meta.asn=%s" % asn,
                 "--filter", "label=org.seedsecuritylabs.seedemu.meta.nodename=%s" % name,
                 "--format", "{{.Names}}").stdout.split()
    assert len(out) == 1, "expected one container for AS%s %s on node %d, got %s" % (asn, name, i, out)
    return out[0]


def started(harness, project):
    rows = []
    for i in (1, 2, 3):
        ids = docker(harness, i, "ps", "-aq", "--filter", "label=%s=%s" % (LAB_LABEL, project)).stdout.split()
        if ids:
            rows += docker(harness, i, "inspect", "--format", "{{.Name}} {{.Id}} {{.State.StartedAt}}",
                           *ids).stdout.splitlines()
    return sorted(rows)


@pytest.fixture(scope="module")
def harness(request):
    pytest.importorskip("seedemu")
    if os.geteuid() != 0:
        pytest.skip("the swarm harness needs root")
    if subprocess.run(["docker", "image", "inspect", NODE_IMAGE], capture_output=True).returncode:
        pytest.skip("%s is not on the machine's engine (make images)" % NODE_IMAGE)
    lab = swarmlab.Lab(NAME, 3, subnet=SUBNET)
    request.addfinalizer(lab.down)
    lab.down()  # whatever an interrupted run left
    start = time.monotonic()
    lab.up([NODE_IMAGE], swarm=False)  # the collection forms the swarm
    FIGURES["harness_up_s"] = time.monotonic() - start
    return lab


@pytest.fixture(scope="module")
def lab(harness, tmp_path_factory):  # pylint: disable=redefined-outer-name
    root = str(tmp_path_factory.mktemp("swarm-network"))
    the_lab = Lab(root, lab=lab_vars(), name="sfswnet")
    hosts = {"seedfate_controller": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}},
        "docker_hosts": {"hosts": {}}}
    for node in harness.nodes():
        hosts["docker_hosts"]["hosts"]["node%d" % node["index"]] = {
            "ansible_connection": "local",
            "seedfate_docker_host": node["docker_host"],
            "seedfate_swarm_role": "manager" if node["index"] == 1 else "worker",
            "seedfate_swarm_addr": node["addr"],
            # The harness's namespaces have no route out: sealed by construction (the guard is per engine).
            "seedfate_isolation_sealed": True,
        }
    with open(os.path.join(the_lab.inventory, "hosts.yml"), "w") as f:
        yaml.safe_dump(hosts, f)
    return the_lab


def test_network_across_three_hosts(harness, lab):  # pylint: disable=redefined-outer-name
    start = time.monotonic()
    doc = lab.play()
    FIGURES["first_run_s"] = time.monotonic() - start
    assert doc["stats"]["localhost"]["failures"] == 0

    # Each AS on its host, the route server with AS250; BGP Established on the routers of every host.
    speakers = {1: [container(harness, 1, 250, "router0"), container(harness, 1, 140, "ix140")],
                2: [container(harness, 2, 251, "router0")], 3: [container(harness, 3, 252, "router0")]}
    for i, names in speakers.items():
        for name in names:
            out = docker(harness, i, "exec", name, "birdc", "show", "protocols").stdout
            sessions = bird.bgp_sessions(out)
            assert sessions and all(s["established"] for s in sessions), "%s on node %d: %s" % (name, i, out)
    # The swarm was formed by the lab, with the anchor on every node.
    assert json.loads(Path(lab.build, "swarm.json").read_text())["created_by_lab"] is True
    anchor = docker(harness, 1, "service", "ps", "--filter", "desired-state=running", "--format", "{{.Node}}",
                    lab.project + "-anchor").stdout.split()
    assert sorted(anchor) == sorted(n["hostname"] for n in harness.nodes())

    # A host in AS250 (node 1) reaches a host in AS252 (node 3) through the routers and the IX overlay.
    src = container(harness, 1, 250, "probe")
    dst = container(harness, 3, 252, "probe")
    dst_ip = docker(harness, 3, "inspect", "--format",
                    '{{index .Config.Labels "org.seedsecuritylabs.seedemu.meta.net.0.address"}}', dst).stdout
    dst_ip = dst_ip.strip().split("/")[0]
    harness.count_vxlan(3, "swnet-vxlan")
    vx0 = harness.vxlan_packets(3, "swnet-vxlan")
    rx0, tx0 = harness.veth_bytes(3)
    t = time.monotonic()
    proc = docker(harness, 1, "exec", src, "ping", "-c", "10", "-i", "0.2", "-W", "2", dst_ip, check=False)
    FIGURES["ping_10_s"] = time.monotonic() - t
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rx1, tx1 = harness.veth_bytes(3)
    FIGURES["node3_vxlan_packets_in_during_10_pings"] = harness.vxlan_packets(3, "swnet-vxlan") - vx0
    FIGURES["node3_link_bytes_during_10_pings"] = {"rx": rx1 - rx0, "tx": tx1 - tx0}
    assert FIGURES["node3_vxlan_packets_in_during_10_pings"] >= 10
    FIGURES["memory_mib"] = {n["hostname"]: harness.memory(n["index"]) for n in harness.nodes()}
    FIGURES["data_roots_mib"] = harness.storage_mib()

    # A second run changes nothing and restarts no container.
    before = started(harness, lab.project)
    start = time.monotonic()
    doc = lab.play()
    FIGURES["second_run_s"] = time.monotonic() - start
    stats = doc["stats"]["localhost"]
    assert stats["changed"] == 0 and stats["failures"] == 0, stats
    assert started(harness, lab.project) == before


def test_teardown_leaves_every_host_clean(harness, lab):  # pylint: disable=redefined-outer-name
    start = time.monotonic()
    lab.play("-e", "network_state=absent")
    FIGURES["teardown_s"] = time.monotonic() - start
    for i in (1, 2, 3):
        assert lab_things(harness, i, lab.project) == [], "node %d" % i
        assert docker(harness, i, "ps", "-aq").stdout.split() == [], "node %d still runs containers" % i
        assert harness.swarm_state(i) == "inactive", "node %d is still in the swarm the lab created" % i
        networks = docker(harness, i, "network", "ls", "--format", "{{.Name}}").stdout.split()
        assert sorted(networks) == ["bridge", "host", "none"], "node %d: %s" % (i, networks)
    assert not Path(lab.build, "swarm.json").exists()
    doc = lab.play("-e", "network_state=absent")
    assert doc["stats"]["localhost"]["changed"] == 0
    figures = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in FIGURES.items()}
    swarmlab.STATE_DIR.mkdir(parents=True, exist_ok=True)
    (swarmlab.STATE_DIR / ("figures-%s-network.json" % NAME)).write_text(json.dumps(figures, indent=2) + "\n")
    print("\nswarm network figures: " + json.dumps(figures, indent=2))
