# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ghost model (module_utils/ghost_model.py) without Ansible: parsing, gateways, host variables.

Fixtures: ../inventory/fixtures/lab2 (hand-written, two parties, two ASes, a second network and two
routers listed out of name order) and, when present, the seedemu fork's real output in
<repo>/../shared/fixtures/seedemu-fork-seedfate (or $SEEDFATE_SHARED_DIR/fixtures/...).
The error cases are asserted through the inventory plugin (../inventory/test_ghost_nodes.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil

import pytest

from ansible_collections.seed.fate.plugins.module_utils import ghost_model as gm

HERE = os.path.dirname(os.path.abspath(__file__))
LAB2 = os.path.join(HERE, "..", "inventory", "fixtures", "lab2")
COLLECTION = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
EXPORT_GOLDEN = os.path.join(COLLECTION, "tests", "unit", "plugins", "module_utils", "golden", "skeleton", "export_small")


def lab2(layout="pre_party_list.json", systems=True, fmt="auto", folder=LAB2):
    return gm.load_lab(os.path.join(folder, "GhostNodes.json"), os.path.join(folder, layout),
                       os.path.join(folder, "AutonomousSystems.json") if systems else None, fmt)


def test_parties_in_layout_order_with_their_clusters():
    lab = lab2()
    assert [(p.party_id, p.index) for p in lab.parties] == [(1001, 0), (1002, 1)]
    p1, p2 = lab.parties
    assert list(p1.clusters) == ["training", "serving"]
    assert list(p1.clusters["training"]) == ["federation", "proxy", "python"]
    assert list(p1.clusters["serving"]) == ["serving-server", "serving-proxy", "redis"]
    assert list(p2.clusters) == ["training"]
    assert p1.asn == 161 and p2.asn == 162


def test_unplaced_ghosts_are_not_components():
    assert "hnode_161_spare" not in [c.node_id for c in lab2().components()]


def test_gateway_is_first_router_by_name_on_the_components_network():
    lab = lab2()
    proxy = lab.parties[0].proxy
    # router1 (.253) is listed first in the file; router0 (.254) comes first by name.
    assert (proxy.gateway, proxy.prefix, proxy.net_name) == ("10.161.0.254", "10.161.0.0/24", "net0")
    python = lab.parties[1].get("training", "python")
    assert (python.address, python.net_name, python.prefix, python.gateway) == \
        ("10.162.1.71", "net1", "10.162.1.0/24", "10.162.1.254")


def test_without_autonomous_systems_the_ghosts_own_route_and_ifinfo_are_used():
    with_as = [(c.node_id, c.prefix, c.gateway) for c in lab2().components()]
    without = [(c.node_id, c.prefix, c.gateway) for c in lab2(systems=False).components()]
    assert without == with_as


def test_flat_layout_is_training_only():
    lab = lab2("pre_party_list.flat.json")
    assert [list(p.clusters) for p in lab.parties] == [["training"], ["training"]]
    assert [e["serving_server"] for e in gm.party_directory(lab.parties)] == [None, None]


def test_layout_format_can_be_forced_and_is_checked():
    assert [p.party_id for p in lab2("pre_party_list.flat.json", fmt="flat").parties] == [1001, 1002]
    expected = r"pre_party_list.flat.json: nested layout expects only 'training' and 'serving', found '1001', '1002'"
    with pytest.raises(gm.GhostModelError, match=expected):
        lab2("pre_party_list.flat.json", fmt="nested")
    with pytest.raises(gm.GhostModelError, match=r"training party training: party id must be a decimal integer .*, got 'training'"):
        lab2(fmt="flat")


def test_party_hostvars_follow_the_contract():
    lab = lab2()
    hv = gm.party_hostvars(lab.parties[1], "sftest")
    assert hv == {
        "seedfate_party_id": 1002,
        "seedfate_party_index": 1,
        "seedfate_asn": 162,
        "seedfate_compose_project": "sftest",
        "seedfate_clusters": {"training": {
            "proxy": {"node_id": "hnode_162_proxy", "address": "10.162.0.71", "network": "sftest_net_162_net0",
                      "net_name": "net0", "prefix": "10.162.0.0/24", "gateway": "10.162.0.254", "asn": 162},
            "python": {"node_id": "hnode_162_python", "address": "10.162.1.71", "network": "sftest_net_162_net1",
                       "net_name": "net1", "prefix": "10.162.1.0/24", "gateway": "10.162.1.254", "asn": 162},
        }},
    }


def test_component_hostvars_follow_the_contract():
    comp = lab2().parties[0].get("serving", "serving-server")
    assert gm.component_hostvars(comp, "sftest") == {
        "ansible_host": "serving-1001-serving-server-1",
        "seedfate_party_id": 1001,
        "seedfate_party_host": "party-1001",
        "seedfate_asn": 161,
        "seedfate_cluster": "serving",
        "seedfate_component": "serving-server",
        "seedfate_node_id": "hnode_161_Servingserving-server",
        "seedfate_address": "10.161.0.74",
        "seedfate_network": "sftest_net_161_net0",
        "seedfate_gateway": "10.161.0.254",
        "seedfate_prefix": "10.161.0.0/24",
        "seedfate_pod_container": "serving-1001-serving-server-pod-1",
    }
    assert gm.component_groups(comp) == ("party_1001", "as_161", "component_serving_server", "cluster_serving")


def test_party_directory_lists_every_party_in_layout_order():
    assert gm.party_directory(lab2().parties) == [
        {"party_id": 1001, "asn": 161, "proxy": "10.161.0.72", "python": "10.161.0.73",
         "serving_server": "10.161.0.74", "serving_proxy": "10.161.0.75"},
        {"party_id": 1002, "asn": 162, "proxy": "10.162.0.71", "python": "10.162.1.71",
         "serving_server": None, "serving_proxy": None},
    ]


@pytest.mark.parametrize("value, expected", [("True", True), ("False", False), (True, True), ("true", True), (False, False)])
def test_fork_string_booleans(value, expected):
    assert gm.to_bool(value, "f", "e", "Ghost_Node") is expected


def test_bad_boolean_names_file_entry_and_key():
    with pytest.raises(gm.GhostModelError, match=r"^GhostNodes.json: entry 3: Ghost_Node must be a boolean"):
        gm.to_bool("maybe", "GhostNodes.json", "entry 3", "Ghost_Node")


def test_both_spellings_of_the_software_key():
    ghosts = gm.parse_ghost_nodes(gm.load_json(os.path.join(LAB2, "GhostNodes.json")), "GhostNodes.json")
    assert ghosts["hnode_161_proxy"].software == ["iproute2"]    # "Softwares"
    assert ghosts["hnode_161_python"].software == ["iproute2"]   # the fork's "Sofewares"


def test_duplicate_json_keys_are_seen_in_the_layout(tmp_path):
    path = tmp_path / "pre_party_list.json"
    path.write_text('{"training": {"1": {"proxy": ["a"], "proxy": ["b"]}}}')
    with pytest.raises(gm.GhostModelError, match=r"training party 1 component proxy: component is listed twice for party 1"):
        gm.parse_layout(gm.load_json(str(path), keep_duplicates=True), str(path))
    path.write_text('{"training": {"1": {"proxy": ["a"]}, "1": {"proxy": ["b"]}}}')
    with pytest.raises(gm.GhostModelError, match=r"training party 1: party is listed twice"):
        gm.parse_layout(gm.load_json(str(path), keep_duplicates=True), str(path))


def test_mixed_layout_is_refused(tmp_path):
    with pytest.raises(gm.GhostModelError, match=r"mixes cluster keys \(training\) with party ids \(9999\)"):
        gm.parse_layout({"training": {}, "9999": {}}, "layout.json")


def test_default_route_accepts_the_short_forms_of_ip_route():
    ghosts = gm.parse_ghost_nodes([{"NodeId": "n", "Autonomous_Systems": 1,
                                    "Interfaces": [{"Connected_to": "net0", "Address": "10.0.0.71"}],
                                    "Start_Commands": [["ip rou del default", False],
                                                       ["ip r add default via 10.0.0.1 dev net0", False],
                                                       "ip route replace default via 10.0.0.254"]}], "GhostNodes.json")
    assert ghosts["n"].default_route() == "10.0.0.254"


def test_read_compose_project(tmp_path):
    assert gm.read_compose_project(os.path.join(LAB2, "lab.json")) == "sftest-inv"
    assert gm.read_compose_project(str(tmp_path / "absent.json")) is None
    bad = tmp_path / "lab.json"
    bad.write_text('{"compose_project": 7}')
    with pytest.raises(gm.GhostModelError, match=r"lab.json: compose_project: compose_project 7 must be a compose project name"):
        gm.read_compose_project(str(bad))


def test_the_forks_real_files_match_its_own_parties_conf(fork_dir):
    lab = gm.load_lab(os.path.join(fork_dir, "GhostNodes.json"), os.path.join(fork_dir, "pre_party_list.json"),
                      os.path.join(fork_dir, "AutonomousSystems.json"))
    assert [p.party_id for p in lab.parties] == [10000, 9999, 8888]
    assert [p.asn for p in lab.parties] == [151, 152, 150]
    assert len(list(lab.components())) == 36
    with open(os.path.join(fork_dir, "parties.conf")) as f:
        conf = f.read()
    # What the fork computed from the same files: KubeFATE's lists and its buildInfo placement.
    partyiplist = re.search(r"^partyiplist=\(([^)]*)\)", conf, re.M).group(1).split()
    servingiplist = re.search(r"^servingiplist=\(([^)]*)\)", conf, re.M).group(1).split()
    directory = gm.party_directory(lab.parties)
    assert [d["proxy"] for d in directory] == partyiplist
    assert [d["serving_server"] for d in directory] == servingiplist
    build_info = json.loads(re.search(r"^buildInfo='(.*?)'$", conf, re.M | re.S).group(1))
    for party in lab.parties:
        for cluster, comps in party.clusters.items():
            for name, comp in comps.items():
                want = build_info[cluster][str(party.party_id)][name]
                facts = gm.component_facts(comp, "output")
                assert (facts["address"], facts["network"]) == (want["ip"], want["skeleton_subnet"])
                assert facts["gateway"] == "10.%d.0.254" % comp.asn


def test_the_forks_flat_layout_and_missing_systems_file(fork_dir):
    lab = gm.load_lab(os.path.join(fork_dir, "GhostNodes.json"), os.path.join(fork_dir, "pre_party_list.flat.json"), None)
    assert [list(p.clusters) for p in lab.parties] == [["training"]] * 3
    assert lab.parties[1].proxy.gateway == "10.152.0.254"
    assert lab.parties[1].proxy.prefix == "10.152.0.0/24"


@pytest.mark.skipif(not os.path.isdir(EXPORT_GOLDEN), reason="the skeleton stage's golden export is not in this tree")
def test_reads_what_the_skeleton_stage_exports(tmp_path):
    # The skeleton's own golden output (module_utils/ghost_export): the two stages agree on the format.
    folder = str(tmp_path / "ghost")
    shutil.copytree(EXPORT_GOLDEN, folder)
    lab = lab2(folder=folder)
    assert gm.read_compose_project(os.path.join(folder, "lab.json")) == "sftest"
    assert [p.party_id for p in lab.parties] == [9999, 10000]
    assert lab.parties[0].proxy.gateway == "10.150.0.254"
    assert list(lab.parties[0].clusters) == ["training", "serving"]


def test_party_names_come_from_naming():
    p1, p2 = lab2().parties
    names = gm.party_names(p1)
    assert names["seedfate_projects"] == {"training": "confs-1001", "serving": "serving-1001",
                                          "exchange": "confs-exchange"}
    assert names["seedfate_containers"] == {
        "training": {"federation": "confs-1001-federation-1", "proxy": "confs-1001-proxy-1",
                     "python": "confs-1001-python-1"},
        "serving": {"serving-server": "serving-1001-serving-server-1", "serving-proxy": "serving-1001-serving-proxy-1",
                    "redis": "serving-1001-redis-1"}}
    assert names["seedfate_pod_containers"]["training"]["proxy"] == "confs-1001-proxy-pod-1"
    assert names["seedfate_pod_containers"]["serving"]["redis"] == "serving-1001-redis-pod-1"
    # A party without serving still has the name of its serving project, and no serving containers.
    names = gm.party_names(p2)
    assert names["seedfate_projects"] == {"training": "confs-1002", "serving": "serving-1002",
                                          "exchange": "confs-exchange"}
    assert list(names["seedfate_containers"]) == list(names["seedfate_pod_containers"]) == ["training"]


def test_party_names_agree_with_the_component_hosts():
    for party in lab2().parties:
        names = gm.party_names(party)
        for cluster, comps in party.clusters.items():
            for name, comp in comps.items():
                hv = gm.component_hostvars(comp, "sftest")
                assert names["seedfate_containers"][cluster][name] == hv["ansible_host"]
                assert names["seedfate_pod_containers"][cluster][name] == hv["seedfate_pod_container"]


def test_one_gateway_rule_for_the_model_and_the_files_it_is_read_from():
    # The ASes read from AutonomousSystems.json are the model's own classes: the reader's gateway is the
    # writer's rule (first router by name; router1 is listed before router0 in lab2).
    systems = gm.parse_autonomous_systems(gm.load_json(os.path.join(LAB2, "AutonomousSystems.json")),
                                          "AutonomousSystems.json")
    assert all(isinstance(s, gm.AutonomousSystem) for s in systems.values())
    assert systems[161].gateway("net0") == "10.161.0.254"
    assert [r.name for r in systems[161].routers] == ["router1", "router0"]


def test_read_lab_from_parsed_documents_keeps_the_layout_order():
    docs = [gm.load_json(os.path.join(LAB2, name)) for name in ("GhostNodes.json", "pre_party_list.json",
                                                                "AutonomousSystems.json")]
    lab = gm.read_lab(docs[0], docs[1], docs[2], {"ghost_nodes": "g", "party_layout": "l"})
    assert lab.parties == [] and lab.systems_known
    runs = []
    for pid, cluster, _comp, _node in lab.layout:
        if not runs or runs[-1] != (pid, cluster):
            runs.append((pid, cluster))
    assert runs == [(1001, "training"), (1001, "serving"), (1002, "training")]   # party by party
    assert len(lab.ghosts()) == len(docs[0])
    with pytest.raises(gm.GhostModelError, match=r"^l: expected a JSON object"):
        gm.read_lab(docs[0], [], None, {"ghost_nodes": "g", "party_layout": "l"})
