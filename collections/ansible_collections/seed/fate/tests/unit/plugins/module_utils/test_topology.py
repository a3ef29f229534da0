# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation and normalisation of the declarative lab (module_utils/topology.py), no seedemu.

Golden files: golden/skeleton/topology_<name>.yml -> topology_<name>.normalized.json. Regenerate
with SEEDFATE_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os

import pytest
import yaml

from ansible_collections.seed.fate.plugins.module_utils import topology as topo

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "skeleton")


def load(name):
    with open(os.path.join(GOLDEN, "topology_%s.yml" % name)) as f:
        return yaml.safe_load(f)


def default():
    return load("default")


@pytest.mark.parametrize("name", ["default", "mixed", "services"])
def test_normalisation_matches_golden(name):
    lab = load(name)
    got = json.dumps(topo.to_jsonable(topo.normalize(lab["topology"], lab["parties"])), indent=2) + "\n"
    path = os.path.join(GOLDEN, "topology_%s.normalized.json" % name)
    if os.environ.get("SEEDFATE_UPDATE_GOLDEN"):
        with open(path, "w") as f:
            f.write(got)
    with open(path) as f:
        assert got == f.read()


def test_int_and_string_keys_normalise_alike():
    lab = default()
    as_ints = copy.deepcopy(lab)
    as_ints["topology"]["autonomous_systems"] = dict((int(k), v) for k, v in lab["topology"]["autonomous_systems"].items())
    as_ints["parties"] = dict((int(k), v) for k, v in lab["parties"].items())
    assert topo.normalize(**as_ints) == topo.normalize(**lab)


def test_party_order_is_kept_and_plan_follows_the_fork():
    model = topo.normalize(**default())
    assert [p["id"] for p in model["parties"]] == ["10000", "9999", "8888"]
    plan = topo.ghost_plan(model["parties"])
    assert len(plan) == 36
    first = [(g["name"], g["cluster"], g["component"]) for g in plan[:12]]
    assert first[0] == ("federation", "training", "federation")
    assert first[8] == ("redis", "training", "redis")
    assert first[9:] == [("Servingredis", "serving", "redis"), ("Servingserving-server", "serving", "serving-server"),
                         ("Servingserving-proxy", "serving", "serving-proxy")]
    assert set(g["asn"] for g in plan[:12]) == {151}


def test_parties_default_network_and_training():
    lab = default()
    lab["parties"] = {"7": {"asn": 150}}
    party = topo.normalize(**lab)["parties"][0]
    assert party == {"id": "7", "asn": 150, "network": "net0", "training": True, "serving": False}
    assert len(topo.ghost_plan([party])) == 9


def test_auto_prefixes_follow_seedemu():
    lab = default()
    lab["topology"]["autonomous_systems"]["150"]["networks"] = ["net0", {"name": "x", "prefix": "192.168.7.0/24"}, "net1"]
    nets = topo.normalize(**lab)["autonomous_systems"][0]["networks"]
    assert [str(n["prefix"]) for n in nets] == ["10.150.0.0/24", "192.168.7.0/24", "10.150.1.0/24"]


def raises(lab, field, *words):
    with pytest.raises(topo.TopologyError) as info:
        topo.normalize(**lab)
    assert info.value.field == field, str(info.value)
    for word in words:
        assert word in str(info.value)
    return info.value


def test_duplicate_asn_in_list_form():
    lab = default()
    lab["topology"]["autonomous_systems"] = [
        {"asn": 150, "networks": ["net0"], "routers": {"router0": ["net0", "ix100"]}},
        {"asn": 150, "networks": ["net0"], "routers": {"router0": ["net0", "ix100"]}}]
    lab["parties"] = {}
    lab["topology"]["peerings"] = []
    raises(lab, "topology.autonomous_systems[1]", "duplicate ASN 150")


def test_duplicate_asn_as_string_and_int_keys():
    lab = default()
    lab["topology"]["autonomous_systems"][150] = lab["topology"]["autonomous_systems"]["150"]
    raises(lab, "topology.autonomous_systems.150", "duplicate ASN 150")


def test_duplicate_ix():
    lab = default()
    lab["topology"]["internet_exchanges"] = [100, {"id": 100}]
    raises(lab, "topology.internet_exchanges[1]", "duplicate internet exchange 100")


