# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The seedemu_network module in-process: argument checks, errors, and the staging/compare/swap logic.

seedemu itself is replaced here by a small stand-in compiler (``fake_build``) so these run in CI;
the real thing is exercised in tests/integration/test_skeleton_seedemu.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.seed.fate.plugins.module_utils import ghost_export as ge
from ansible_collections.seed.fate.plugins.module_utils import ghost_model as gm
from ansible_collections.seed.fate.plugins.module_utils import host_compat as hc
from ansible_collections.seed.fate.plugins.module_utils import seedemu_build as sb
from ansible_collections.seed.fate.plugins.module_utils import topology as topo
from ansible_collections.seed.fate.plugins.modules import seedemu_network as mod

TOPOLOGY = {
    "internet_exchanges": [100],
    "autonomous_systems": {"150": {"networks": ["net0"], "routers": {"router0": ["net0", "ix100"]}},
                           "151": {"networks": ["net0"], "routers": {"router0": ["net0", "ix100"]}}},
    "peerings": [{"ix": 100, "route_server": [150, 151]}],
}
PARTIES = {"9999": {"asn": 150, "serving": True}, "10000": {"asn": 151}}


def run_module(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            mod.main()
    return json.loads(capsys.readouterr().out)


def fake_build(model, project, staging, seedemu_path=None, **opts):
    """Stand-in for seedemu: .71 upward per network, router at .254, one folder per router."""
    out = os.path.join(staging, "output")
    os.makedirs(out)
    systems, nets_yaml = [], ""
    # seedemu_build.render_lab reserves the chosen version's components: so does the stand-in.
    plan = topo.ghost_plan(model["parties"], opts.get("fate_version"))
    for system in model["autonomous_systems"]:
        asn = system["asn"]
        nets = [gm.Network(n["name"], n["prefix"]) for n in system["networks"]]
        routers = []
        for r in system["routers"]:
            ifaces = [gm.Interface(j, str(system["networks"][0]["prefix"][254])) for j in r["joins"] if not j.startswith("ix")]
            routers.append(gm.Node(asn, r["name"], "Router", ifaces))
            os.makedirs(os.path.join(out, "rnode_%d_%s" % (asn, r["name"])))
            with open(os.path.join(out, "rnode_%d_%s" % (asn, r["name"]), "Dockerfile"), "w") as f:
                f.write("FROM %s\n" % (opts.get("offline_image") if opts.get("images") == "offline" else "base"))
        hosts = []
        for k, g in enumerate(x for x in plan if x["asn"] == asn):
            hosts.append(gm.Node(asn, g["name"], "Host", [gm.Interface("net0", str(system["networks"][0]["prefix"][71 + k]))],
                                 ghost=True))
        systems.append(gm.AutonomousSystem(asn, nets, routers, hosts))
        nets_yaml += "    net_%d_net0:\n        driver_opts: {}\n" % asn
    with open(os.path.join(out, "docker-compose.yml"), "w") as f:
        f.write('version: "3.4"\nservices:\n    x:\n        image: x\nnetworks:\n' + nets_yaml + "    net_ix_ix100:\n        driver_opts: {}\n")
    layout = [(g["party"], g["cluster"], g["component"], "hnode_%d_%s" % (g["asn"], g["name"])) for g in plan]
    return sb.BuildResult(out, gm.Lab(project, systems, layout))


@pytest.fixture
def fake_seedemu(monkeypatch, tmp_path_factory):
    # The module only checks that the seedemu folder exists before the (faked) child process runs.
    root = tmp_path_factory.mktemp("seedemu_root")
    (root / "seedemu").mkdir()
    monkeypatch.setenv("SEEDEMU_PATH", str(root))
    monkeypatch.setattr(sb, "render_lab", fake_build)


def args(dest, **extra):
    base = dict(topology=TOPOLOGY, parties=PARTIES, dest=str(dest), project="sftest", host_compat="off")
    base.update(extra)
    return base


def snapshot(folder):
    return dict((rel, (data, os.stat(os.path.join(folder, rel)).st_mtime_ns))
                for rel, data in sb.read_tree(str(folder)).items())


def test_check_diff_apply_idempotent(tmp_path, capsys, fake_seedemu):
    dest = tmp_path / "build"
    r = run_module(capsys, _ansible_check_mode=True, _ansible_diff=True, **args(dest))
    assert r["changed"] and not dest.exists()
    assert "ghost hnode_150_proxy net0=10.150.0.72" in r["diff"]["after"]
    assert "ghost " not in r["diff"]["before"] and "output/docker-compose.yml absent" in r["diff"]["before"]

    r = run_module(capsys, **args(dest))
    assert r["changed"] and r["ghosts"] == 12 + 9
    assert r["networks"] == ["sftest_net_150_net0", "sftest_net_151_net0", "sftest_net_ix_ix100"]
    assert r["parties"]["9999"]["training"]["federation"] == "10.150.0.71"
    assert r["parties"]["9999"]["serving"]["serving-proxy"] == "10.150.0.82"
    assert r["parties"]["9999"]["gateway"] == "10.150.0.254"
    assert "serving" not in r["parties"]["10000"]
    compose = (dest / "output" / "docker-compose.yml").read_text()
    assert compose.startswith("name: sftest\n") and "version:" not in compose
    assert json.loads((dest / "ghost" / "lab.json").read_text())["compose_project"] == "sftest"
    # No staging left behind; the record of this compile (module_utils/compile_stamp.py).
    assert sorted(os.listdir(str(dest))) == [".seedfate-compile.json", "ghost", "output"]

    before = snapshot(dest)
    r = run_module(capsys, _ansible_diff=True, **args(dest))
    assert not r["changed"] and r["changed_files"] == [] and r["compiled"] is False   # answered from the record
    assert r["parties"]["9999"]["gateway"] == "10.150.0.254"
    assert snapshot(dest) == before                               # nothing rewritten
    r = run_module(capsys, _ansible_diff=True, **args(dest, skip_unchanged=False))
    assert not r["changed"] and r["changed_files"] == [] and r["compiled"] is True    # compiled: the same files
    assert snapshot(dest) == before


def test_changed_topology_swaps_only_what_changed(tmp_path, capsys, fake_seedemu):
    dest = tmp_path / "build"
    run_module(capsys, **args(dest))
    output_before = snapshot(dest / "output")
    parties = dict(PARTIES)
    parties["10000"] = {"asn": 151, "serving": True}
    r = run_module(capsys, _ansible_check_mode=True, _ansible_diff=True, **args(dest, parties=parties))
    assert r["changed"] and r["changed_files"] == ["ghost/AutonomousSystems.json", "ghost/GhostNodes.json",
                                                   "ghost/pre_party_list.json"]
    assert "ghost hnode_151_Servingredis net0=10.151.0.80" in r["diff"]["after"]
    assert "hnode_151_Servingredis" not in r["diff"]["before"]
    assert "hnode_151_Servingredis" not in (dest / "ghost" / "GhostNodes.json").read_text()  # check mode wrote nothing
    r = run_module(capsys, **args(dest, parties=parties))
    assert r["changed"]
    assert "hnode_151_Servingredis" in (dest / "ghost" / "GhostNodes.json").read_text()
    assert snapshot(dest / "output") == output_before             # output/ untouched


def test_images_offline_is_passed_to_the_builder(tmp_path, capsys, fake_seedemu):
    dest = tmp_path / "build"
    r = run_module(capsys, **args(dest, images="offline", offline_image="sftest/node:1"))
    assert r["changed"]
    assert (dest / "output" / "rnode_150_router0" / "Dockerfile").read_text() == "FROM sftest/node:1\n"


def _asking_for(packages, real_world=False):
    """fake_build whose router Dockerfile installs ``packages`` (as seedemu writes it when the image lacks them)."""
    def build(model, project, staging, seedemu_path=None, **opts):
        result = fake_build(model, project, staging, seedemu_path, **opts)
        path = os.path.join(result.output_dir, "rnode_150_router0", "Dockerfile")
        with open(path, "a") as f:
            if packages:
                f.write("RUN apt-get update && apt-get install -y --no-install-recommends %s\n" % " ".join(packages))
            if real_world:
                f.write("COPY 40d3a92b5bc934f3eb6786fdfdcd1859 /rw_configure_script\n")
        build.software = opts.get("offline_software")
        return result
    return build


def test_offline_refuses_a_node_that_needs_apt_get_and_writes_nothing(tmp_path, capsys, fake_seedemu, monkeypatch):
    monkeypatch.setattr(sb, "render_lab", _asking_for(["cowsay", "iptables"]))
    dest = tmp_path / "build"
    r = run_module(capsys, **args(dest, images="offline", offline_software=["bird2", "iproute2"]))
    assert r["failed"]
    assert "rnode_150_router0: cowsay, iptables" in r["msg"] and "images_node_software" in r["msg"]
    assert r["missing_software"] == {"rnode_150_router0": ["cowsay", "iptables"]}
    assert not dest.exists()


def test_offline_software_comes_from_the_image_label(tmp_path, capsys, fake_seedemu, monkeypatch):
    build = _asking_for([])
    monkeypatch.setattr(sb, "render_lab", build)

    def inspect(self, name):
        assert name == "sftest/node:1"
        return {"Config": {"Labels": {"seed.fate/software": "bird2,iproute2,cowsay"}}}
    monkeypatch.setattr(mod.DockerCli, "inspect_image", inspect)
    r = run_module(capsys, **args(tmp_path / "b", images="offline", offline_image="sftest/node:1", docker_cli="/bin/true"))
    assert build.software == ["bird2", "cowsay", "iproute2"] == r["offline_software"]

    monkeypatch.setattr(mod.DockerCli, "inspect_image", lambda self, name: None)   # not built yet
    r = run_module(capsys, **args(tmp_path / "c", images="offline", offline_image="sftest/node:1", docker_cli="/bin/true"))
    assert build.software == sb.DEFAULT_OFFLINE_SOFTWARE == r["offline_software"]


def test_real_world_routers_are_reported_sealed_or_not(tmp_path, capsys, fake_seedemu, monkeypatch):
    from ansible.module_utils.basic import AnsibleModule
    # Module warnings may go to the controller's display instead of the result: watch both.
    seen, warn = [], AnsibleModule.warn
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, msg, *a, **kw: (seen.append(msg), warn(self, msg, *a, **kw)))
    monkeypatch.setattr(sb, "render_lab", _asking_for([], real_world=True))
    r = run_module(capsys, **args(tmp_path / "b"))
    assert r["real_world_routers"] == ["rnode_150_router0"]
    assert any("rnode_150_router0" in w and "reaches nothing outside" in w for w in seen)
    del seen[:]
    r = run_module(capsys, **args(tmp_path / "c", isolation_guard=False))
    assert any("rnode_150_router0" in w and "guard is off" in w for w in seen)


