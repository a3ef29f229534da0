# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A wheelhouse for one lock file, filled on the host from a long-lived wheel cache.

Images must not download anything while they are built (CI's host-wide isolation guard drops every
container's egress, and a registry-free build should not depend on one). So every Python package an image needs is
resolved once, pinned in a lock file (``name==version`` per line, as ``pip freeze`` writes), and its
wheel is fetched or built **on the host** into a cache folder:

* ``plan`` matches each pin against the wheels already in the cache (by normalised name, version and
  a compatible tag for the target interpreter), so a second run downloads nothing;
* only the missing pins go to ``pip wheel --no-deps`` (which downloads a wheel, or builds one from
  an sdist, e.g. ``mmh3``), with the user's index / find-links options;
* ``stage`` makes the wheelhouse folder hold exactly the locked wheels (hard links into the cache,
  copies across file systems) plus the lock itself as ``requirements.lock``; that folder is what an
  image build copies in and installs with ``pip install --no-index --no-deps``.

Commands run through ``runner(args) -> (rc, out, err)``; plain Python, testable without Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re
import shutil
import tempfile

from ansible_collections.seed.fate.plugins.module_utils import fileio

LOCK_NAME = "requirements.lock"

_PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._\-]*)(\[[A-Za-z0-9,._\- ]*\])?\s*==\s*([A-Za-z0-9.+!_\-]+)\s*$")
_WHEEL_RE = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-(?P<build>\d[^-]*))?"
                       r"-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$")


class WheelhouseError(Exception):
    """Something the caller should report as a failure, with details for the module's result."""

    def __init__(self, msg, **details):
        super(WheelhouseError, self).__init__(msg)
        self.msg = msg
        self.details = details


def normalize_name(name):
    """PEP 503 name: lower case, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", str(name)).lower()


def normalize_version(version):
    """Enough of PEP 440 normalisation to compare a pin with a wheel's file name."""
    version = str(version).strip().lower()
    if version.startswith("v"):
        version = version[1:]
    return version.replace("_", "-") if "+" not in version else version


def parse_lock(text):
    """``[(normalised name, version, original line)]`` from a lock file; only exact pins are allowed.

    Comments (``#``) and blank lines are skipped. Anything else (ranges, URLs, ``-e``, options) is an
    error: a lock must say exactly which file goes into the image.
    """
    pins, seen, bad = [], {}, []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN_RE.match(line)
        if not match:
            bad.append("line %d: %r" % (number, raw.strip()))
            continue
        name = normalize_name(match.group(1))
        version = normalize_version(match.group(3))
        if name in seen and seen[name] != version:
            bad.append("line %d: %s pinned twice (%s and %s)" % (number, name, seen[name], version))
            continue
        if name not in seen:
            seen[name] = version
            pins.append((name, version, line))
    if bad:
        raise WheelhouseError("the lock file may only hold exact pins (name==version): %s" % "; ".join(bad[:5]))
    if not pins:
        raise WheelhouseError("the lock file holds no pins")
    return pins


def parse_wheel_filename(filename):
    """``{name, version, build, py, abi, plat}`` of a wheel file name (tags as sets), or None."""
    match = _WHEEL_RE.match(os.path.basename(filename))
    if not match:
        return None
    return {
        "name": normalize_name(match.group("name")),
        "version": normalize_version(match.group("version")),
        "build": match.group("build"),
        "py": set(match.group("py").split(".")),
        "abi": set(match.group("abi").split(".")),
        "plat": set(match.group("plat").split(".")),
    }


def compatible(wheel, python_version="3.11", machine="x86_64"):
    """Whether a parsed wheel installs on CPython ``python_version`` for glibc Linux on ``machine``."""
    major, minor = str(python_version).split(".")[:2]
    cp = "cp%s%s" % (major, minor)
    pys = {"py%s" % major, "py%s%s" % (major, minor), cp}
    if not wheel["py"] & pys:
        # cp3X wheels with the stable ABI (abi3) install on any later CPython 3.
        abi3 = [t for t in wheel["py"] if re.match(r"^cp%s(\d+)$" % major, t)]
        if not ("abi3" in wheel["abi"] and any(int(t[len(major) + 2:]) <= int(minor) for t in abi3)):
            return False
    if not wheel["abi"] & {"none", "abi3", cp}:
        return False
    for plat in wheel["plat"]:
        if plat == "any":
            return True
        if plat.endswith("_" + machine) and (plat.startswith("manylinux") or plat.startswith("linux")):
            return True
    return False


