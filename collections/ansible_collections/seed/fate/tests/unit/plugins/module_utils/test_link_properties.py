# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Link properties (issue 12 item 3): the schema in topology.py, the applied/refused report and the no-netem
rewrite in host_compat.py. No seedemu here (tests/integration/test_links_seedemu.py compiles and measures)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.seed.fate.plugins.module_utils import host_compat as hc
from ansible_collections.seed.fate.plugins.module_utils import topology as topo


def lab():
    return {
        "internet_exchanges": [{"id": 100, "latency": "20ms", "bandwidth": "10mbit"}, 101],
        "autonomous_systems": {
            150: {"networks": [{"name": "net0", "loss": "1.5%"}, {"name": "lan", "prefix": "10.160.0.0/24", "latency": 1}],
                  "routers": {"router0": ["net0", "lan", {"network": "ix100", "bandwidth": "2mbit"}]},
                  "hosts": {"web": [{"network": "net0", "latency": "1s", "loss": 0}]}},
            151: {"networks": {"net0": {"bandwidth": 1000000}},
                  "routers": {"router0": {"networks": ["net0", {"network": 100, "loss": 100}, "ix101"]}}},
        },
        "peerings": [{"ix": 100, "route_server": [150, 151]}, {"ix": 101, "route_server": [151]}],
    }


def normalize(topology, source="inventories/x/group_vars/all/topology.yml"):
    return topo.normalize(topology, {}, source=source)


def test_properties_normalise_to_seedemu_units_only_where_given():
    model = normalize(lab())
    ix100, ix101 = model["internet_exchanges"]
    assert ix100["link"] == {"latency": 20, "bandwidth": 10000000}
    assert "link" not in ix101
    as150, as151 = model["autonomous_systems"]
    assert [n.get("link") for n in as150["networks"]] == [{"loss": 1.5}, {"latency": 1}]
    assert as150["networks"][1]["explicit_prefix"] and str(as150["networks"][1]["prefix"]) == "10.160.0.0/24"
    assert as150["routers"][0] == {"name": "router0", "joins": ["net0", "lan", "ix100"],
                                   "links": {"ix100": {"bandwidth": 2000000}}}
    assert as150["hosts"][0] == {"name": "web", "joins": ["net0"], "services": [],
                                 "links": {"net0": {"latency": 1000, "loss": 0}}}
    assert as151["networks"][0]["link"] == {"bandwidth": 1000000}
    # An IX id as the join's network, in the routers' {networks: [...]} form.
    assert as151["routers"][0] == {"name": "router0", "joins": ["net0", "ix100", "ix101"],
                                   "links": {"ix100": {"loss": 100}}}


def test_a_lab_without_link_properties_normalises_as_before():
    model = normalize({"internet_exchanges": [100], "autonomous_systems": {
        150: {"networks": ["net0"], "routers": {"router0": ["net0", "ix100"]}}},
        "peerings": [{"ix": 100, "route_server": [150]}]})
    assert model["internet_exchanges"] == [{"id": 100, "prefix": model["internet_exchanges"][0]["prefix"]}]
    system = model["autonomous_systems"][0]
    assert set(system["networks"][0]) == {"name", "prefix", "explicit_prefix"}
    assert system["routers"] == [{"name": "router0", "joins": ["net0", "ix100"]}]
    assert topo.link_items(model) == []


@pytest.mark.parametrize("value, ms", [(0, 0), (5, 5), ("5", 5), ("5ms", 5), ("5 MS", 5), ("1.5s", 1500), (2.0, 2),
                                       ("60s", 60000)])
def test_latency_units(value, ms):
    assert topo._latency(value, "f") == ms


@pytest.mark.parametrize("value, bps", [(1000, 1000), ("1kbit", 1000), ("10mbit", 10000000), ("1.5mbit", 1500000),
                                        ("2GBIT", 2000000000), ("100gbit", 100 * 10 ** 9), ("64000bit", 64000)])
def test_bandwidth_units(value, bps):
    assert topo._bandwidth(value, "f") == bps


@pytest.mark.parametrize("value, pct", [(0, 0), (1, 1), ("1.5%", 1.5), ("0.25", 0.25), (100, 100)])
def test_loss_units(value, pct):
    assert topo._loss(value, "f") == pct


IX = "topology.internet_exchanges[0]"
NET = "topology.autonomous_systems.150.networks[0]"
JOIN = "topology.autonomous_systems.150.routers.router0[2]"


