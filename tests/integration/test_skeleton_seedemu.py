# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""seed.fate.seedemu_network against real seedemu (SEEDEMU_PATH=/opt/seedemu): the skeleton stage.

Checked: the built-in topology yields the addresses seedemu itself assigns (.71 upward, gateway
.254); the compose project holds the routers and the route server and no reserved host; the same
input twice changes nothing; check mode writes nothing; a user's own fork-style program runs on
upstream seedemu; a failing program leaves the previous outputs intact. No containers are started
here (bring-up is the network role's test).
"""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
import yaml

from ansible_collections.seed.fate.plugins.module_utils import topology as topo
from ansible.module_utils.testing import patch_module_args

pytestmark = pytest.mark.seedemu

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_LAB = os.path.join(REPO, "inventories", "default", "group_vars", "all", "topology.yml")
PROGRAM = os.path.join(REPO, "tests", "fixtures", "seedemu_programs", "simple_lab.py")
# The fork's real files: beside the repository as in CI (<repo>/../shared), or where the variable says.
FORK_FIXTURES = os.environ.get("SEEDFATE_FORK_FIXTURES",
                               os.path.join(os.path.dirname(REPO), "shared", "fixtures", "seedemu-fork-seedfate"))
PROJECT = "sftest-skeleton"


def default_lab():
    """The built-in lab as the seed had it: FATE 1.3.0 with serving in every party (make lab FATE_VERSION=1.3.0)."""
    with open(DEFAULT_LAB) as f:
        data = yaml.safe_load(f)
    parties = data["seedfate_parties"]
    assert all(p["serving"] == "{{ seedfate_lab_serving }}" for p in parties.values()), parties
    return data["seedfate_topology"], dict((pid, dict(p, serving=True)) for pid, p in parties.items())


def run_module(capsys, **args):
    from ansible_collections.seed.fate.plugins.modules import seedemu_network
    args.setdefault("seedemu_path", os.environ.get("SEEDEMU_PATH"))
    args.setdefault("project", PROJECT)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            seedemu_network.main()
    return json.loads(capsys.readouterr().out)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def tree(folder):
    out = {}
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = (f.read(), os.stat(path).st_mtime_ns)
    return out


def plain_seedemu_addresses(topology, parties):
    """What seedemu assigns when every component is an ordinary host (no seed.fate code involved)."""
    from seedemu.core import Emulator
    from seedemu.layers import Base, Ebgp, Routing
    model = topo.normalize(topology, parties)
    emu, base, routing, ebgp = Emulator(), Base(), Routing(), Ebgp()
    for ix in model["internet_exchanges"]:
        base.createInternetExchange(ix["id"])
    systems = {}
    for system in model["autonomous_systems"]:
        systems[system["asn"]] = base.createAutonomousSystem(system["asn"])
        systems[system["asn"]].createNetwork("net0")
        systems[system["asn"]].createRouter("router0").joinNetwork("net0").joinNetwork("ix100")
        ebgp.addRsPeer(100, system["asn"])
    for party in model["parties"]:
        for cluster, comp in topo.party_components(party):
            systems[party["asn"]].createHost(topo.ghost_name(cluster, comp)).joinNetwork("net0")
    for layer in (base, routing, ebgp):
        emu.addLayer(layer)
    _quietly(emu.render)
    out = {}
    for (scope, kind, name), node in emu.getRegistry().getAll().items():
        if kind == "hnode":
            out["hnode_%s_%s" % (scope, name)] = str(node.getInterfaces()[0].getAddress())
    gateways = dict((asn, str(a.getNetwork("net0").getDefaultRouter())) for asn, a in systems.items())
    return out, gateways


def _quietly(fn):
    from ansible_collections.seed.fate.plugins.module_utils.seedemu_build import quiet
    with quiet():
        return fn()


@pytest.fixture(scope="module")
def default_build(tmp_path_factory):
    """The built-in lab, built once through ansible-playbook (offline images, host adaptation on)."""
    work = tmp_path_factory.mktemp("skeleton")
    dest = work / "build"
    playbook = work / "play.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False,
        "vars_files": [DEFAULT_LAB], "vars": {"seedfate_lab_serving": True},
        "tasks": [{"name": "Build the skeleton", "register": "skeleton",
                   "seed.fate.seedemu_network": {
                       "topology": "{{ seedfate_topology }}", "parties": "{{ seedfate_parties }}",
                       "dest": str(dest), "project": PROJECT, "images": "offline",
                       "seedemu_path": os.environ.get("SEEDEMU_PATH")}}],
    }]))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    results = []
    for _ in range(2):
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
             "-e", "ansible_connection=local", "-e", "ansible_python_interpreter=%s" % sys.executable, str(playbook)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        out = json.loads(proc.stdout[proc.stdout.index("{"):])
        results.append(out["plays"][0]["tasks"][0]["hosts"]["localhost"])
        if not results[1:]:
            first_tree = tree(str(dest))
    return {"dest": dest, "first": results[0], "second": results[1], "first_tree": first_tree}


def test_playbook_run_is_idempotent(default_build):
    first, second = default_build["first"], default_build["second"]
    assert first["changed"] and not second["changed"]
    assert second["changed_files"] == []
    assert tree(str(default_build["dest"])) == default_build["first_tree"]   # not one file rewritten
    assert first["ghosts"] == 36
    assert first["networks"] == ["%s_net_%d_net0" % (PROJECT, asn) for asn in (150, 151, 152)] + \
        ["%s_net_ix_ix100" % PROJECT]


def test_ghost_addresses_are_what_seedemu_assigns(default_build):
    topology, parties = default_lab()
    expected, gateways = plain_seedemu_addresses(topology, parties)
    ghosts = read_json(str(default_build["dest"] / "ghost" / "GhostNodes.json"))
    got = dict((g["NodeId"], g["Interfaces"][0]["Address"]) for g in ghosts)
    assert got == expected
    for asn in (150, 151, 152):
        mine = [got["hnode_%d_%s" % (asn, n)] for n in [topo.ghost_name(c, x) for c, x in
                                                         topo.party_components({"training": True, "serving": True})]]
        assert mine == ["10.%d.0.%d" % (asn, 71 + i) for i in range(12)]
        assert gateways[asn] == "10.%d.0.254" % asn
    for g in ghosts:
        assert g["Start_Commands"][-1] == ["ip route add default via 10.%d.0.254 dev net0" % g["Autonomous_Systems"], False]
        hosts = dict((f["path"], f["content"]) for f in g["Files"])
        assert "%s %d-%s" % (g["Interfaces"][0]["Address"], g["Autonomous_Systems"], g["Name"]) in hosts["/tmp/etc-hosts"]
    summary = default_build["first"]["parties"]
    assert summary["9999"]["training"]["proxy"] == "10.152.0.72"
    assert summary["9999"]["serving"]["serving-server"] == "10.152.0.81"
    assert summary["9999"]["gateway"] == "10.152.0.254"


def test_party_layout_and_lab_metadata(default_build):
    ghost = default_build["dest"] / "ghost"
    layout = read_json(str(ghost / "pre_party_list.json"))
    assert list(layout["training"]) == ["10000", "9999", "8888"]
    assert layout["training"]["9999"]["proxy"] == ["hnode_152_proxy"]
    assert layout["serving"]["8888"]["serving-proxy"] == ["hnode_150_Servingserving-proxy"]
    assert read_json(str(ghost / "lab.json"))["compose_project"] == PROJECT
    systems = read_json(str(ghost / "AutonomousSystems.json"))
    as152 = [s for s in systems if s["asn"] == 152][0]
    assert as152["Networks"][0]["prefix"] == "10.152.0.0/24"
    assert as152["Routers"][0]["NodeId"] == "rnode_152_router0"
    assert [i["Address"] for i in as152["Routers"][0]["Interfaces"]] == ["10.152.0.254", "10.100.0.152"]


def test_compose_project_has_routers_and_route_server_but_no_ghost(default_build):
    output = default_build["dest"] / "output"
    with open(str(output / "docker-compose.yml")) as f:
        compose = yaml.safe_load(f)
    assert compose["name"] == PROJECT and "version" not in compose
    services = set(compose["services"])
    assert {"brdnode_150_router0", "brdnode_151_router0", "brdnode_152_router0", "rs_ix_ix100"} <= services
    assert not [s for s in services if s.startswith("hnode_")]
    assert not [d for d in os.listdir(str(output)) if d.startswith("hnode_")]
    assert sorted(compose["networks"]) == ["net_150_net0", "net_151_net0", "net_152_net0", "net_ix_ix100"]
    # Offline image: every node builds FROM it and no Dockerfile runs apt-get.
    for root, _dirs, files in os.walk(str(output)):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                assert b"apt-get" not in f.read(), os.path.join(root, name)
    dummies = os.listdir(str(output / "dummies"))
    assert len(dummies) == 1
    assert (output / "dummies" / dummies[0]).read_text().strip() == "FROM seedfate/seedemu-node:bookworm"
    if shutil.which("docker"):
        proc = subprocess.run(["docker", "compose", "config", "-q"], cwd=str(output), capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def test_ghosts_read_like_the_forks(default_build):
    path = os.path.join(FORK_FIXTURES, "GhostNodes.json")
    if not os.path.isfile(path):
        pytest.skip("fork fixtures not found at %s (set SEEDFATE_FORK_FIXTURES)" % FORK_FIXTURES)
    fork = dict((g["NodeId"], g) for g in read_json(path))
    mine = dict((g["NodeId"], g) for g in read_json(str(default_build["dest"] / "ghost" / "GhostNodes.json")))
    assert set(mine) == set(fork)
    for node_id, theirs in fork.items():
        ours = mine[node_id]
        assert list(ours) == list(theirs)
        for key in theirs:
            if key == "Sofewares":
                assert ours[key] == sorted(theirs[key])
            elif key == "Files":
                for a, b in zip(ours[key], theirs[key]):
                    # The fork's lab has a real-world AS (99999) this topology leaves out.
                    strip = lambda text: "\n".join(ln for ln in text.split("\n") if "99999" not in ln)  # noqa: E731
                    assert (a["path"], strip(a["content"])) == (b["path"], strip(b["content"])), node_id
            else:
                assert ours[key] == theirs[key], (node_id, key)


def test_check_mode_reports_a_change_and_writes_nothing(default_build, capsys):
    topology, parties = default_lab()
    parties = dict(parties)
    parties[7777] = {"asn": 150}
    del parties[8888]
    before = tree(str(default_build["dest"]))
    r = run_module(capsys, topology=topology, parties=parties, dest=str(default_build["dest"]), images="offline",
                   _ansible_check_mode=True, _ansible_diff=True)
    assert r["changed"]
    assert "ghost/pre_party_list.json" in r["changed_files"]
    assert "ghost hnode_150_Servingredis" in r["diff"]["before"] and "hnode_150_Servingredis" not in r["diff"]["after"]
    assert tree(str(default_build["dest"])) == before


def test_user_program_runs_on_upstream_seedemu(default_build, tmp_path, capsys):
    topology, parties = default_lab()
    dest = tmp_path / "build"
    r = run_module(capsys, script=PROGRAM, parties=parties, dest=str(dest), host_compat="off")
    assert r["changed"] and r["ghosts"] == 36
    # The same reserved addresses as the declarative build of the same lab.
    ours = read_json(str(dest / "ghost" / "GhostNodes.json"))
    declared = read_json(str(default_build["dest"] / "ghost" / "GhostNodes.json"))
    assert [(g["NodeId"], g["Interfaces"]) for g in ours] == [(g["NodeId"], g["Interfaces"]) for g in declared]
    with open(str(dest / "output" / "docker-compose.yml")) as f:
        compose = yaml.safe_load(f)
    assert compose["name"] == PROJECT
    hosts = [s for s in compose["services"] if s.startswith("hnode_")]
    assert hosts == ["hnode_150_probe"]                      # the ordinary host, and no ghost
    assert compose["services"]["hnode_150_probe"]["networks"]["net_150_net0"]["ipv4_address"] == "10.150.0.83"
    # Its routes still come from seedemu: default route via the AS router.
    start = [open(os.path.join(str(dest / "output" / "hnode_150_probe"), n)).read()
             for n in os.listdir(str(dest / "output" / "hnode_150_probe"))]
    assert any("ip route add default via 10.150.0.254 dev net0" in s for s in start)
    assert "seedemu_internet_map" not in compose["services"]   # map off although the program used Docker()
    layout = read_json(str(dest / "ghost" / "pre_party_list.json"))
    assert layout["serving"]["10000"]["redis"] == ["hnode_151_Servingredis"]
    r = run_module(capsys, script=PROGRAM, parties=parties, dest=str(dest), host_compat="off")
    assert not r["changed"]


def test_failing_program_shows_stderr_and_keeps_outputs(tmp_path, capsys):
    dest = tmp_path / "build"
    _topology, parties = default_lab()
    r = run_module(capsys, script=PROGRAM, parties=parties, dest=str(dest), host_compat="off")
    assert r["changed"]
    before = tree(str(dest))
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nsys.stderr.write('no such AS: 4242\\n')\nsys.exit(3)\n")
    r = run_module(capsys, script=str(bad), parties=parties, dest=str(dest), host_compat="off")
    assert r["failed"] and "failed (exit 3)" in r["msg"] and "no such AS: 4242" in r["msg"]
    assert tree(str(dest)) == before
    assert sorted(os.listdir(str(dest))) == ["ghost", "output"]


def test_program_without_ghost_printer_is_explained(tmp_path, capsys):
    prog = tmp_path / "noghost.py"
    prog.write_text(open(PROGRAM).read().replace('    emu.compile(GhostPrinter(), "./ghost", override=True)\n', ""))
    r = run_module(capsys, script=str(prog), parties={"1": {"asn": 150}}, dest=str(tmp_path / "b"), host_compat="off")
    assert r["failed"] and "GhostPrinter" in r["msg"]
    assert not (tmp_path / "b").exists()


def test_script_parties_must_match_the_programs_ghosts(tmp_path, capsys):
    r = run_module(capsys, script=PROGRAM, parties={"1": {"asn": 153}}, dest=str(tmp_path / "b"), host_compat="off")
    assert r["failed"] and "parties.1: the program reserved no ghost hnode_153_federation" in r["msg"]


def test_internet_map_binds_loopback_and_warns(tmp_path, capsys, monkeypatch):
    from ansible.module_utils.basic import AnsibleModule
    # Once Ansible's controller code is imported into this process (other test modules do), module
    # warnings may be routed to the controller's display instead of the result: watch both.
    seen, warn = [], AnsibleModule.warn
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, msg, *a, **kw: (seen.append(msg), warn(self, msg, *a, **kw)))
    topology, parties = default_lab()
    r = run_module(capsys, topology=topology, parties=parties, dest=str(tmp_path / "b"), internet_map=True,
                   internet_map_port=18080, host_compat="off")
    assert "unauthenticated root console" in json.dumps(list(r.get("warnings", [])) + seen)
    with open(str(tmp_path / "b" / "output" / "docker-compose.yml")) as f:
        compose = yaml.safe_load(f)
    assert compose["services"]["seedemu_internet_map"]["ports"] == ["127.0.0.1:18080:8080/tcp"]


@pytest.mark.docker
@pytest.mark.slow
def test_compiled_project_routes_real_containers(tmp_path, capsys, offline_images):
    """Bring the compiled project up (offline image, adapted to this host): BGP comes up and an
    ordinary host in one AS pings one in the other through the routers; the reserved names resolve."""
    project = "sftest-skeleton-up"
    topology = {"internet_exchanges": [122],
                "autonomous_systems": {233: {"networks": ["net0"], "routers": {"router0": ["net0", "ix122"]}, "hosts": ["probe"]},
                                       234: {"networks": ["net0"], "routers": {"router0": ["net0", "ix122"]}, "hosts": ["probe"]}},
                "peerings": [{"ix": 122, "route_server": [233, 234]}]}
    r = run_module(capsys, topology=topology, parties={1: {"asn": 233}, 2: {"asn": 234, "serving": True}},
                   dest=str(tmp_path / "b"), project=project, images="offline")
    assert r["changed"]
    output = str(tmp_path / "b" / "output")
    compose = ["docker", "compose", "--project-directory", output]
    env = dict(os.environ, DOCKER_BUILDKIT="0")
    try:
        proc = subprocess.run(compose + ["build"], env=env, capture_output=True, text=True, timeout=500)
        assert proc.returncode == 0, proc.stderr[-3000:]
        proc = subprocess.run(compose + ["up", "-d"], capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stderr[-3000:]
        probe_a, probe_b = "as233h-probe-10.233.0.80", "as234h-probe-10.234.0.83"
        deadline = time.time() + 120
        while True:
            ping = subprocess.run(["docker", "exec", probe_a, "ping", "-c", "1", "-W", "2", "10.234.0.83"],
                                  capture_output=True, text=True)
            if ping.returncode == 0 or time.time() > deadline:
                break
            time.sleep(5)
        bgp = subprocess.run(["docker", "exec", "as233brd-router0-10.233.0.254", "birdc", "show", "protocols"],
                             capture_output=True, text=True)
        assert ping.returncode == 0, ping.stdout + ping.stderr + bgp.stdout
        assert "Established" in bgp.stdout
        hosts = subprocess.run(["docker", "exec", probe_b, "cat", "/etc/hosts"], capture_output=True, text=True).stdout
        assert "10.233.0.72 233-proxy" in hosts and "10.234.0.81 234-Servingserving-server" in hosts
    finally:
        subprocess.run(compose + ["down", "--remove-orphans", "--timeout", "2"], capture_output=True, timeout=180)
        images = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter",
                                 "reference=%s-*" % project], capture_output=True, text=True).stdout.split()
        if images:
            subprocess.run(["docker", "image", "rm"] + images, capture_output=True)
