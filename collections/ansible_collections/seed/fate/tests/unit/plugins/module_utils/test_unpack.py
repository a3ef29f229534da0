# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bundle unpack: honest change, data never touched, atomic writes, unsafe archives refused."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os
import tarfile
import time

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
    real = U.pathsafe.write_at

    def flaky(dir_fd, name, chunks, mode, sha256=None):
        calls["n"] += 1
        if calls["n"] == 3:  # 1: the pending manifest, 2: the first file, 3: the second file
            raise OSError("disk went away")
        return real(dir_fd, name, chunks, mode, sha256)

    monkeypatch.setattr(U.pathsafe, "write_at", flaky)
    with pytest.raises(OSError):
        U.unpack(tar, str(dest))
    root = dest / "confs-9999"
    # The manifest is written first, with what the run was about to write as pending, and last.
    pending = json.loads((root / U.MANIFEST).read_text())
    assert pending["files"]["docker-compose.yml"]["pending"] is True
    monkeypatch.setattr(U.pathsafe, "write_at", real)
    r = U.unpack(tar, str(dest))
    assert r["changed"]
    final = json.loads((root / U.MANIFEST).read_text())
    assert sorted(final["files"]) == sorted(BASE)
    assert not any(rec.get("pending") for rec in final["files"].values())
    assert not U.unpack(tar, str(dest))["changed"]
    # The file written by the interrupted run is recognised as the unpack's own: pruned when dropped.
    written_first = sorted(BASE)[0]
    rest = dict((k, v) for k, v in BASE.items() if k != written_first)
    assert U.unpack(bundle(tmp_path, rest), str(dest))["removed"] == [written_first]


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


# --- hardening (issue 11): one regression test per case ---------------------------------------------

def add_file(name, data=b"x", mode=0o644):
    def add(tf):
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode = len(data), mode
        tf.addfile(ti, io.BytesIO(data))
    return add


