# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""target_projects: per-host compose files written atomically, honest changed, check mode, diff, stale hosts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.seed.fate.plugins.modules import target_projects

HERE = os.path.dirname(os.path.dirname(__file__))
FIXTURE = os.path.join(HERE, "module_utils", "fixtures", "target", "default-lab-compose.yml")
GOLDEN = os.path.join(HERE, "module_utils", "golden", "target", "default_3hosts")
PLACEMENT = {"ix": "node1", "ases": {"150": "node1", "151": "node2", "152": "node3"}}


def run(capsys, args, check=False, diff=False):
    with patch_module_args(dict(args, _ansible_check_mode=check, _ansible_diff=diff)):
        with pytest.raises(SystemExit):
            target_projects.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def build(tmp_path):
    os.makedirs(str(tmp_path / "output"))
    shutil.copy(FIXTURE, str(tmp_path / "output" / "docker-compose.yml"))
    return tmp_path


def args(build, placement=None):
    return {"build_dir": str(build), "project": "seedfate", "placement": placement or PLACEMENT,
            "docker_hosts": ["node1", "node2", "node3"]}


def test_check_mode_writes_nothing_then_run_then_rerun(build, capsys):
    r = run(capsys, args(build), check=True, diff=True)
    assert r["changed"] and len(r["files"]["written"]) == 3 and "seedfate-node3" in r["diff"]["after"]
    assert not (build / "hosts").exists()
    r = run(capsys, args(build))
    assert r["changed"]
    for host in ("node1", "node2", "node3"):
        with open(str(build / "hosts" / host / "docker-compose.yml")) as f, \
                open(os.path.join(GOLDEN, host, "docker-compose.yml")) as g:
            assert f.read() == g.read()
    assert r["hosts"]["node1"]["project_dir"] == str(build / "hosts" / "node1")
    assert r["hosts"]["node1"]["project"] == "seedfate-node1"
    assert [(o["name"], o["subnet"]) for o in r["overlays"]] == [("seedfate_net_ix_ix100", "10.100.0.0/24")]
    assert r["prefixes"] == ["10.100.0.0/24", "10.150.0.0/24", "10.151.0.0/24", "10.152.0.0/24"]
    mtime = os.stat(str(build / "hosts" / "node2" / "docker-compose.yml")).st_mtime_ns
    r = run(capsys, args(build))
    assert not r["changed"] and r["files"] == {"written": [], "removed": []}
    assert os.stat(str(build / "hosts" / "node2" / "docker-compose.yml")).st_mtime_ns == mtime


def test_a_host_that_runs_nothing_any_more_loses_its_file(build, capsys):
    run(capsys, args(build))
    moved = {"ix": "node1", "ases": {"150": "node1", "151": "node1", "152": "node2"}}
    r = run(capsys, args(build, moved), check=True)
    assert r["changed"] and r["files"]["removed"] == [str(build / "hosts" / "node3" / "docker-compose.yml")]
    assert (build / "hosts" / "node3" / "docker-compose.yml").exists()
    r = run(capsys, args(build, moved))
    assert not (build / "hosts" / "node3" / "docker-compose.yml").exists()
    assert sorted(r["hosts"]) == ["node1", "node2"]


def test_bad_placement_names_the_field(build, capsys):
    r = run(capsys, args(build, {"ix": "node1", "ases": {"150": "node1", "151": "node2"}}))
    assert r["failed"] and "placement.ases: AS152 not placed" in r["msg"]


def test_no_compiled_project(tmp_path, capsys):
    r = run(capsys, args(tmp_path))
    assert r["failed"] and "compile it first" in r["msg"]
