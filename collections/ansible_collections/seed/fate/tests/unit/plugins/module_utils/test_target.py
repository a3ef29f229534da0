# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/target.py: the swarm placement model (issue 14).

Golden files: the default three-AS lab (fixtures/target/default-lab-compose.yml, compiled by the network stage)
split over three Docker hosts -> golden/target/default_3hosts/<host>/docker-compose.yml and plan.json.
Regenerate with SEEDFATE_UPDATE_GOLDEN=1 and review the diff.
"""

import copy
import json
import os

import pytest
import yaml

from ansible_collections.seed.fate.plugins.module_utils import target

HERE = os.path.dirname(__file__)
FIXTURE = os.path.join(HERE, "fixtures", "target", "default-lab-compose.yml")
GOLDEN = os.path.join(HERE, "golden", "target", "default_3hosts")
HOSTS = ["node1", "node2", "node3"]
PLACEMENT = {"ix": "node1", "ases": {150: "node1", 151: "node2", 152: "node3"}}
PARTIES = {"10000": (151, "net0"), "9999": (152, "net0"), "8888": (150, "net0")}


def compose():
    with open(FIXTURE) as f:
        return yaml.safe_load(f)


def plan(placement=None, parties=None, reserved=()):
    parties = PARTIES if parties is None else parties
    doc = compose()
    checked = target.validate_placement(placement or PLACEMENT, HOSTS, target.lab_asns(doc), target.lab_has_ix(doc),
                                        list(parties))
    return target.split_compose(doc, "seedfate", checked, parties, reserved)


def test_split_matches_golden():
    result = plan()
    files = dict(("%s/docker-compose.yml" % h, target.render_compose(p["compose"])) for h, p in result["hosts"].items())
    files["plan.json"] = json.dumps(target.plan_summary(result), indent=2, sort_keys=True) + "\n"
    if os.environ.get("SEEDFATE_UPDATE_GOLDEN"):
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(GOLDEN, rel)), exist_ok=True)
            with open(os.path.join(GOLDEN, rel), "w") as f:
                f.write(text)
    for rel, text in files.items():
        with open(os.path.join(GOLDEN, rel)) as f:
            assert text == f.read(), "%s differs from the golden file (SEEDFATE_UPDATE_GOLDEN=1 to accept)" % rel
    found = sorted(os.path.relpath(os.path.join(r, n), GOLDEN) for r, _d, ns in os.walk(GOLDEN) for n in ns)
    assert found == sorted(files)


def test_each_as_on_its_host_and_route_servers_on_the_ix_host():
    hosts = plan()["hosts"]
    assert hosts["node1"]["start"] == ["brdnode_150_router0", "rs_ix_ix100"]
    assert hosts["node2"]["start"] == ["brdnode_151_router0"]
    assert hosts["node3"]["start"] == ["brdnode_152_router0"]
    # The image-only helper the routers are built from goes with every host (built there), never started.
    for host in HOSTS:
        assert "6070c0c3131d49dc1bfe1cb85703b48c" in hosts[host]["services"]
        assert hosts[host]["compose"]["name"] == "seedfate-%s" % host
        assert hosts[host]["dir"] == "hosts/%s" % host


def test_network_kinds_and_names_stay():
    result = plan()
    kinds = dict((k, (n["kind"], n["name"])) for k, n in result["networks"].items())
    assert kinds == {
        "net_150_net0": ("bridge", "seedfate_net_150_net0"),
        "net_151_net0": ("bridge", "seedfate_net_151_net0"),
        "net_152_net0": ("bridge", "seedfate_net_152_net0"),
        "net_ix_ix100": ("overlay", "seedfate_net_ix_ix100"),
    }
    node3 = result["hosts"]["node3"]["compose"]["networks"]
    assert node3["net_ix_ix100"] == {"name": "seedfate_net_ix_ix100", "external": True}
    assert node3["net_152_net0"]["name"] == "seedfate_net_152_net0"
    assert node3["net_152_net0"]["ipam"]["config"] == [{"subnet": "10.152.0.0/24"}]
    assert "net_150_net0" not in node3 and "net_151_net0" not in node3
    assert [o["name"] for o in result["overlays"]] == ["seedfate_net_ix_ix100"]
    assert result["overlays"][0]["subnet"] == "10.100.0.0/24"
    assert result["overlays"][0]["labels"]["seed.fate/lab"] == "seedfate"


def test_build_paths_point_back_at_the_compiled_tree():
    svc = plan()["hosts"]["node2"]["compose"]["services"]
    assert svc["brdnode_151_router0"]["build"] == "../../output/brdnode_151_router0"
    assert svc["6070c0c3131d49dc1bfe1cb85703b48c"]["build"]["context"] == "../../output"


def test_party_on_another_host_turns_its_as_network_into_an_overlay():
    result = plan(dict(PLACEMENT, parties={"9999": "node1"}), reserved=["10.152.0.71", "10.152.0.245"])
    net = result["networks"]["net_152_net0"]
    assert (net["kind"], net["hosts"]) == ("overlay", ["node1", "node3"])
    overlay = [o for o in result["overlays"] if o["key"] == "net_152_net0"][0]
    # The dynamic block avoids the router (.254), the broadcast and the reserved pod address (.245).
    assert overlay["ip_range"] == "10.152.0.232/29"
    assert result["hosts"]["node3"]["compose"]["networks"]["net_152_net0"] == {
        "name": "seedfate_net_152_net0", "external": True}


def test_two_ases_on_one_host_and_overlays_only_where_used():
    result = plan({"ix": "node2", "ases": {150: "node1", 151: "node1", 152: "node2"}})
    assert sorted(result["hosts"]) == ["node1", "node2"]
    assert result["hosts"]["node1"]["start"] == ["brdnode_150_router0", "brdnode_151_router0"]
    assert result["hosts"]["node2"]["start"] == ["brdnode_152_router0", "rs_ix_ix100"]


def test_dynamic_range():
    # Never the block with the subnet's broadcast address; never one holding a fixed address.
    assert target.dynamic_range("10.140.0.0/24", [], 3) == "10.140.0.240/29"
    used = [target.ipaddress.ip_address(a) for a in ("10.140.0.250", "10.140.0.244")]
    assert target.dynamic_range("10.140.0.0/24", used, 3) == "10.140.0.232/29"
    assert target.dynamic_range("10.140.0.0/24", [], 7) == "10.140.0.224/28"
    assert target.dynamic_range("10.140.0.0/29", [], 3) is None


@pytest.mark.parametrize("placement,hosts,message", [
    ({"ix": "node1", "ases": {150: "node1", 151: "node2"}}, HOSTS, "seedfate_placement.ases: AS152 not placed"),
    ({"ix": "node1", "ases": {150: "node1", 151: "node2", 152: "nodeX"}}, HOSTS,
     "seedfate_placement.ases.152: 'nodeX' is not a Docker host"),
    ({"ix": "node9", "ases": {150: "node1", 151: "node2", 152: "node3"}}, HOSTS,
     "seedfate_placement.ix: 'node9' is not a Docker host"),
    ({"ases": {150: "node1", 151: "node2", 152: "node3"}}, HOSTS, "seedfate_placement.ix: the lab has internet"),
    ({"ix": "node1", "ases": {150: "node1", 151: "node2", 152: "node3", 999: "node1"}}, HOSTS,
     "seedfate_placement.ases.999: AS999 is not in the lab"),
    ({"ix": "node1", "ases": {150: "node1", 151: "node2", 152: "node3"}, "parties": {"4": "node1"}}, HOSTS,
     "seedfate_placement.parties.4: no such party"),
    ({"ix": "node1", "ases": {150: "node1", 151: "node2", 152: "node3"}, "oops": 1}, HOSTS,
     "seedfate_placement: unknown key(s) oops"),
    ({"ix": "node1", "ases": {150: "node1", 151: "node2", 152: "node3"}}, [], "docker_hosts: no Docker host"),
])
def test_placement_errors_name_the_field(placement, hosts, message):
    doc = compose()
    with pytest.raises(target.PlacementError) as err:
        target.validate_placement(copy.deepcopy(placement), hosts, target.lab_asns(doc), True, list(PARTIES))
    assert message in str(err.value)


def test_party_host_follows_its_as_unless_named():
    doc = compose()
    checked = target.validate_placement(dict(PLACEMENT, parties={"9999": "node2"}), HOSTS, target.lab_asns(doc))
    assert target.party_docker_host(checked, 9999, 152) == "node2"
    assert target.party_docker_host(checked, "8888", 150) == "node1"
    assert target.host_of_ix(checked) == "node1"
    assert target.docker_host_env({"node1": {"seedfate_docker_host": "unix:///x.sock"}}, "node1") == {
        "DOCKER_HOST": "unix:///x.sock"}
    with pytest.raises(target.PlacementError):
        target.docker_host_env({"node1": {}}, "node1")


def test_overlay_ip_range_has_room_for_every_swarm_node_even_when_one_host_runs_the_lab():
    # All ASes on node1 of a 3-node swarm: the anchor (a global service) still puts a task on every node, on each
    # overlay, so the overlay's dynamic range must hold 3 nodes' addresses, not 1.
    doc = compose()
    one = {"ix": "node1", "ases": {150: "node1", 151: "node1", 152: "node1"}}
    checked = target.validate_placement(one, HOSTS, target.lab_asns(doc), target.lab_has_ix(doc), list(PARTIES))
    alone = target.split_compose(doc, "seedfate", checked, PARTIES, ())
    swarm = target.split_compose(doc, "seedfate", checked, PARTIES, (), swarm_nodes=3)
    assert sorted(swarm["hosts"]) == ["node1"]
    ranges = dict((o["name"], o["ip_range"]) for o in swarm["overlays"])
    assert alone["overlays"], "the IX is an overlay under swarm whatever the placement"

    def size(block):
        return target.ipaddress.ip_network(block).num_addresses

    for o in alone["overlays"]:
        assert size(ranges[o["name"]]) >= 2 * 3 + 2 > size(o["ip_range"]), (o, ranges)
