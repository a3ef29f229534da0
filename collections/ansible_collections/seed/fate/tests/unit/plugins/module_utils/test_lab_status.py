# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lab_status: the lab's shape from its build files, the state from a fake Docker, the DOT picture and the table.

Fixtures (fixtures/lab_status): ``default`` is the default three-AS lab compiled by seedemu (route server,
FATE 1.3.0 parties with serving); ``transit`` is the transit lab of test_transit_seedemu (two IXes, AS240
with r1 and r2 and iBGP, stubs as its customers, plain hosts) with hand-written FATE 2.2.0 ghost files.
Only the files lab_status reads are kept (compose file, each router's BIRD configuration, the ghost files).
Golden files: golden/lab_status/*. Regenerate with SEEDFATE_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.seed.fate.plugins.module_utils import lab_status as ls
from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DockerCli

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures", "lab_status")
GOLDEN = os.path.join(HERE, "golden", "lab_status")


def golden(name, text):
    path = os.path.join(GOLDEN, name)
    if os.environ.get("SEEDFATE_UPDATE_GOLDEN"):
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    with open(path) as f:
        assert text == f.read(), "%s differs (SEEDFATE_UPDATE_GOLDEN=1 regenerates it)" % name


def lab(name):
    return ls.read_lab(os.path.join(FIXTURES, name))


PROTOCOLS = "BIRD 2.0.12 ready.\nName       Proto      Table      State  Since         Info\n" \
            "device1    Device     ---        up     18:07:23.844\n"


def birdc(*rows):
    return PROTOCOLS + "".join("%s BGP --- %s 18:07:28.536  %s\n" % row for row in rows)


class FakeDocker(object):
    """docker inspect and docker exec ... birdc show protocols, from dicts."""

    def __init__(self, containers, bird):
        self.containers = containers      # name -> (status, health or None, restarts)
        self.bird = bird                  # name -> birdc output
        self.calls = []

    def __call__(self, argv):
        self.calls.append(argv)
        if argv[1] == "inspect":
            docs = []
            for name in argv[4:]:
                if name in self.containers:
                    status, health, restarts = self.containers[name]
                    state = {"Status": status}
                    if health:
                        state["Health"] = {"Status": health}
                    docs.append({"Name": "/" + name, "State": state, "RestartCount": restarts})
            missing = [n for n in argv[4:] if n not in self.containers]
            return (1 if missing else 0), json.dumps(docs), "".join("Error: No such container: %s\n" % n for n in missing)
        if argv[1] == "exec":
            return 0, self.bird[argv[2]], ""
        raise AssertionError(argv)


# ---------------------------------------------------------------------------------------------------- shape

def test_default_lab_shape():
    model = lab("default")
    assert model["project"] == "seedfate"
    assert [x["name"] for x in model["exchanges"]] == ["ix100"]
    assert model["exchanges"][0]["route_server"]["container"] == "as100brd-ix100-10.100.0.100"
    assert [s["asn"] for s in model["systems"]] == [150, 151, 152]
    assert [r["name"] for r in model["systems"][0]["routers"]] == ["router0"]
    assert [p["id"] for p in model["parties"]] == ["10000", "9999", "8888"]
    assert model["parties"][1]["asn"] == 152
    proxy = [c for c in model["parties"][1]["components"] if c["component"] == "proxy"][0]
    assert proxy == {"cluster": "training", "component": "proxy", "node_id": "hnode_152_proxy", "address": "10.152.0.72",
                     "container": "confs-9999-proxy-1", "pod_container": "confs-9999-proxy-pod-1"}
    assert model["peerings"] == [{"kind": "route_server", "ix": "ix100", "asn": a, "router": "router0"}
                                 for a in (150, 151, 152)]


def test_transit_lab_private_peerings_relationship_and_ibgp():
    model = lab("transit")
    assert model["project"] == "sftest-transit" and model["fate_version"] == "2.2.0"
    private = [p for p in model["peerings"] if p["kind"] == "private"]
    # Written provider first, whichever router's configuration was read first.
    assert [(p["ix"], p["a"], p["a_router"], p["b"], p["relationship"]) for p in private] == [
        ("ix124", 240, "r1", 241, "provider"), ("ix124", 240, "r1", 242, "provider"),
        ("ix125", 240, "r2", 243, "provider"), ("ix125", 240, "r2", 244, "provider")]
    assert [p for p in model["peerings"] if p["kind"] == "ibgp"] == [
        {"kind": "ibgp", "asn": 240, "a_router": "r1", "b_router": "r2"}]
    assert [h["name"] for h in model["systems"][2]["hosts"]] == ["probe"]


def test_bird_sessions_and_relationships_of_every_kind():
    conf = """
protocol bgp p_rs100 {
    ipv4 { import filter { bgp_large_community.add(PEER_COMM); accept; }; };
    local 10.100.0.150 as 150;
    neighbor 10.100.0.100 as 100;
}
protocol bgp p_as151 {
    ipv4 { import filter { bgp_large_community.add(PEER_COMM); accept; }; };
    local 10.100.0.150 as 150;
    neighbor 10.100.0.151 as 151;
}
protocol bgp x_as152 {
    ipv4 { import filter { bgp_large_community.add(PROVIDER_COMM); accept; }; };
    local 10.100.0.150 as 150;
    neighbor 10.100.0.152 as 152;
}
protocol bgp u_as153 {
    ipv4 { import filter { bgp_large_community.add(PROVIDER_COMM); accept; }; };
    local 10.100.0.150 as 150;
    neighbor 10.100.0.153 as 153;
}
"""
    sessions = ls.parse_bird_sessions(conf)
    assert [(s["protocol"], s["neighbor"], s["neighbor_as"], s["community"]) for s in sessions] == [
        ("p_rs100", "10.100.0.100", 100, "PEER_COMM"), ("p_as151", "10.100.0.151", 151, "PEER_COMM"),
        ("x_as152", "10.100.0.152", 152, "PROVIDER_COMM"), ("u_as153", "10.100.0.153", 153, "PROVIDER_COMM")]
    rs = {"name": "ix100", "container": "rs", "role": "Route Server",
          "interfaces": [{"net": "ix100", "address": "10.100.0.100"}], "sessions": []}
    model = {"exchanges": [{"ix": 100, "name": "ix100", "prefix": "10.100.0.0/24", "route_server": rs}],
             "systems": [{"asn": a, "networks": [], "hosts": [], "routers": [
                 {"name": "router0", "container": "r%d" % a, "role": "BorderRouter",
                  "interfaces": [{"net": "ix100", "address": "10.100.0.%d" % a}],
                  "sessions": sessions if a == 150 else []}]} for a in (150, 151, 152, 153)],
             "parties": []}
    got = [ls.classify(model, None, 150, s) for s in sessions]
    assert [(c["kind"], c["relationship"]) for c in got] == [
        ("route_server", None), ("private", "peer"), ("private", "unfiltered"), ("private", "provider")]
    peerings = ls.peerings(model)
    assert [(p["kind"], p.get("a"), p.get("b"), p.get("relationship")) for p in peerings] == [
        ("route_server", None, None, None), ("private", 150, 151, "peer"), ("private", 150, 152, "unfiltered"),
        # AS153 is AS150's provider: written provider first.
        ("private", 153, 150, "provider")]
    dot = ls.to_dot(dict(model, project="p", peerings=peerings))
    assert '"as153_r_router0" -- "as150_r_router0" [color="#c0392b", dir=forward' in dot
    assert 'label="peer @ ix100"' in dot and 'label="unfiltered @ ix100"' in dot


def test_missing_compose_file_is_a_clear_error(tmp_path):
    with pytest.raises(ls.LabFilesError, match="docker-compose.yml does not exist: compile the lab first"):
        ls.read_lab(str(tmp_path))


# ---------------------------------------------------------------------------------------------------- picture

@pytest.mark.parametrize("name", ["default", "transit"])
def test_dot_golden(name):
    text = ls.to_dot(lab(name), "seed.fate lab %s" % name)
    golden("%s.dot" % name, text)
    assert text == ls.to_dot(lab(name), "seed.fate lab %s" % name)


# ---------------------------------------------------------------------------------------------------- state

def running_default():
    model = lab("default")
    containers = {"as100brd-ix100-10.100.0.100": ("running", None, 0)}
    for asn in (150, 151, 152):
        containers["as%dbrd-router0-10.%d.0.254" % (asn, asn)] = ("running", None, 0)
    for p in model["parties"]:
        for c in p["components"]:
            containers[c["container"]] = ("running", "healthy" if c["component"] == "mysql" else None, 0)
            containers[c["pod_container"]] = ("running", None, 0)
    # Party 8888's python restarts, its fateboard is still starting; serving-proxy of 9999 is gone.
    containers["confs-8888-python-1"] = ("restarting", None, 3)
    containers["confs-8888-fateboard-1"] = ("running", "starting", 0)
    del containers["serving-9999-serving-proxy-1"]
    up = ("up", "Established")
    bird = {"as100brd-ix100-10.100.0.100": birdc(("p_as150",) + up, ("p_as151",) + up,
                                                 ("p_as152", "start", "Active Socket: Connection refused")),
            "as150brd-router0-10.150.0.254": birdc(("p_rs100",) + up),
            "as151brd-router0-10.151.0.254": birdc(("p_rs100",) + up),
            "as152brd-router0-10.152.0.254": birdc(("p_rs100", "start", "Connect"))}
    return model, FakeDocker(containers, bird)


def test_state_and_table_golden():
    model, docker = running_default()
    status, warnings = ls.collect_state(model, DockerCli(docker))
    assert warnings == []
    # One docker inspect for everything, then one birdc per router and route server.
    assert [c[1] for c in docker.calls] == ["inspect"] + ["exec"] * 4
    assert status["summary"] == {"network": "degraded", "routers": 4, "routers_up": 4, "sessions": 6, "sessions_up": 4,
                                 "parties": 3, "parties_up": 1, "components": 36, "components_up": 33}
    rs = status["exchanges"][0]["route_server"]
    assert [(s["protocol"], s["status"], s["bgp_state"]) for s in rs["sessions"]] == [
        ("p_as150", "up", "Established"), ("p_as151", "up", "Established"), ("p_as152", "down", "Active")]
    comps = dict((c["container"], c) for p in status["parties"] for c in p["components"])
    assert comps["confs-8888-python-1"]["restarts"] == 3 and comps["confs-8888-python-1"]["status"] == "down"
    assert comps["confs-8888-fateboard-1"]["status"] == "starting"
    assert comps["serving-9999-serving-proxy-1"]["state"] == "absent"
    golden("default_running.txt", "\n".join(ls.table_lines(status, "default")) + "\n")
    golden("default_running.json", ls.status_json(status))


def test_lab_that_is_not_running_is_down_item_by_item():
    status, warnings = ls.collect_state(lab("transit"), None)
    assert warnings == []
    assert status["summary"]["network"] == "down"
    assert all(r["status"] == "down" and r["state"] == "absent" for s in status["systems"] for r in s["routers"])
    assert all(x["status"] == "down" for s in status["systems"] for r in s["routers"] for x in r["sessions"])
    assert all(c["status"] == "down" for p in status["parties"] for c in p["components"])
    golden("transit_down.txt", "\n".join(ls.table_lines(status, "transit")) + "\n")


def test_docker_that_does_not_answer_is_a_warning_not_a_failure():
    def broken(argv):
        return 1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock"
    status, warnings = ls.collect_state(lab("default"), DockerCli(broken))
    assert status["summary"]["network"] == "down"
    assert len(warnings) == 1 and "Cannot connect to the Docker daemon" in warnings[0]


def test_router_whose_bird_does_not_answer_is_named():
    model, docker = running_default()
    docker.bird["as150brd-router0-10.150.0.254"] = "bird: not running"
    status, warnings = ls.collect_state(model, DockerCli(docker))
    assert warnings == ["as150brd-router0-10.150.0.254: BIRD does not answer (bird: not running)"]
    assert status["systems"][0]["routers"][0]["sessions"][0]["status"] == "down"


# ---------------------------------------------------------------------------------------------------- link properties

def with_links(tmp_path, netem=True):
    """The default fixture with link properties as seedemu compiles them: IX100 20 ms and 10 Mbit/s on every
    interface, but AS150's router limited to 2 Mbit/s there; AS152's net0 with 1.5 % loss."""
    import shutil
    root = tmp_path / "lab"
    shutil.copytree(os.path.join(FIXTURES, "default"), str(root))
    ifinfo = {"brdnode_150_router0": "net0:10.150.0.0/24:0:0:0\nix100:10.100.0.0/24:20:2000000:0\n",
              "brdnode_151_router0": "net0:10.151.0.0/24:0:0:0\nix100:10.100.0.0/24:20:10000000:0\n",
              "brdnode_152_router0": "net0:10.152.0.0/24:0:0:1.5\nix100:10.100.0.0/24:20:10000000:0\n",
              "rs_ix_ix100": "ix100:10.100.0.0/24:20:10000000:0\n"}
    setup = "tc qdisc add dev x root handle 1:0 tbf rate 1bit\n" + ("tc qdisc add dev x parent 1:0 netem\n" if netem else "")
    for node, text in ifinfo.items():
        folder = root / "output" / node
        (folder / "Dockerfile").write_text("FROM x\nCOPY 0f /ifinfo.txt\nCOPY 1e /interface_setup\n")
        (folder / "0f").write_text(text)
        (folder / "1e").write_text(setup)
    return ls.read_lab(str(root))


def test_links_label_networks_and_the_interfaces_that_differ(tmp_path):
    model = with_links(tmp_path)
    ix = model["exchanges"][0]
    assert ix["link"] == "10mbit, 20ms"
    r150 = model["systems"][0]["routers"][0]
    assert r150["interfaces"][1]["link"] == {"latency": 20, "bandwidth": 2000000}
    assert r150["interfaces"][1]["label"] == "2mbit, 20ms"
    assert "label" not in model["systems"][1]["routers"][0]["interfaces"][1]
    # AS152's net0: its only interface (the router's) carries the loss, so the network shows it.
    assert model["systems"][2]["networks"][0]["link"] == "loss 1.5%"
    assert "link" not in model["systems"][0]["networks"][0]
    dot = ls.to_dot(model)
    assert 'label="IX100\\n10.100.0.0/24\\n10mbit, 20ms\\nroute server 10.100.0.100"' in dot
    assert '"ix100" -- "as150_r_router0" [color="#2e86c1", penwidth=2, label="RS", taillabel=".150", headlabel="2mbit, 20ms"];' in dot
    assert 'label="net0\\n10.152.0.0/24\\nloss 1.5%"' in dot
    status, _warnings = ls.collect_state(model, docker=DockerCli(FakeDocker({}, {})))
    table = "\n".join(ls.table_lines(status))
    assert "IX100  10.100.0.0/24  (10mbit, 20ms)" in table
    assert "AS152  net0 10.152.0.0/24 (loss 1.5%)" in table


def test_links_without_netem_say_latency_and_loss_are_off(tmp_path):
    model = with_links(tmp_path, netem=False)
    assert model["exchanges"][0]["link"] == "10mbit, 20ms (off: no netem)"
    assert model["systems"][2]["networks"][0]["link"] == "loss 1.5% (off: no netem)"
