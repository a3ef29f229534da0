"""Test-wide markers: seedemu and docker tests are skipped, with the reason, when what they need
is missing. In CI (CI=true) a missing Docker engine is an error, not a skip."""

import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.abspath(__file__))


def seedemu_path():
    """Put SEEDEMU_PATH on sys.path; return (ok, reason)."""
    path = os.environ.get("SEEDEMU_PATH")
    if path and path not in sys.path:
        sys.path.insert(0, path)
    try:
        import seedemu  # noqa: F401  pylint: disable=unused-import
    except ImportError as exc:
        where = "SEEDEMU_PATH=%s" % path if path else "SEEDEMU_PATH is not set"
        return False, "seedemu is not importable (%s: %s); see README 'Prerequisites'" % (where, exc)
    return True, ""


def docker_ready():
    if not shutil.which("docker"):
        return False, "no docker CLI on PATH"
    try:
        r = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=20)
        if r.returncode:
            return False, "docker compose v2 is missing"
        r = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:
        return False, "docker engine does not answer"
    if r.returncode:
        return False, "no Docker engine answers: %s" % r.stderr.decode(errors="replace").strip()
    return True, ""


_CHECKS = {}


def _check(name, probe):
    if name not in _CHECKS:
        _CHECKS[name] = probe()
    return _CHECKS[name]


def pytest_runtest_setup(item):
    if item.get_closest_marker("seedemu"):
        ok, reason = _check("seedemu", seedemu_path)
        if not ok:
            pytest.skip(reason)
    if item.get_closest_marker("docker"):
        ok, reason = _check("docker", docker_ready)
        if not ok:
            if os.environ.get("CI") == "true":
                pytest.fail("CI must have a Docker engine: " + reason, pytrace=False)
            pytest.skip(reason)
