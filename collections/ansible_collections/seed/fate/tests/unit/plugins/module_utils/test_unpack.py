# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bundle unpack: honest change, data never touched, atomic writes, unsafe archives refused."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os
import tarfile

import pytest

from ansible_collections.seed.fate.plugins.module_utils import unpack as U


def make_tar(path, project, files, dirs=(), extra=None):
    """A bundle as contracts.md describes it: plain tar, sorted, mtime 0, one top folder."""
    entries = [(d, None) for d in ("",) + tuple(dirs)] + sorted(files.items())
    with tarfile.open(path, "w") as tf:
        for rel, data in sorted(entries, key=lambda e: e[0]):
            ti = tarfile.TarInfo(project + ("/" + rel if rel else ""))
            ti.mtime, ti.uid, ti.gid = 0, 0, 0
            if data is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            else:
                b = data.encode()
                ti.size, ti.mode = len(b), 0o644
                tf.addfile(ti, io.BytesIO(b))
        if extra:
            extra(tf)
    return path


BASE = {
    "docker-compose.yml": "name: confs-9999\n",
    "confs/proxy/conf/route_table.json": '{"route_table": {}}\n',
    "confs/proxy/conf/proxy.properties": "port=9370\n",
}
DIRS = ("confs", "confs/proxy", "confs/proxy/conf", "confs/mysql", "shared_dir", "shared_dir/examples")


@pytest.fixture
def dest(tmp_path):
    d = tmp_path / "deploy"
    d.mkdir()
    return d


def bundle(tmp_path, files=None, name="confs-9999.tar", project="confs-9999", dirs=DIRS, extra=None):
    return make_tar(str(tmp_path / name), project, BASE if files is None else files, dirs, extra)


def test_first_unpack_creates_everything_and_second_changes_nothing(tmp_path, dest):
    tar = bundle(tmp_path)
    r = U.unpack(tar, str(dest))
    assert r["changed"] and r["project"] == "confs-9999"
    root = dest / "confs-9999"
    assert (root / "confs/proxy/conf/proxy.properties").read_text() == "port=9370\n"
    assert (root / "shared_dir/examples").is_dir()
    assert oct((root / "docker-compose.yml").stat().st_mode & 0o777) == oct(0o644)
    stamps = {p: os.stat(str(p)).st_mtime_ns for p in root.rglob("*")}
    inodes = {p: os.stat(str(p)).st_ino for p in root.rglob("*")}
    r2 = U.unpack(tar, str(dest))
    assert not r2["changed"], r2
    assert r2["created"] == r2["updated"] == r2["removed"] == []
    assert {p: os.stat(str(p)).st_mtime_ns for p in root.rglob("*")} == stamps
    assert {p: os.stat(str(p)).st_ino for p in root.rglob("*")} == inodes


def test_changed_file_is_replaced_atomically_and_others_untouched(tmp_path, dest):
    U.unpack(bundle(tmp_path), str(dest))
    root = dest / "confs-9999"
    keep_ino = os.stat(str(root / "docker-compose.yml")).st_ino
    old_ino = os.stat(str(root / "confs/proxy/conf/route_table.json")).st_ino
    files = dict(BASE, **{"confs/proxy/conf/route_table.json": '{"route_table": {"9999": {}}}\n'})
    r = U.unpack(bundle(tmp_path, files), str(dest))
    assert r["changed"] and r["updated"] == ["confs/proxy/conf/route_table.json"] and r["created"] == []
    assert "~ confs/proxy/conf/route_table.json" in r["diff_text"]
    # A new inode: written to a temporary file and renamed, never truncated in place.
    assert os.stat(str(root / "confs/proxy/conf/route_table.json")).st_ino != old_ino
    assert os.stat(str(root / "docker-compose.yml")).st_ino == keep_ino
    assert not [n for n in os.listdir(str(root / "confs/proxy/conf")) if n.startswith(".")]


def test_mode_change_alone_is_a_change(tmp_path, dest):
    tar = bundle(tmp_path)
    U.unpack(tar, str(dest))
    p = dest / "confs-9999" / "confs/proxy/conf/proxy.properties"
    os.chmod(str(p), 0o600)
    r = U.unpack(tar, str(dest))
    assert r["updated"] == ["confs/proxy/conf/proxy.properties"]
    assert p.stat().st_mode & 0o777 == 0o644


def test_persistent_data_survives_and_is_never_pruned(tmp_path, dest):
    tar = bundle(tmp_path)
    U.unpack(tar, str(dest))
    root = dest / "confs-9999"
    data = root / "confs/mysql/data"
    data.mkdir()
    (data / "ibdata1").write_bytes(b"\x00rows")
    (root / "shared_dir/examples/toy.py").write_text("seeded by docker\n")
    (root / "confs/egg/data-dir").mkdir(parents=True)
    (root / "confs/egg/data-dir/table").write_text("x")
    r = U.unpack(bundle(tmp_path, dict(BASE, **{"docker-compose.yml": "name: confs-9999\n# v2\n"})), str(dest))
    assert r["updated"] == ["docker-compose.yml"]
    assert (data / "ibdata1").read_bytes() == b"\x00rows"
    assert (root / "shared_dir/examples/toy.py").read_text() == "seeded by docker\n"
    assert (root / "confs/egg/data-dir/table").read_text() == "x"


