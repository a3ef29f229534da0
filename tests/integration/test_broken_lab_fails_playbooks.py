"""A broken lab file fails the playbooks (issue 11, item 2) and the party directory reads through
hostvars from another host (item 13): real ansible-playbook / ansible runs, from the repository root
(its ansible.cfg), on a temporary copy of inventories/default. No Docker: the inventory fails (or the
plays match nothing) before any task runs."""

import json
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAKE_LAB = os.path.join(REPO, "tests", "fixtures", "make_lab.py")
BIN = os.path.dirname(sys.executable)


def tool(name):
    exe = os.path.join(BIN, name)
    return exe if os.path.exists(exe) else shutil.which(name)


pytestmark = pytest.mark.skipif(tool("ansible-playbook") is None, reason="ansible-playbook is not installed")


def run(name, *args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    # The repository's own setting is under test: nothing from the environment may override it.
    env.pop("ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED", None)
    r = subprocess.run([tool(name)] + list(args), cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    return r.returncode, " ".join((r.stdout + r.stderr).split())


def default_inventory(tmp_path, lab=True, *make_args):
    inv = tmp_path / "inventories" / "default"
    shutil.copytree(os.path.join(REPO, "inventories", "default"), str(inv))
    ghost = tmp_path / "build" / "default" / "ghost"
    if lab:
        subprocess.run([sys.executable, MAKE_LAB, str(ghost), "--parties", "2", "--no-serving"] + list(make_args),
                       check=True)
    return str(inv), ghost


def duplicate_node_id(ghost):
    path = ghost / "GhostNodes.json"
    nodes = json.loads(path.read_text())
    twin = dict(nodes[0])
    twin["Interfaces"] = [dict(nodes[0]["Interfaces"][0], Address="10.150.0.99")]
    path.write_text(json.dumps(nodes + [twin]))
    return path, nodes[0]["NodeId"]


@pytest.mark.parametrize("playbook", ["verify.yml", "config.yml"])
def test_duplicate_node_id_fails_the_playbook_with_the_plugins_message(tmp_path, playbook):
    inv, ghost = default_inventory(tmp_path)
    path, node = duplicate_node_id(ghost)
    rc, out = run("ansible-playbook", "-i", inv, os.path.join("playbooks", playbook))
    assert rc != 0, out
    assert "%s: entry 18 (NodeId %s): NodeId %s is listed twice" % (path, node, node) in out
    assert "Completely failed to parse inventory source" in out
    assert "PLAY RECAP" not in out


def test_no_build_yet_still_warns_and_matches_no_party(tmp_path):
    inv, ghost = default_inventory(tmp_path, lab=False)
    rc, out = run("ansible-playbook", "-i", inv, os.path.join("playbooks", "verify.yml"))
    assert rc == 0, out
    assert "no skeleton outputs at %s: run playbooks/network.yml first" % ghost in out
    assert "skipping: no hosts matched" in out


def test_party_directory_reads_through_hostvars_from_another_host(tmp_path):
    inv, _ghost = default_inventory(tmp_path)
    rc, out = run("ansible", "localhost", "-i", inv, "-m", "ansible.builtin.debug", "-a",
                  "msg={{ hostvars['party-9999'].seedfate_party_directory | map(attribute='party_id') | join(',') }}")
    assert rc == 0, out
    assert "msg: 10000,9999" in out, out
