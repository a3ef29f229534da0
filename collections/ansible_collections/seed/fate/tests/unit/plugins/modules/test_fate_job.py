# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fate_job module in-process: argument checks, check mode, a failed job's verdict and message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.seed.fate.plugins.modules import fate_job

PARTIES = [{"party_id": "9999", "flow_container": "confs-9999-fateflow-1", "flow_address": "10.202.0.71"},
           {"party_id": "10000", "flow_container": "confs-10000-fateflow-1", "flow_address": "10.201.0.71"}]


def run_module(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            fate_job.main()
    return json.loads(capsys.readouterr().out)


def base(**kw):
    args = dict(name="toy_example", kind="toy", roles={"guest": "9999", "host": "10000"}, parties=PARTIES,
                router_project="sftest-fate22", command="flow test toy -gid 9999 -hid 10000 -t 5")
    args.update(kw)
    return args


def test_roles_must_name_the_guest(capsys):
    r = run_module(capsys, **base(roles={"host": "10000"}))
    assert r["failed"] and "roles must name the guest" in r["msg"]


def test_check_mode_runs_nothing(capsys, monkeypatch):
    monkeypatch.setattr(AnsibleModule, "run_command", lambda *a, **k: pytest.fail("ran %s" % (a,)))
    r = run_module(capsys, _ansible_check_mode=True, **base())
    assert r["skipped"] and not r["changed"]


def test_failed_toy_job_fails_with_verdict(capsys, monkeypatch):
    monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, *a, **k: "docker")

    def run_command(self, argv, **kw):
        cmd = " ".join(argv)
        if argv[1] == "ps":
            return 0, "", ""
        if "flow test toy" in cmd:
            return 0, "toy test job 42 is failed\n", ""
        if "flow job query" in cmd:
            return 0, '{"code": 0, "data": [{"status": "failed"}]}', ""
        if "flow task query" in cmd:
            return 0, '{"code": 0, "data": [{"party_id": "10000", "task_name": "toy_example_0"}]}', ""
        if "logs/fate_flow" in cmd:
            return 0, "[ERROR] task toy_example_0 of job 42 failed: boom\n", ""
        return 0, '{"code": 0}', ""

    monkeypatch.setattr(AnsibleModule, "run_command", run_command)
    r = run_module(capsys, **base())
    assert r["failed"] and r["verdict"] == "failed"
    assert "toy_example job 42 is failed; party 10000 task toy_example_0" in r["msg"] and "boom" in r["msg"]
    assert r["job"]["job_id"] == "42" and r["job"]["failing_party"] == "10000"