def test_bundle_file_under_preserved_folder_is_created_once_never_overwritten(tmp_path, dest):
    files = dict(BASE, **{"shared_dir/examples/README": "v1\n"})
    U.unpack(bundle(tmp_path, files), str(dest))
    p = dest / "confs-9999/shared_dir/examples/README"
    assert p.read_text() == "v1\n"
    p.write_text("user edit\n")
    r = U.unpack(bundle(tmp_path, dict(BASE, **{"shared_dir/examples/README": "v2\n"})), str(dest))
    assert p.read_text() == "user edit\n"
    assert r["preserved"] == ["shared_dir/examples/README"]


def test_prune_removes_only_what_the_previous_bundle_wrote(tmp_path, dest):
    files = dict(BASE, **{"confs/proxy/conf/old.bak": "stale\n"})
    U.unpack(bundle(tmp_path, files, dirs=DIRS + ("confs/legacy",)), str(dest))
    root = dest / "confs-9999"
    (root / "confs/proxy/conf/operator-notes.txt").write_text("mine\n")
    (root / "logs").mkdir()
    r = U.unpack(bundle(tmp_path), str(dest))
    assert sorted(r["removed"]) == ["confs/legacy/", "confs/proxy/conf/old.bak"]
    assert not (root / "confs/proxy/conf/old.bak").exists()
    assert not (root / "confs/legacy").exists()
    assert (root / "confs/proxy/conf/operator-notes.txt").read_text() == "mine\n"
    assert (root / "logs").is_dir()
    assert not U.unpack(bundle(tmp_path), str(dest))["changed"]


def test_interrupted_unpack_converges(tmp_path, dest, monkeypatch):
    tar = bundle(tmp_path)
    calls = {"n": 0}
    real = U.fileio.atomic_write

    def flaky(path, data, mode=0o644):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk went away")
        return real(path, data, mode)

    monkeypatch.setattr(U.fileio, "atomic_write", flaky)
    with pytest.raises(OSError):
        U.unpack(tar, str(dest))
    root = dest / "confs-9999"
    assert not (root / U.MANIFEST).exists()  # manifest comes last
    monkeypatch.setattr(U.fileio, "atomic_write", real)
    r = U.unpack(tar, str(dest))
    assert r["changed"]
    assert json.loads((root / U.MANIFEST).read_text())["files"] == sorted(BASE)
    assert not U.unpack(tar, str(dest))["changed"]


def test_check_mode_writes_nothing(tmp_path, dest):
    r = U.unpack(bundle(tmp_path), str(dest), check_mode=True)
    assert r["changed"] and "docker-compose.yml" in r["created"]
    assert os.listdir(str(dest)) == []


@pytest.mark.parametrize("name, message", [
    ("../evil", "unsafe member"),
    ("/etc/passwd", "unsafe member"),
    ("other-top/file", "outside the top folder"),
])
def test_unsafe_members_refused_before_writing(tmp_path, dest, name, message):
    def add(tf):
        ti = tarfile.TarInfo(name)
        ti.size = 1
        tf.addfile(ti, io.BytesIO(b"x"))
    with pytest.raises(U.BundleError, match=message) as exc:
        U.unpack(bundle(tmp_path, extra=add), str(dest))
    assert "confs-9999.tar" in str(exc.value)
    assert os.listdir(str(dest)) == []


def test_links_refused(tmp_path, dest):
    def add(tf):
        ti = tarfile.TarInfo("confs-9999/link")
        ti.type, ti.linkname = tarfile.SYMTYPE, "/etc"
        tf.addfile(ti)
    with pytest.raises(U.BundleError, match="not a regular file or folder"):
        U.unpack(bundle(tmp_path, extra=add), str(dest))


def test_symlink_on_disk_is_not_written_through(tmp_path, dest):
    tar = bundle(tmp_path)
    U.unpack(tar, str(dest))
    target = tmp_path / "outside.txt"
    target.write_text("precious\n")
    p = dest / "confs-9999/confs/proxy/conf/proxy.properties"
    p.unlink()
    p.symlink_to(target)
    with pytest.raises(U.BundleError, match="symbolic link"):
        U.unpack(tar, str(dest))
    assert target.read_text() == "precious\n"


def test_not_a_tar_and_folder_file_clash(tmp_path, dest):
    junk = tmp_path / "confs-9999.tar"
    junk.write_text("not a tar")
    with pytest.raises(U.BundleError, match="not a readable tar"):
        U.unpack(str(junk), str(dest))
    tar = bundle(tmp_path)
    (dest / "confs-9999/confs/proxy").mkdir(parents=True)
    (dest / "confs-9999/confs/proxy/conf").write_text("a file where a folder belongs")
    with pytest.raises(U.BundleError, match="the disk has a file"):
        U.unpack(tar, str(dest))


def test_project_defaults_to_archive_name(tmp_path, dest):
    tar = bundle(tmp_path, {"docker-compose.yml": "name: serving-9999\n"}, name="serving-9999.tar",
                 project="serving-9999", dirs=())
    assert U.unpack(tar, str(dest))["project_dir"] == str(dest / "serving-9999")