def set_ix(t, **kv):
    t["internet_exchanges"][0].update(kv)


def set_net(t, **kv):
    t["autonomous_systems"][150]["networks"][0].update(kv)


def set_join(t, **kv):
    t["autonomous_systems"][150]["routers"]["router0"][2].update(kv)


@pytest.mark.parametrize("where, kv, field, words", [
    (set_ix, {"latency": -1}, IX + ".latency", "must not be negative"),
    (set_ix, {"latency": "-5ms"}, IX + ".latency", "non-negative number with a unit"),
    (set_ix, {"latency": "5 minutes"}, IX + ".latency", "unknown unit"),
    (set_ix, {"latency": "0.5ms"}, IX + ".latency", "whole milliseconds"),
    (set_ix, {"latency": "61s"}, IX + ".latency", "at most 60000 ms"),
    (set_ix, {"latency": True}, IX + ".latency", "must be a number"),
    (set_ix, {"bandwidth": 0}, IX + ".bandwidth", "more than 0 (leave it out for an unlimited link)"),
    (set_ix, {"bandwidth": "0mbit"}, IX + ".bandwidth", "more than 0"),
    (set_ix, {"bandwidth": "fast"}, IX + ".bandwidth", "with a unit (bit, kbit, mbit, gbit)"),
    (set_ix, {"bandwidth": "10mbps"}, IX + ".bandwidth", "tc reads 'bps' as bytes per second"),
    (set_ix, {"bandwidth": "10M"}, IX + ".bandwidth", "unknown unit 'm'"),
    (set_ix, {"bandwidth": 999}, IX + ".bandwidth", "between 1kbit and 100gbit"),
    (set_ix, {"bandwidth": "101gbit"}, IX + ".bandwidth", "between 1kbit and 100gbit"),
    (set_ix, {"bandwidth": [10]}, IX + ".bandwidth", "must be a number"),
    (set_ix, {"delay": 5}, IX, "unknown key(s) delay"),
    (set_net, {"loss": 101}, NET + ".loss", "percentage from 0 to 100"),
    (set_net, {"loss": -0.1}, NET + ".loss", "must not be negative"),
    (set_net, {"loss": "5 percent"}, NET + ".loss", "unknown unit"),
    (set_net, {"jitter": "1ms"}, NET, "unknown key(s) jitter (allowed: bandwidth, latency, loss, name, prefix)"
     .replace("name, ", "")),
    (set_join, {"bandwidth": 0}, JOIN + ".bandwidth", "more than 0"),
    (set_join, {"latency": "-1"}, JOIN + ".latency", "non-negative"),
    (set_join, {"rate": "1mbit"}, JOIN, "unknown key(s) rate (allowed: bandwidth, latency, loss, network)"),
    (set_join, {"network": None}, JOIN, "needs a 'network'"),
    (set_join, {"network": "ix102"}, "topology.autonomous_systems.150.routers.router0", "unknown internet exchange 'ix102'"),
    (set_join, {"network": "net9"}, "topology.autonomous_systems.150.routers.router0", "unknown network 'net9'"),
])
def test_bad_link_properties_name_the_field_and_the_file(where, kv, field, words):
    t = copy.deepcopy(lab())
    where(t, **kv)
    with pytest.raises(topo.TopologyError) as err:
        normalize(t, source="inventories/x/topology.yml")
    assert err.value.field == field
    assert words in err.value.message
    assert str(err.value).startswith("%s (in inventories/x/topology.yml): " % field)


def test_a_host_join_mapping_cannot_name_an_ix():
    t = lab()
    t["autonomous_systems"][150]["hosts"]["web"] = [{"network": "ix100", "latency": 1}]
    with pytest.raises(topo.TopologyError) as err:
        normalize(t)
    assert err.value.field == "topology.autonomous_systems.150.hosts.web[0]" and "only routers" in err.value.message


def test_a_join_given_twice_once_as_a_mapping_is_refused():
    t = lab()
    t["autonomous_systems"][150]["routers"]["router0"].append("ix100")
    with pytest.raises(topo.TopologyError) as err:
        normalize(t)
    assert err.value.field == "topology.autonomous_systems.150.routers.router0[3]" and "twice" in err.value.message


