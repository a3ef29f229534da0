# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unpack a seed.fate bundle (plain tar, one top folder) over a deployed copy without touching data.

A bundle is unpacked at ``<dest>/<project>/`` where the party's persistent data also lives (MySQL
data, egg data-dir, redis data, shared_dir contents). So, unlike ``tar -x``:

- the whole archive is checked first (names, types, sizes, the folders on disk on the way), then
  written: a refused bundle writes and deletes nothing;
- members are streamed, never held in memory: the uncompressed archive may hold at most ``max_size``
  bytes of content and ``MAX_MEMBERS`` members, sparse members are refused;
- only files whose content or mode differ are written, each one atomically (temporary file in the
  same folder, then rename), so a rerun changes nothing and a container never reads half a file;
- every path is reached one folder at a time without following links (``pathsafe.Root``): a link on
  disk anywhere on the way stops the unpack instead of leading out of the project;
- modes are masked: files at most 0644 (a bundle's 0600 stays 0600), folders at most 0755, never
  setuid, setgid or sticky; the project folder itself is 0700 (it holds the party's passwords;
  containers reach their bind mounts without traversing it);
- paths under a *preserved* folder are only ever created when missing, never overwritten or removed;
- a file is removed only when an earlier unpack wrote it (recorded in the manifest with its inode and
  content digest), it still is that very file, and the new bundle no longer has it: nothing the
  project did not write is ever deleted;
- the manifest is written before the changes (what this run is about to write, as pending) and after
  them, so an interrupted unpack is simply finished by the next run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bz2
import gzip
import hashlib
import json
import lzma
import os
import stat
import tarfile

from ansible_collections.seed.fate.plugins.module_utils import fate_versions
from ansible_collections.seed.fate.plugins.module_utils import fileio
from ansible_collections.seed.fate.plugins.module_utils import pathsafe

# Persistent data of the default FATE version's stacks (docs/contracts.md "Bundles"), relative to the
# project folder, from the version catalogue (each version's ``data_dirs``; roles pass the chosen
# version's). Their contents belong to the running services, never to the bundle.
DEFAULT_PRESERVE = tuple(fate_versions.data_dirs(fate_versions.get(fate_versions.DEFAULT_VERSION)))

MANIFEST = ".seedfate-bundle.json"
MANIFEST_FORMAT = 2
MANIFEST_MODE = 0o600
MANIFEST_MAX = 16 << 20
# A real bundle is a few hundred KiB with fewer than a hundred members.
DEFAULT_MAX_SIZE = 64 << 20
MAX_MEMBERS = 10000
# Extended headers (long names, pax records) of one member: a few KiB in any honest archive.
MAX_HEADER = 64 << 10
PROJECT_MODE = 0o700
FILE_MODE_MASK = 0o644
DIR_MODE_MASK = 0o755


class BundleError(Exception):
    """A bundle or a deployed tree that cannot be unpacked safely; the message names the path."""


class Entry(object):
    __slots__ = ("path", "kind", "mode", "size", "sha256")

    def __init__(self, path, kind, mode, size=0, sha256=None):
        self.path = path  # relative to the project folder, clean posix path
        self.kind = kind  # 'dir' or 'file'
        self.mode = mode  # masked (safe_mode)
        self.size = size
        self.sha256 = sha256


def safe_mode(kind, mode):
    """The mode a member gets on disk: never s/t bits, never writable or (files) executable by others."""
    if kind == "dir":
        return (stat.S_IMODE(mode) & DIR_MODE_MASK) | 0o700
    return (stat.S_IMODE(mode) & FILE_MODE_MASK) | 0o600


# --------------------------------------------------------------------------------------------------
# Reading the archive: a bounded stream
# --------------------------------------------------------------------------------------------------

class _TooLarge(Exception):
    pass


class _Limited(object):
    """Read-only stream that refuses to deliver more than ``limit`` bytes in total."""

    def __init__(self, raw, limit):
        self.raw = raw
        self.limit = limit
        self.count = 0

    def read(self, size=-1):
        if size is None or size < 0 or size > self.limit - self.count + 1:
            size = self.limit - self.count + 1
        data = self.raw.read(size)
        self.count += len(data)
        if self.count > self.limit:
            raise _TooLarge()
        return data


_EXTENDED = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE,
             tarfile.SOLARIS_XHDTYPE)