def tree(root):
    """{relative path: (kind, mode, content)} of everything below ``root`` (links not followed)."""
    out = {}
    for folder, dirs, files in os.walk(str(root)):
        for name in dirs + files:
            p = os.path.join(folder, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, str(root))
            if os.path.islink(p):
                out[rel] = ("link", 0, os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = ("dir", st.st_mode & 0o7777, None)
            else:
                with open(p, "rb") as f:
                    out[rel] = ("file", st.st_mode & 0o7777, f.read())
    return out


def test_secret_files_stay_private_and_the_project_folder_is_closed(tmp_path, dest):
    # Item 1: a bundle's 0600 member stays 0600, the project folder and the manifest are owner-only,
    # and a project folder left 0755 (and a secret file left 0644) by an earlier unpack are tightened.
    root = dest / "confs-9999"
    root.mkdir(mode=0o755)
    os.chmod(str(root), 0o755)
    tar = bundle(tmp_path, extra=add_file("confs-9999/confs/rabbitmq/secrets/pw", b"s3cret\n", 0o600))
    r = U.unpack(tar, str(dest))
    assert r["changed"]
    assert root.stat().st_mode & 0o777 == 0o700
    assert (root / "confs/rabbitmq/secrets/pw").stat().st_mode & 0o777 == 0o600
    assert (root / U.MANIFEST).stat().st_mode & 0o777 == 0o600
    os.chmod(str(root), 0o755)
    os.chmod(str(root / "confs/rabbitmq/secrets/pw"), 0o644)
    r = U.unpack(tar, str(dest), check_mode=True, prune=True)
    assert r["changed"] and "~ ./ (mode 0700)" in r["diff_text"]
    assert root.stat().st_mode & 0o777 == 0o755  # check mode changed nothing
    r = U.unpack(tar, str(dest))
    assert "confs/rabbitmq/secrets/pw" in r["updated"]
    assert root.stat().st_mode & 0o777 == 0o700
    assert (root / "confs/rabbitmq/secrets/pw").stat().st_mode & 0o777 == 0o600
    assert not U.unpack(tar, str(dest))["changed"]


def _mysql_lab(tmp_path, dest):
    tar = bundle(tmp_path)
    U.unpack(tar, str(dest))
    root = dest / "confs-9999"
    (root / "confs/mysql/data").mkdir()
    (root / "confs/mysql/data/ibdata1").write_bytes(b"\x00rows")
    return tar, root


@pytest.mark.parametrize("alias", ["confs/mysql//data/ibdata1", "confs/mysql/./data/ibdata1",
                                   "./confs/mysql/data/ibdata1", "confs/mysql/data/ibdata1/"])
def test_manifest_paths_that_are_not_clean_are_refused(tmp_path, dest, alias):
    # Item 3: a path spelled `a//b` or `a/./b` passed the preserve check and the MySQL data file went.
    tar, root = _mysql_lab(tmp_path, dest)
    manifest = json.loads((root / U.MANIFEST).read_text())
    manifest["files"][alias] = {"sha256": "0" * 64, "size": 5, "ino": os.stat(str(root / "confs/mysql/data/ibdata1")).st_ino}
    (root / U.MANIFEST).write_text(json.dumps(manifest))
    before = tree(root)
    with pytest.raises(U.BundleError) as exc:
        U.unpack(tar, str(dest))
    assert U.MANIFEST in str(exc.value) and repr(alias) in str(exc.value)
    assert tree(root) == before
    assert (root / "confs/mysql/data/ibdata1").read_bytes() == b"\x00rows"


@pytest.mark.parametrize("alias", ["confs/mysql//data/ibdata1", "confs/mysql/./data/ibdata1"])
def test_legacy_manifest_never_deletes(tmp_path, dest, alias):
    # Item 3 as reported: today's format-1 manifest with an aliased data path; it proves no ownership.
    tar, root = _mysql_lab(tmp_path, dest)
    (root / U.MANIFEST).write_text(json.dumps({"format": 1, "archive_sha256": None, "files": [alias], "dirs": []}))
    r = U.unpack(tar, str(dest))
    assert r["removed"] == []
    assert (root / "confs/mysql/data/ibdata1").read_bytes() == b"\x00rows"


def test_preserve_entries_are_normalised_or_refused(tmp_path, dest):
    tar, root = _mysql_lab(tmp_path, dest)
    with pytest.raises(U.BundleError, match=r"preserve: entry 'confs/\.\./etc'"):
        U.unpack(tar, str(dest), preserve=["confs/../etc"])
    files = dict(BASE, **{"confs/mysql/data/seed.sql": "-- v1\n"})
    U.unpack(bundle(tmp_path, files), str(dest), preserve=["./confs/mysql/data/"])
    (root / "confs/mysql/data/seed.sql").write_text("-- the database's own\n")
    r = U.unpack(bundle(tmp_path, files), str(dest), preserve=["./confs/mysql/data/"])
    assert r["preserved"] == ["confs/mysql/data/seed.sql"]


def test_a_users_identical_file_is_never_removed(tmp_path, dest):
    # Item 4: the user's own file, byte-identical to a bundle v1 file, was deleted when v2 dropped it.
    root = dest / "confs-9999"
    (root / "confs/proxy/conf").mkdir(parents=True)
    mine = root / "confs/proxy/conf/extra.properties"
    mine.write_text("port=1\n")
    U.unpack(bundle(tmp_path, dict(BASE, **{"confs/proxy/conf/extra.properties": "port=1\n"})), str(dest))
    r = U.unpack(bundle(tmp_path), str(dest))
    assert r["removed"] == []
    assert mine.read_text() == "port=1\n"


def test_a_file_replaced_since_the_unpack_wrote_it_is_not_removed(tmp_path, dest):
    # Item 4: written by v1, then replaced by the user with the same bytes (another file): no longer ours.
    U.unpack(bundle(tmp_path, dict(BASE, **{"confs/old.txt": "v1\n"})), str(dest))
    root = dest / "confs-9999"
    edited = dict(BASE, **{"confs/edited.txt": "v1\n", "confs/same.txt": "v1\n"})
    U.unpack(bundle(tmp_path, dict(edited, **{"confs/old.txt": "v1\n"})), str(dest))
    time.sleep(0.05)  # a later write: file times move on at the kernel's clock tick
    (root / "confs/old.txt").unlink()
    (root / "confs/old.txt").write_text("v1\n")  # the user's copy, same bytes (perhaps the same inode)
    (root / "confs/edited.txt").write_text("v1 with the user's edit\n")
    r = U.unpack(bundle(tmp_path), str(dest))
    assert sorted(r["removed"]) == ["confs/same.txt"]
    assert sorted(r["not_removed"]) == ["confs/edited.txt", "confs/old.txt"]
    assert (root / "confs/old.txt").exists() and (root / "confs/edited.txt").exists()
    assert not (root / "confs/same.txt").exists()


def test_symlinked_intermediate_folder_is_not_written_through(tmp_path, dest):
    # Item 5: `confs/proxy` (not a member of the tar) is a link on disk to a folder outside the project.
    outside = tmp_path / "outside"
    (outside / "conf").mkdir(parents=True)
    (outside / "conf/proxy.properties").write_text("precious\n")
    root = dest / "confs-9999"
    (root / "confs").mkdir(parents=True)
    os.symlink(str(outside), str(root / "confs/proxy"))
    tar = bundle(tmp_path, dirs=("confs",))
    for check in (True, False):
        with pytest.raises(U.BundleError, match=r"confs/proxy: is a symbolic link"):
            U.unpack(tar, str(dest), check_mode=check)
    assert tree(outside) == {"conf": ("dir", tree(outside)["conf"][1], None),
                             "conf/proxy.properties": ("file", tree(outside)["conf/proxy.properties"][1], b"precious\n")}
    assert sorted(os.listdir(str(root))) == ["confs"]  # nothing written on the way


def test_prune_does_not_follow_a_symlinked_folder(tmp_path, dest):
    # Item 5 for removals: a folder the previous unpack wrote into is now a link to another folder.
    U.unpack(bundle(tmp_path, dict(BASE, **{"confs/legacy/app.conf": "a\n"})), str(dest))
    root = dest / "confs-9999"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "app.conf").write_text("a\n")
    os.rename(str(root / "confs/legacy"), str(tmp_path / "moved"))
    os.symlink(str(outside), str(root / "confs/legacy"))
    with pytest.raises(U.BundleError, match="confs/legacy: is a symbolic link"):
        U.unpack(bundle(tmp_path), str(dest))
    assert (outside / "app.conf").read_text() == "a\n"