def test_a_failing_build_leaves_previous_outputs(tmp_path, capsys, fake_seedemu, monkeypatch):
    dest = tmp_path / "build"
    run_module(capsys, **args(dest))
    before = snapshot(dest)

    def broken(model, project, staging, seedemu_path=None, **opts):
        os.makedirs(os.path.join(staging, "output"))
        raise sb.BuildError("seedemu refused the topology: AssertionError: boom", "log text")
    monkeypatch.setattr(sb, "render_lab", broken)
    r = run_module(capsys, **args(dest, project="other"))
    assert r["failed"] and "boom" in r["msg"] and r["log"] == "log text"
    assert snapshot(dest) == before
    assert sorted(os.listdir(str(dest))) == [".seedfate-compile.json", "ghost", "output"]


def test_host_adaptations_are_reported(tmp_path, capsys, fake_seedemu, monkeypatch):
    class FakeCompat(object):
        @staticmethod
        def probe_host():
            raise AssertionError("host_capabilities given: must not probe")

        @staticmethod
        def adapt_output(files, caps):
            assert caps == {"privileged": False}
            files["docker-compose.yml"] += "# adapted\n"
            return ["privileged containers are unavailable"]

        link_report = staticmethod(hc.link_report)
    monkeypatch.setattr(mod, "host_compat", FakeCompat)
    dest = tmp_path / "build"
    r = run_module(capsys, **args(dest, host_compat="auto", host_capabilities={"privileged": False}))
    assert r["host_adaptations"] == ["privileged containers are unavailable"]
    assert (dest / "output" / "docker-compose.yml").read_text().endswith("# adapted\n")
    r = run_module(capsys, **args(dest, host_compat="auto", host_capabilities={"privileged": False}))
    assert not r["changed"]


