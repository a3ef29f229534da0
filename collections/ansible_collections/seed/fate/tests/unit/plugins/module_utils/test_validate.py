# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One validator (module_utils/validate.py) for party ids, ASNs, addresses, prefixes and names, and
the topology, the ghost files and the bundles agreeing on it (issue 11, items 10 and 11)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import ipaddress
import json
import os
import shutil

import pytest

from ansible_collections.seed.fate.plugins.module_utils import fate_bundle as fb
from ansible_collections.seed.fate.plugins.module_utils import fate_versions
from ansible_collections.seed.fate.plugins.module_utils import topology as topo
from ansible_collections.seed.fate.plugins.module_utils import validate
from ansible_collections.seed.fate.plugins.module_utils import ghost_model as gm
from ansible_collections.seed.fate.tests.unit.plugins.module_utils.test_fate_bundle_render import lab as bundle_lab
from ansible_collections.seed.fate.tests.unit.plugins.module_utils.test_topology import default as default_topology

HERE = os.path.dirname(os.path.abspath(__file__))
LAB2 = os.path.join(HERE, "..", "inventory", "fixtures", "lab2")
CAT = fate_versions.get("1.3.0")

# Party ids the topology once normalised (or crashed on): every reader must refuse them alike.
BAD_PARTY_IDS = ["\u00b2", "\u0661\u0662", " 0012 ", "0012", "+12", "-1", "1_000", "12.0", "0", 0, 2 ** 31,
                 "100000000000000000000000", 10 ** 23, True, None, 12.0, "9" * 5000]


# --------------------------------------------------------------------------------------------------
# The validator itself

@pytest.mark.parametrize("value", BAD_PARTY_IDS, ids=[repr(v)[:20] for v in BAD_PARTY_IDS])
def test_party_id_refuses_anything_but_a_plain_decimal_in_range(value):
    with pytest.raises(validate.Invalid, match="party id"):
        validate.party_id(value)


def test_party_id_and_asn_accept_canonical_values():
    assert validate.party_id("12") == validate.party_id(12) == 12
    assert validate.party_id(str(2 ** 31 - 1)) == 2 ** 31 - 1
    assert validate.asn("4294967295") == 4294967295
    for bad in ("\u00b2", "0", "4294967296", " 150", "0150"):
        with pytest.raises(validate.Invalid, match="ASN"):
            validate.asn(bad)


@pytest.mark.parametrize("value, words", [
    (167772230, "written as a string"), ("10.0.0.010", "not an IPv4 address"), (" 10.0.0.1", "not an IPv4"),
    ("127.0.0.1", "loopback"), ("169.254.1.1", "link-local"), ("224.0.0.1", "multicast"), ("0.0.0.0", "'this network'"),
    ("255.255.255.255", "reserved"), ("8.8.8.8", "not a private address")])
def test_lab_addresses(value, words):
    with pytest.raises(validate.Invalid, match=words):
        validate.ipv4_address(value, private=True)


def test_host_address_is_neither_network_nor_broadcast():
    net = ipaddress.IPv4Network("10.150.0.0/24")
    assert validate.host_address("10.150.0.71", net) == "10.150.0.71"
    for addr, word in (("10.150.0.0", "network"), ("10.150.0.255", "broadcast"), ("10.151.0.1", "not inside")):
        with pytest.raises(validate.Invalid, match=word):
            validate.host_address(addr, net)


@pytest.mark.parametrize("value, words", [
    ("127.0.0.0/8", "loopback"), ("169.254.0.0/16", "link-local"), ("8.8.8.0/24", "not inside the private ranges"),
    ("10.0.0.0/7", "not inside the private ranges"), ("10.1.0.1/24", "host bits"), (167772160, "as a string")])
def test_prefixes(value, words):
    with pytest.raises(validate.Invalid, match=words):
        validate.prefix(value)
    assert str(validate.prefix("192.168.7.0/24")) == "192.168.7.0/24"


def test_bind_address_warns_on_every_interface():
    assert validate.bind_address("127.0.0.1") == ("127.0.0.1", None)
    address, warning = validate.bind_address("0.0.0.0")
    assert address == "0.0.0.0" and "every interface" in warning
    with pytest.raises(validate.Invalid):
        validate.bind_address("224.0.0.1")


@pytest.mark.parametrize("value", ["/data/../etc", "/data/./x", "/data//x", "data", "/data/$HOME", "/data/x y"])
def test_absolute_path_refuses_dot_components_and_odd_characters(value):
    with pytest.raises(validate.Invalid, match="deploy_dir"):
        validate.absolute_path(value, "deploy_dir")
    assert validate.absolute_path("/data/projects/fate/") == "/data/projects/fate"


def test_names():
    assert validate.name("net0") == "net0"
    for bad in ("0net", "net 0", "net{{x}}", "n" * 32, 7, "n\u00e9t"):
        with pytest.raises(validate.Invalid):
            validate.name(bad)
    assert validate.docker_name("seedfate_net_150_net0") == "seedfate_net_150_net0"
    for bad in ("", "-x", "a b", "a/b", "a{{b}}"):
        with pytest.raises(validate.Invalid):
            validate.docker_name(bad)


