# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fingerprint of a seedemu compile: what went in, and what came out.

``seed.fate.seedemu_network`` compiles the emulated Internet in a child process that imports seedemu (the
largest part of an unchanged rerun of the network stage). When every input of the last compile is the same
and the compiled folders are byte for byte what that compile wrote, compiling again would write the same
files, so the module answers from the stamp instead.

The inputs are: every module option (the topology and the parties as given, the image, the switches), the
seedemu that would run (its location, version and the time its
files were installed), the collection's own code that turns a topology into a program and adapts its output,
the host's capabilities (they decide the host adaptations), the node image's software and the
environment variables the compile reads (``SEEDFATE_*``, ``SEEDEMU_*``; see :func:`compile_environment`). The outputs are
the ``output/`` and ``ghost/`` trees. The stamp is ``<dest>/.seedfate-compile.json``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import sys

from ansible_collections.seed.fate.plugins.module_utils import fileio

STAMP_FILE = ".seedfate-compile.json"
FORMAT = 1


def sha256_text(data):
    """Hex sha256 of bytes or text (UTF-8)."""
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode("utf-8")).hexdigest()


def seedemu_identity(seedemu_path=None):
    """Where seedemu is imported from, its version and when its package files were written."""
    import importlib.util
    try:
        from importlib import metadata
        try:
            version = metadata.version("seedemu")
        except metadata.PackageNotFoundError:
            version = None
    except ImportError:  # pragma: no cover (Python < 3.8)
        version = None
    if seedemu_path:
        pkg = os.path.join(seedemu_path, "seedemu")
    else:
        spec = importlib.util.find_spec("seedemu")
        pkg = os.path.dirname(spec.origin) if spec is not None and spec.origin else None
    stamp = None
    if pkg and os.path.isdir(pkg):
        # The newest file of the package: a reinstall or an edit in place changes it.
        stamp = 0
        for root, _dirs, files in os.walk(pkg):
            for name in files:
                if name.endswith(".py"):
                    stamp = max(stamp, os.stat(os.path.join(root, name)).st_mtime_ns)
    return {"package": pkg, "version": version, "newest_file_ns": stamp}


def code_identity(modules):
    """sha256 of the source of each of ``modules`` (module objects), by name."""
    out = {}
    for mod in modules:
        source = None
        loader = getattr(mod, "__loader__", None)
        try:
            source = loader.get_source(mod.__name__) if loader is not None else None
        except Exception:  # a loader without sources: fall back to the file
            source = None
        if source is None and getattr(mod, "__file__", None) and os.path.isfile(mod.__file__):
            source = fileio.read_bytes(mod.__file__)
        out[mod.__name__.rsplit(".", 1)[-1]] = sha256_text(source or b"")
    return out


def compile_environment(environ=None):
    """The environment variables a compile reads: every ``SEEDFATE_*`` and ``SEEDEMU_*`` (for example
    ``SEEDEMU_PATH``, ``SEEDFATE_LIGHT_STACK``, the testing switch ``SEEDFATE_TESTING_NO_IBGP``)."""
    environ = os.environ if environ is None else environ
    return dict((k, v) for k, v in environ.items() if k.startswith(("SEEDFATE_", "SEEDEMU_")))


def inputs_digest(params, seedemu, code, caps, software, environment=None):
    doc = {
        "format": FORMAT,
        "params": params,
        "seedemu": seedemu,
        "code": code,
        "host_capabilities": caps,
        "offline_software": software,
        "environment": environment or {},
        "python": list(sys.version_info[:3]),
    }
    return sha256_text(json.dumps(doc, sort_keys=True, default=str))


def trees_digest(dest, folders=("output", "ghost")):
    """sha256 over the relative path and content of every file under ``folders`` of ``dest`` (None when one is
    missing)."""
    h = hashlib.sha256()
    for folder in folders:
        top = os.path.join(dest, folder)
        if not os.path.isdir(top):
            return None
        for root, dirs, files in os.walk(top):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                rel = os.path.relpath(path, dest)
                h.update(rel.encode("utf-8", "surrogateescape") + b"\0")
                h.update(fileio.sha256_file(path).encode() + b"\n")
    return h.hexdigest()


def load(dest):
    """The stamp, or None (no stamp, another format, unreadable)."""
    return fileio.read_record(os.path.join(dest, STAMP_FILE), FORMAT)


def matches(dest, digest):
    """The stored result when the last compile had the same inputs and its trees are untouched, else None."""
    stamp = load(dest)
    if stamp is None or stamp.get("inputs") != digest:
        return None
    if stamp.get("trees") is None or stamp.get("trees") != trees_digest(dest):
        return None
    return stamp.get("result")


def save(dest, digest, result):
    """Record the compile that just wrote ``dest``'s trees (0600: it holds the module's result)."""
    data = {"format": FORMAT, "inputs": digest, "trees": trees_digest(dest), "result": result}
    fileio.write_if_changed(os.path.join(dest, STAMP_FILE), json.dumps(data, sort_keys=True, indent=1) + "\n",
                            mode=0o600)
