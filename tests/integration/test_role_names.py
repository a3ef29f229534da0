# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles name projects and containers with what the inventory hands them (issue 13 item 4).

fate_deploy, fate_teardown and fate_verify take ``confs-<id>``, ``serving-<id>`` and the container names
from the party hosts' ``seedfate_projects`` / ``seedfate_containers`` / ``seedfate_pod_containers`` (computed
by module_utils/naming.py in the seed.fate.ghost_nodes plugin) instead of building them. Run for real with
ansible-playbook on labs written by tests/fixtures/make_lab.py, with party ids no other lab of this machine
uses (4321, 4320), so that nothing here can touch a running lab:

* fate_deploy stops at its first check (no bundles rendered), naming ``confs-<id>.tar`` and ``serving-<id>.tar``;
* fate_teardown in check mode looks for, and lists the containers of, ``confs-<id>`` and ``serving-<id>``;
* fate_verify's defaults give the probe source pod and the toy example's container (1.3.0), fate_deploy's the
  pods its ready probes run in, and the FATE 2.2 jobs describe every party's fateflow, rabbitmq and nginx
  containers.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAKE_LAB = os.path.join(REPO, "tests", "fixtures", "make_lab.py")
ROLES = os.path.join(REPO, "collections", "ansible_collections", "seed", "fate", "roles")

pytestmark = pytest.mark.docker   # fate_teardown and the jobs ask the Docker engine (read-only)


def ansible_playbook():
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return exe if os.path.exists(exe) else shutil.which("ansible-playbook")


@pytest.fixture(autouse=True)
def _docker():
    if ansible_playbook() is None or shutil.which("docker") is None:
        pytest.skip("needs ansible-playbook and the docker CLI")


def make_lab(tmp_path, *args):
    subprocess.run([sys.executable, MAKE_LAB, str(tmp_path / "ghost"), "--parties", "2", "--first-party", "4321",
                    "--project", "sftest-names"] + list(args), check=True)
    cfg = tmp_path / "lab.seedfate.yml"
    # The party hosts run modules with the controller's Python (a pyenv shim may be first on PATH).
    cfg.write_text("plugin: seed.fate.ghost_nodes\nghost_dir: ghost\nparty_connection:\n  ansible_connection: local\n"
                   "  ansible_python_interpreter: %s\n" % sys.executable)
    return str(cfg)


def play(tmp_path, inventory, text, *args):
    path = tmp_path / "play.yml"
    path.write_text(text)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([ansible_playbook(), "-i", inventory, str(path)] + list(args), cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


DEPLOY = """---
- name: Deploy (stops at the bundle check)
  hosts: fate_parties
  gather_facts: false
  vars:
    seedfate_build_dir: {build}
    fate_deploy_dir: {build}/deploy
  roles:
    - seed.fate.fate_deploy
"""


def test_deploy_names_the_bundles_of_the_inventory(tmp_path):
    inv = make_lab(tmp_path)
    r = play(tmp_path, inv, DEPLOY.format(build=tmp_path / "build"))
    assert r.returncode != 0
    out = r.stdout
    assert "Check that the bundles were rendered" in out, out
    for project in ("confs-4321", "serving-4321", "confs-4320", "serving-4320"):
        assert "%s/bundles/%s.tar does not exist" % (tmp_path / "build", project) in out, out
    assert not (tmp_path / "build").exists()          # nothing was done


TEARDOWN = """---
- name: Teardown (check mode, nothing deployed)
  hosts: fate_parties
  gather_facts: false
  vars:
    fate_teardown_dir: {deploy}
  roles:
    - seed.fate.fate_teardown
"""


def test_teardown_takes_down_the_projects_of_the_inventory(tmp_path):
    inv = make_lab(tmp_path)
    r = play(tmp_path, inv, TEARDOWN.format(deploy=tmp_path / "deploy"), "--check", "-v")
    assert r.returncode == 0, r.stdout + r.stderr
    # Each party host asks Docker for the containers of its own projects (-v shows each host's command).
    for project in ("confs-4321", "serving-4321", "confs-4320", "serving-4320"):
        assert "label=com.docker.compose.project=%s" % project in r.stdout, r.stdout


VERIFY_DEFAULTS = """---
- name: fate_verify's names for this party
  hosts: fate_parties
  gather_facts: false
  tasks:
    - name: Read the roles' defaults
      ansible.builtin.include_vars:
        file: "{roles}/{{{{ item }}}}/defaults/main.yml"
      loop: [fate_verify, fate_deploy]
    - name: Write them down
      ansible.builtin.copy:
        content: "{{{{ {{'source': fate_verify_source_container,
                       'toy': fate_verify_containers.training[fate_verify_toy_job.service],
                       'deploy_pod': fate_deploy_pod_containers.training[fate_verify_catalogue.verify.source.component]}}
                       | to_json }}}}"
        dest: "{out}/names-{{{{ inventory_hostname }}}}.json"
        mode: "0600"
"""


@pytest.mark.parametrize("version, source, toy", [("1.3.0", "proxy", "python"), ("2.2.0", "nginx", "fateflow")])
def test_verify_containers_come_from_the_inventory(tmp_path, version, source, toy):
    inv = make_lab(tmp_path, "--fate-version", version)
    r = play(tmp_path, inv, VERIFY_DEFAULTS.format(roles=ROLES, out=tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    for pid in (4321, 4320):
        names = json.loads((tmp_path / ("names-party-%d.json" % pid)).read_text())
        assert names == {"source": "confs-%d-%s-pod-1" % (pid, source), "toy": "confs-%d-%s-1" % (pid, toy),
                         "deploy_pod": "confs-%d-%s-pod-1" % (pid, source)}


JOBS = """---
- name: The FATE 2.2 jobs' description of the parties (jobs off)
  hosts: fate_parties
  gather_facts: false
  vars:
    seedfate_build_dir: {build}
    fate_verify_toy_example: false
    fate_verify_hetero_lr: false
    fate_verify_report: {build}/verify/report.json
  tasks:
    - name: The jobs' tasks
      block:
        - name: Run them
          ansible.builtin.include_role:
            name: seed.fate.fate_verify
            tasks_from: jobs
      always:
        - name: Write down the parties they describe
          ansible.builtin.copy:
            content: "{{{{ fate_verify__parties | default([]) | to_json }}}}"
            dest: "{out}/parties-{{{{ inventory_hostname }}}}.json"
            mode: "0600"
"""


def test_jobs_describe_the_containers_of_the_inventory(tmp_path):
    inv = make_lab(tmp_path, "--fate-version", "2.2.0", "--parties", "3")
    r = play(tmp_path, inv, JOBS.format(build=tmp_path / "build", out=tmp_path))
    path = tmp_path / "parties-party-4321.json"
    assert path.exists(), r.stdout + r.stderr
    parties = json.loads(path.read_text())
    assert [(p["party_id"], p["flow_container"], p["rabbitmq_container"], p["nginx_container"]) for p in parties] == [
        (str(pid), "confs-%d-fateflow-1" % pid, "confs-%d-rabbitmq-1" % pid, "confs-%d-nginx-1" % pid)
        for pid in (4321, 4320, 4319)]