# --------------------------------------------------------------------------------------------------
# The topology (topology.py): clear errors naming the field, never a traceback

def topo_error(lab):
    with pytest.raises(topo.TopologyError) as info:
        topo.normalize(**lab)
    return info.value


@pytest.mark.parametrize("value", ["\u00b2", "\u0661\u0662", " 0012 ", "0012"])
def test_topology_party_id_and_asn_with_odd_digits_are_errors(value):
    lab = default_topology()
    body = lab["parties"].pop("10000")
    lab["parties"][value] = body
    err = topo_error(lab)
    assert err.field == "parties.%s" % value and "party id must be a decimal integer" in err.message
    lab = default_topology()
    lab["parties"]["10000"]["asn"] = value
    err = topo_error(lab)
    assert err.field == "parties.10000.asn" and "ASN must be a decimal integer" in err.message


@pytest.mark.parametrize("prefix, words", [("127.0.0.0/24", "loopback"), ("8.8.8.0/24", "private ranges")])
def test_topology_refuses_loopback_and_public_prefixes(prefix, words):
    lab = default_topology()
    lab["topology"]["autonomous_systems"]["150"]["networks"] = [{"name": "net0", "prefix": prefix}]
    err = topo_error(lab)
    assert err.field == "topology.autonomous_systems.150.networks[0].prefix" and words in err.message


def test_topology_refuses_an_internet_exchange_without_members():
    lab = default_topology()
    lab["topology"]["internet_exchanges"].append(77)
    err = topo_error(lab)
    assert err.field == "topology.internet_exchanges[%d]" % (len(lab["topology"]["internet_exchanges"]) - 1)
    assert "ix77 has no members" in err.message


def test_topology_refuses_an_empty_route_server():
    lab = default_topology()
    lab["topology"]["peerings"] = [{"ix": lab["topology"]["peerings"][0]["ix"], "route_server": []}]
    assert "at least one member" in topo_error(lab).message


def test_topology_refuses_ix_with_leading_zeros_and_odd_network_names():
    lab = default_topology()
    lab["topology"]["autonomous_systems"]["150"]["routers"]["router0"] = ["net0", "ix0100"]
    assert "IX id of 'ix0100' must be a decimal integer" in topo_error(lab).message
    lab = default_topology()
    lab["parties"]["10000"]["network"] = "net 0"
    assert topo_error(lab).field == "parties.10000.network"


def test_topology_error_names_the_source_file():
    lab = default_topology()
    lab["parties"]["10000"]["asn"] = "\u00b2"
    with pytest.raises(topo.TopologyError, match=r"parties.10000.asn \(in /x/lab.yml\): ASN must be"):
        topo.normalize(source="/x/lab.yml", **lab)


# --------------------------------------------------------------------------------------------------
# The ghost files (module_utils/ghost_model.py)

@pytest.fixture
def ghost(tmp_path):
    folder = tmp_path / "ghost"
    shutil.copytree(LAB2, str(folder))
    return folder


