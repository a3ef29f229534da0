# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unpack a seed.fate bundle (plain tar, one top folder) over a deployed copy without touching data.

A bundle is unpacked at ``<dest>/<project>/`` where the party's persistent data also lives (MySQL
data, egg data-dir, redis data, shared_dir contents). So, unlike ``tar -x``:

- only files whose content or mode differ are written, each one atomically (temporary file in the
  same folder, then rename), so a rerun changes nothing and a container never reads half a file;
- paths under a *preserved* folder are only ever created when missing, never overwritten or removed;
- files are removed only when the previous unpack (recorded in a manifest) wrote them and the new
  bundle no longer has them: nothing the project did not create is ever deleted;
- the manifest is written last, so an interrupted unpack is simply finished by the next run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import posixpath
import stat
import tarfile

from ansible_collections.seed.fate.plugins.module_utils import fate_versions
from ansible_collections.seed.fate.plugins.module_utils import fileio

# Persistent data of the default FATE version's stacks (docs/contracts.md "Bundles"), relative to the
# project folder, from the version catalogue (each version's ``data_dirs``; roles pass the chosen
# version's). Their contents belong to the running services, never to the bundle.
DEFAULT_PRESERVE = tuple(fate_versions.data_dirs(fate_versions.get(fate_versions.DEFAULT_VERSION)))

MANIFEST = ".seedfate-bundle.json"
MANIFEST_FORMAT = 1


class BundleError(Exception):
    """A bundle or a deployed tree that cannot be unpacked safely; the message names the path."""


class Entry(object):
    __slots__ = ("path", "kind", "mode", "data")

    def __init__(self, path, kind, mode, data=None):
        self.path = path  # relative to the project folder, posix, no leading './'
        self.kind = kind  # 'dir' or 'file'
        self.mode = mode
        self.data = data


def _normalise(name, archive, project):
    """Member name -> path relative to the project folder ('' for the folder itself)."""
    raw = name
    if name.startswith("./"):
        name = name[2:]
    name = name.rstrip("/")
    if not name or name.startswith("/") or ".." in name.split("/"):
        raise BundleError("%s: unsafe member %r (absolute or '..')" % (archive, raw))
    clean = posixpath.normpath(name)
    if clean == project:
        return ""
    if not clean.startswith(project + "/"):
        raise BundleError("%s: member %r is outside the top folder %r" % (archive, raw, project + "/"))
    return clean[len(project) + 1:]


def read_bundle(archive, project):
    """Entries of ``archive`` below its top folder ``project``, validated, sorted by path."""
    try:
        tf = tarfile.open(archive, "r:*")
    except (IOError, OSError, tarfile.TarError) as exc:
        raise BundleError("%s: not a readable tar archive: %s" % (archive, exc))
    entries = {}
    with tf:
        for member in tf:
            rel = _normalise(member.name, archive, project)
            if member.isdir():
                kind, data = "dir", None
            elif member.isfile():
                kind = "file"
                data = tf.extractfile(member).read()
            else:
                # Links and devices could point outside the deploy folder; bundles never need them.
                raise BundleError("%s: member %r is not a regular file or folder" % (archive, member.name))
            if rel == "":
                if kind != "dir":
                    raise BundleError("%s: top entry %r must be a folder" % (archive, member.name))
                continue
            if rel in entries:
                raise BundleError("%s: member %r appears twice" % (archive, member.name))
            entries[rel] = Entry(rel, kind, stat.S_IMODE(member.mode), data)
    if not entries:
        raise BundleError("%s: no files under %r" % (archive, project + "/"))
    # Every parent must be a folder, not a file of the bundle.
    for rel in entries:
        parent = posixpath.dirname(rel)
        while parent:
            if parent in entries and entries[parent].kind != "dir":
                raise BundleError("%s: %r is a file but %r lies below it" % (archive, parent, rel))
            parent = posixpath.dirname(parent)
    return [entries[k] for k in sorted(entries)]


def _under(rel, folders):
    """The preserved folder that holds ``rel`` strictly below it, else None."""
    for folder in folders:
        if rel.startswith(folder + "/"):
            return folder
    return None


def read_manifest(project_dir):
    raw = fileio.read_bytes(os.path.join(project_dir, MANIFEST))
    if raw is None:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        return None  # a damaged manifest only costs pruning; contents are compared anyway
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return None
    return data


class Plan(object):
    def __init__(self):
        self.mkdirs = []      # (rel, mode)
        self.writes = []      # (rel, entry, reason) reason: 'create' | 'update' | 'mode'
        self.removes = []     # rel of files the previous bundle wrote and this one lacks
        self.rmdirs = []      # same, folders (removed only when empty)
        self.kept = []        # preserved paths that differ from the bundle and stay as they are
        self.manifest = None  # new manifest content (bytes)
        self.manifest_changed = False

    @property
    def changed(self):
        return bool(self.mkdirs or self.writes or self.removes or self.rmdirs or self.manifest_changed)