def test_router_joining_unknown_network():
    lab = default()
    lab["topology"]["autonomous_systems"]["150"]["routers"]["router0"] = ["net9", "ix100"]
    raises(lab, "topology.autonomous_systems.150.routers.router0", "unknown network 'net9'", "net0")


def test_router_joining_unknown_ix():
    lab = default()
    lab["topology"]["autonomous_systems"]["151"]["routers"]["router0"] = ["net0", "ix101"]
    raises(lab, "topology.autonomous_systems.151.routers.router0", "unknown internet exchange 'ix101'")


def test_peering_naming_an_as_not_at_that_ix():
    lab = default()
    lab["topology"]["autonomous_systems"]["153"] = {"networks": ["net0"], "routers": {"router0": ["net0"]}}
    lab["topology"]["peerings"][0]["route_server"].append(153)
    raises(lab, "topology.peerings[0].route_server[3]", "AS153 has no router at ix100")


def test_peering_naming_an_unknown_as():
    lab = default()
    lab["topology"]["peerings"].append({"ix": 100, "a": 150, "b": 999, "relationship": "peer"})
    raises(lab, "topology.peerings[1].b", "AS999 is not in topology.autonomous_systems")


def test_peering_relationship_must_be_known():
    lab = default()
    lab["topology"]["peerings"].append({"ix": 100, "a": 150, "b": 151, "relationship": "customer"})
    raises(lab, "topology.peerings[1].relationship", "peer, provider, unfiltered")


def test_duplicate_private_peering():
    lab = default()
    lab["topology"]["peerings"] += [{"ix": 100, "a": 150, "b": 151}, {"ix": 100, "a": 151, "b": 150}]
    raises(lab, "topology.peerings[2]", "already peer privately at ix100 (at topology.peerings[1])")


def test_asn_above_255_needs_a_prefix():
    lab = default()
    lab["topology"]["autonomous_systems"]["65001"] = {"networks": ["net0"], "routers": {"router0": ["net0"]}}
    raises(lab, "topology.autonomous_systems.65001.networks[0]", "explicit 'prefix'", "10.253.233.0/24")


def test_asn_above_254_cannot_join_an_ix():
    lab = default()
    lab["topology"]["autonomous_systems"]["300"] = {"networks": [{"name": "net0", "prefix": "10.1.44.0/24"}],
                                                    "routers": {"router0": ["net0", "ix100"]}}
    raises(lab, "topology.autonomous_systems.300.routers.router0", "ASNs 2-254")


def test_more_reserved_hosts_than_the_host_range_holds():
    lab = default()
    # 12 ghosts + 18 extra hosts = 30 > 29 (.71-.99)
    lab["topology"]["autonomous_systems"]["150"]["hosts"] = ["h%d" % i for i in range(18)]
    raises(lab, "topology.autonomous_systems.150.networks.net0", "30 reserved hosts", ".71-.99 holds 29")
    lab["topology"]["autonomous_systems"]["150"]["hosts"] = ["h%d" % i for i in range(17)]
    topo.normalize(**lab)


def test_party_on_missing_as():
    lab = default()
    lab["parties"]["1"] = {"asn": 160}
    raises(lab, "parties.1.asn", "AS160 is not in topology.autonomous_systems")


def test_party_on_missing_network():
    lab = default()
    lab["parties"]["9999"]["network"] = "lan"
    raises(lab, "parties.9999.network", "AS152 has no network 'lan'")


def test_duplicate_party_ids():
    lab = default()
    lab["parties"][9999] = {"asn": 150}
    raises(lab, "parties.9999", "duplicate party id 9999")


def test_duplicate_party_ids_in_list_form():
    lab = default()
    lab["parties"] = [{"id": 1, "asn": 150}, {"id": "1", "asn": 151}]
    raises(lab, "parties[1]", "duplicate party id 1")


def test_two_parties_in_one_as():
    lab = default()
    lab["parties"]["8888"]["asn"] = 151
    raises(lab, "parties.8888.asn", "already hosts party 10000")


def test_party_needs_a_cluster():
    lab = default()
    lab["parties"]["8888"]["training"] = False
    lab["parties"]["8888"]["serving"] = False
    raises(lab, "parties.8888", "training, serving or both")


def test_extra_host_named_like_a_component():
    lab = default()
    lab["topology"]["autonomous_systems"]["150"]["hosts"] = ["proxy"]
    raises(lab, "parties.8888", "'proxy'")


