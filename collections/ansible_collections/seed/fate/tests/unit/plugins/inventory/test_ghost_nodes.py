# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The seed.fate.ghost_nodes inventory plugin, driven by a real InventoryManager / DataLoader on
configuration files written to a temporary folder.

Fixtures: fixtures/lab2 (hand-written, see ../module_utils/test_ghost_model.py) and, when present,
the seedemu fork's real output. Every input error of issue 4 is asserted with its message here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import json
import os
import re
import shutil
import sys

import pytest

from ansible import constants as C
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19: every string given to the templar is a template
    def trust_as_template(value):
        return value
from ansible.utils.collection_loader import AnsibleCollectionConfig
from ansible.utils.display import Display
from ansible.vars.manager import VariableManager

HERE = os.path.dirname(os.path.abspath(__file__))
LAB2 = os.path.join(HERE, "fixtures", "lab2")
COLLECTION = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
COLLECTIONS_DIR = os.path.abspath(os.path.join(COLLECTION, "..", "..", ".."))
PLUGIN = "seed.fate.ghost_nodes"


COLLECTION_PACKAGES = ("ansible_collections", "ansible_collections.seed", "ansible_collections.seed.fate")


def _reload_collection_packages():
    """Other test modules import this collection's module_utils through plain sys.path (pytest.ini's
    pythonpath) while pytest collects them, before any collection finder exists; the collection's
    package then lacks the metadata Ansible's plugin loader needs. Re-import the three package
    levels through the finder (their submodules stay as they are, re-attached to the new parents)."""
    fate = sys.modules.get("ansible_collections.seed.fate")
    if fate is None or getattr(fate, "_collection_meta", None) is not None:
        return
    for name in COLLECTION_PACKAGES:
        sys.modules.pop(name, None)
    for name in COLLECTION_PACKAGES:
        importlib.import_module(name)
    for name, module in list(sys.modules.items()):
        parent, _sep, child = name.rpartition(".")
        if parent in COLLECTION_PACKAGES and module is not None:
            setattr(sys.modules[parent], child, module)


@pytest.fixture(scope="module", autouse=True)
def plugin_loader():
    # What the CLI does at start: let Ansible find this collection's plugins.
    if AnsibleCollectionConfig.collection_finder is None:
        from ansible.plugins.loader import init_plugin_loader
        init_plugin_loader([COLLECTIONS_DIR])
    _reload_collection_packages()
    from ansible.plugins.loader import inventory_loader
    assert inventory_loader.get(PLUGIN) is not None, "seed.fate.ghost_nodes is not loadable"


@pytest.fixture
def warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(Display, "warning", lambda self, msg, *a, **kw: seen.append(msg))
    return seen


@pytest.fixture
def lab(tmp_path):
    """A writable copy of lab2 in <tmp>/ghost."""
    folder = tmp_path / "ghost"
    shutil.copytree(LAB2, str(folder))
    return folder


def write_cfg(folder, name="lab.seedfate.yml", **options):
    options.setdefault("plugin", PLUGIN)
    path = os.path.join(str(folder), name)
    with open(path, "w") as f:
        json.dump(options, f)  # JSON is YAML
    return path


def inventory(cfg, monkeypatch):
    """A real InventoryManager that parses ``cfg`` with only this plugin enabled."""
    monkeypatch.setattr(C, "INVENTORY_ENABLED", [PLUGIN])
    monkeypatch.setattr(C, "INVENTORY_ANY_UNPARSED_IS_FAILED", True)
    return InventoryManager(loader=DataLoader(), sources=[cfg])


def parse_direct(cfg):
    """The plugin's parse on a real InventoryData, so that its own exception reaches the test."""
    from ansible.plugins.loader import inventory_loader
    data = InventoryData()
    inventory_loader.get(PLUGIN).parse(data, DataLoader(), cfg)
    return data


def members(inv, group):
    return sorted(h.name for h in inv.groups[group].get_hosts())


# --------------------------------------------------------------------------------------------------
# The inventory

def test_verify_file_wants_the_documented_suffixes(tmp_path):
    from ansible.plugins.loader import inventory_loader
    plugin = inventory_loader.get(PLUGIN)
    for name, wanted in (("lab.seedfate.yml", True), ("x.seedfate.yaml", True), ("seedfate.yml", True),
                         ("lab.yml", False), ("lab.seedfate.json", False), ("notseedfate.yml", False)):
        path = tmp_path / name
        path.write_text("plugin: %s\n" % PLUGIN)
        assert plugin.verify_file(str(path)) is wanted, name


def test_hosts_and_groups(lab, monkeypatch):
    inv = inventory(write_cfg(lab.parent, ghost_dir="ghost"), monkeypatch)
    assert members(inv, "fate_parties") == ["party-1001", "party-1002"]
    components = ["hnode_161_Servingredis", "hnode_161_Servingserving-proxy", "hnode_161_Servingserving-server",
                  "hnode_161_federation", "hnode_161_proxy", "hnode_161_python", "hnode_162_proxy", "hnode_162_python"]
    assert members(inv, "fate_components") == components
    assert "hnode_161_spare" not in inv.hosts
    assert members(inv, "party_1002") == ["hnode_162_proxy", "hnode_162_python", "party-1002"]
    assert members(inv, "as_162") == ["hnode_162_proxy", "hnode_162_python"]
    assert members(inv, "component_serving_server") == ["hnode_161_Servingserving-server"]
    assert members(inv, "component_proxy") == ["hnode_161_proxy", "hnode_162_proxy"]
    assert members(inv, "cluster_serving") == components[:3]
    assert members(inv, "cluster_training") == components[3:]
    # Party order in the layout is the order of the group.
    assert [h.name for h in inv.groups["fate_parties"].hosts] == ["party-1001", "party-1002"]