def _sparse_member(name, real_size, stored=512):
    """A GNU sparse ('S') member header and its stored data, as GNU tar writes one."""
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.mode = tarfile.GNUTYPE_SPARSE, stored, 0o644
    buf = bytearray(ti.tobuf(tarfile.GNU_FORMAT))
    buf[386:398] = tarfile.itn(0, 12, tarfile.GNU_FORMAT)          # sparse[0].offset
    buf[398:410] = tarfile.itn(stored, 12, tarfile.GNU_FORMAT)     # sparse[0].numbytes
    buf[482] = 0                                                   # not extended
    buf[483:495] = tarfile.itn(real_size, 12, tarfile.GNU_FORMAT)  # realsize
    buf[148:156] = b" " * 8
    buf[148:156] = ("%06o\0 " % sum(buf)).encode("ascii")
    return bytes(buf) + b"\0" * stored


def test_sparse_member_is_refused(tmp_path, dest):
    # Item 6: a 10 KB sparse tar expanded to a huge file in memory.
    path = tmp_path / "confs-9999.tar"
    make_tar(str(path), "confs-9999", BASE, DIRS)
    raw = path.read_bytes().rstrip(b"\0")
    raw = raw + b"\0" * (-len(raw) % 512)
    raw += _sparse_member("confs-9999/confs/big", 8 << 20) + b"\0" * 10240
    path.write_bytes(raw)
    for check in (True, False):
        with pytest.raises(U.BundleError, match=r"member 'confs-9999/confs/big' is a sparse file"):
            U.unpack(str(path), str(dest), check_mode=check)
    assert os.listdir(str(dest)) == []