def test_validation_error_names_the_field_and_writes_nothing(tmp_path, capsys):
    topology = json.loads(json.dumps(TOPOLOGY))
    topology["autonomous_systems"]["150"]["routers"]["router0"] = ["net0", "ix101"]
    r = run_module(capsys, **args(tmp_path / "b", topology=topology, source="group_vars/all/topology.yml"))
    assert r["failed"] and r["field"] == "topology.autonomous_systems.150.routers.router0"
    assert r["msg"].startswith("topology.autonomous_systems.150.routers.router0 (in group_vars/all/topology.yml): ")
    assert not (tmp_path / "b").exists()


def test_parties_required_with_topology(tmp_path, capsys):
    a = args(tmp_path / "b")
    del a["parties"]
    r = run_module(capsys, **a)
    assert r["failed"] and r["msg"].startswith("parties: required")


def test_bad_project_name(tmp_path, capsys):
    r = run_module(capsys, **args(tmp_path / "b", project="My Lab"))
    assert r["failed"] and r["msg"].startswith("project: 'My Lab'")


def test_topology_and_script_are_exclusive(tmp_path, capsys):
    r = run_module(capsys, **args(tmp_path / "b", script=str(tmp_path / "x.py")))
    assert r["failed"] and "mutually exclusive" in r["msg"]