def test_party_host_vars(lab, monkeypatch):
    inv = inventory(write_cfg(lab.parent, ghost_dir="ghost"), monkeypatch)
    hv = inv.get_host("party-1002").get_vars()
    assert hv["ansible_connection"] == "local"
    assert (hv["seedfate_party_id"], hv["seedfate_party_index"], hv["seedfate_asn"]) == (1002, 1, 162)
    assert hv["seedfate_compose_project"] == "sftest-inv"          # from lab.json
    assert hv["seedfate_clusters"] == {"training": {
        "proxy": {"node_id": "hnode_162_proxy", "address": "10.162.0.71", "network": "sftest-inv_net_162_net0",
                  "net_name": "net0", "prefix": "10.162.0.0/24", "gateway": "10.162.0.254", "asn": 162},
        "python": {"node_id": "hnode_162_python", "address": "10.162.1.71", "network": "sftest-inv_net_162_net1",
                   "net_name": "net1", "prefix": "10.162.1.0/24", "gateway": "10.162.1.254", "asn": 162}}}
    assert "seedfate_party_directory" not in hv     # a group variable, set once
    # A plain list (no template): it reads the same through hostvars from any host.
    assert [d["party_id"] for d in inv.groups["fate_parties"].get_vars()["seedfate_party_directory"]] == [1001, 1002]
    assert hv["seedfate_party_entry"] == {"party_id": 1002, "asn": 162, "proxy": "10.162.0.71",
                                          "python": "10.162.1.71", "serving_server": None, "serving_proxy": None}
    # The group variable lists every party's entry.
    directory = rendered_directory(inv, "party-1001")
    assert [d["party_id"] for d in directory] == [1001, 1002]
    assert directory[0] == {"party_id": 1001, "asn": 161, "proxy": "10.161.0.72", "python": "10.161.0.73",
                            "serving_server": "10.161.0.74", "serving_proxy": "10.161.0.75"}
    # ... and every party host sees the same one.
    assert rendered_directory(inv, "party-1002") == directory


def rendered_directory(inv, host):
    """seedfate_party_directory as a play on ``host`` sees it."""
    loader = DataLoader()
    if inv.get_host(host) is None:
        inv.add_host(host, group="fate_parties")
    manager = VariableManager(loader=loader, inventory=inv)
    # As in a play: the variable manager knows every host's variables through hostvars.
    from ansible.vars.hostvars import HostVars
    manager._hostvars = HostVars(inventory=inv, variable_manager=manager, loader=loader)
    variables = manager.get_vars(host=inv.get_host(host))
    return Templar(loader=loader, variables=variables).template(variables["seedfate_party_directory"])


def test_party_host_names_for_the_roles(lab, monkeypatch):
    inv = inventory(write_cfg(lab.parent, ghost_dir="ghost"), monkeypatch)
    hv = inv.get_host("party-1001").get_vars()
    assert hv["seedfate_projects"] == {"training": "confs-1001", "serving": "serving-1001",
                                       "exchange": "confs-exchange"}
    assert hv["seedfate_containers"]["training"]["python"] == "confs-1001-python-1"
    assert hv["seedfate_containers"]["serving"]["serving-proxy"] == "serving-1001-serving-proxy-1"
    assert hv["seedfate_pod_containers"]["training"]["proxy"] == "confs-1001-proxy-pod-1"
    # The same names as the component hosts'.
    comp = inv.get_host("hnode_161_proxy").get_vars()
    assert (comp["ansible_host"], comp["seedfate_pod_container"]) == \
        (hv["seedfate_containers"]["training"]["proxy"], hv["seedfate_pod_containers"]["training"]["proxy"])
    assert list(inv.get_host("party-1002").get_vars()["seedfate_containers"]) == ["training"]


def test_component_host_vars(lab, monkeypatch):
    inv = inventory(write_cfg(lab.parent, ghost_dir="ghost"), monkeypatch)
    hv = dict(inv.get_host("hnode_161_proxy").get_vars())
    for magic in ("inventory_file", "inventory_dir", "inventory_hostname", "inventory_hostname_short", "group_names"):
        hv.pop(magic, None)
    assert hv == {
        "ansible_connection": "community.docker.docker",
        "ansible_host": "confs-1001-proxy-1",
        "seedfate_party_id": 1001,
        "seedfate_party_host": "party-1001",
        "seedfate_asn": 161,
        "seedfate_cluster": "training",
        "seedfate_component": "proxy",
        "seedfate_node_id": "hnode_161_proxy",
        "seedfate_address": "10.161.0.72",
        "seedfate_network": "sftest-inv_net_161_net0",
        "seedfate_gateway": "10.161.0.254",
        "seedfate_prefix": "10.161.0.0/24",
        "seedfate_pod_container": "confs-1001-proxy-pod-1",
    }