def plan_unpack(entries, project_dir, preserve=DEFAULT_PRESERVE, prune=True, archive_sha256=None):
    """Compare the bundle with ``project_dir``; return the Plan that would make them agree."""
    preserve = tuple(p.strip("/") for p in preserve if p and p.strip("/"))
    plan = Plan()
    for e in entries:
        target = os.path.join(project_dir, *e.path.split("/"))
        try:
            st = os.lstat(target)
        except OSError:
            st = None
        if st is not None and stat.S_ISLNK(st.st_mode):
            raise BundleError("%s: is a symbolic link on disk; refusing to write through it" % target)
        guarded = _under(e.path, preserve)
        if e.kind == "dir":
            if st is None:
                plan.mkdirs.append((e.path, e.mode))
            elif not stat.S_ISDIR(st.st_mode):
                raise BundleError("%s: the bundle has a folder here but the disk has a file" % target)
            continue
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise BundleError("%s: the bundle has a file here but the disk has a folder" % target)
        if st is None:
            plan.writes.append((e.path, e, "create"))
            continue
        if guarded:
            # Data belongs to the service now: never overwrite it.
            plan.kept.append(e.path)
            continue
        if st.st_size != len(e.data) or fileio.read_bytes(target) != e.data:
            plan.writes.append((e.path, e, "update"))
        elif stat.S_IMODE(st.st_mode) != e.mode:
            plan.writes.append((e.path, e, "mode"))
    new_files = sorted(e.path for e in entries if e.kind == "file")
    new_dirs = sorted(e.path for e in entries if e.kind == "dir")
    previous = read_manifest(project_dir)
    if prune and previous:
        keep = set(new_files) | set(new_dirs)
        for rel in previous.get("files", []):
            if rel in keep or _under(rel, preserve) or rel in preserve or not _safe_rel(rel):
                continue
            if os.path.lexists(os.path.join(project_dir, *rel.split("/"))):
                plan.removes.append(rel)
        for rel in sorted(previous.get("dirs", []), reverse=True):
            if rel in keep or _under(rel, preserve) or rel in preserve or not _safe_rel(rel):
                continue
            if os.path.isdir(os.path.join(project_dir, *rel.split("/"))):
                plan.rmdirs.append(rel)
    manifest = {"format": MANIFEST_FORMAT, "archive_sha256": archive_sha256, "files": new_files, "dirs": new_dirs}
    plan.manifest = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8")
    plan.manifest_changed = fileio.read_bytes(os.path.join(project_dir, MANIFEST)) != plan.manifest
    return plan


def _safe_rel(rel):
    return bool(rel) and not rel.startswith("/") and ".." not in rel.split("/")


def apply_plan(plan, project_dir):
    """Carry out ``plan``: folders, then files (each atomically), then removals, manifest last."""
    if not os.path.isdir(project_dir):
        os.makedirs(project_dir, 0o755)
    for rel, mode in plan.mkdirs:
        path = os.path.join(project_dir, *rel.split("/"))
        if not os.path.isdir(path):
            os.makedirs(path)
        os.chmod(path, mode)
    for rel, entry, reason in plan.writes:
        path = os.path.join(project_dir, *rel.split("/"))
        if reason == "mode":
            os.chmod(path, entry.mode)
        else:
            fileio.atomic_write(path, entry.data, entry.mode)
    for rel in plan.removes:
        os.unlink(os.path.join(project_dir, *rel.split("/")))
    for rel in plan.rmdirs:
        try:
            os.rmdir(os.path.join(project_dir, *rel.split("/")))
        except OSError:
            pass  # not empty: something else lives there now, leave it
    if plan.manifest_changed:
        fileio.atomic_write(os.path.join(project_dir, MANIFEST), plan.manifest, 0o644)


def describe(plan):
    """A short, readable change list for diff mode."""
    lines = []
    lines += ["+ %s/" % rel for rel, _mode in plan.mkdirs]
    for rel, _entry, reason in plan.writes:
        lines.append({"create": "+ %s", "update": "~ %s", "mode": "~ %s (mode)"}[reason] % rel)
    lines += ["- %s" % rel for rel in plan.removes]
    lines += ["- %s/" % rel for rel in plan.rmdirs]
    return "\n".join(lines) + ("\n" if lines else "")


def unpack(archive, dest, project=None, preserve=DEFAULT_PRESERVE, prune=True, check_mode=False):
    """Unpack ``archive`` at ``dest/<project>``; return a result dict (changed, lists, diff text)."""
    if project is None:
        base = os.path.basename(archive)
        project = base[:-4] if base.endswith(".tar") else base
    if not project or "/" in project or project in (".", ".."):
        raise BundleError("%s: invalid project folder name %r" % (archive, project))
    entries = read_bundle(archive, project)
    project_dir = os.path.join(dest, project)
    if os.path.lexists(project_dir) and not os.path.isdir(project_dir):
        raise BundleError("%s: exists and is not a folder" % project_dir)
    if os.path.islink(project_dir):
        raise BundleError("%s: is a symbolic link; refusing to unpack through it" % project_dir)
    plan = plan_unpack(entries, project_dir, preserve, prune, fileio.sha256_file(archive))
    if plan.changed and not check_mode:
        apply_plan(plan, project_dir)
    return {
        "changed": plan.changed,
        "project": project,
        "project_dir": project_dir,
        "created": [rel for rel, _e, r in plan.writes if r == "create"] + [rel + "/" for rel, _m in plan.mkdirs],
        "updated": [rel for rel, _e, r in plan.writes if r != "create"],
        "removed": plan.removes + [rel + "/" for rel in plan.rmdirs],
        "preserved": plan.kept,
        "files": sum(1 for e in entries if e.kind == "file"),
        "diff_text": describe(plan),
    }