def test_missing_script(tmp_path, capsys):
    r = run_module(capsys, script=str(tmp_path / "x.py"), dest=str(tmp_path / "b"), project="p")
    assert r["failed"] and r["msg"] == "script: %s does not exist" % (tmp_path / "x.py")


def test_seedemu_missing_is_the_standard_error_with_instructions(tmp_path, capsys):
    r = run_module(capsys, **args(tmp_path / "b", seedemu_path=str(tmp_path)))
    assert r["failed"]
    assert "Failed to import the required Python library (seedemu)" in r["msg"]
    assert "SEEDEMU_PATH" in r["msg"] and "seed-labs/seed-emulator" in r["msg"]
    assert not (tmp_path / "b").exists()


def test_compose_networks():
    text = "name: p\nservices:\n    a:\n        networks:\n            net_1_x: {}\nnetworks:\n    net_1_x:\n" \
           "        ipam: {}\n    net_ix_ix2:\n        x: 1\nvolumes: {}\n"
    assert mod.compose_networks(text, "p") == ["p_net_1_x", "p_net_ix_ix2"]


def test_layout_from_parties_reports_missing_ghosts():
    parties = topo.normalize_parties_only({"9999": {"asn": 152}})
    ids = set("hnode_152_%s" % c for c in topo.TRAINING_COMPONENTS if c != "mysql")
    layout, missing = mod.layout_from_parties(parties, ids)
    assert len(layout) == 9
    assert missing == ["parties.9999: the program reserved no ghost hnode_152_mysql (training mysql)"]