def test_content_larger_than_max_size_is_refused(tmp_path, dest):
    # Item 6: a small tar.gz expanding far beyond any bundle.
    path = str(tmp_path / "confs-9999.tar")
    with tarfile.open(path, "w:gz") as tf:
        ti = tarfile.TarInfo("confs-9999")
        ti.type = tarfile.DIRTYPE
        tf.addfile(ti)
        ti = tarfile.TarInfo("confs-9999/zeros")
        ti.size = 3 << 20
        tf.addfile(ti, io.BytesIO(b"\0" * ti.size))
    assert os.path.getsize(path) < 64 << 10
    with pytest.raises(U.BundleError, match=r"confs-9999.tar: member 'confs-9999/zeros' .*max_size \(1048576"):
        U.unpack(path, str(dest), max_size=1 << 20, check_mode=True)
    with pytest.raises(U.BundleError, match="max_size"):
        U.unpack(path, str(dest), max_size=1 << 20)
    assert os.listdir(str(dest)) == []
    assert U.unpack(path, str(dest))["created"] == ["zeros"]  # within the default


def test_oversized_long_name_header_is_refused(tmp_path, dest):
    # Item 6: tarfile reads a GNU long-name record whole; a huge one is refused before it is read.
    path = tmp_path / "confs-9999.tar"
    with tarfile.open(str(path), "w:gz", format=tarfile.GNU_FORMAT) as tf:
        ti = tarfile.TarInfo("confs-9999/" + "n" * (200 << 10))
        tf.addfile(ti, io.BytesIO(b""))
    with pytest.raises(U.BundleError, match="oversized extended header"):
        U.unpack(str(path), str(dest), check_mode=True)


def test_members_are_streamed_never_held_in_memory(tmp_path, dest):
    # Item 6: comparing and writing read members in blocks, in check mode too.
    import tracemalloc
    big = "0123456789abcdef" * (1 << 20)  # 16 MiB
    tar = bundle(tmp_path, dict(BASE, **{"confs/big.bin": big}))
    for check in (True, False, False):
        tracemalloc.start()
        try:
            U.unpack(tar, str(dest), check_mode=check)
            _now, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 4 << 20, (check, peak)
    assert (dest / "confs-9999/confs/big.bin").stat().st_size == len(big)


def test_archive_modes_are_masked(tmp_path, dest):
    # Item 7: setuid, setgid, sticky and 0777 were applied as given.
    def add(tf):
        for name, mode, kind in (("confs-9999/suid", 0o4755, "f"), ("confs-9999/sgid", 0o2777, "f"),
                                 ("confs-9999/open", 0o777, "f"), ("confs-9999/private", 0o600, "f"),
                                 ("confs-9999/sticky", 0o1777, "d"), ("confs-9999/gdir", 0o2775, "d")):
            ti = tarfile.TarInfo(name)
            ti.mode = mode
            if kind == "d":
                ti.type = tarfile.DIRTYPE
                tf.addfile(ti)
            else:
                ti.size = 1
                tf.addfile(ti, io.BytesIO(b"x"))
    tar = bundle(tmp_path, extra=add)
    U.unpack(tar, str(dest))
    got = dict((k, v[1]) for k, v in tree(dest / "confs-9999").items() if "/" not in k)
    assert got["suid"] == got["sgid"] == got["open"] == 0o644
    assert got["private"] == 0o600
    assert got["sticky"] == got["gdir"] == 0o755
    assert not U.unpack(tar, str(dest))["changed"]


def test_refused_bundle_writes_and_deletes_nothing(tmp_path, dest):
    # Every case is checked before the first write: a bad member late in the archive changes nothing.
    U.unpack(bundle(tmp_path, dict(BASE, **{"confs/gone.txt": "v1\n"})), str(dest))
    root = dest / "confs-9999"
    before = tree(root)
    files = dict(BASE, **{"docker-compose.yml": "name: confs-9999\n# v2\n"})
    with pytest.raises(U.BundleError, match="unsafe member"):
        U.unpack(bundle(tmp_path, files, extra=add_file("confs-9999/a//b")), str(dest))
    assert tree(root) == before