class _TarInfo(tarfile.TarInfo):
    """Refuses oversized or endlessly chained extended headers before tarfile reads them into memory."""

    def _proc_member(self, tarfile):  # pylint: disable=redefined-outer-name
        if self.type in _EXTENDED:
            tarfile.seedfate_extended = getattr(tarfile, "seedfate_extended", 0) + 1
            if self.size > MAX_HEADER or tarfile.seedfate_extended > 8:
                raise _TooLarge("extended header")
        return super(_TarInfo, self)._proc_member(tarfile)


def _open_stream(fileobj, limit):
    """A streaming TarFile over ``fileobj`` (plain, gzip, bzip2 or xz), at most ``limit`` bytes expanded."""
    fileobj.seek(0)
    magic = fileobj.read(6)
    fileobj.seek(0)
    if magic.startswith(b"\x1f\x8b"):
        raw = gzip.GzipFile(fileobj=fileobj, mode="rb")
    elif magic.startswith(b"BZh"):
        raw = bz2.BZ2File(fileobj)
    elif magic.startswith(b"\xfd7zXZ\x00"):
        raw = lzma.LZMAFile(fileobj)
    else:
        raw = fileobj
    return tarfile.open(fileobj=_Limited(raw, limit), mode="r|", tarinfo=_TarInfo)


def _stream_limit(max_size):
    # Content plus headers and padding of up to MAX_MEMBERS members.
    return max_size + MAX_MEMBERS * 1536 + (1 << 20)


def _member_path(name, archive, project):
    """Member name -> clean path relative to the project folder ('' for the folder itself)."""
    raw = name
    if name.startswith("./"):
        name = name[2:]
    if name.endswith("/"):
        name = name[:-1]
    if name == project:
        return ""
    try:
        pathsafe.clean_rel(name, "member")
    except pathsafe.PathError:
        raise BundleError("%s: unsafe member %r (absolute, '..', '.' or an empty component, NUL or too long)"
                          % (archive, raw[:300]))
    if not name.startswith(project + "/"):
        raise BundleError("%s: member %r is outside the top folder %r" % (archive, raw, project + "/"))
    return name[len(project) + 1:]


def _members(fileobj, archive, project, max_size):
    """(TarFile, iterator of (member, rel)) over the archive's stream, each header checked."""
    limit = _stream_limit(max_size)
    try:
        tf = _open_stream(fileobj, limit)
    except _TooLarge:
        raise BundleError("%s: expands to more than %d bytes (max_size %d plus headers) or has an oversized "
                          "extended header" % (archive, limit, max_size))
    except (EOFError, IOError, OSError, tarfile.TarError, lzma.LZMAError) as exc:
        raise BundleError("%s: not a readable tar archive: %s" % (archive, exc))

    def iterate():
        count, total = 0, 0
        member = tf.firstmember
        tf.firstmember = None
        while True:
            if member is None:
                try:
                    tf.seedfate_extended = 0
                    member = tf.next()
                except _TooLarge:
                    raise BundleError("%s: expands to more than %d bytes (max_size %d plus headers) or has an "
                                      "oversized extended header" % (archive, limit, max_size))
                except (EOFError, IOError, OSError, tarfile.TarError, lzma.LZMAError) as exc:
                    raise BundleError("%s: not a readable tar archive: %s" % (archive, exc))
                if member is None:
                    return
            tf.members = []  # a stream: forget the headers already seen, memory stays flat
            count += 1
            if count > MAX_MEMBERS:
                raise BundleError("%s: has more than %d members" % (archive, MAX_MEMBERS))
            rel = _member_path(member.name, archive, project)
            if member.issparse():
                raise BundleError("%s: member %r is a sparse file; bundles never hold one" % (archive, member.name))
            if member.isfile():
                total += member.size
                if total > max_size:
                    raise BundleError("%s: member %r (%d bytes) takes the content past max_size (%d bytes)"
                                      % (archive, member.name, member.size, max_size))
            yield member, rel
            member = None

    return tf, iterate()


def _chunks(src, archive, name, sha=None):
    """The content of one member in blocks (never whole), optionally fed to ``sha``."""
    while True:
        try:
            chunk = src.read(pathsafe.CHUNK)
        except _TooLarge:
            raise BundleError("%s: member %r expands past the size limit" % (archive, name))
        except (EOFError, IOError, OSError, tarfile.TarError, lzma.LZMAError) as exc:
            raise BundleError("%s: member %r cannot be read: %s" % (archive, name, exc))
        if not chunk:
            return
        if sha is not None:
            sha.update(chunk)
        yield chunk