def small_lab():
    routers = [gm.Node(150, "r1", "Router", [gm.Interface("net0", "10.150.0.253")]),
               gm.Node(150, "r0", "Router", [gm.Interface("net0", "10.150.0.254"), gm.Interface("ix100", "10.100.0.150")])]
    hosts = [gm.Node(150, "proxy", "Host", [gm.Interface("net0", "10.150.0.72")], ghost=True),
             gm.Node(150, "Servingserving-proxy", "Host", [gm.Interface("net0", "10.150.0.73")], ghost=True)]
    layout = [("9999", "training", "proxy", "hnode_150_proxy"),
              ("9999", "serving", "serving-proxy", "hnode_150_Servingserving-proxy")]
    return gm.Lab("sftest", [gm.AutonomousSystem(150, [gm.Network("net0", "10.150.0.0/24")], routers, hosts)], layout)


def test_party_summary_from_the_model_and_from_its_files_agree():
    lab = small_lab()
    want = {"9999": {"asn": 150, "network": "net0", "prefix": "10.150.0.0/24", "gateway": "10.150.0.254",
                     "training": {"proxy": "10.150.0.72"}, "serving": {"serving-proxy": "10.150.0.73"}}}
    assert mod.party_summary(lab) == want
    files = dict((k, json.loads(v)) for k, v in ge.render_files(lab).items())
    again = gm.read_lab(files["GhostNodes.json"], files["pre_party_list.json"], files["AutonomousSystems.json"])
    assert mod.party_summary(again) == want
    # Without AutonomousSystems.json nothing tells the prefix and the gateway.
    alone = gm.read_lab(files["GhostNodes.json"], files["pre_party_list.json"])
    assert mod.party_summary(alone)["9999"]["gateway"] is None


def fake_fork_script(ghost_files):
    def run_script(script, workdir, project, seedemu_path=None, **opts):
        out = os.path.join(workdir, "output")
        os.makedirs(out)
        with open(os.path.join(out, "docker-compose.yml"), "w") as f:
            f.write('services:\n    x:\n        image: x\nnetworks:\n    net_150_net0:\n        driver_opts: {}\n')
        return sb.BuildResult(out, None, ghost_files=dict(ghost_files))
    return run_script


def test_fork_ghost_files_are_read_back_with_the_model(tmp_path, capsys, fake_seedemu, monkeypatch):
    script = tmp_path / "lab.py"
    script.write_text("# the program\n")
    files = dict((k, v.encode("utf-8")) for k, v in ge.render_files(small_lab()).items())
    monkeypatch.setattr(sb, "run_script", fake_fork_script(files))
    r = run_module(capsys, script=str(script), dest=str(tmp_path / "b"), project="sftest", host_compat="off")
    assert r["changed"] and r["ghosts"] == 2
    assert r["parties"]["9999"]["gateway"] == "10.150.0.254"
    assert r["parties"]["9999"]["serving"] == {"serving-proxy": "10.150.0.73"}
    # A ghost file the inventory would refuse fails the run before anything is written.
    broken = dict(files)
    broken["GhostNodes.json"] = b'[{"NodeId": "hnode_150_proxy"}]'
    monkeypatch.setattr(sb, "run_script", fake_fork_script(broken))
    r = run_module(capsys, script=str(script), dest=str(tmp_path / "c"), project="sftest", host_compat="off")
    assert r["failed"] and r["msg"].startswith("the program's ghost files cannot be read: ghost/GhostNodes.json: entry 0")
    assert not (tmp_path / "c" / "ghost").exists()


def test_swap_in_restores_on_failure(tmp_path):
    target, trash = tmp_path / "output", tmp_path / "old"
    target.mkdir()
    (target / "f").write_text("old")
    with pytest.raises(OSError):
        mod.swap_in(str(tmp_path / "missing-staged"), str(target), str(trash))
    assert (target / "f").read_text() == "old" and not trash.exists()


