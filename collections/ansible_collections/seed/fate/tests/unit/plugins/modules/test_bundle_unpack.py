# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bundle_unpack module end to end (in-process), with check and diff mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import tarfile

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.seed.fate.plugins.modules import bundle_unpack


def run_module(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            bundle_unpack.main()
    return json.loads(capsys.readouterr().out)


def tar(path, files):
    with tarfile.open(str(path), "w") as tf:
        for rel in ["confs-1"] + sorted("confs-1/" + k for k in files):
            ti = tarfile.TarInfo(rel)
            if rel == "confs-1":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
                continue
            data = files[rel[len("confs-1/"):]].encode()
            ti.size, ti.mode = len(data), 0o644
            tf.addfile(ti, io.BytesIO(data))
    return str(path)


def test_module_check_diff_then_apply_then_idempotent(tmp_path, capsys):
    src = tar(tmp_path / "confs-1.tar", {"docker-compose.yml": "name: confs-1\n"})
    dest = tmp_path / "d"
    r = run_module(capsys, src=src, dest=str(dest), _ansible_check_mode=True, _ansible_diff=True)
    assert r["changed"] and "+ docker-compose.yml" in r["diff"]["prepared"]
    assert not dest.exists()
    r = run_module(capsys, src=src, dest=str(dest))
    assert r["changed"] and r["project_dir"] == str(dest / "confs-1") and r["files"] == 1
    r = run_module(capsys, src=src, dest=str(dest), _ansible_diff=True)
    assert not r["changed"] and "diff" not in r


def test_module_fails_naming_the_archive(tmp_path, capsys):
    bad = tmp_path / "confs-1.tar"
    bad.write_text("nope")
    r = run_module(capsys, src=str(bad), dest=str(tmp_path / "d"))
    assert r["failed"] and str(bad) in r["msg"]


def test_module_max_size_refuses_naming_archive_and_member(tmp_path, capsys):
    # Issue 11 item 6: content past max_size is refused before anything is written, in check mode too.
    src = tar(tmp_path / "confs-1.tar", {"docker-compose.yml": "name: confs-1\n", "big": "x" * 4096})
    dest = tmp_path / "d"
    for check in (True, False):
        r = run_module(capsys, src=src, dest=str(dest), max_size=1024, _ansible_check_mode=check)
        assert r["failed"] and src in r["msg"] and "'confs-1/big'" in r["msg"] and "max_size" in r["msg"]
    assert not dest.exists()
    r = run_module(capsys, src=src, dest=str(dest))
    assert r["changed"] and r["not_removed"] == [] and (dest / "confs-1").stat().st_mode & 0o777 == 0o700
