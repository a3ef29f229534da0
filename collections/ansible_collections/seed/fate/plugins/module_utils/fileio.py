# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Atomic, change-aware file writes shared by every module that writes outputs.

Nothing seed.fate writes is ever half-written: content goes to a temporary file in the target's own
folder and is renamed over the target. A file whose content is already right is not touched, so a
second run reports no change and keeps modification times.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os

from ansible_collections.seed.fate.plugins.module_utils import pathsafe


def read_bytes(path):
    """Content of ``path``, or None when it does not exist."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except (IOError, OSError):
        return None


def read_record(path, fmt):
    """The JSON object in ``path`` when its ``format`` is ``fmt``, else None (missing, unreadable, another
    format). For the small records seed.fate keeps beside what it wrote (deploy and compile records)."""
    raw = read_bytes(path)
    try:
        data = json.loads(raw.decode("utf-8")) if raw else None
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("format") == fmt else None


def atomic_write(path, data, mode=0o644):
    """Write ``data`` (bytes or text) to ``path`` atomically with ``mode`` (``pathsafe.write_at``)."""
    if not isinstance(data, bytes):
        data = data.encode("utf-8")
    folder = os.path.dirname(os.path.abspath(path))
    # Parties render in parallel: another process may create the folder at the same moment.
    os.makedirs(folder, exist_ok=True)
    dir_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        pathsafe.write_at(dir_fd, os.path.basename(path), [data], mode)
    finally:
        os.close(dir_fd)


def write_if_changed(path, data, mode=0o644, check_mode=False):
    """Write ``data`` to ``path`` unless it already holds it (and has ``mode``).

    Returns True when the file was (or, in check mode, would be) changed.
    """
    if not isinstance(data, bytes):
        data = data.encode("utf-8")
    current = read_bytes(path)
    same_mode = current is not None and (os.stat(path).st_mode & 0o7777) == mode
    if current == data and same_mode:
        return False
    if not check_mode:
        atomic_write(path, data, mode)
    return True


def sha256_file(path):
    """Hex sha256 of a file's content, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