# --- FATE version: the skeleton reserves the chosen version's components ------------------------------

def test_fate_version_2_2_0_reserves_fateflow_rabbitmq_nginx(tmp_path, capsys, fake_seedemu):
    dest = tmp_path / "build"
    parties = {"10000": {"asn": 151}, "9999": {"asn": 150}}
    r = run_module(capsys, **args(dest, parties=parties, fate_version="2.2.0"))
    assert r["changed"] and r["ghosts"] == 2 * 3
    ghosts = json.loads((dest / "ghost" / "GhostNodes.json").read_text())
    assert [g["NodeId"] for g in ghosts if g["Autonomous_Systems"] in (151, "151")] == [
        "hnode_151_fateflow", "hnode_151_rabbitmq", "hnode_151_nginx"]
    assert r["parties"]["9999"]["training"] == {"fateflow": "10.150.0.71", "rabbitmq": "10.150.0.72",
                                                "nginx": "10.150.0.73"}
    layout = json.loads((dest / "ghost" / "pre_party_list.json").read_text())
    assert layout == {"training": {
        "10000": {"fateflow": ["hnode_151_fateflow"], "rabbitmq": ["hnode_151_rabbitmq"], "nginx": ["hnode_151_nginx"]},
        "9999": {"fateflow": ["hnode_150_fateflow"], "rabbitmq": ["hnode_150_rabbitmq"], "nginx": ["hnode_150_nginx"]}}}
    # lab.json tells the inventory which version the skeleton reserved.
    assert json.loads((dest / "ghost" / "lab.json").read_text())["fate_version"] == "2.2.0"


def test_default_version_writes_lab_json_as_before(tmp_path, capsys, fake_seedemu):
    dest = tmp_path / "build"
    run_module(capsys, **args(dest))
    assert "fate_version" not in json.loads((dest / "ghost" / "lab.json").read_text())


def test_fate_version_refusals(tmp_path, capsys, fake_seedemu):
    r = run_module(capsys, **args(tmp_path / "b1", fate_version="3.0.0"))
    assert r["failed"] and "supported: 1.3.0, 2.2.0" in r["msg"] and "'3.0.0'" in r["msg"]
    # PARTIES asks serving for 9999: 2.2.0 has no serving cluster.
    r = run_module(capsys, **args(tmp_path / "b2", fate_version="2.2.0"))
    assert r["failed"] and "parties.9999.serving" in r["msg"] and "FATE 2.2.0 has no serving cluster" in r["msg"]
    assert not (tmp_path / "b2").exists()


SHAPED = {
    "internet_exchanges": [{"id": 100, "latency": "20ms", "bandwidth": "10mbit"}],
    "autonomous_systems": {"150": {"networks": [{"name": "net0", "loss": 1}],
                                   "routers": {"router0": ["net0", {"network": "ix100", "bandwidth": "2mbit"}]}},
                           "151": {"networks": ["net0"], "routers": {"router0": ["net0", "ix100"]}}},
    "peerings": [{"ix": 100, "route_server": [150, 151]}],
}
NO_NETEM = {"privileged": True, "dummy_link": True, "netem": False,
            "notes": ["the kernel refuses the netem qdisc (Error: Specified qdisc kind is unknown.)"]}


def watch_warnings(monkeypatch):
    """Module warnings may go to the controller's display instead of the result: watch the calls."""
    from ansible.module_utils.basic import AnsibleModule
    seen, warn = [], AnsibleModule.warn
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, msg, *a, **kw: (seen.append(msg), warn(self, msg, *a, **kw)))
    return seen