def read_bundle(archive, project, max_size=DEFAULT_MAX_SIZE, fileobj=None):
    """Entries of ``archive`` below its top folder ``project``, validated, sorted by path.

    Contents are streamed once to compute their sizes and digests; none is kept in memory. Folders the
    archive implies but does not list are added (0755).
    """
    own = fileobj is None
    if own:
        try:
            fileobj = open(archive, "rb")
        except (IOError, OSError) as exc:
            raise BundleError("%s: not a readable tar archive: %s" % (archive, exc))
    try:
        tf, members = _members(fileobj, archive, project, max_size)
        entries = {}
        with tf:
            for member, rel in members:
                if member.isdir():
                    kind, size, digest = "dir", 0, None
                elif member.isfile():
                    kind, size = "file", member.size
                    h = hashlib.sha256()
                    for _chunk in _chunks(tf.extractfile(member), archive, member.name, h):
                        pass
                    digest = h.hexdigest()
                else:
                    # Links and devices could point outside the deploy folder; bundles never need them.
                    raise BundleError("%s: member %r is not a regular file or folder" % (archive, member.name))
                if rel == "":
                    if kind != "dir":
                        raise BundleError("%s: top entry %r must be a folder" % (archive, member.name))
                    continue
                if rel in entries:
                    raise BundleError("%s: member %r appears twice" % (archive, member.name))
                if rel == MANIFEST:
                    raise BundleError("%s: member %r has the name of the unpack's manifest" % (archive, member.name))
                entries[rel] = Entry(rel, kind, safe_mode(kind, member.mode), size, digest)
    finally:
        if own:
            fileobj.close()
    if not entries:
        raise BundleError("%s: no files under %r" % (archive, project + "/"))
    # Every parent must be a folder, not a file of the bundle.
    for rel in list(entries):
        parent = rel.rpartition("/")[0]
        while parent:
            if parent not in entries:
                entries[parent] = Entry(parent, "dir", 0o755)
            elif entries[parent].kind != "dir":
                raise BundleError("%s: %r is a file but %r lies below it" % (archive, parent, rel))
            parent = parent.rpartition("/")[0]
    return [entries[k] for k in sorted(entries)]


# --------------------------------------------------------------------------------------------------
# The manifest: what earlier unpacks wrote, with proof
# --------------------------------------------------------------------------------------------------

def _clean_preserve(preserve):
    out = []
    for p in preserve or ():
        raw = p
        p = (p or "").strip()
        while p.startswith("./"):
            p = p[2:]
        p = p.strip("/")
        if not p:
            continue
        try:
            out.append(pathsafe.clean_rel(p, "preserve entry"))
        except pathsafe.PathError:
            raise BundleError("preserve: entry %r is not a clean path relative to the project folder "
                              "(no '..', '.' or empty components)" % (raw,))
    return tuple(out)


def _check_record(where, field, rel, rec):
    """A manifest record: files {sha256, size, and ino + mtime_ns or pending}, folders {ino or pending}."""
    if not isinstance(rec, dict):
        raise BundleError("%s: %s entry %r must be an object" % (where, field, rel))
    pending = rec.get("pending", False)
    if pending not in (True, False):
        raise BundleError("%s: %s entry %r has a malformed 'pending'" % (where, field, rel))
    need = ("sha256", "size") if field == "files" else ()
    if not pending:
        need += ("ino", "mtime_ns") if field == "files" else ("ino",)
    for key in need:
        value = rec.get(key)
        ok = isinstance(value, str) and len(value) == 64 if key == "sha256" else (
            isinstance(value, int) and not isinstance(value, bool) and value >= 0)
        if not ok:
            raise BundleError("%s: %s entry %r has a missing or malformed %r" % (where, field, rel, key))


