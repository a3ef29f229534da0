# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""FATE bundles, part 4: deterministic tars and change-aware writes.

A bundle is packed as a plain tar whose bytes depend on its content only (sorted entries, one top
folder, mtime 0, owner 0:0, fixed modes), and written only when those bytes differ.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import io
import tarfile

from ansible_collections.seed.fate.plugins.module_utils import fileio

TAR_MODE = 0o600        # bundles hold the party's passwords


def _tarinfo(name, size=None, mode=None):
    info = tarfile.TarInfo(name)
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if size is None:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755 if mode is None else mode
    else:
        info.size = size
        info.mode = 0o644 if mode is None else mode
    return info


def tar_bytes(bundle):
    """The bundle as a plain tar: sorted entries, one top folder, mtime 0, owner 0:0, 0644/0755.

    Private files (every file with a password) are 0600 and then the top folder is 0700.
    """
    top = bundle.project
    entries = {top: None}
    for rel in list(bundle.files) + list(bundle.empty_dirs):
        parts = rel.split("/")
        for i in range(1, len(parts)):
            entries["/".join([top] + parts[:i])] = None
    for rel in bundle.empty_dirs:
        entries["%s/%s" % (top, rel)] = None
    modes = {}
    for rel, data in bundle.files.items():
        entries["%s/%s" % (top, rel)] = data
        if rel in getattr(bundle, "private_files", ()):
            modes["%s/%s" % (top, rel)] = 0o600
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(entries):
            data = entries[name]
            if data is None:
                private = name == top and bool(getattr(bundle, "private_files", ()))
                tar.addfile(_tarinfo(name, mode=0o700 if private else 0o755))
            else:
                tar.addfile(_tarinfo(name, len(data), modes.get(name, 0o644)), io.BytesIO(data))
    return buf.getvalue()


def tar_digest(data):
    """{member name: sha256 of its content, or 'dir'} of a tar's bytes (None -> {})."""
    if not data:
        return {}
    out = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for m in tar.getmembers():
                if m.isdir():
                    out[m.name] = "dir"
                else:
                    out[m.name] = hashlib.sha256(tar.extractfile(m).read()).hexdigest()
    except tarfile.TarError:
        return {"<unreadable archive>": "?"}
    return out


def write_output(path, data, mode, check_mode=False, members=True):
    """Write ``data`` at ``path`` if its bytes (or mode) differ.

    Returns a result dict: path, sha256, changed, and (for tars) the member paths whose content
    changed, appeared or vanished.
    """
    before = fileio.read_bytes(path)
    changed = fileio.write_if_changed(path, data, mode=mode, check_mode=check_mode)
    result = {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "changed": changed}
    if members:
        if changed and before != data:
            old, new = tar_digest(before), tar_digest(data)
            diff = sorted(n for n in set(old) | set(new) if old.get(n) != new.get(n))
            # Folders only matter when they are the whole change (an empty folder came or went).
            files = [n for n in diff if "dir" not in (old.get(n), new.get(n))]
            result["files_changed"] = files or diff
        else:
            result["files_changed"] = []
    return result