def edit(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def load(folder):
    return gm.load_lab(str(folder / "GhostNodes.json"), str(folder / "pre_party_list.json"),
                       str(folder / "AutonomousSystems.json"))


def ghost_error(folder, *words):
    with pytest.raises(gm.GhostModelError) as info:
        load(folder)
    for word in words:
        assert word in str(info.value), str(info.value)
    return info.value


def test_ghost_lab_fixture_loads(ghost):
    assert [p.party_id for p in load(ghost).parties] == [1001, 1002]


@pytest.mark.parametrize("value", ["\u00b2", "\u0661\u0662", " 161", "0161", 0, 10 ** 23, 161.0])
def test_ghost_asn_with_odd_digits_or_out_of_range(ghost, value):
    edit(ghost / "GhostNodes.json", lambda d: d[0].__setitem__("Autonomous_Systems", value))
    err = ghost_error(ghost, "Autonomous_Systems")
    assert err.path.endswith("GhostNodes.json") and err.entry.startswith("entry 0")


@pytest.mark.parametrize("key", ["0", "100000000000000000000000", "2147483648", "\u0661\u0662", " 0012 ", "0012",
                                 "\u00b2"])
def test_ghost_party_id_outside_the_topologys_range_or_not_canonical(ghost, key):
    edit(ghost / "pre_party_list.json", lambda d: d["training"].__setitem__(key, d["training"].pop("1002")))
    err = ghost_error(ghost, "party id")
    assert err.path.endswith("pre_party_list.json") and err.entry == "training party %s" % key


def test_ghost_address_as_a_json_integer(ghost):
    edit(ghost / "GhostNodes.json", lambda d: d[0]["Interfaces"][0].__setitem__("Address", 178323783))
    err = ghost_error(ghost, "must be an IPv4 address written as a string", "178323783")
    assert err.entry.startswith("entry 0") and "interface 0" in err.entry


@pytest.mark.parametrize("address, word", [("10.161.0.0", "network address"), ("10.161.0.255", "broadcast address")])
def test_ghost_network_and_broadcast_addresses(ghost, address, word):
    nodes = json.loads((ghost / "GhostNodes.json").read_text())
    proxy = [i for i, n in enumerate(nodes) if n["NodeId"] == "hnode_161_proxy"][0]
    edit(ghost / "GhostNodes.json", lambda d: d[proxy]["Interfaces"][0].__setitem__("Address", address))
    err = ghost_error(ghost, word)
    assert err.path.endswith("GhostNodes.json") and "hnode_161_proxy" in err.entry


@pytest.mark.parametrize("prefix, word", [("127.0.0.0/8", "loopback"), ("8.8.8.0/24", "private ranges")])
def test_ghost_as_prefix_loopback_or_public(ghost, prefix, word):
    edit(ghost / "AutonomousSystems.json", lambda d: d[0]["Networks"][0].__setitem__("prefix", prefix))
    err = ghost_error(ghost, word)
    assert err.path.endswith("AutonomousSystems.json") and "network 0" in err.entry


def test_ghost_json_nested_too_deeply_names_the_file(ghost):
    path = ghost / "GhostNodes.json"
    path.write_text("[" * 100000 + "]" * 100000)
    err = ghost_error(ghost, "nested too deeply")
    assert err.path == str(path)


# --------------------------------------------------------------------------------------------------
# The bundles (fate_bundle.py)

@pytest.mark.parametrize("value", ["\u00b2", "\u0661\u0662", " 0012 ", 0, 10 ** 23])
def test_bundle_party_id_with_odd_digits_or_out_of_range(value):
    parties, directory = bundle_lab(1)
    parties[0]["party_id"] = value
    with pytest.raises(fb.BundleError, match=r"party: party_id: party id"):
        fb.normalize_party(parties[0], CAT)
    directory[0]["party_id"] = value
    with pytest.raises(fb.BundleError, match=r"directory\[0\].party_id: party id"):
        fb.normalize_directory(directory)


def test_bundle_directory_entry_0012_does_not_match_party_12():
    parties, directory = bundle_lab(1)
    parties[0]["party_id"] = 12
    directory[0]["party_id"] = "0012"
    with pytest.raises(fb.BundleError, match="leading zeros"):
        fb.check_lab(parties, directory, None, "127.0.0.1", CAT)


def test_bundle_addresses_and_network_names():
    parties, directory = bundle_lab(1)
    bad = copy.deepcopy(parties[0])
    bad["clusters"]["training"]["proxy"]["address"] = 178323783
    with pytest.raises(fb.BundleError, match=r"seedfate_clusters.training.proxy.address: address must be an IPv4 "
                                             r"address written as a string"):
        fb.normalize_party(bad, CAT)
    bad = copy.deepcopy(parties[0])
    bad["clusters"]["training"]["proxy"]["network"] = "net; rm -rf /"
    with pytest.raises(fb.BundleError, match=r"seedfate_clusters.training.proxy.network: network .* must be a docker name"):
        fb.normalize_party(bad, CAT)
    directory[0]["proxy"] = "8.8.8.8"
    with pytest.raises(fb.BundleError, match=r"directory\[0\].proxy \(party 10000\): proxy 8.8.8.8 is not a private"):
        fb.normalize_directory(directory)


def bundle_settings(**over):
    out = {"deploy_dir": "/data/projects/fate", "publish_address": "127.0.0.1", "fateboard_port_base": 18080,
           "grpc_timeout_ms": 300000}
    out.update(over)
    return out


def test_bundle_deploy_dir_with_dot_dot():
    with pytest.raises(fb.BundleError, match=r"deploy_dir \(fate_config_deploy_dir\): deploy_dir '/data/../etc' "
                                             r"must not hold '.', '..'"):
        fb.check_settings(bundle_settings(deploy_dir="/data/../etc"))


def test_bundle_publish_address_every_interface_is_a_warning():
    assert fb.check_settings(bundle_settings()) == []
    warnings = fb.check_settings(bundle_settings(publish_address="0.0.0.0"))
    assert len(warnings) == 1 and "0.0.0.0" in warnings[0]


# --------------------------------------------------------------------------------------------------
# One rule for all three

@pytest.mark.parametrize("value", ["12", "\u00b2", "\u0661\u0662", " 0012 ", "0012", "0", "2147483648"])
def test_topology_ghost_files_and_bundle_agree_on_party_ids(value, tmp_path):
    def accepted(check):
        try:
            check()
            return True
        except (topo.TopologyError, gm.GhostModelError, fb.BundleError):
            return False

    lab = default_topology()
    lab["parties"][value] = lab["parties"].pop("10000")
    by_topology = accepted(lambda: topo.normalize(**lab))

    folder = tmp_path / "ghost"
    shutil.copytree(LAB2, str(folder))
    edit(folder / "pre_party_list.json", lambda d: d["training"].__setitem__(value, d["training"].pop("1002")))
    by_ghost = accepted(lambda: load(folder))

    parties, directory = bundle_lab(1)
    parties[0]["party_id"] = value
    directory[0]["party_id"] = value
    by_bundle = accepted(lambda: fb.check_lab(parties, directory, None, "127.0.0.1", CAT))
    assert by_topology == by_ghost == by_bundle == (value == "12")