def test_compose_project_precedence(lab, monkeypatch):
    def project(**options):
        inv = inventory(write_cfg(lab.parent, ghost_dir="ghost", **options), monkeypatch)
        return inv.get_host("hnode_162_proxy").get_vars()["seedfate_network"]

    assert project(compose_project="mine") == "mine_net_162_net0"    # option first
    assert project() == "sftest-inv_net_162_net0"                     # then lab.json
    (lab / "lab.json").unlink()
    assert project() == "output_net_162_net0"                         # then seedemu's folder name


def test_explicit_files_flat_layout_and_relative_paths(lab, tmp_path, monkeypatch):
    shutil.move(str(lab / "pre_party_list.flat.json"), str(tmp_path / "layout.json"))
    # Without ghost_dir, relative file paths are taken from the configuration file's folder.
    cfg = write_cfg(tmp_path, ghost_nodes_file="ghost/GhostNodes.json", party_layout_file="layout.json",
                    layout_format="flat")
    inv = inventory(cfg, monkeypatch)
    assert members(inv, "fate_parties") == ["party-1001", "party-1002"]
    assert members(inv, "cluster_serving") == []
    # AutonomousSystems.json beside GhostNodes.json is used: router0 (.254), not the ghost's own hint.
    assert inv.get_host("hnode_161_proxy").get_vars()["seedfate_gateway"] == "10.161.0.254"


def test_relative_file_options_resolve_against_ghost_dir(lab, monkeypatch):
    cfg = write_cfg(lab.parent, ghost_dir="ghost", party_layout_file="pre_party_list.flat.json")
    inv = inventory(cfg, monkeypatch)
    assert members(inv, "cluster_serving") == []


def test_without_autonomous_systems_file(lab, monkeypatch):
    (lab / "AutonomousSystems.json").unlink()
    inv = inventory(write_cfg(lab.parent, ghost_dir="ghost"), monkeypatch)
    hv = inv.get_host("hnode_162_python").get_vars()
    assert (hv["seedfate_gateway"], hv["seedfate_prefix"]) == ("10.162.1.254", "10.162.1.0/24")


def test_party_connection_and_overrides(lab, monkeypatch, warnings):
    cfg = write_cfg(lab.parent, ghost_dir="ghost",
                    party_connection={"ansible_connection": "local",
                                      "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                    party_overrides={"1002": {"ansible_connection": "ssh", "ansible_host": "192.0.2.12",
                                              "ansible_user": "fate"}, "4242": {"ansible_host": "192.0.2.42"}},
                    component_connection="community.docker.docker_api")
    inv = inventory(cfg, monkeypatch)
    p1, p2 = inv.get_host("party-1001").get_vars(), inv.get_host("party-1002").get_vars()
    assert p1["ansible_connection"] == "local" and "ansible_host" not in p1
    assert (p2["ansible_connection"], p2["ansible_host"], p2["ansible_user"]) == ("ssh", "192.0.2.12", "fate")
    assert p2["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"
    assert inv.get_host("hnode_162_proxy").get_vars()["ansible_connection"] == "community.docker.docker_api"
    assert any("party_overrides names party 4242, which is not in" in w for w in warnings)
    # Connection settings from the configuration file stay templates that work.
    loader = DataLoader()
    variables = VariableManager(loader=loader, inventory=inv).get_vars(host=inv.get_host("party-1001"))
    variables["ansible_playbook_python"] = "/opt/py/bin/python3"
    assert Templar(loader=loader, variables=variables).template(trust_as_template("{{ ansible_python_interpreter }}")) == "/opt/py/bin/python3"


def test_values_from_files_are_not_templated(lab, monkeypatch):
    # A network whose name reads like a template is not a name (validate.name): refused, never templated.
    for name in ("GhostNodes.json", "AutonomousSystems.json"):
        path = lab / name
        path.write_text(path.read_text().replace('"net1"', '"net{{ 6 * 7 }}"'))
    with pytest.raises(AnsibleParserError, match=r"GhostNodes.json: entry 1 \(NodeId hnode_162_python\) interface 0: "
                                                 r"Connected_to 'net\{\{ 6 \* 7 \}\}' must start with a letter"):
        parse_direct(write_cfg(lab.parent, ghost_dir="ghost"))


def test_constructed_compose_groups_keyed_groups(lab, monkeypatch):
    cfg = write_cfg(lab.parent, ghost_dir="ghost",
                    compose={"fate_proxy": "seedfate_clusters.training.proxy.address",
                             "peers": "seedfate_party_directory | length"},
                    groups={"with_serving": "'serving' in seedfate_clusters"},
                    keyed_groups=[{"prefix": "net", "key": "seedfate_network"}])
    inv = inventory(cfg, monkeypatch)
    hv = inv.get_host("party-1001").get_vars()
    assert (hv["fate_proxy"], hv["peers"]) == ("10.161.0.72", 2)
    assert members(inv, "with_serving") == ["party-1001"]
    assert members(inv, "net_sftest_inv_net_162_net1") == ["hnode_162_python"]


def test_documented_examples_work(lab, monkeypatch, warnings):
    import yaml
    from ansible_collections.seed.fate.plugins.inventory import ghost_nodes
    examples = [d for d in yaml.safe_load_all(ghost_nodes.EXAMPLES) if d]
    assert len(examples) == 3
    for n, example in enumerate(examples):
        # Point every example at lab2 (paths of the examples are the user's), strictly.
        for key in ("ghost_nodes_file", "autonomous_systems_file", "party_layout_file", "layout_format"):
            example.pop(key, None)
        example.update(ghost_dir="ghost", strict=True)
        inv = inventory(write_cfg(lab.parent, name="example%d.seedfate.yml" % n, **example), monkeypatch)
        assert members(inv, "fate_parties") == ["party-1001", "party-1002"]
    assert members(inv, "has_serving") == ["party-1001"]
    assert members(inv, "party_as_162") == ["hnode_162_proxy", "hnode_162_python", "party-1002"]
    assert inv.get_host("party-1002").get_vars()["fate_proxy_address"] == "10.162.0.71"


def test_constructed_strict(lab, monkeypatch):
    cfg = write_cfg(lab.parent, ghost_dir="ghost", strict=True, compose={"x": "no_such_variable + 1"})
    with pytest.raises(Exception, match=r"Could not set x for host party-1001"):
        parse_direct(cfg)
    # Not strict: the host is simply left without it.
    cfg = write_cfg(lab.parent, ghost_dir="ghost", compose={"x": "no_such_variable + 1"})
    assert "x" not in inventory(cfg, monkeypatch).get_host("party-1001").get_vars()


def test_allow_missing_warns_and_adds_no_hosts(tmp_path, monkeypatch, warnings):
    cfg = write_cfg(tmp_path, ghost_dir="build/ghost", allow_missing=True)
    inv = inventory(cfg, monkeypatch)
    where = str(tmp_path / "build" / "ghost")
    assert warnings == ["no skeleton outputs at %s: run playbooks/network.yml first" % where]
    assert members(inv, "fate_parties") == [] and members(inv, "fate_components") == []
    from ansible_collections.seed.fate.plugins.inventory import ghost_nodes
    # Plays on fate_parties match nothing; the directory would be assembled from no party.
    assert inv.groups["fate_parties"].get_vars()["seedfate_party_directory"] == []
    assert ghost_nodes.InventoryModule.NAME == "seed.fate.ghost_nodes"


def test_missing_outputs_are_an_error_by_default(tmp_path):
    cfg = write_cfg(tmp_path, ghost_dir="build/ghost")
    with pytest.raises(AnsibleParserError, match=r"build/ghost/GhostNodes.json: file not found"):
        parse_direct(cfg)


def test_partial_outputs_are_an_error_even_with_allow_missing(lab):
    (lab / "pre_party_list.json").unlink()
    cfg = write_cfg(lab.parent, ghost_dir="ghost", allow_missing=True)
    with pytest.raises(AnsibleParserError, match=r"ghost/pre_party_list.json: file not found"):
        parse_direct(cfg)


def test_party_override_must_be_a_dictionary(lab):
    cfg = write_cfg(lab.parent, ghost_dir="ghost", party_overrides={"1002": "192.0.2.12"})
    expected = r"lab.seedfate.yml: party_overrides: the entry of party 1002 must be a dictionary of variables, got '192.0.2.12'"
    with pytest.raises(AnsibleParserError, match=expected):
        parse_direct(cfg)


def test_no_source_options_is_an_error(tmp_path):
    cfg = write_cfg(tmp_path, ghost_nodes_file="GhostNodes.json")
    with pytest.raises(AnsibleParserError, match=r"set ghost_dir, or both ghost_nodes_file and party_layout_file"):
        parse_direct(cfg)


# --------------------------------------------------------------------------------------------------
# Bad input: a parser error that names the file and the offending entry, and no hosts.

def edit_json(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=1))


