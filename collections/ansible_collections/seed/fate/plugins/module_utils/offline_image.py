# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker images built without a registry: from Debian packages, or derived from a local image.

Two ways to make an image:

* **debian**: ``mmdebstrap --format=tar <suite> - [mirror]`` piped into ``docker import`` (the
  rootfs never touches the disk as a tarball). Extra files go in through one ``tar-in`` customize
  hook, so their modes and parent folders are right.
* **derived**: ``docker create`` of a local base image, ``docker commit --change ...`` of that
  stopped container, ``docker rm``. Only image metadata changes (ENV, CMD, LABEL, ...), no layer is
  copied, so it takes a fraction of a second.

Either way the image carries the label ``seed.fate/recipe-hash``: the sha256 of everything that
defines it. An image whose label already matches is left alone, which is what makes a second run
report no change. The new image is imported/committed untagged and tagged only once every step
succeeded, so a failed build never leaves a half image under the wanted name.

Everything here is plain Python; commands run through a DockerCli (module_utils/docker_cli.py: the
module's ``run_command``, or a fake ``run`` in unit tests), which also keeps the list of commands run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import io
import json
import os
import re
import shlex
import shutil
import tarfile
import tempfile
import time
import uuid

from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DockerError

HASH_LABEL = "seed.fate/recipe-hash"
# Bump when the way images are built changes in a way that should rebuild them.
RECIPE_FORMAT = 1
VARIANTS = ("essential", "apt", "minbase", "required", "important", "standard")
# Temporary containers of the derived mode; unique per build, removed in every case.
TEMP_CONTAINER_PREFIX = "seedfate-derive-"

_PACKAGE_RE = re.compile(r"^[a-z0-9][a-z0-9+.\-]*(:[a-z0-9\-]+)?([=/][A-Za-z0-9.+:~\-]+)?$")
_ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LABEL_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/\-]*$")
_CHANGE_RE = re.compile(r"^(CMD|ENTRYPOINT|ENV|EXPOSE|LABEL|ONBUILD|USER|VOLUME|WORKDIR)\s+\S", re.IGNORECASE)


class ImageError(Exception):
    """A build step failed or the recipe is wrong; carries what the module returns with the failure."""

    def __init__(self, msg, **details):
        super(ImageError, self).__init__(msg)
        self.msg = msg
        self.details = details


# --------------------------------------------------------------------------------------------
# Recipes and their hash
# --------------------------------------------------------------------------------------------

def dockerfile_quote(value):
    """Quote a value for a Dockerfile ENV/LABEL instruction (``$`` would be expanded otherwise)."""
    value = str(value)
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")


def _one_line(field, value):
    if "\n" in value or "\r" in value:
        raise ImageError("%s must not contain a line break: %r" % (field, value))
    return value


def docker_changes(cmd=None, entrypoint=None, env=None, labels=None, workdir=None, user=None,
                   expose=None, changes=None):
    """Dockerfile instructions (``docker import/commit --change``) in a stable order.

    ``cmd``/``entrypoint`` are lists (exec form); ``env``/``labels`` are dicts, sorted by key so that
    the same recipe always gives the same instructions (and hash).
    """
    out = []
    if entrypoint is not None:
        out.append("ENTRYPOINT " + json.dumps([str(a) for a in entrypoint]))
    if cmd is not None:
        out.append("CMD " + json.dumps([str(a) for a in cmd]))
    for key in sorted(env or {}):
        if not _ENV_KEY_RE.match(str(key)):
            raise ImageError("env: invalid variable name %r" % (key,))
        out.append("ENV %s=%s" % (key, dockerfile_quote(_one_line("env.%s" % key, str(env[key])))))
    if workdir:
        out.append("WORKDIR " + _one_line("workdir", str(workdir)))
    if user:
        out.append("USER " + _one_line("user", str(user)))
    for port in expose or []:
        if not re.match(r"^[0-9]{1,5}(/(tcp|udp|sctp))?$", str(port)):
            raise ImageError("expose: invalid port %r (expected e.g. 9370 or 9370/tcp)" % (port,))
        out.append("EXPOSE %s" % port)
    for key in sorted(labels or {}):
        if not _LABEL_KEY_RE.match(str(key)):
            raise ImageError("labels: invalid label key %r" % (key,))
        if key == HASH_LABEL:
            raise ImageError("labels: %s is set by the module itself" % HASH_LABEL)
        out.append("LABEL %s=%s" % (key, dockerfile_quote(_one_line("labels.%s" % key, str(labels[key])))))
    for change in changes or []:
        change = _one_line("changes", str(change)).strip()
        if not _CHANGE_RE.match(change):
            raise ImageError("changes: %r is not an instruction docker accepts here "
                             "(CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR)" % change)
        out.append(change)
    return out