def scan_cache(cache_dir, python_version="3.11", machine="x86_64"):
    """``{(name, version): [file names]}`` of the compatible wheels in ``cache_dir`` (sorted)."""
    found = {}
    if not os.path.isdir(cache_dir):
        return found
    for filename in sorted(os.listdir(cache_dir)):
        wheel = parse_wheel_filename(filename)
        if wheel and compatible(wheel, python_version, machine):
            found.setdefault((wheel["name"], wheel["version"]), []).append(filename)
    return found


def plan(pins, cache_dir, python_version="3.11", machine="x86_64"):
    """``(present {name: file name}, missing [pin lines])`` for the lock's pins against the cache.

    When several compatible wheels of one pin exist (e.g. manylinux and a local build), the most
    specific platform wins: a locally built ``linux_*`` wheel last, so the published one is preferred.
    """
    found = scan_cache(cache_dir, python_version, machine)
    present, missing = {}, []
    for name, version, line in pins:
        files = found.get((name, version))
        if files:
            present[name] = sorted(files, key=lambda f: ("-linux_" in f, f))[0]
        else:
            missing.append(line)
    return present, missing


def pip_wheel_command(python, requirements_file, cache_dir, index_url=None, extra_index_urls=None,
                      find_links=None, extra_args=None):
    """``python -m pip wheel --no-deps -r FILE -w CACHE`` plus the user's index options."""
    cmd = [python, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
           "-r", requirements_file, "-w", cache_dir]
    if index_url:
        cmd.extend(["--index-url", index_url])
    for url in extra_index_urls or []:
        cmd.extend(["--extra-index-url", url])
    for link in find_links or []:
        cmd.extend(["--find-links", link])
    cmd.extend(str(a) for a in extra_args or [])
    return cmd


def python_version_command(python):
    return [python, "-c", "import sys, platform; print('%d.%d %s' % (sys.version_info[0], sys.version_info[1], "
                          "platform.machine()))"]


def _same_file(src, dest):
    try:
        if os.path.samefile(src, dest):
            return True
        if os.path.getsize(src) != os.path.getsize(dest):
            return False
    except OSError:
        return False
    return fileio.sha256_file(src) == fileio.sha256_file(dest)


def _link_or_copy(src, dest):
    tmp = dest + ".seedfate-tmp"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copy2(src, tmp)
    os.rename(tmp, dest)


def stage_changes(lock_text, chosen, cache_dir, dest):
    """What ``stage`` would do: ``(added, removed)`` file names in ``dest``."""
    wanted = set(chosen.values()) | {LOCK_NAME}
    existing = set(os.listdir(dest)) if os.path.isdir(dest) else set()
    added = []
    for filename in sorted(wanted):
        target = os.path.join(dest, filename)
        if filename == LOCK_NAME:
            current = None
            if os.path.isfile(target):
                with open(target, "rb") as f:
                    current = f.read()
            if current != lock_text.encode("utf-8"):
                added.append(filename)
        elif not (filename in existing and _same_file(os.path.join(cache_dir, filename), target)):
            added.append(filename)
    removed = sorted(existing - wanted)
    return added, removed


def stage(lock_text, chosen, cache_dir, dest):
    """Make ``dest`` hold exactly the chosen wheels and the lock; returns ``(added, removed)``."""
    added, removed = stage_changes(lock_text, chosen, cache_dir, dest)
    if not os.path.isdir(dest):
        os.makedirs(dest)
    for filename in removed:
        path = os.path.join(dest, filename)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    for filename in added:
        target = os.path.join(dest, filename)
        if filename == LOCK_NAME:
            fd, tmp = tempfile.mkstemp(dir=dest, prefix=".lock-")
            with os.fdopen(fd, "wb") as f:
                f.write(lock_text.encode("utf-8"))
            os.chmod(tmp, 0o644)
            os.rename(tmp, target)
        else:
            _link_or_copy(os.path.join(cache_dir, filename), target)
    return added, removed


