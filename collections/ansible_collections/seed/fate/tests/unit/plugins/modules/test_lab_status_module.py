# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab_status module on the fixture labs: files written atomically, changed only when content changes,
check mode writes nothing, no Docker and no Graphviz needed with docker=false and formats=[]."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.seed.fate.plugins.modules import lab_status

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "module_utils", "fixtures", "lab_status")


@pytest.fixture
def run(capsys):
    def runner(**args):
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                lab_status.main()
        return json.loads(capsys.readouterr().out)
    return runner


@pytest.fixture
def build(tmp_path):
    dest = tmp_path / "default"
    shutil.copytree(os.path.join(FIXTURES, "default"), str(dest))
    return str(dest)


def test_files_only_then_no_change_then_check_mode(run, build):
    first = run(build_dir=build, docker=False, formats=[])
    status_dir = os.path.join(build, "status")
    assert first["changed"] is True
    assert sorted(os.listdir(status_dir)) == ["lab.dot", "status.json"]
    assert first["summary"]["network"] == "down"
    assert first["table"][0].startswith("lab default (compose project seedfate): network down")
    with open(os.path.join(status_dir, "status.json")) as f:
        assert json.load(f)["lab"] == "default"
    second = run(build_dir=build, docker=False, formats=[])
    assert second["changed"] is False and second["changed_files"] == []
    os.unlink(os.path.join(status_dir, "status.json"))
    check = run(build_dir=build, docker=False, formats=[], _ansible_check_mode=True)
    assert check["changed"] is True and check["changed_files"] == [os.path.join(status_dir, "status.json")]
    assert not os.path.exists(os.path.join(status_dir, "status.json"))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (dot) is not installed")
def test_pictures_rendered_once(run, build, tmp_path):
    dest = str(tmp_path / "pictures")
    first = run(build_dir=build, dest=dest, docker=False, lab_name="demo")
    assert sorted(os.listdir(dest)) == ["lab.dot", "lab.png", "lab.svg", "status.json"]
    with open(os.path.join(dest, "lab.svg")) as f:
        svg = f.read()
    assert "<svg" in svg and "IX100" in svg and "FATE party 9999" in svg and "seed.fate lab demo" in svg
    with open(os.path.join(dest, "lab.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert first["changed"] is True
    assert run(build_dir=build, dest=dest, docker=False, lab_name="demo")["changed"] is False


def test_missing_graphviz_is_named(run, build, monkeypatch):
    monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: None)
    out = run(build_dir=build, docker=False)
    assert out["failed"] is True and "apt-get install graphviz" in out["msg"]


def test_lab_not_compiled(run, tmp_path):
    out = run(build_dir=str(tmp_path), docker=False, formats=[])
    assert out["failed"] is True and "compile the lab first" in out["msg"]