def test_overlapping_prefixes():
    lab = default()
    lab["topology"]["autonomous_systems"]["150"]["networks"] = ["net0", {"name": "x", "prefix": "10.151.0.0/16"}]
    raises(lab, "topology.autonomous_systems.151.networks.net0", "overlaps 10.151.0.0/16")


def test_prefix_smaller_than_a_24():
    lab = default()
    lab["topology"]["autonomous_systems"]["150"]["networks"] = [{"name": "net0", "prefix": "10.150.0.0/25"}]
    raises(lab, "topology.autonomous_systems.150.networks[0].prefix", "smaller than a /24")


def test_unknown_keys_are_refused():
    lab = default()
    lab["topology"]["autonomous_systems"]["150"]["router"] = {}
    raises(lab, "topology.autonomous_systems.150", "unknown key(s) router")


def test_source_is_quoted():
    lab = default()
    lab["parties"]["1"] = {"asn": 160}
    with pytest.raises(topo.TopologyError) as info:
        topo.normalize(lab["topology"], lab["parties"], source="inventories/x/topology.yml")
    assert str(info.value).startswith("parties.1.asn (in inventories/x/topology.yml): ")


def test_script_mode_parties():
    parties = topo.normalize_parties_only({"9999": {"asn": 152, "serving": True}, "8888": {"asn": "150"}})
    assert [(p["id"], p["asn"], p["network"], p["serving"]) for p in parties] == [
        ("9999", 152, "net0", True), ("8888", 150, "net0", False)]
    with pytest.raises(topo.TopologyError) as info:
        topo.normalize_parties_only({"x": {"asn": 1}})
    assert info.value.field == "parties.x"


# --- FATE version: reservations follow the catalogue ---------------------------------------------------

def test_ghost_plan_follows_fate_version():
    lab = default()
    for party in lab["parties"].values():
        party["serving"] = False
    model = topo.normalize(lab["topology"], lab["parties"], fate_version="2.2.0")
    plan = topo.ghost_plan(model["parties"], "2.2.0")
    assert [(g["party"], g["name"], g["asn"]) for g in plan] == [
        ("10000", "fateflow", 151), ("10000", "rabbitmq", 151), ("10000", "nginx", 151),
        ("9999", "fateflow", 152), ("9999", "rabbitmq", 152), ("9999", "nginx", 152),
        ("8888", "fateflow", 150), ("8888", "rabbitmq", 150), ("8888", "nginx", 150)]
    # The model itself does not carry the version: default labs normalise exactly as before.
    assert model == topo.normalize(lab["topology"], lab["parties"])


def test_default_version_is_1_3_0():
    model = topo.normalize(**default())
    assert topo.ghost_plan(model["parties"]) == topo.ghost_plan(model["parties"], "1.3.0")
    assert topo.TRAINING_COMPONENTS[1] == "proxy" and len(topo.TRAINING_COMPONENTS) == 9


def test_serving_refused_for_a_version_without_serving():
    lab = default()
    with pytest.raises(topo.TopologyError) as err:
        topo.normalize(lab["topology"], lab["parties"], fate_version="2.2.0")
    assert err.value.field == "parties.10000.serving"
    assert "FATE 2.2.0 has no serving cluster" in str(err.value)


def test_unknown_fate_version_lists_supported():
    with pytest.raises(topo.TopologyError) as err:
        topo.normalize(default()["topology"], {"7": {"asn": 150}}, fate_version="9.9")
    assert err.value.field == "fate_version" and "supported: 1.3.0, 2.2.0" in str(err.value)


def test_name_clash_checked_against_the_version_components():
    lab = default()
    lab["topology"]["autonomous_systems"]["150"]["hosts"] = ["nginx"]
    topo.normalize(**lab)  # no clash with 1.3.0's components
    with pytest.raises(topo.TopologyError, match="named 'nginx'"):
        topo.normalize(lab["topology"], {"8888": {"asn": 150}}, fate_version="2.2.0")


# --- Transit ASes, several routers and networks per AS; the cross-field checks (issue 12 items 1, 7) ---

def stub(ix):
    return {"networks": ["net0"], "routers": {"router0": ["net0", "ix%d" % ix]}}