def read_manifest(root):
    """The previous unpack's manifest ({'files': {rel: record}, 'dirs': {rel: record}}), or None.

    A manifest of format 1 (no ownership records) proves nothing: its paths are never removed. Any path
    that is not a clean relative path (``a//b``, ``a/./b``, ``..``) is refused with an error naming it.
    """
    if root is None:
        return None
    where = root.show(MANIFEST)
    try:
        raw = root.read(MANIFEST, MANIFEST_MAX)
    except pathsafe.PathError as exc:
        raise BundleError(str(exc))
    if raw is None:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        raise BundleError("%s: is not a seed.fate manifest (not JSON); move it away to unpack afresh" % where)
    if not isinstance(data, dict) or data.get("format") not in (1, MANIFEST_FORMAT):
        raise BundleError("%s: is not a seed.fate manifest of format 1 or %d; move it away to unpack afresh"
                          % (where, MANIFEST_FORMAT))
    if data["format"] == 1:
        return {"archive_sha256": None, "files": {}, "dirs": {}, "legacy": True}
    out = {"archive_sha256": data.get("archive_sha256"), "files": {}, "dirs": {}}
    for field in ("files", "dirs"):
        records = data.get(field, {})
        if not isinstance(records, dict):
            raise BundleError("%s: %r must be an object of path: record" % (where, field))
        for rel, rec in records.items():
            try:
                pathsafe.clean_rel(rel, "%s entry" % field)
            except pathsafe.PathError as exc:
                raise BundleError("%s: %s; refusing to use this manifest (move it away to unpack afresh)"
                                  % (where, exc))
            _check_record(where, field, rel, rec)
            out[field][rel] = rec
    return out


def _file_record(digest, st):
    """What proves a file is the one this unpack wrote: its content, and the inode and time of that write."""
    return {"sha256": digest, "size": st.st_size, "ino": st.st_ino, "mtime_ns": st.st_mtime_ns}