def ghost_entry(node_id):
    def find(data):
        return [g for g in data if g["NodeId"] == node_id][0]
    return find


def set_address(node_id, address):
    return lambda d: ghost_entry(node_id)(d)["Interfaces"][0].__setitem__("Address", address)


ERRORS = [
    ("missing ghost nodes file", lambda lab: (lab / "GhostNodes.json").unlink(),
     r"ghost/GhostNodes.json: file not found"),
    ("invalid JSON", lambda lab: (lab / "AutonomousSystems.json").write_text('[{"asn": 161,'),
     r"ghost/AutonomousSystems.json: invalid JSON: .*line 1"),
    ("missing key in a ghost", lambda lab: edit_json(lab / "GhostNodes.json", lambda d: d[1].pop("Interfaces")),
     r"ghost/GhostNodes.json: entry 1 \(NodeId hnode_162_python\): missing key 'Interfaces'"),
    ("missing key in an AS", lambda lab: edit_json(lab / "AutonomousSystems.json", lambda d: d[0].pop("Networks")),
     r"ghost/AutonomousSystems.json: entry 0 \(asn 162\): missing key 'Networks'"),
    ("missing key in an interface",
     lambda lab: edit_json(lab / "GhostNodes.json", lambda d: d[0]["Interfaces"][0].pop("Connected_to")),
     r"ghost/GhostNodes.json: entry 0 \(NodeId hnode_162_proxy\) interface 0: missing key 'Connected_to'"),
    ("layout NodeId not in GhostNodes",
     lambda lab: edit_json(lab / "pre_party_list.json", lambda d: d["training"]["1001"].__setitem__("proxy", ["hnode_161_prox"])),
     r"ghost/pre_party_list.json: training party 1001 component proxy: NodeId hnode_161_prox is not in .*GhostNodes.json"),
    ("component listed twice for a party",
     lambda lab: (lab / "pre_party_list.json").write_text(
         '{"training": {"1001": {"proxy": ["hnode_161_proxy"], "proxy": ["hnode_161_python"]}}}'),
     r"ghost/pre_party_list.json: training party 1001 component proxy: component is listed twice for party 1001"),
    ("one node placed twice",
     lambda lab: edit_json(lab / "pre_party_list.json", lambda d: d["training"]["1002"].__setitem__("python", ["hnode_161_python"])),
     r"ghost/pre_party_list.json: training party 1002 component python: NodeId hnode_161_python is already placed "
     r"as training party 1001 component python"),
    ("two ghosts with one address", lambda lab: edit_json(lab / "GhostNodes.json", set_address("hnode_161_python", "10.161.0.72")),
     r"ghost/GhostNodes.json: entry 4 \(NodeId hnode_161_python\) interface 0: address 10.161.0.72 is also the address "
     r"of hnode_161_proxy"),
    ("a ghost on a router's address", lambda lab: edit_json(lab / "GhostNodes.json", set_address("hnode_161_python", "10.161.0.253")),
     r"ghost/AutonomousSystems.json: entry 1 \(asn 161\) router router1 interface 0: address 10.161.0.253 is also the "
     r"address of hnode_161_python"),
    ("address not IPv4", lambda lab: edit_json(lab / "GhostNodes.json", set_address("hnode_161_python", "10.161.0.300")),
     r"ghost/GhostNodes.json: entry 4 \(NodeId hnode_161_python\) interface 0: address '10.161.0.300' is not an IPv4 address"),
    ("IPv6 address", lambda lab: edit_json(lab / "GhostNodes.json", set_address("hnode_161_python", "fd00::1")),
     r"address 'fd00::1' is not an IPv4 address"),
    ("address outside its network", lambda lab: edit_json(lab / "GhostNodes.json", set_address("hnode_161_python", "10.161.1.73")),
     r"ghost/GhostNodes.json: entry 4 \(NodeId hnode_161_python\): address 10.161.1.73 is not inside net0's prefix 10.161.0.0/24"),
    ("router outside its network",
     lambda lab: edit_json(lab / "AutonomousSystems.json", lambda d: d[1]["Routers"][1]["Interfaces"][0].__setitem__("Address", "10.9.0.1")),
     r"ghost/AutonomousSystems.json: entry 1 \(asn 161\) router router0 interface 0: address 10.9.0.1 is not inside "
     r"net0's prefix 10.161.0.0/24"),
    ("party without a proxy",
     lambda lab: edit_json(lab / "pre_party_list.json", lambda d: d["training"]["1002"].pop("proxy")),
     r"ghost/pre_party_list.json: party 1002: has no training proxy"),
    ("serving-only party",
     lambda lab: edit_json(lab / "pre_party_list.json", lambda d: d["training"].pop("1001")),
     r"ghost/pre_party_list.json: party 1001: has no training proxy"),
    ("party id not an integer",
     lambda lab: edit_json(lab / "pre_party_list.json", lambda d: d["training"].__setitem__("alice", {})),
     r"ghost/pre_party_list.json: training party alice: party id must be a decimal integer \(ASCII digits only, "
     r"no blanks, sign or leading zeros\), got 'alice'"),
    ("AS of a ghost not listed", lambda lab: edit_json(lab / "AutonomousSystems.json", lambda d: d.pop(0)),
     r"ghost/AutonomousSystems.json: AS 162 of hnode_162_proxy \(.*GhostNodes.json\) is not listed"),
    ("network of a ghost not in its AS",
     lambda lab: edit_json(lab / "AutonomousSystems.json", lambda d: d[0]["Networks"].pop(1)),
     r"ghost/AutonomousSystems.json: entry 0 \(asn 162\): network 'net1' of hnode_162_python .* is not among the AS's networks"),
    ("no gateway anywhere",
     lambda lab: (edit_json(lab / "AutonomousSystems.json", lambda d: d[0].__setitem__("Routers", [])),
                  edit_json(lab / "GhostNodes.json", lambda d: d[0].__setitem__("Start_Commands", []))),
     r"ghost/AutonomousSystems.json: entry 0 \(asn 162\): no router of AS 162 is on network net0"),
    ("NodeId listed twice in GhostNodes",
     lambda lab: edit_json(lab / "GhostNodes.json", lambda d: d.append(dict(d[0], Interfaces=[dict(d[0]["Interfaces"][0], Address="10.162.0.99")]))),
     r"ghost/GhostNodes.json: entry 9 \(NodeId hnode_162_proxy\): NodeId hnode_162_proxy is listed twice \(also entry 0"),
    ("bad lab.json", lambda lab: (lab / "lab.json").write_text("{"), r"ghost/lab.json: invalid JSON"),
    ("ghost list is not a list", lambda lab: (lab / "GhostNodes.json").write_text("{}"),
     r"ghost/GhostNodes.json: expected a list of ghost nodes, got dict"),
]


