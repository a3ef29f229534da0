# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Export of the ghost model to the four ghost files (module_utils/ghost_export.py), no seedemu.

Golden files: golden/skeleton/export_small/*. Regenerate with SEEDFATE_UPDATE_GOLDEN=1 and review.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.seed.fate.plugins.module_utils import ghost_export as ge
from ansible_collections.seed.fate.plugins.module_utils import ghost_model as gm

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "skeleton", "export_small")


def ghost(asn, name, addr, router):
    prefix = addr.rsplit(".", 1)[0] + ".0/24"
    return gm.Node(
        asn, name, "Host", [gm.Interface("net0", addr)], ghost=True,
        files=[("/ifinfo.txt", "net0:%s:0:0:0\n" % prefix), ("/tmp/etc-hosts", "%s %s-%s" % (addr, asn, name))],
        software={"zsh", "iproute2", "curl"},
        start_commands=[("cat /tmp/etc-hosts >> /etc/hosts", False), ("ip rou del default 2> /dev/null", False),
                        ("ip route add default via %s dev net0" % router, False)])


def small_lab():
    as150 = gm.AutonomousSystem(
        150, [gm.Network("net0", "10.150.0.0/24")],
        # Two routers on net0: the gateway is the first by name (r0), not the first listed.
        routers=[gm.Node(150, "r1", "Router", [gm.Interface("net0", "10.150.0.253")]),
                 gm.Node(150, "r0", "Router", [gm.Interface("net0", "10.150.0.254"),
                                               gm.Interface("ix100", "10.100.0.150", latency=5, bandwidth=1000)])],
        hosts=[ghost(150, "federation", "10.150.0.71", "10.150.0.254"),
               ghost(150, "proxy", "10.150.0.72", "10.150.0.254"),
               ghost(150, "Servingserving-proxy", "10.150.0.73", "10.150.0.254"),
               gm.Node(150, "web", "Host", [gm.Interface("net0", "10.150.0.74")])])
    as151 = gm.AutonomousSystem(
        151, [gm.Network("net0", "10.151.0.0/24")],
        routers=[gm.Node(151, "router0", "Router", [gm.Interface("net0", "10.151.0.254")])],
        hosts=[ghost(151, "proxy", "10.151.0.71", "10.151.0.254")])
    layout = [("9999", "training", "federation", "hnode_150_federation"),
              ("9999", "training", "proxy", "hnode_150_proxy"),
              ("9999", "serving", "serving-proxy", "hnode_150_Servingserving-proxy"),
              ("10000", "training", "proxy", "hnode_151_proxy")]
    return gm.Lab("sftest", [as150, as151], layout, [gm.Network("ix100", "10.100.0.0/24", "InternetExchange")])


def test_export_matches_golden():
    files = ge.render_files(small_lab())
    assert sorted(files) == ["AutonomousSystems.json", "GhostNodes.json", "lab.json", "pre_party_list.json"]
    if os.environ.get("SEEDFATE_UPDATE_GOLDEN"):
        os.makedirs(GOLDEN, exist_ok=True)
        for name, text in files.items():
            with open(os.path.join(GOLDEN, name), "w") as f:
                f.write(text)
    for name, text in files.items():
        with open(os.path.join(GOLDEN, name)) as f:
            assert text == f.read(), name


def test_ghost_nodes_read_like_the_fork():
    nodes = ge.ghost_nodes(small_lab())
    assert [n["NodeId"] for n in nodes] == ["hnode_150_federation", "hnode_150_proxy",
                                            "hnode_150_Servingserving-proxy", "hnode_151_proxy"]
    first = nodes[0]
    # The keys (and their odd spellings and string booleans) of the fork's GhostNodes.json.
    assert list(first) == ["Name", "NodeId", "Role", "Ghost_Node", "Autonomous_Systems", "Interfaces", "Files",
                           "Sofewares", "Build_Commands", "Start_Commands", "Post_Config_Commands"]
    assert first["Role"] == "NodeRole.Host" and first["Ghost_Node"] == "True"
    assert first["Autonomous_Systems"] == 150
    assert first["Interfaces"] == [{"Connected_to": "net0", "Address": "10.150.0.71", "Link_Properties": "10.150.0.71",
                                    "Added_Latency": 0, "Egress_Bandwidth_Limit": "unlimited bps"}]
    assert first["Sofewares"] == ["curl", "iproute2", "zsh"]
    assert first["Start_Commands"][-1] == ["ip route add default via 10.150.0.254 dev net0", False]


def test_autonomous_systems_list_every_host_and_router():
    systems = ge.autonomous_systems(small_lab())
    as150 = systems[0]
    assert list(as150) == ["asn", "Networks", "Routers", "Hosts"]
    assert as150["Networks"] == [{"name": "net0", "type": "NetworkType.Local", "prefix": "10.150.0.0/24",
                                  "Address_Assignment_Constraint": gm.DEFAULT_AAC, "Remote_Access_Provider": []}]
    assert [r["NodeId"] for r in as150["Routers"]] == ["rnode_150_r1", "rnode_150_r0"]
    assert as150["Routers"][1]["Interfaces"][1]["Egress_Bandwidth_Limit"] == "1000 bps"
    assert as150["Routers"][1]["Interfaces"][1]["Added_Latency"] == 5
    assert [(h["Name"], h["Ghost_Node"]) for h in as150["Hosts"]] == [
        ("federation", "True"), ("proxy", "True"), ("Servingserving-proxy", "True"), ("web", "False")]


def test_gateway_is_the_first_router_by_name():
    lab = small_lab()
    assert lab.systems[0].gateway("net0") == "10.150.0.254"
    assert lab.systems[0].gateway("ix100") == "10.100.0.150"
    assert lab.systems[0].gateway("nope") is None


def test_party_layout_nested_in_layout_order():
    layout = ge.party_layout(small_lab())
    assert list(layout) == ["training", "serving"]
    assert list(layout["training"]) == ["9999", "10000"]
    assert layout["training"]["9999"] == {"federation": ["hnode_150_federation"], "proxy": ["hnode_150_proxy"]}
    assert layout["serving"] == {"9999": {"serving-proxy": ["hnode_150_Servingserving-proxy"]}}


def test_party_layout_without_serving_has_no_serving_key():
    lab = small_lab()
    lab.layout = [x for x in lab.layout if x[1] == "training"]
    assert list(ge.party_layout(lab)) == ["training"]


def test_lab_metadata_names_the_project():
    assert json.loads(ge.render_files(small_lab())["lab.json"]) == {
        "compose_project": "sftest", "generator": "seed.fate.seedemu_network", "format": 1}


def test_model_round_trips_through_json():
    lab = small_lab()
    again = gm.Lab.from_dict(json.loads(json.dumps(lab.to_dict())))
    assert ge.render_files(again) == ge.render_files(lab)


@pytest.mark.parametrize("with_systems", [True, False])
def test_summary_lines(with_systems):
    lab = small_lab()
    lines = ge.summary_lines(ge.ghost_nodes(lab), ge.autonomous_systems(lab) if with_systems else None, "sftest")
    assert lines[0] == "compose project: sftest"
    assert "ghost hnode_151_proxy net0=10.151.0.71" in lines
    assert ("network AS150 net0 10.150.0.0/24" in lines) == with_systems