class Wheelhouse(object):
    """Fill the cache with the lock's missing wheels and stage the wheelhouse (see the module doc)."""

    def __init__(self, runner, lock_text, cache_dir, dest, python="python3", python_version="3.11",
                 machine="x86_64", index_url=None, extra_index_urls=None, find_links=None, pip_args=None,
                 tmpdir=None):
        self.runner = runner
        self.lock_text = lock_text
        self.cache_dir = cache_dir
        self.dest = dest
        self.python = python
        self.python_version = python_version
        self.machine = machine
        self.index_url = index_url
        self.extra_index_urls = extra_index_urls or []
        self.find_links = find_links or []
        self.pip_args = pip_args or []
        self.tmpdir = tmpdir
        self.commands = []

    def _check_python(self):
        cmd = python_version_command(self.python)
        self.commands.append(cmd)
        rc, out, err = self.runner(cmd)
        if rc != 0:
            raise WheelhouseError("cannot run %s to resolve wheels: %s" % (self.python, (err or out).strip()),
                                  cmd=cmd, rc=rc)
        parts = (out or "").split()
        if len(parts) != 2 or parts[0] != self.python_version or parts[1] != self.machine:
            raise WheelhouseError(
                "%s is Python %s on %s, but the image needs wheels for Python %s on %s; name a matching "
                "interpreter (it builds the wheels that have no binary release, e.g. mmh3)"
                % (self.python, parts[0] if parts else "?", parts[1] if len(parts) > 1 else "?",
                   self.python_version, self.machine), cmd=cmd)

    def ensure(self, check_mode=False):
        pins = parse_lock(self.lock_text)
        present, missing = plan(pins, self.cache_dir, self.python_version, self.machine)
        result = {"path": self.dest, "cache": self.cache_dir, "pins": len(pins), "cached": len(present),
                  "downloaded": [], "staged": [], "removed": []}
        if missing and check_mode:
            result["changed"] = True
            result["missing"] = missing
            return result
        if missing:
            self._check_python()
            if not os.path.isdir(self.cache_dir):
                os.makedirs(self.cache_dir)
            fd, req = tempfile.mkstemp(prefix="seedfate-missing-", suffix=".txt", dir=self.tmpdir)
            with os.fdopen(fd, "w") as f:
                f.write("\n".join(missing) + "\n")
            cmd = pip_wheel_command(self.python, req, self.cache_dir, self.index_url, self.extra_index_urls,
                                    self.find_links, self.pip_args)
            self.commands.append(cmd)
            try:
                rc, out, err = self.runner(cmd)
            finally:
                os.unlink(req)
            present, still = plan(pins, self.cache_dir, self.python_version, self.machine)
            result["downloaded"] = [line for line in missing if line not in still]
            if rc != 0 or still:
                raise WheelhouseError(
                    "pip could not provide wheels for %d pinned package(s): %s (see stderr; for torch's "
                    "CPU build name PyTorch's CPU index or a folder in the find-links/index options)"
                    % (len(still), ", ".join(still[:10]) or "see stderr"),
                    cmd=cmd, rc=rc, stdout=out, stderr=err, missing=still)
        if check_mode:
            added, removed = stage_changes(self.lock_text, present, self.cache_dir, self.dest)
        else:
            added, removed = stage(self.lock_text, present, self.cache_dir, self.dest)
        result["cached"] = len(present)
        result["staged"] = added
        result["removed"] = removed
        result["changed"] = bool(result["downloaded"] or added or removed)
        result["lock_sha256"] = hashlib.sha256(self.lock_text.encode("utf-8")).hexdigest()
        result["wheels"] = [present[name] for name, _v, _l in pins]
        return result
