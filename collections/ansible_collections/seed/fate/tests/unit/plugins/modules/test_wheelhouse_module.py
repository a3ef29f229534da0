# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""seed.fate.wheelhouse through AnsibleModule, with run_command patched: pip runs only for missing pins."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.seed.fate.plugins.modules import wheelhouse as module

PYTHON = "/usr/bin/python3"


class Exit(Exception):
    pass


def run_module(monkeypatch, capsys, args, responses, check_mode=False):
    commands = []

    def run_command(self, args, **kwargs):
        commands.append(list(args))
        return responses(list(args))

    def exit_json(self, **kwargs):
        print(json.dumps(dict(kwargs, failed=False)))
        raise Exit()

    def fail_json(self, **kwargs):
        print(json.dumps(dict(kwargs, failed=True)))
        raise Exit()

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: PYTHON)
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    with patch_module_args(args):
        with pytest.raises(Exit):
            module.main()
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1]), commands


def pip(args):
    if args[1] == "-c":
        return 0, "3.11 x86_64\n", ""
    cache = args[args.index("-w") + 1]
    with open(args[args.index("-r") + 1]) as f:
        for line in f:
            name, version = line.strip().split("==")
            with open(os.path.join(cache, "%s-%s-py3-none-any.whl" % (name.replace("-", "_"), version)), "w") as w:
                w.write("x")
    return 0, "", ""


def test_module_downloads_missing_then_is_idempotent(monkeypatch, capsys, tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text("six==1.17.0\npika==1.2.1\n")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "six-1.17.0-py2.py3-none-any.whl").write_text("x")
    args = {"lock": str(lock), "cache": str(cache), "path": str(tmp_path / "house"),
            "extra_index_urls": ["https://download.pytorch.org/whl/cpu"], "find_links": ["/opt/wheels"]}

    res = run_module(monkeypatch, capsys, args, pip, check_mode=True)[0]
    assert res["changed"] is True and res["missing"] == ["pika==1.2.1"]
    assert not (tmp_path / "house").exists()

    res, commands = run_module(monkeypatch, capsys, args, pip)
    assert res["failed"] is False and res["changed"] is True and res["downloaded"] == ["pika==1.2.1"]
    wheel_cmd = commands[-1]
    assert wheel_cmd[:5] == [PYTHON, "-m", "pip", "wheel", "--no-deps"]
    assert wheel_cmd[-4:] == ["--extra-index-url", "https://download.pytorch.org/whl/cpu", "--find-links", "/opt/wheels"]
    assert sorted(os.listdir(str(tmp_path / "house"))) == [
        "pika-1.2.1-py3-none-any.whl", "requirements.lock", "six-1.17.0-py2.py3-none-any.whl"]

    res, commands = run_module(monkeypatch, capsys, args, pip)
    assert res["changed"] is False and commands == [] and res["wheels"] == [
        "six-1.17.0-py2.py3-none-any.whl", "pika-1.2.1-py3-none-any.whl"]


def test_module_fails_on_missing_lock(monkeypatch, capsys, tmp_path):
    res = run_module(monkeypatch, capsys, {"lock": str(tmp_path / "nope"), "cache": str(tmp_path),
                                           "path": str(tmp_path / "h")}, pip)[0]
    assert res["failed"] is True and "cannot read the lock file" in res["msg"]