def transit():
    """Two IXes joined by transit AS240 (r1 at ix124, r2 at ix125, one internal network between them),
    stubs 241/242 at ix124 and 243/244 at ix125 as its customers, a party in each stub."""
    return {
        "topology": {
            "internet_exchanges": [124, 125],
            "autonomous_systems": {
                240: {"networks": ["core"], "routers": {"r1": ["core", "ix124"], "r2": ["core", "ix125"]}},
                241: stub(124), 242: stub(124), 243: stub(125), 244: stub(125),
            },
            "peerings": [
                {"ix": 124, "a": 240, "b": 241, "relationship": "provider"},
                {"ix": 124, "a": 240, "b": 242, "relationship": "provider"},
                {"ix": 125, "a": 240, "b": 243, "relationship": "provider"},
                {"ix": 125, "a": 240, "b": 244, "relationship": "provider"},
            ],
        },
        "parties": {"1": {"asn": 241}, "2": {"asn": 243}},
    }


def test_transit_lab_normalises_with_a_multi_router_as():
    model = topo.normalize(**transit())
    as240 = model["autonomous_systems"][0]
    assert [r["name"] for r in as240["routers"]] == ["r1", "r2"]
    assert [r["joins"] for r in as240["routers"]] == [["core", "ix124"], ["core", "ix125"]]
    assert topo.multi_router_asns(model) == [240]
    assert topo.multi_router_asns(topo.normalize(**default())) == []


def test_an_as_may_have_several_networks_and_internal_routers():
    lab = transit()
    lab["topology"]["autonomous_systems"][240] = {
        "networks": ["core", "west", "east"],
        "routers": {"r1": ["west", "ix124"], "r2": ["east", "ix125"], "core1": ["core", "west", "east"]},
        "hosts": {"web": ["core"]}}
    lab["parties"]["3"] = {"asn": 240, "network": "east"}
    model = topo.normalize(**lab)
    assert topo.multi_router_asns(model) == [240]
    assert [n["name"] for n in model["autonomous_systems"][0]["networks"]] == ["core", "west", "east"]
    assert model["parties"][2]["network"] == "east"


def test_route_servers_and_relationships_mix():
    lab = transit()
    lab["topology"]["peerings"] += [{"ix": 124, "route_server": [241, 242]},
                                    {"ix": 125, "a": 243, "b": 244, "relationship": "peer"}]
    assert len(topo.normalize(**lab)["peerings"]) == 6


def test_party_on_a_network_its_as_does_not_have_names_field_and_file():
    lab = transit()
    lab["parties"]["2"]["network"] = "core"
    with pytest.raises(topo.TopologyError) as info:
        topo.normalize(lab["topology"], lab["parties"], source="inventories/t/group_vars/all/lab.yml")
    assert info.value.field == "parties.2.network"
    assert str(info.value).startswith("parties.2.network (in inventories/t/group_vars/all/lab.yml): ")
    assert "AS243 has no network 'core' (it has: net0)" in str(info.value)


def test_router_joining_an_ix_its_as_does_not_peer_at():
    lab = transit()
    # AS241's router is at ix125 too, but no peering there names AS241.
    lab["topology"]["autonomous_systems"][241]["routers"]["router0"] = ["net0", "ix124", "ix125"]
    raises(lab, "topology.autonomous_systems.241.routers.router0", "joins ix125, but AS241 does not peer at ix125")


def test_router_joining_an_ix_that_does_not_exist():
    lab = transit()
    lab["topology"]["autonomous_systems"][240]["routers"]["r2"] = ["core", "ix126"]
    raises(lab, "topology.autonomous_systems.240.routers.r2", "unknown internet exchange 'ix126'", "ix124, ix125")


def test_relationship_between_ases_that_share_no_ix():
    lab = transit()
    lab["topology"]["peerings"].append({"ix": 124, "a": 241, "b": 243, "relationship": "peer"})
    err = raises(lab, "topology.peerings[4]", "AS241 and AS243 share no internet exchange",
                 "AS241 is at ix124; AS243 is at ix125")
    assert "relationship" in err.message


def test_relationship_at_the_wrong_ix_names_the_shared_one():
    lab = transit()
    lab["topology"]["peerings"][2]["ix"] = 124     # AS240-AS243, but AS243 is only at ix125
    raises(lab, "topology.peerings[2].ix", "AS243 has no router at ix124", "they share ix125")


def test_validation_errors_come_before_any_compile(monkeypatch):
    # normalize never imports seedemu: a broken lab fails even where seedemu is missing.
    import sys
    monkeypatch.setitem(sys.modules, "seedemu", None)
    lab = transit()
    lab["topology"]["peerings"].append({"ix": 125, "a": 241, "b": 244})
    raises(lab, "topology.peerings[4]", "share no internet exchange")
