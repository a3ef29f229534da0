# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain hosts and their services in the declarative topology (issue 12 items 2 and 7), no seedemu.

The accepted forms are in the golden topology_services.yml (test_topology); here: what they normalise
to, that every offered service is one the offline node image can run, and each bad input refused as a
TopologyError naming the field path and the file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.seed.fate.plugins.module_utils import seedemu_build as sb
from ansible_collections.seed.fate.plugins.module_utils import topology as topo

SOURCE = "inventories/lab/group_vars/all/topology.yml"
HOSTS = "topology.autonomous_systems.60.hosts"


def lab(web=None, router0=None):
    """IX134, AS60 (one web host) and AS61 (two networks, the party on net1)."""
    return {
        "topology": {
            "internet_exchanges": [134],
            "autonomous_systems": {
                "60": {"networks": ["net0"], "routers": {"router0": router0 or ["net0", "ix134"]},
                       "hosts": {"web": web if web is not None else {"networks": ["net0"], "services": ["web"]}}},
                "61": {"networks": ["net0", "net1"], "routers": {"router0": ["net0", "net1", "ix134"]}},
            },
            "peerings": [{"ix": 134, "route_server": [60, 61]}],
        },
        "parties": {"1061": {"asn": 61, "network": "net1"}},
    }


def hosts(model, asn=60):
    return [s for s in model["autonomous_systems"] if s["asn"] == asn][0]["hosts"]


def test_web_host_normalises_with_the_options_given_and_nothing_else():
    assert hosts(topo.normalize(**lab())) == [{"name": "web", "joins": ["net0"], "services": [{"name": "web", "options": {}}]}]
    web = {"networks": ["net0"], "services": [{"name": "web", "port": "8080", "index": "<p>{nodeName} in AS{asn}</p>"}]}
    got = hosts(topo.normalize(**lab(web)))[0]["services"]
    assert got == [{"name": "web", "options": {"port": 8080, "index": "<p>{nodeName} in AS{asn}</p>"}}]


def test_host_without_services_and_host_shorthands_have_an_empty_list():
    model = topo.normalize(**lab(["net0"]))
    assert hosts(model) == [{"name": "web", "joins": ["net0"], "services": []}]
    model = topo.normalize(**lab({"services": None}))
    assert hosts(model) == [{"name": "web", "joins": ["net0"], "services": []}]


def test_party_on_the_second_network_of_its_as():
    model = topo.normalize(**lab())
    assert model["parties"][0]["network"] == "net1"
    assert set(g["network"] for g in topo.ghost_plan(model["parties"])) == {"net1"}


def test_every_offered_service_runs_on_the_offline_node_image():
    # Nothing is installed while the lab is built: a service whose packages the node image lacks would stop
    # the network stage. DEFAULT_OFFLINE_SOFTWARE is the images role's default images_node_software (test_seedemu_build).
    assert sorted(topo.SERVICES) == ["web"]
    for name, spec in topo.SERVICES.items():
        missing = set(spec["packages"]) - set(sb.DEFAULT_OFFLINE_SOFTWARE)
        assert not missing, "%s needs %s" % (name, missing)
        assert spec["layer"] and all(set(o) == {"setter", "check"} for o in spec["options"].values())


BAD = [
    ("unknown service", {"services": ["ftp"]}, None, HOSTS + ".web.services[0]",
     ["unknown service 'ftp'", "(known: web)"]),
    ("services a string", {"services": "web"}, None, HOSTS + ".web.services",
     ["services must be a list (e.g. [web]), got str"]),
    ("services a mapping", {"services": {"web": {}}}, None, HOSTS + ".web.services", ["must be a list", "got dict"]),
    ("duplicate service", {"services": ["web", {"name": "web", "port": 81}]}, None, HOSTS + ".web.services[1]",
     ["duplicate service 'web' on host web of AS60", "also at %s.web.services[0]" % HOSTS]),
    ("entry without a name", {"services": [{"port": 80}]}, None, HOSTS + ".web.services[0]",
     ["needs a 'name' (one of: web)"]),
    ("entry not a name", {"services": [5]}, None, HOSTS + ".web.services[0]", ["expected a service name", "got 5"]),
    ("unknown option", {"services": [{"name": "web", "colour": "red"}]}, None, HOSTS + ".web.services[0]",
     ["unknown key(s) colour", "allowed: index, name, port"]),
    ("port out of range", {"services": [{"name": "web", "port": 70000}]}, None, HOSTS + ".web.services[0].port",
     ["65535"]),
    ("port not a number", {"services": [{"name": "web", "port": "http"}]}, None, HOSTS + ".web.services[0].port", []),
    ("page not a string", {"services": [{"name": "web", "index": 5}]}, None, HOSTS + ".web.services[0].index",
     ["must be a string"]),
    ("page with an unknown placeholder", {"services": [{"name": "web", "index": "<h1>{title}</h1>"}]}, None,
     HOSTS + ".web.services[0].index", ["only {asn} and {nodeName}", "KeyError: 'title'", "{{ and }}"]),
    ("page with a stray brace", {"services": [{"name": "web", "index": "a { b"}]}, None,
     HOSTS + ".web.services[0].index", ["only {asn} and {nodeName}"]),
    ("misspelt key on a host", {"networks": ["net0"], "service": ["web"]}, None, HOSTS + ".web",
     ["unknown key(s) service", "allowed: networks, services"]),
    ("service on a router", None, {"networks": ["net0", "ix134"], "services": ["web"]},
     "topology.autonomous_systems.60.routers.router0.services",
     ["services run on hosts, not on routers", "router router0 of AS60", "topology.autonomous_systems.60.hosts"]),
]


@pytest.mark.parametrize("web, router0, field, words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_services_are_refused_naming_the_field_and_the_file(web, router0, field, words):
    with pytest.raises(topo.TopologyError) as info:
        topo.normalize(source=SOURCE, **lab(web, router0))
    err = info.value
    assert err.field == field, str(err)
    assert err.source == SOURCE
    assert str(err).startswith("%s (in %s): " % (field, SOURCE)), str(err)
    for word in words:
        assert word in str(err), str(err)


def test_party_on_a_network_its_as_lacks_names_the_networks_it_has():
    bad = lab()
    bad["parties"]["1061"]["network"] = "net2"
    with pytest.raises(topo.TopologyError) as info:
        topo.normalize(source=SOURCE, **bad)
    assert info.value.field == "parties.1061.network"
    assert "AS61 has no network 'net2' (it has: net0, net1)" in str(info.value)