@pytest.mark.parametrize("breakage, expected", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_bad_input_names_file_and_entry(lab, breakage, expected):
    breakage(lab)
    cfg = write_cfg(lab.parent, ghost_dir="ghost", allow_missing=True)
    with pytest.raises(AnsibleParserError, match=expected) as info:
        parse_direct(cfg)
    assert cfg in str(info.value)   # and the inventory source it came from


def test_bad_input_adds_no_hosts(lab, monkeypatch, warnings):
    # The checks all run before the first host is added: a broken lab leaves no half inventory.
    edit_json(lab / "pre_party_list.json", lambda d: d["training"]["1002"].pop("proxy"))
    monkeypatch.setattr(C, "INVENTORY_ENABLED", [PLUGIN])
    # Ansible's lenient default (the repository's ansible.cfg makes it an error): a warning, no hosts.
    monkeypatch.setattr(C, "INVENTORY_ANY_UNPARSED_IS_FAILED", False)
    cfg = write_cfg(lab.parent, ghost_dir="ghost")
    inv = InventoryManager(loader=DataLoader(), sources=[cfg])
    assert [h for h in inv.hosts if h.startswith(("party-", "hnode_"))] == []
    assert "fate_parties" not in inv.groups
    assert any("Unable to parse %s" % cfg in str(w) for w in warnings)


# --------------------------------------------------------------------------------------------------
# The seedemu fork's real files

@pytest.mark.parametrize("layout, clusters", [("pre_party_list.json", ["training", "serving"]),
                                              ("pre_party_list.flat.json", ["training"])])
def test_the_forks_real_files(tmp_path, monkeypatch, layout, clusters, fork_dir):
    cfg = write_cfg(tmp_path, ghost_nodes_file=os.path.join(fork_dir, "GhostNodes.json"),
                    autonomous_systems_file=os.path.join(fork_dir, "AutonomousSystems.json"),
                    party_layout_file=os.path.join(fork_dir, layout))
    inv = inventory(cfg, monkeypatch)
    assert [h.name for h in inv.groups["fate_parties"].hosts] == ["party-10000", "party-9999", "party-8888"]
    assert len(inv.groups["fate_components"].get_hosts()) == (36 if "serving" in clusters else 27)
    hv = inv.get_host("party-9999").get_vars()
    assert (hv["seedfate_asn"], hv["seedfate_party_index"], hv["seedfate_compose_project"]) == (152, 1, "output")
    assert sorted(hv["seedfate_clusters"]) == sorted(clusters)
    assert hv["seedfate_clusters"]["training"]["proxy"] == {
        "node_id": "hnode_152_proxy", "address": "10.152.0.72", "network": "output_net_152_net0", "net_name": "net0",
        "prefix": "10.152.0.0/24", "gateway": "10.152.0.254", "asn": 152}
    if "serving" in clusters:
        comp = inv.get_host("hnode_150_Servingserving-proxy").get_vars()
        assert (comp["ansible_host"], comp["seedfate_address"], comp["seedfate_pod_container"]) == \
            ("serving-8888-serving-proxy-1", "10.150.0.82", "serving-8888-serving-proxy-pod-1")


# --------------------------------------------------------------------------------------------------
# FATE version: components and groups come from the version catalogue

def write_lab_2_2_0(folder, fate_version="2.2.0", components=("fateflow", "rabbitmq", "nginx")):
    """A one-party FATE 2.2.0 lab (party 2001 in AS 171) as the skeleton writes it."""
    folder.mkdir()
    ghosts, hosts, layout = [], [], {}
    for k, comp in enumerate(components):
        addr = "10.171.0.%d" % (71 + k)
        ghost = {"Name": comp, "NodeId": "hnode_171_%s" % comp, "Autonomous_Systems": 171, "Ghost_Node": "True",
                 "Interfaces": [{"Connected_to": "net0", "Address": addr}]}
        ghosts.append(ghost)
        hosts.append(dict(ghost))
        layout[comp] = ["hnode_171_%s" % comp]
    systems = [{"asn": 171, "Networks": [{"name": "net0", "prefix": "10.171.0.0/24"}],
                "Routers": [{"Name": "router0", "Interfaces": [{"Connected_to": "net0", "Address": "10.171.0.254"}]}],
                "Hosts": hosts}]
    meta = {"compose_project": "sftest22", "format": 1}
    if fate_version:
        meta["fate_version"] = fate_version
    for name, data in (("GhostNodes.json", ghosts), ("AutonomousSystems.json", systems),
                       ("pre_party_list.json", {"training": {"2001": layout}}), ("lab.json", meta)):
        (folder / name).write_text(json.dumps(data))
    return folder


def test_fate_version_from_lab_json_groups_its_components(tmp_path, monkeypatch):
    write_lab_2_2_0(tmp_path / "ghost")
    inv = inventory(write_cfg(tmp_path, ghost_dir="ghost"), monkeypatch)
    assert members(inv, "fate_parties") == ["party-2001"]
    for comp in ("fateflow", "rabbitmq", "nginx"):
        assert members(inv, "component_%s" % comp) == ["hnode_171_%s" % comp]
    assert members(inv, "cluster_training") == ["hnode_171_fateflow", "hnode_171_nginx", "hnode_171_rabbitmq"]
    # No 1.3.0 groups in a 2.2.0 lab.
    assert "component_proxy" not in inv.groups
    hv = inv.get_host("party-2001").get_vars()
    assert hv["seedfate_fate_version"] == "2.2.0"
    assert hv["seedfate_asn"] == 171
    assert hv["seedfate_party_entry"] == {"party_id": 2001, "asn": 171, "fateflow": "10.171.0.71",
                                          "rabbitmq": "10.171.0.72", "nginx": "10.171.0.73"}


def test_every_catalogue_component_has_its_group_even_when_empty(lab, monkeypatch):
    inv = inventory(write_cfg(lab.parent, ghost_dir="ghost"), monkeypatch)
    # lab2 places no egg, mysql, ...: their groups exist, empty (the 1.3.0 default from lab.json's absence).
    for comp in ("egg", "mysql", "meta_service", "fateboard", "roll"):
        assert members(inv, "component_%s" % comp) == []
    assert inv.get_host("party-1001").get_vars()["seedfate_fate_version"] == "1.3.0"


def test_allow_missing_makes_the_version_groups(tmp_path, monkeypatch, warnings):
    inv = inventory(write_cfg(tmp_path, ghost_dir="build/ghost", allow_missing=True, fate_version="2.2.0"), monkeypatch)
    assert members(inv, "component_nginx") == [] and "component_proxy" not in inv.groups


def test_layout_component_unknown_to_the_version_is_an_error(tmp_path):
    write_lab_2_2_0(tmp_path / "ghost", fate_version=None)   # lab.json says nothing: 1.3.0
    with pytest.raises(AnsibleParserError, match=r"FATE 1.3.0 has no training component 'fateflow'"):
        parse_direct(write_cfg(tmp_path, ghost_dir="ghost"))
    # The option wins over lab.json.
    data = parse_direct(write_cfg(tmp_path, name="v22.seedfate.yml", ghost_dir="ghost", fate_version="2.2.0"))
    assert "hnode_171_nginx" in data.hosts


def test_unknown_fate_version_is_an_error(tmp_path):
    write_lab_2_2_0(tmp_path / "ghost", fate_version="9.9")
    with pytest.raises(AnsibleParserError, match=r"'9.9' is not supported by seed.fate; supported: 1.3.0, 2.2.0"):
        parse_direct(write_cfg(tmp_path, ghost_dir="ghost"))


def test_entry_component_is_required(tmp_path):
    write_lab_2_2_0(tmp_path / "ghost", components=("fateflow", "rabbitmq"))
    with pytest.raises(AnsibleParserError, match=r"has no training nginx \(every party of FATE 2.2.0 needs one"):
        parse_direct(write_cfg(tmp_path, ghost_dir="ghost"))


# --------------------------------------------------------------------------------------------------
# Deployment target (docs/multihost.md): party 1001 lives in AS 161, party 1002 in AS 162.

SWARM_PLACEMENT = {"ix": "dh-a", "ases": {"161": "dh-a", "162": "dh-b"}, "parties": {}}


def docker_host_names(inv):
    return dict((h.name, h.get_vars().get("seedfate_docker_host_name")) for h in inv.hosts.values())


def test_local_target_adds_nothing(lab, monkeypatch):
    monkeypatch.delenv("SEEDFATE_TARGET", raising=False)
    for cfg in (write_cfg(lab.parent, ghost_dir="ghost"),
                write_cfg(lab.parent, ghost_dir="ghost", target="local", placement=SWARM_PLACEMENT)):
        inv = inventory(cfg, monkeypatch)
        for host in inv.hosts.values():
            assert "seedfate_docker_host_name" not in host.get_vars(), host.name
            assert "ansible_docker_extra_args" not in host.get_vars(), host.name


def test_swarm_target_places_parties_and_components(lab, monkeypatch):
    placement = dict(SWARM_PLACEMENT, parties={1002: "dh-c"})
    inv = inventory(write_cfg(lab.parent, ghost_dir="ghost", target="swarm", placement=placement), monkeypatch)
    names = docker_host_names(inv)
    # A party follows its AS unless placement.parties names it; its components follow the party.
    assert names["party-1001"] == "dh-a" and names["hnode_161_proxy"] == "dh-a"
    assert names["party-1002"] == "dh-c" and names["hnode_162_python"] == "dh-c"
    assert "ansible_docker_extra_args" not in inv.get_host("party-1001").get_vars()
    # The component's docker connection reaches its party's engine: the URL is read from the Docker host when a
    # task runs (from the controller's own URL when the Docker host has one).
    inv.add_group("docker_hosts")
    inv.add_host("dh-a", group="docker_hosts")
    inv.get_host("dh-a").set_variable("seedfate_docker_host", "unix:///run/a/docker.sock")
    inv.add_host("dh-c", group="docker_hosts")
    inv.get_host("dh-c").set_variable("seedfate_docker_host", "unix:///var/run/docker.sock")
    inv.get_host("dh-c").set_variable("seedfate_docker_host_from_controller", "ssh://fate@10.0.0.13")
    loader = DataLoader()
    manager = VariableManager(loader=loader, inventory=inv)
    from ansible.vars.hostvars import HostVars
    manager._hostvars = HostVars(inventory=inv, variable_manager=manager, loader=loader)
    for comp, url in (("hnode_161_proxy", "unix:///run/a/docker.sock"), ("hnode_162_python", "ssh://fate@10.0.0.13")):
        variables = manager.get_vars(host=inv.get_host(comp))
        assert Templar(loader=loader, variables=variables).template(variables["ansible_docker_extra_args"]) == \
            "-H " + url


def test_swarm_target_and_placement_from_the_labs_group_vars(lab, monkeypatch):
    monkeypatch.delenv("SEEDFATE_TARGET", raising=False)
    group_vars = lab.parent / "group_vars"
    group_vars.mkdir()
    (group_vars / "all.yml").write_text(json.dumps({"seedfate_target": "swarm", "seedfate_placement": SWARM_PLACEMENT}))
    inv = inventory(write_cfg(lab.parent, ghost_dir="ghost"), monkeypatch)
    names = docker_host_names(inv)
    assert (names["party-1001"], names["party-1002"]) == ("dh-a", "dh-b")
    # The option wins over the lab's variable.
    inv = inventory(write_cfg(lab.parent, ghost_dir="ghost", target="local"), monkeypatch)
    assert docker_host_names(inv)["party-1001"] is None


def test_swarm_target_from_the_environment(lab, monkeypatch):
    monkeypatch.setenv("SEEDFATE_TARGET", "swarm")
    inv = inventory(write_cfg(lab.parent, ghost_dir="ghost", placement=SWARM_PLACEMENT), monkeypatch)
    assert docker_host_names(inv)["party-1002"] == "dh-b"


def test_an_as_with_a_party_but_no_docker_host_is_an_error(lab, monkeypatch):
    monkeypatch.delenv("SEEDFATE_TARGET", raising=False)
    cfg = write_cfg(lab.parent, ghost_dir="ghost", target="swarm", placement={"ases": {"161": "dh-a"}})
    with pytest.raises(AnsibleParserError) as err:
        parse_direct(cfg)
    assert str(err.value) == ("%s: seedfate_placement.ases has no Docker host for AS 162, where party 1002 lives "
                              "(add seedfate_placement.ases.162 or seedfate_placement.parties.1002) "
                              "(inventory source %s)" % (cfg, cfg))
    # From group_vars/all.yml: that file is named.
    group_vars = lab.parent / "group_vars"
    group_vars.mkdir()
    (group_vars / "all.yml").write_text(json.dumps({"seedfate_target": "swarm",
                                                   "seedfate_placement": {"ases": {"161": "dh-a"}}}))
    cfg = write_cfg(lab.parent, ghost_dir="ghost")
    with pytest.raises(AnsibleParserError, match=r"^%s: seedfate_placement.ases has no Docker host for AS 162"
                       % re.escape(str(group_vars / "all.yml"))):
        parse_direct(cfg)


@pytest.mark.parametrize("options, message", [
    ({"target": "swarm"}, r"seedfate_target is swarm but seedfate_placement is not set"),
    ({"target": "swarm", "placement": {"ases": {"161": "dh a"}}},
     r"seedfate_placement.ases.161: Docker host name 'dh a' must start with a letter"),
    ({"target": "swarm", "placement": {"hosts": {}}}, r"seedfate_placement: unknown key\(s\) hosts"),
])
def test_bad_swarm_settings_are_errors(lab, monkeypatch, options, message):
    monkeypatch.delenv("SEEDFATE_TARGET", raising=False)
    with pytest.raises(AnsibleParserError, match=message):
        parse_direct(write_cfg(lab.parent, ghost_dir="ghost", **options))


def test_a_docker_host_missing_from_the_docker_hosts_group_is_an_error(lab, monkeypatch):
    from ansible.plugins.loader import inventory_loader
    cfg = write_cfg(lab.parent, ghost_dir="ghost", target="swarm", placement=SWARM_PLACEMENT)
    # The group as an earlier inventory source (hosts.yml) left it.
    data = InventoryData()
    data.add_group("docker_hosts")
    for name in ("dh-a", "dh-c"):
        data.add_host(name, group="docker_hosts")
    with pytest.raises(AnsibleParserError, match=r"seedfate_placement puts party 1002 on dh-b, which is not in the "
                                                 r"group docker_hosts \(dh-a, dh-c\)"):
        inventory_loader.get(PLUGIN).parse(data, DataLoader(), cfg)
    # Through the inventory manager, after a YAML source that has both hosts.
    monkeypatch.setattr(C, "INVENTORY_ENABLED", [PLUGIN, "ansible.builtin.yaml"])
    monkeypatch.setattr(C, "INVENTORY_ANY_UNPARSED_IS_FAILED", True)
    hosts = lab.parent / "00-hosts.yml"
    hosts.write_text(json.dumps({"docker_hosts": {"hosts": {"dh-a": {}, "dh-b": {}}}}))
    inv = InventoryManager(loader=DataLoader(), sources=[str(hosts), cfg])
    assert docker_host_names(inv)["hnode_162_proxy"] == "dh-b"


def test_lab_vars_skip_sources_that_are_no_place(lab, monkeypatch):
    # The inventory manager records a folder's parse as None (molecule passes two inventory folders), and a host
    # list is no file: neither may break the plugin's look for the lab's seedfate_target.
    from ansible.plugins.loader import inventory_loader
    monkeypatch.delenv("SEEDFATE_TARGET", raising=False)
    data = InventoryData()
    data.processed_sources.extend([None, "localhost,", str(lab.parent / "no-such-folder")])
    inventory_loader.get(PLUGIN).parse(data, DataLoader(), write_cfg(lab.parent, ghost_dir="ghost"))
    assert "party-1001" in data.hosts
    assert "seedfate_docker_host_name" not in data.hosts["party-1001"].vars
    # Through the manager with a folder parsed first, as molecule does.
    monkeypatch.setattr(C, "INVENTORY_ENABLED", [PLUGIN, "ansible.builtin.yaml"])
    first = lab.parent / "first"
    first.mkdir()
    (first / "hosts.yml").write_text(json.dumps({"all": {"hosts": {"controller": {}}}}))
    inv = InventoryManager(loader=DataLoader(), sources=[str(first), write_cfg(lab.parent, ghost_dir="ghost")])
    assert "party-1002" in inv.hosts
