"""seed.fate.ghost_nodes through the real `ansible-inventory` CLI, from the repository root (its
ansible.cfg: collections_path, enable_plugins), on labs written by tests/fixtures/make_lab.py and on
the default inventory before the skeleton stage has run."""

import json
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAKE_LAB = os.path.join(REPO, "tests", "fixtures", "make_lab.py")


def ansible_inventory():
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    return exe if os.path.exists(exe) else shutil.which("ansible-inventory")


pytestmark = pytest.mark.skipif(ansible_inventory() is None, reason="ansible-inventory is not installed")


def run(*args, **env):
    environ = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_FORCE_COLOR="0", **env)
    return subprocess.run([ansible_inventory()] + list(args), cwd=REPO, env=environ, capture_output=True,
                          text=True, timeout=300)


def plain(value):
    """ansible-inventory writes values marked unsafe as {"__ansible_unsafe": "..."}: unwrap them."""
    if isinstance(value, dict):
        if list(value) == ["__ansible_unsafe"]:
            return value["__ansible_unsafe"]
        return dict((k, plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def make_lab(tmp_path, *args):
    subprocess.run([sys.executable, MAKE_LAB, str(tmp_path / "ghost")] + list(args), check=True)
    cfg = tmp_path / "lab.seedfate.yml"
    cfg.write_text("plugin: seed.fate.ghost_nodes\nghost_dir: ghost\n")
    return str(cfg)


def test_list_on_the_seed_lab(tmp_path):
    cfg = make_lab(tmp_path, "--seed-lab", "--project", "sftest-cli")
    r = run("-i", cfg, "--list")
    assert r.returncode == 0, r.stderr
    assert "WARNING" not in r.stderr, r.stderr
    raw = json.loads(r.stdout)
    # Read from the skeleton's files, hence marked unsafe (ansible-core >= 2.19 marks every such string).
    raw_network = raw["_meta"]["hostvars"]["hnode_152_proxy"]["seedfate_network"]
    assert plain(raw_network) == "sftest-cli_net_152_net0"
    inv = plain(raw)
    assert inv["fate_parties"]["hosts"] == ["party-10000", "party-9999", "party-8888"]
    assert len(inv["fate_components"]["hosts"]) == 36
    for group in ("party_9999", "as_152", "component_serving_server", "component_meta_service",
                  "cluster_training", "cluster_serving"):
        assert group in inv["all"]["children"], group
    hv = inv["_meta"]["hostvars"]
    party = hv["party-9999"]
    assert (party["seedfate_party_id"], party["seedfate_party_index"], party["seedfate_asn"]) == (9999, 1, 152)
    assert party["ansible_connection"] == "local"
    assert party["seedfate_clusters"]["serving"]["serving-server"]["network"] == "sftest-cli_net_152_net0"
    # Each party host carries its own entry; the directory is the plain list of them (a group variable,
    # which plain --list copies into every host).
    assert party["seedfate_party_entry"]["proxy"] == "10.152.0.72"
    assert [d["party_id"] for d in party["seedfate_party_directory"]] == [10000, 9999, 8888]
    assert party["seedfate_party_directory"][1] == party["seedfate_party_entry"]
    comp = hv["hnode_152_proxy"]
    assert (comp["ansible_connection"], comp["ansible_host"], comp["seedfate_gateway"]) == \
        ("community.docker.docker", "confs-9999-proxy-1", "10.152.0.254")


def test_export_keeps_the_directory_on_the_group(tmp_path):
    cfg = make_lab(tmp_path, "--parties", "4", "--no-serving")
    r = run("-i", cfg, "--list", "--export")
    assert r.returncode == 0, r.stderr
    inv = plain(json.loads(r.stdout))
    assert [d["party_id"] for d in inv["fate_parties"]["vars"]["seedfate_party_directory"]] == [10000, 9999, 9998, 9997]
    assert "seedfate_party_directory" not in inv["_meta"]["hostvars"]["party-9999"]
    assert inv["_meta"]["hostvars"]["party-9999"]["seedfate_party_entry"]["serving_server"] is None
    assert "cluster_serving" not in inv["all"]["children"] or not inv.get("cluster_serving", {}).get("hosts")


def test_plays_see_the_whole_directory(tmp_path):
    cfg = make_lab(tmp_path, "--parties", "3", "--no-serving")
    ansible = os.path.join(os.path.dirname(ansible_inventory()), "ansible")
    r = subprocess.run([ansible, "party-9998", "-i", cfg, "-m", "ansible.builtin.debug", "-a",
                        "msg={{ seedfate_party_directory | map(attribute='party_id') | join(',') }}"],
                       cwd=REPO, capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "msg: 10000,9999,9998" in r.stdout, r.stdout


def test_graph_is_a_readable_tree(tmp_path):
    cfg = make_lab(tmp_path, "--parties", "2")
    r = run("-i", cfg, "--graph", "fate_parties")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["@fate_parties:", "|--party-10000", "|--party-9999"]
    r = run("-i", cfg, "--graph", "party_9999")
    assert "|--hnode_151_proxy" in r.stdout and "|--party-9999" in r.stdout


def test_default_inventory_before_the_skeleton_stage(tmp_path):
    # A copy of inventories/default in a folder with no build/ beside it: the state of a fresh clone,
    # whatever this work tree's own build folder holds.
    inv_dir = tmp_path / "inventories" / "default"
    shutil.copytree(os.path.join(REPO, "inventories", "default"), str(inv_dir))
    r = run("-i", str(inv_dir), "--graph")
    assert r.returncode == 0, r.stderr
    where = os.path.join(str(tmp_path), "build", "default", "ghost")
    assert "no skeleton outputs at %s: run playbooks/network.yml first" % where in " ".join(r.stderr.split())
    assert "@fate_parties:" in r.stdout and "@seedfate_controller:" in r.stdout
    assert "party-" not in r.stdout


def test_default_inventory_once_the_skeleton_wrote_its_outputs(tmp_path):
    inv_dir = tmp_path / "inventories" / "default"
    shutil.copytree(os.path.join(REPO, "inventories", "default"), str(inv_dir))
    subprocess.run([sys.executable, MAKE_LAB, str(tmp_path / "build" / "default" / "ghost"), "--seed-lab"], check=True)
    r = run("-i", str(inv_dir), "--host", "party-8888")
    assert r.returncode == 0, r.stderr
    hv = plain(json.loads(r.stdout))
    # group_vars/fate_parties.yml of the default inventory applies to the plugin's party hosts.
    assert hv["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"
    assert hv["seedfate_clusters"]["training"]["proxy"]["network"] == "seedfate_net_150_net0"


def test_broken_lab_is_reported_with_file_and_entry(tmp_path):
    cfg = make_lab(tmp_path, "--parties", "2")
    layout = tmp_path / "ghost" / "pre_party_list.json"
    data = json.loads(layout.read_text())
    data["training"]["9999"]["proxy"] = ["hnode_151_nope"]
    layout.write_text(json.dumps(data))
    r = run("-i", cfg, "--list", ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="true")
    assert r.returncode != 0
    message = " ".join(r.stderr.split())
    assert "%s: training party 9999 component proxy: NodeId hnode_151_nope is not in" % layout in message