def _manifest_bytes(archive_sha256, files, dirs):
    manifest = {"format": MANIFEST_FORMAT, "archive_sha256": archive_sha256, "files": files, "dirs": dirs}
    return (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8")


# --------------------------------------------------------------------------------------------------
# Plan (read-only, also check mode) and apply
# --------------------------------------------------------------------------------------------------

class Plan(object):
    def __init__(self):
        self.create_project = False
        self.project_mode = None  # new mode of the project folder, when it changes
        self.mkdirs = []      # (rel, mode)
        self.dir_modes = []   # (rel, mode) folders of the bundle whose mode changes
        self.writes = []      # (rel, entry, reason) reason: 'create' | 'update' | 'mode'
        self.removes = []     # rel of files an earlier unpack wrote, still unchanged, and this bundle lacks
        self.rmdirs = []      # same, folders (removed only when empty)
        self.kept = []        # preserved paths of the bundle left as they are
        self.foreign = []     # files an earlier unpack wrote that were replaced or edited since: left alone
        self.files = {}       # ownership records carried over: rel -> record
        self.dirs = {}
        self.archive_sha256 = None
        self.manifest_changed = False

    @property
    def changed(self):
        return bool(self.create_project or self.project_mode is not None or self.mkdirs or self.dir_modes or self.writes
                    or self.removes or self.rmdirs or self.manifest_changed)


def _lstat(root, rel):
    if root is None:
        return None
    try:
        return root.lstat(rel)
    except pathsafe.PathError as exc:
        raise BundleError(str(exc))


def _owned_file(root, rel, rec, st):
    """Whether ``rel`` (stat ``st``) still is the very file an earlier unpack recorded in ``rec``."""
    if st is None or not stat.S_ISREG(st.st_mode) or rec.get("size") != st.st_size:
        return False
    if not rec.get("pending") and (rec.get("ino"), rec.get("mtime_ns")) != (st.st_ino, st.st_mtime_ns):
        return False
    try:
        digest, _st = root.sha256(rel)
    except (pathsafe.PathError, OSError):
        return False
    return digest == rec.get("sha256")


def plan_unpack(entries, root, preserve=DEFAULT_PRESERVE, prune=True, archive_sha256=None):
    """Compare the bundle with the project folder ``root`` (a ``pathsafe.Root``, None when missing).

    Reads only; every refusal happens here, before anything is written.
    """
    preserve = _clean_preserve(preserve)
    plan = Plan()
    plan.archive_sha256 = archive_sha256
    previous = read_manifest(root)
    old_files = previous["files"] if previous else {}
    old_dirs = previous["dirs"] if previous else {}
    if root is not None:
        mode = stat.S_IMODE(os.fstat(root.fd).st_mode)
        if mode != PROJECT_MODE:
            plan.project_mode = PROJECT_MODE
    for e in entries:
        st = _lstat(root, e.path)
        target = root.show(e.path) if root else e.path
        if st is not None and stat.S_ISLNK(st.st_mode):
            raise BundleError("%s: is a symbolic link on disk; refusing to write through it" % target)
        guarded = pathsafe.under(e.path, preserve)
        if e.kind == "dir":
            if st is None:
                plan.mkdirs.append((e.path, e.mode))
            elif not stat.S_ISDIR(st.st_mode):
                raise BundleError("%s: the bundle has a folder here but the disk has a file" % target)
            else:
                rec = old_dirs.get(e.path)
                if rec is not None and (rec.get("pending") or rec.get("ino") == st.st_ino):
                    plan.dirs[e.path] = {"ino": st.st_ino}
                if not guarded and stat.S_IMODE(st.st_mode) != e.mode:
                    plan.dir_modes.append((e.path, e.mode))
            continue
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise BundleError("%s: the bundle has a file here but the disk has a folder" % target)
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise BundleError("%s: the bundle has a file here but the disk has a special file" % target)
        if st is None:
            plan.writes.append((e.path, e, "create"))
            continue
        if guarded:
            # Data belongs to the service now: never overwrite it.
            plan.kept.append(e.path)
            continue
        rec = old_files.get(e.path)
        if st.st_size != e.size:
            plan.writes.append((e.path, e, "update"))
            continue
        try:
            digest, _st = root.sha256(e.path)
        except pathsafe.PathError as exc:
            raise BundleError(str(exc))
        if digest != e.sha256:
            plan.writes.append((e.path, e, "update"))
            continue
        if stat.S_IMODE(st.st_mode) != e.mode:
            plan.writes.append((e.path, e, "mode"))
        # Identical content: ours only if an earlier unpack wrote this very file (a user's own copy
        # that happens to match the bundle stays the user's and is never removed).
        if rec is not None and rec.get("sha256") == digest and (
                rec.get("pending") or (rec.get("ino"), rec.get("mtime_ns")) == (st.st_ino, st.st_mtime_ns)):
            plan.files[e.path] = _file_record(digest, st)
    if prune and previous:
        keep = set(e.path for e in entries)
        for rel in sorted(old_files):
            if rel in keep or rel == MANIFEST or pathsafe.under(rel, preserve):
                continue
            st = _lstat(root, rel)
            if st is None:
                continue
            if _owned_file(root, rel, old_files[rel], st):
                plan.removes.append(rel)
            else:
                plan.foreign.append(rel)
        for rel in sorted(old_dirs, reverse=True):
            if rel in keep or pathsafe.under(rel, preserve):
                continue
            st = _lstat(root, rel)
            rec = old_dirs[rel]
            if st is not None and stat.S_ISDIR(st.st_mode) and (rec.get("pending") or rec.get("ino") == st.st_ino):
                plan.rmdirs.append(rel)
    current = None
    if root is not None:
        try:
            current = root.read(MANIFEST, MANIFEST_MAX)
        except pathsafe.PathError as exc:
            raise BundleError(str(exc))
    plan.manifest_changed = bool(plan.mkdirs or plan.writes or plan.removes or plan.rmdirs) or (
        current != _manifest_bytes(archive_sha256, plan.files, plan.dirs))
    return plan


def apply_plan(plan, root, archive, fileobj, project, max_size=DEFAULT_MAX_SIZE):
    """Carry out ``plan`` in ``root``: manifest (pending), folders, files, removals, manifest."""
    files, dirs = dict(plan.files), dict(plan.dirs)
    content = [(rel, e) for rel, e, reason in plan.writes if reason != "mode"]
    if plan.mkdirs or content:
        pending_files = dict(files)
        pending_files.update((rel, {"sha256": e.sha256, "size": e.size, "pending": True}) for rel, e in content)
        pending_dirs = dict(dirs)
        pending_dirs.update((rel, {"pending": True}) for rel, _mode in plan.mkdirs)
        root.write(MANIFEST, [_manifest_bytes(plan.archive_sha256, pending_files, pending_dirs)], MANIFEST_MODE)
    if plan.project_mode is not None:
        root.chmod("", plan.project_mode)
    for rel, mode in plan.mkdirs:
        dirs[rel] = {"ino": root.mkdir(rel, mode).st_ino}
    for rel, mode in plan.dir_modes:
        root.chmod(rel, mode)
    if content:
        wanted = dict(content)
        tf, members = _members(fileobj, archive, project, max_size)
        with tf:
            for member, rel in members:
                e = wanted.pop(rel, None)
                if e is None or not member.isfile():
                    continue
                st = root.write(rel, _chunks(tf.extractfile(member), archive, member.name), e.mode, e.sha256)
                files[rel] = _file_record(e.sha256, st)
                if not wanted:
                    break
        if wanted:
            raise BundleError("%s: changed while it was unpacked (%s no longer in it)" % (archive, sorted(wanted)[0]))
    for rel, entry, reason in plan.writes:
        if reason == "mode":
            root.chmod(rel, entry.mode)
    for rel in plan.removes:
        root.unlink(rel)
    for rel in plan.rmdirs:
        root.rmdir(rel)  # not empty: something else lives there now, leave it
    root.write(MANIFEST, [_manifest_bytes(plan.archive_sha256, files, dirs)], MANIFEST_MODE)


def describe(plan):
    """A short, readable change list for diff mode."""
    lines = []
    if plan.create_project:
        lines.append("+ ./")
    if plan.project_mode is not None:
        lines.append("~ ./ (mode %04o)" % plan.project_mode)
    lines += ["+ %s/" % rel for rel, _mode in plan.mkdirs]
    lines += ["~ %s/ (mode)" % rel for rel, _mode in plan.dir_modes]
    for rel, _entry, reason in plan.writes:
        lines.append({"create": "+ %s", "update": "~ %s", "mode": "~ %s (mode)"}[reason] % rel)
    lines += ["- %s" % rel for rel in plan.removes]
    lines += ["- %s/" % rel for rel in plan.rmdirs]
    return "\n".join(lines) + ("\n" if lines else "")


def unpack(archive, dest, project=None, preserve=DEFAULT_PRESERVE, prune=True, check_mode=False,
           max_size=DEFAULT_MAX_SIZE):
    """Unpack ``archive`` at ``dest/<project>``; return a result dict (changed, lists, diff text)."""
    if project is None:
        base = os.path.basename(archive)
        project = base[:-4] if base.endswith(".tar") else base
    if not project or "/" in project or project in (".", "..") or "\0" in project:
        raise BundleError("%s: invalid project folder name %r" % (archive, project))
    if not isinstance(max_size, int) or max_size < 1:
        raise BundleError("max_size must be a positive number of bytes, got %r" % (max_size,))
    try:
        fileobj = open(archive, "rb")
    except (IOError, OSError) as exc:
        raise BundleError("%s: not a readable tar archive: %s" % (archive, exc))
    with fileobj:
        entries = read_bundle(archive, project, max_size, fileobj)
        project_dir = os.path.join(dest, project)
        if os.path.islink(project_dir):
            raise BundleError("%s: is a symbolic link; refusing to unpack through it" % project_dir)
        if os.path.lexists(project_dir) and not os.path.isdir(project_dir):
            raise BundleError("%s: exists and is not a folder" % project_dir)
        root = None
        try:
            if os.path.isdir(project_dir):
                root = pathsafe.Root.open(project_dir)
            plan = plan_unpack(entries, root, preserve, prune, fileio.sha256_file(archive))
            plan.create_project = root is None
            if plan.changed and not check_mode:
                if root is None:
                    if not os.path.isdir(dest):
                        os.makedirs(dest, 0o755)
                    root = pathsafe.Root.create(dest, project, PROJECT_MODE)
                apply_plan(plan, root, archive, fileobj, project, max_size)
        except pathsafe.PathError as exc:
            raise BundleError(str(exc))
        finally:
            if root is not None:
                root.close()
    created = [rel for rel, _e, r in plan.writes if r == "create"] + [rel + "/" for rel, _m in plan.mkdirs]
    return {
        "changed": plan.changed,
        "project": project,
        "project_dir": project_dir,
        "created": created,
        "updated": [rel for rel, _e, r in plan.writes if r != "create"] + [rel + "/" for rel, _m in plan.dir_modes],
        "removed": plan.removes + [rel + "/" for rel in plan.rmdirs],
        "preserved": plan.kept,
        "not_removed": plan.foreign,
        "files": sum(1 for e in entries if e.kind == "file"),
        "diff_text": describe(plan),
    }