def normalize_packages(packages):
    """Sorted, de-duplicated package list (apt does not care about order); rejects odd names."""
    out = set()
    for name in packages or []:
        name = str(name).strip()
        if not _PACKAGE_RE.match(name):
            raise ImageError("packages: %r is not a Debian package name" % (name,))
        out.add(name)
    return sorted(out)


def normalize_files(files):
    """Files to put into a debian image: ``[{dest, mode, content(bytes), origin}]`` sorted by dest.

    Each entry of ``files`` has ``dest`` (absolute path in the image), ``src`` (a file on the
    controller) or ``content`` (text), and optional ``mode`` (octal string or int, default 0644).
    """
    out = {}
    for index, item in enumerate(files or []):
        where = "files[%d]" % index
        if not isinstance(item, dict):
            raise ImageError("%s must be a dict with dest and src or content" % where)
        dest = item.get("dest")
        if not dest or not str(dest).startswith("/") or str(dest).endswith("/"):
            raise ImageError("%s.dest must be an absolute file path in the image, got %r" % (where, dest))
        dest = os.path.normpath(str(dest))
        src, content = item.get("src"), item.get("content")
        if (src is None) == (content is None):
            raise ImageError("%s (dest %s) needs exactly one of src or content" % (where, dest))
        if src is not None:
            try:
                with open(src, "rb") as f:
                    data = f.read()
            except (IOError, OSError) as exc:
                raise ImageError("%s.src: cannot read %s: %s" % (where, src, exc))
            origin = str(src)
        else:
            data = content if isinstance(content, bytes) else str(content).encode("utf-8")
            origin = "content"
        mode = item.get("mode", "0644")
        try:
            mode = int(str(mode), 8) if not isinstance(mode, int) else mode
        except ValueError:
            raise ImageError("%s.mode must be octal like '0755', got %r" % (where, mode))
        if not 0 <= mode <= 0o7777:
            raise ImageError("%s.mode out of range: %o" % (where, mode))
        if dest in out:
            raise ImageError("%s.dest %s is given twice" % (where, dest))
        out[dest] = {"dest": dest, "mode": mode, "content": data, "origin": origin}
    return [out[k] for k in sorted(out)]


