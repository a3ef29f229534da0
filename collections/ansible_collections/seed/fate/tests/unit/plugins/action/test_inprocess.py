"""plugin_utils/inprocess.py: a collection module run in the worker process answers exactly as the module process.

The playbook tests run real ansible-playbook twice, with the in-process runs on and off, and compare every
registered result (a change with diff, a second run with nothing to do, check mode, argument errors, a module
failure); -vvv says which way each task ran, so a broken switch or fallback fails here too.
"""

import json
import os
import subprocess
import sys
import tarfile

import pytest

from ansible_collections.seed.fate.plugins.plugin_utils import inprocess

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 8))


def test_same_interpreter_needs_the_same_file_and_folder(tmp_path):
    assert inprocess.same_interpreter(sys.executable)
    assert not inprocess.same_interpreter("python3")  # not a path
    assert not inprocess.same_interpreter("")
    # A symlink elsewhere resolves to this interpreter but is another environment (a virtualenv's bin/python).
    link = tmp_path / "python"
    link.symlink_to(os.path.realpath(sys.executable))
    assert os.path.realpath(str(link)) == os.path.realpath(sys.executable)
    assert not inprocess.same_interpreter(str(link))
    assert not inprocess.same_interpreter("/usr/bin/env")


@pytest.mark.parametrize("value,expected", [(None, True), ("1", True), ("0", False), ("false", False),
                                            ("off", False), ("yes", True)])
def test_switch(value, expected):
    environ = {} if value is None else {inprocess.ENV_SWITCH: value}
    assert inprocess.enabled(environ) is expected


PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    out: {out}
  tasks:
    - name: unpack
      seed.fate.bundle_unpack: {{src: "{tar}", dest: "{dest}", project: confs-1}}
      register: first
      diff: true
    - name: unpack again
      seed.fate.bundle_unpack: {{src: "{tar}", dest: "{dest}", project: confs-1}}
      register: second
    - name: unpack in check mode elsewhere
      seed.fate.bundle_unpack: {{src: "{tar}", dest: "{dest}-check", project: confs-1}}
      register: checked
      check_mode: true
    - name: an unknown option
      seed.fate.deploy_stamp: {{bundle_dir: "{dest}", projects: [x], bogus: 1}}
      register: unknown
      ignore_errors: true
    - name: a module failure
      seed.fate.bundle_unpack: {{src: "{dest}/missing.tar", dest: "{dest}", project: confs-1}}
      register: failure
      ignore_errors: true
    - name: with a task environment (runs as a module process)
      seed.fate.deploy_stamp: {{bundle_dir: "{dest}", projects: [confs-1]}}
      environment: {{SEEDFATE_TEST: "1"}}
      register: with_env
    - name: keep the results
      ansible.builtin.copy:
        content: "{{{{ {{'first': first, 'second': second, 'checked': checked, 'unknown': unknown,
                      'failure': failure, 'with_env': with_env}} | to_json }}}}"
        dest: "{{{{ out }}}}"
        mode: "0600"
"""


def _run(tmp_path, switch):
    work = tmp_path / switch
    (work / "bundle" / "conf").mkdir(parents=True)
    (work / "bundle" / "conf" / "a.conf").write_text("a = 1\n")
    tar = work / "confs-1.tar"
    with tarfile.open(str(tar), "w") as t:
        t.add(str(work / "bundle"), arcname="confs-1")
    out = work / "results.json"
    book = work / "play.yml"
    book.write_text(PLAYBOOK.format(out=out, tar=tar, dest=work / "deploy"))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env[inprocess.ENV_SWITCH] = switch
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-vvv", str(book)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    results = json.loads(out.read_text())
    # Paths differ between the two runs by the switch's folder only.
    text = json.dumps(results, sort_keys=True).replace(str(work), "<work>")
    return json.loads(text), proc.stdout


def _strip(result):
    """What may differ between two runs of the same module: the invocation's internal keys."""
    result = dict(result)
    result.pop("invocation", None)
    return result


def test_in_process_runs_answer_like_module_processes(tmp_path):
    on, log_on = _run(tmp_path, "1")
    off, log_off = _run(tmp_path, "0")
    assert set(on) == set(off)
    for key in on:
        assert _strip(on[key]) == _strip(off[key]), key
    # The results are what they should be, not only equal.
    assert on["first"]["changed"] is True and on["first"].get("diff")
    assert on["second"]["changed"] is False
    assert on["checked"]["changed"] is True
    assert on["unknown"]["failed"] and "bogus" in on["unknown"]["msg"]
    assert on["failure"]["failed"]
    assert not os.path.exists(str(tmp_path / "1" / "deploy-check"))
    # Which way each task ran.
    ran_here = log_on.count("running ansible_collections.seed.fate.plugins.modules.")
    assert ran_here == 5, log_on[-3000:]
    assert "runs as a module process: the task sets environment variables" in log_on
    assert "running ansible_collections.seed.fate.plugins.modules." not in log_off
    assert log_off.count("runs as a module process: %s is off" % inprocess.ENV_SWITCH) == 6