def test_link_items_name_where_each_property_is():
    items = [(i["where"], topo.describe_link(i["property"], i["value"])) for i in topo.link_items(normalize(lab()))]
    assert items == [
        ("ix100", "latency 20ms"), ("ix100", "bandwidth 10mbit"),
        ("AS150 net0", "loss 1.5%"), ("AS150 lan", "latency 1ms"),
        ("AS150 router0 on ix100", "bandwidth 2mbit"),
        ("AS150 web on net0", "latency 1000ms"), ("AS150 web on net0", "loss 0%"),
        ("AS151 net0", "bandwidth 1mbit"),
        ("AS151 router0 on ix100", "loss 100%"),
    ]


@pytest.mark.parametrize("bps, text", [(1000, "1kbit"), (1500, "1500bit"), (2500000, "2500kbit"), (10 ** 9, "1gbit")])
def test_format_bandwidth(bps, text):
    assert topo.format_bandwidth(bps) == text


ITEMS = [{"where": "ix100", "property": "latency", "value": 20},
         {"where": "ix100", "property": "bandwidth", "value": 10000000},
         {"where": "AS150 net0", "property": "loss", "value": 1.5}]
NO_NETEM = {"privileged": True, "dummy_link": True, "netem": False,
            "notes": ["the kernel refuses the netem qdisc (Error: Specified qdisc kind is unknown.)"]}


def test_without_netem_latency_and_loss_are_refused_with_the_probe_reason_bandwidth_applies():
    report = hc.link_report(ITEMS, NO_NETEM, topo.describe_link)
    assert report["applied"] == [{"where": "ix100", "what": "bandwidth 10mbit"}]
    assert [(r["where"], r["what"]) for r in report["refused"]] == [("ix100", "latency 20ms"), ("AS150 net0", "loss 1.5%")]
    for r in report["refused"]:
        assert r["reason"].startswith("the kernel refuses the netem qdisc (Error: Specified qdisc kind is unknown.)")
        assert "bandwidth (tbf) still applies" in r["reason"]


def test_with_netem_or_unprobed_everything_is_applied():
    for caps in ({"privileged": True, "dummy_link": True, "netem": True}, None):
        report = hc.link_report(ITEMS, caps, topo.describe_link)
        assert report["refused"] == [] and len(report["applied"]) == 3


def test_refusal_without_a_probe_note_still_gives_a_reason():
    report = hc.link_report(ITEMS[:1], {"netem": False})
    assert report["refused"] == [{"where": "ix100", "what": "latency 20", "reason": "netem is unavailable on this host; "
                                  "latency and loss need the netem qdisc, bandwidth (tbf) still applies"}]


SETUP = """#!/bin/bash
        [ ! -z "$new_ifname" ] && {
            tc qdisc add dev "$new_ifname" root handle 1:0 tbf rate "${bw}bit" buffer 1000000 limit 1000
            tc qdisc add dev "$new_ifname" parent 1:0 handle 10: netem delay "${latency}ms" loss "${loss}%"
        }
"""


def compiled(ifinfo):
    return {"rnode_150_router0/Dockerfile": "FROM x\nCOPY 1a /ifinfo.txt\nCOPY 2b /interface_setup\n",
            "rnode_150_router0/1a": ifinfo, "rnode_150_router0/2b": SETUP}


def test_output_link_items_read_every_interface_of_a_program_s_output():
    files = compiled("net0:10.150.0.0/24:0:0:0\nix100:10.100.0.0/24:20:10000000:0.5\n")
    assert hc.output_link_items(files) == [
        {"where": "rnode_150_router0 ix100", "property": "latency", "value": 20},
        {"where": "rnode_150_router0 ix100", "property": "bandwidth", "value": 10000000},
        {"where": "rnode_150_router0 ix100", "property": "loss", "value": 0.5}]


def test_without_netem_the_rewrite_keeps_the_tbf_line_and_the_properties():
    files = compiled("ix100:10.100.0.0/24:20:10000000:0\n")
    notes = hc.adapt_output(files, NO_NETEM)
    setup = files["rnode_150_router0/2b"]
    assert "netem" not in setup
    assert 'tbf rate "${bw}bit" buffer 1000000 limit %d\n' % hc.TBF_LIMIT_BYTES in setup
    # What the node asks for is left as it is: the status view and the report read it.
    assert files["rnode_150_router0/1a"] == "ix100:10.100.0.0/24:20:10000000:0\n"
    assert "rnode_150_router0 ix100" in notes[0]
