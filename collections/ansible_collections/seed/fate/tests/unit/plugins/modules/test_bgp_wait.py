# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bgp_wait against a fake docker CLI."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.seed.fate.plugins.modules import bgp_wait

UP = "BIRD 2.0.12 ready.\nName Proto Table State Since Info\np_rs100 BGP --- up 18:07:28 Established\n"
DOWN = "BIRD 2.0.12 ready.\nName Proto Table State Since Info\np_rs100 BGP --- start 18:07:28 Active Socket: No route\n"


@pytest.fixture
def run(monkeypatch, capsys):
    def runner(ps, birdc, **args):
        calls = []

        def fake(self, argv, **kwargs):
            calls.append(argv)
            if argv[1] == "ps":
                return 0, ps, ""
            return 0, birdc[argv[2]], ""
        monkeypatch.setattr(AnsibleModule, "run_command", fake)
        monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: "/usr/bin/docker")
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                bgp_wait.main()
        return json.loads(capsys.readouterr().out), calls
    return runner


PS = "r150\trunning\tBorderRouter\nh150\trunning\tHost\nrs\trunning\tRoute Server\n"


def test_all_established(run):
    r, calls = run(PS, {"r150": UP, "rs": UP}, project="lab", timeout=5)
    assert not r["changed"] and r["containers"] == ["r150", "rs"] and len(r["sessions"]) == 2
    assert r["not_established"] == []
    assert not any(c[1] == "exec" and c[2] == "h150" for c in calls)


def test_timeout_names_the_sessions(run):
    r, _calls = run(PS, {"r150": UP, "rs": DOWN}, project="lab", timeout=0)
    assert r["failed"] and "rs/p_rs100 (start Active Socket: No route)" in r["msg"]
    assert "r150" not in r["msg"]


def test_stopped_router_fails_at_once(run):
    r, calls = run("r150\texited\tBorderRouter\n", {}, project="lab", timeout=100)
    assert r["failed"] and "r150 (container is exited)" in r["msg"]
    assert not any(c[1] == "exec" for c in calls)


def test_empty_project_fails(run):
    r, _calls = run("", {}, project="lab")
    assert r["failed"] and "lab" in r["msg"] and "is it up" in r["msg"]


def test_explicit_containers_without_project(run):
    r, calls = run("", {"x": UP}, containers=["x"], timeout=0)
    assert not r.get("failed") and r["containers"] == ["x"]
    assert not any(c[1] == "ps" for c in calls)