def debian_recipe(suite, variant, packages, files=None, options=None, changes=None):
    """What defines an image built from Debian. The mirror is left out on purpose: the same suite
    from another mirror is the same image, and switching mirrors should not rebuild everything."""
    if variant not in VARIANTS:
        raise ImageError("variant must be one of %s, got %r" % (", ".join(VARIANTS), variant))
    if not suite or not re.match(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$", str(suite)):
        raise ImageError("suite: %r is not a Debian suite name" % (suite,))
    return {
        "format": RECIPE_FORMAT,
        "kind": "debian",
        "suite": str(suite),
        "variant": variant,
        "packages": normalize_packages(packages),
        "files": [{"dest": f["dest"], "mode": "%04o" % f["mode"],
                   "sha256": hashlib.sha256(f["content"]).hexdigest()} for f in (files or [])],
        "options": [str(o) for o in options or []],
        "changes": list(changes or []),
    }


def derived_recipe(base_image, base_id, changes=None):
    """What defines a derived image: the base's image id (a rebuilt base rebuilds its children)."""
    return {
        "format": RECIPE_FORMAT,
        "kind": "derived",
        "base": str(base_image),
        "base_id": str(base_id),
        "changes": list(changes or []),
    }


def recipe_hash(recipe):
    """sha256 of the recipe's canonical JSON."""
    text = json.dumps(recipe, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------
# Command lines
# --------------------------------------------------------------------------------------------

def files_tar(files):
    """A tar (bytes) holding ``files`` relative to /, owned by root, with their modes.

    Parent folders are left out on purpose so that tar-in creates missing ones and leaves
    existing ones (and their modes) alone.
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for f in files:
            info = tarfile.TarInfo(f["dest"].lstrip("/"))
            info.size = len(f["content"])
            info.mode = f["mode"]
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            tar.addfile(info, io.BytesIO(f["content"]))
    return buf.getvalue()


def mmdebstrap_command(suite, variant, packages, mirror=None, options=None, files_tar_path=None,
                       mmdebstrap="mmdebstrap"):
    """``mmdebstrap ... --format=tar SUITE - [MIRROR]``: the rootfs as a tar on stdout."""
    cmd = [mmdebstrap, "--variant=%s" % variant, "--format=tar"]
    if packages:
        cmd.append("--include=%s" % ",".join(packages))
    cmd.extend(str(o) for o in options or [])
    if files_tar_path:
        cmd.append("--customize-hook=tar-in %s /" % files_tar_path)
    cmd.extend([str(suite), "-"])
    if mirror:
        cmd.append(str(mirror))
    return cmd


def import_command(changes, hash_value, docker="docker"):
    """``docker import`` of a tar on stdin, untagged (the caller tags it once all went well)."""
    cmd = [docker, "import"]
    for change in list(changes) + ["LABEL %s=%s" % (HASH_LABEL, hash_value)]:
        cmd.extend(["--change", change])
    cmd.append("-")
    return cmd


def commit_command(container, changes, hash_value, docker="docker"):
    """``docker commit`` of the temporary container, untagged."""
    cmd = [docker, "commit"]
    for change in list(changes) + ["LABEL %s=%s" % (HASH_LABEL, hash_value)]:
        cmd.extend(["--change", change])
    cmd.append(container)
    return cmd


PIPE_STATUS_MARK = "seedfate-pipestatus:"


def pipe_command(first, second):
    """A bash command line running ``first | second`` that reports both exit codes.

    ``set -o pipefail`` alone would not say which side failed; an empty tar from a failed
    mmdebstrap is still a valid (empty) image for docker import, so both codes are checked.
    """
    script = "%s | %s\nset -- \"${PIPESTATUS[@]}\"\necho \"%s $1 $2\" >&2\n[ \"$1\" = 0 ] && [ \"$2\" = 0 ]" % (
        " ".join(shlex.quote(a) for a in first), " ".join(shlex.quote(a) for a in second), PIPE_STATUS_MARK)
    return ["bash", "-c", script]


def parse_pipe_status(stderr):
    """(first_rc, second_rc) from the marker line, or (None, None)."""
    for line in reversed((stderr or "").splitlines()):
        if line.startswith(PIPE_STATUS_MARK):
            parts = line[len(PIPE_STATUS_MARK):].split()
            try:
                return int(parts[0]), int(parts[1])
            except (IndexError, ValueError):
                break
    return None, None


_APT_PACKAGE_ERRORS = (
    re.compile(r"Unable to locate package (\S+)"),
    re.compile(r"Package '?([^' ]+)'? has no installation candidate"),
    re.compile(r"Couldn't find any package by (?:glob|regex) '([^']+)'"),
)


def explain_mmdebstrap_failure(stderr):
    """A short reason naming the package or option at fault, from mmdebstrap/apt's stderr."""
    bad = []
    for regex in _APT_PACKAGE_ERRORS:
        for match in regex.finditer(stderr or ""):
            if match.group(1) not in bad:
                bad.append(match.group(1))
    if bad:
        return "package(s) not found in the suite: %s" % ", ".join(bad)
    match = re.search(r"Unknown option: (\S+)", stderr or "")
    if match:
        return "mmdebstrap does not know the option --%s" % match.group(1)
    errors = [line.strip() for line in (stderr or "").splitlines() if line.startswith("E:")]
    if errors:
        return "; ".join(errors[-3:])
    return "see stderr"


def host_codename(path="/etc/os-release"):
    """This machine's Debian codename (VERSION_CODENAME), or None."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("VERSION_CODENAME="):
                    return line.split("=", 1)[1].strip().strip('"') or None
    except (IOError, OSError):
        pass
    return None


def unknown_packages(runner, packages, apt_cache="apt-cache"):
    """Packages this machine's apt has never heard of (``apt-cache policy`` prints no entry).

    mmdebstrap only finds a bad name after installing the essential set, minutes in; when the image
    uses this machine's own apt sources, asking the local apt first fails in a fraction of a second.
    Virtual packages do get an entry, so only names apt does not know at all are reported.
    """
    names = []
    for package in packages:
        name = re.split(r"[=/]", package, maxsplit=1)[0].split(":")[0]
        if name not in names:
            names.append(name)
    if not names:
        return []
    rc, out, _err = runner([apt_cache, "policy"] + names)
    if rc != 0:
        return []  # no verdict: let mmdebstrap decide
    known = set(line[:-1] for line in (out or "").splitlines()
                if line and not line[0].isspace() and line.endswith(":"))
    return [n for n in names if n not in known]


# --------------------------------------------------------------------------------------------
# Docker state
# --------------------------------------------------------------------------------------------

def image_labels(info):
    return ((info or {}).get("Config") or {}).get("Labels") or {}


def _image_summary(info):
    if not info:
        return None
    return {"id": info.get("Id"), "recipe_hash": image_labels(info).get(HASH_LABEL)}


# --------------------------------------------------------------------------------------------
# The build
# --------------------------------------------------------------------------------------------

class OfflineImage(object):
    """Make image ``name`` match its recipe. ``spec`` holds the module's parameters."""

    def __init__(self, docker, spec, mmdebstrap="mmdebstrap", tmpdir=None, apt_cache=None, host_suite=None):
        """``docker``: a DockerCli; every command of the build (mmdebstrap and apt-cache too) runs through it
        and is listed in its ``commands``."""
        self.spec = spec
        self.docker = docker
        if docker.commands is None:
            docker.commands = []
        self.mmdebstrap = mmdebstrap
        self.tmpdir = tmpdir
        # Early package check: only when the image is built from this machine's own apt sources.
        self.apt_cache = apt_cache
        self.host_suite = host_suite
        self.warnings = []

    def _check_packages(self, recipe):
        s = self.spec
        if not (self.apt_cache and recipe["packages"] and not s.get("mirror")
                and self.host_suite and recipe["suite"] == self.host_suite):
            return
        bad = unknown_packages(lambda args: self._run(args, check=False), recipe["packages"], self.apt_cache)
        if bad:
            raise ImageError("packages: not found in %s by this machine's apt (apt-cache policy): %s"
                             % (recipe["suite"], ", ".join(bad)))

    def _run(self, argv, check=True, what=None):
        """(rc, out, err) of ``argv``; with ``check`` a failure is an ImageError naming ``what``."""
        rc, out, err = self.docker.call(argv)
        if check and rc != 0:
            raise ImageError("%s failed (rc=%s): %s" % (what or " ".join(argv[:2]), rc, (err or out).strip()),
                             cmd=argv, rc=rc, stdout=out, stderr=err)
        return rc, out, err

    def _inspect_image(self, name):
        try:
            return self.docker.inspect_image(name)
        except DockerError as exc:
            raise ImageError(exc.msg, cmd=exc.cmd, rc=exc.rc, stderr=exc.stderr)

    @property
    def derived(self):
        return bool(self.spec.get("base_image"))

    def _changes(self):
        s = self.spec
        return docker_changes(cmd=s.get("cmd"), entrypoint=s.get("entrypoint"), env=s.get("env"),
                              labels=s.get("labels"), workdir=s.get("workdir"), user=s.get("user"),
                              expose=s.get("expose"), changes=s.get("changes"))

    def plan(self):
        """(recipe, files) — validates everything before anything is changed.

        In derived mode a missing base gives recipe None (it may be built earlier in the same play;
        only a real run insists on it).
        """
        s = self.spec
        changes = self._changes()
        if self.derived:
            base = self._inspect_image(s["base_image"])
            if base is None:
                return None, []
            return derived_recipe(s["base_image"], base["Id"], changes), []
        files = normalize_files(s.get("files"))
        return debian_recipe(s.get("suite"), s.get("variant") or "apt", s.get("packages"), files,
                             s.get("mmdebstrap_options"), changes), files

    def ensure(self, check_mode=False, force=False):
        name = self.spec["name"]
        recipe, files = self.plan()
        wanted = recipe_hash(recipe) if recipe is not None else None
        current = self._inspect_image(name)
        have = image_labels(current).get(HASH_LABEL) if current else None
        result = {
            "image": name,
            "recipe_hash": wanted,
            "recipe": recipe,
            "built": False,
            "build_seconds": 0.0,
            "diff": {"before": _image_summary(current) or {}, "after": {"recipe_hash": wanted}},
        }
        if recipe is None:
            if not check_mode:
                raise ImageError("base_image %s does not exist; build it first (derived images start from a "
                                 "local image, nothing is pulled)" % self.spec["base_image"])
            self.warnings.append("base_image %s does not exist yet; assuming it is built before this one"
                                 % self.spec["base_image"])
        up_to_date = current is not None and wanted is not None and have == wanted
        if up_to_date and not force:
            result.update(changed=False, id=current["Id"], size=current.get("Size"))
            return result
        result["changed"] = True
        if not self.derived:
            self._check_packages(recipe)
        if check_mode:
            result.update(id=current["Id"] if current else None, size=current.get("Size") if current else None)
            return result
        start = time.time()
        new_id = self._build_derived(wanted) if self.derived else self._build_debian(recipe, files, wanted)
        self._run([self.docker.binary, "tag", new_id, name], what="docker tag")
        result["build_seconds"] = round(time.time() - start, 3)
        result["built"] = True
        info = self._inspect_image(name) or {}
        result.update(id=info.get("Id", new_id), size=info.get("Size"))
        result["diff"]["after"]["id"] = result["id"]
        if current and current["Id"] != result["id"] and self.spec.get("remove_replaced", True):
            result["replaced_image_removed"] = self._remove_replaced(current)
        return result

    def _remove_replaced(self, old):
        """Drop the image this build replaced, if it was one of ours and nothing else holds it.

        docker refuses (and we keep it) when a container, another tag or a child image uses it.
        """
        if HASH_LABEL not in image_labels(old):
            return False
        rc, _out, _err = self._run([self.docker.binary, "image", "rm", old["Id"]], check=False)
        return rc == 0

    def _build_debian(self, recipe, files, wanted):
        s = self.spec
        workdir = tempfile.mkdtemp(prefix="seedfate-image-", dir=self.tmpdir)
        try:
            tar_path = None
            if files:
                tar_path = os.path.join(workdir, "files.tar")
                with open(tar_path, "wb") as f:
                    f.write(files_tar(files))
            first = mmdebstrap_command(recipe["suite"], recipe["variant"], recipe["packages"], s.get("mirror"),
                                       recipe["options"], tar_path, self.mmdebstrap)
            second = import_command(recipe["changes"], wanted, self.docker.binary)
            cmd = pipe_command(first, second)
            rc, out, err = self._run(cmd, check=False)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        image_id = (out or "").strip().splitlines()[-1].strip() if (out or "").strip() else None
        first_rc, second_rc = parse_pipe_status(err)
        if rc == 0 and image_id:
            return image_id
        if image_id and image_id.startswith("sha256:"):
            # docker import took whatever came through the pipe; that image is not what was asked for.
            self._run([self.docker.binary, "image", "rm", image_id], check=False)
        if first_rc not in (None, 0):
            msg = "mmdebstrap failed (rc=%s) building %s from %s: %s" % (
                first_rc, s["name"], recipe["suite"], explain_mmdebstrap_failure(err))
        else:
            msg = "docker import failed (rc=%s) for %s: %s" % (
                second_rc if second_rc is not None else rc, s["name"], _last_lines(err))
        raise ImageError(msg, cmd=cmd, rc=rc, stdout=out, stderr=err)

    def _build_derived(self, wanted):
        s = self.spec
        changes = self._changes()
        container = TEMP_CONTAINER_PREFIX + uuid.uuid4().hex[:12]
        docker = self.docker.binary
        try:
            self._run([docker, "create", "--name", container, s["base_image"]], what="docker create")
            _rc, out, _err = self._run(commit_command(container, changes, wanted, docker), what="docker commit")
        finally:
            self._run([docker, "rm", "--force", container], check=False)
        image_id = (out or "").strip()
        if not image_id:
            raise ImageError("docker commit printed no image id for %s" % s["name"])
        return image_id


def _last_lines(text, count=5):
    lines = [line for line in (text or "").splitlines() if line.strip() and not line.startswith(PIPE_STATUS_MARK)]
    return " | ".join(lines[-count:]) or "no error output"