def test_link_properties_applied_and_refused_are_reported_and_warned(tmp_path, capsys, fake_seedemu, monkeypatch):
    seen = watch_warnings(monkeypatch)
    r = run_module(capsys, **args(tmp_path / "build", topology=SHAPED, host_compat="auto", host_capabilities=NO_NETEM))
    assert not r.get("failed"), r
    assert r["link_properties"]["applied"] == [{"where": "ix100", "what": "bandwidth 10mbit"},
                                               {"where": "AS150 router0 on ix100", "what": "bandwidth 2mbit"}]
    refused = [(x["where"], x["what"]) for x in r["link_properties"]["refused"]]
    assert refused == [("ix100", "latency 20ms"), ("AS150 net0", "loss 1%")]
    assert r["link_properties_summary"][:2] == ["applied: bandwidth 10mbit on ix100",
                                                "applied: bandwidth 2mbit on AS150 router0 on ix100"]
    assert r["link_properties_summary"][2].startswith("refused: latency 20ms on ix100 (the kernel refuses the netem")
    assert len(seen) == 2 and seen[0].startswith("link property latency 20ms on ix100 is not applied: the kernel refuses")
    assert seen[1].startswith("link property loss 1% on AS150 net0 is not applied")
    # Warnings are no change: the second run changes nothing and still says what it cannot apply.
    again = run_module(capsys, **args(tmp_path / "build", topology=SHAPED, host_compat="auto", host_capabilities=NO_NETEM))
    assert not again["changed"] and len(seen) == 4


def test_link_properties_with_netem_or_without_probing_are_all_applied(tmp_path, capsys, fake_seedemu, monkeypatch):
    seen = watch_warnings(monkeypatch)
    for i, extra in enumerate(({"host_compat": "off"},
                               {"host_compat": "auto", "host_capabilities": dict(NO_NETEM, netem=True, notes=[])})):
        r = run_module(capsys, **args(tmp_path / ("b%d" % i), topology=SHAPED, **extra))
        assert len(r["link_properties"]["applied"]) == 4 and r["link_properties"]["refused"] == [], r
        assert not [w for w in seen if w.startswith("link property")]


def test_strict_link_properties_fail_before_anything_is_built(tmp_path, capsys, fake_seedemu, monkeypatch):
    def no_build(*_args, **_kwargs):
        raise AssertionError("seedemu must not run")
    monkeypatch.setattr(sb, "render_lab", no_build)
    dest = tmp_path / "build"
    r = run_module(capsys, **args(dest, topology=SHAPED, host_compat="auto", host_capabilities=NO_NETEM,
                                  link_properties_strict=True))
    assert r["failed"]
    assert r["msg"].startswith("link properties this host cannot apply (link_properties_strict is on")
    assert "latency 20ms on ix100 (the kernel refuses the netem qdisc" in r["msg"] and "loss 1% on AS150 net0" in r["msg"]
    assert len(r["link_properties"]["refused"]) == 2
    assert not dest.exists()


def test_strict_with_nothing_refused_builds(tmp_path, capsys, fake_seedemu):
    shaped = json.loads(json.dumps(SHAPED))
    shaped["internet_exchanges"] = [{"id": 100, "bandwidth": "10mbit"}]
    shaped["autonomous_systems"]["150"]["networks"] = ["net0"]
    r = run_module(capsys, **args(tmp_path / "build", topology=shaped, host_compat="auto", host_capabilities=NO_NETEM,
                                  link_properties_strict=True))
    assert r["changed"] and r["link_properties"]["refused"] == [] and len(r["link_properties"]["applied"]) == 2


def test_bad_link_property_is_refused_naming_field_and_source(tmp_path, capsys):
    shaped = json.loads(json.dumps(SHAPED))
    shaped["autonomous_systems"]["150"]["routers"]["router0"][1]["bandwidth"] = 0
    r = run_module(capsys, **args(tmp_path / "build", topology=shaped, source="inventories/lab/topology.yml"))
    assert r["failed"] and r["field"] == "topology.autonomous_systems.150.routers.router0[1].bandwidth"
    assert r["msg"].startswith("topology.autonomous_systems.150.routers.router0[1].bandwidth "
                               "(in inventories/lab/topology.yml): bandwidth must be more than 0")
    assert not (tmp_path / "build").exists()
