"""Test-wide markers and shared fixtures.

seedemu, docker and netns tests are skipped, with the reason, when what they need is missing. In CI
(CI=true) every tier must run: a docker, seedemu or netns test that is skipped, for whatever reason, is
reported as a failure (``make test`` installs seedemu into .venv, ``.ci/run`` starts the engine and runs
as root). netns tests need no Docker, so they run in the unit tier (``-m "not docker and not seedemu"``).
"""

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


def netns_ready():
    """Root, ``ip netns`` and iptables/ip6tables: what the network-namespace tests need (no Docker)."""
    if os.geteuid() != 0:
        return False, "needs root (network namespaces and iptables)"
    missing = [c for c in ("ip", "iptables", "ip6tables") if not shutil.which(c)]
    if missing:
        return False, "missing on PATH: %s" % ", ".join(missing)
    name = "sftest-seal-probe-%d" % os.getpid()
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if r.returncode:
        return False, "cannot create a network namespace: %s" % r.stderr.strip()
    try:
        r = subprocess.run(["ip", "netns", "exec", name, "iptables", "-w", "-S"], capture_output=True, text=True)
        if r.returncode:
            return False, "iptables does not work in a network namespace: %s" % r.stderr.strip()
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return True, ""


def swarm_ready():
    """Root and what tests/multihost/swarmlab.py runs: a dockerd per network namespace."""
    if os.geteuid() != 0:
        return False, "needs root (network namespaces, a dockerd per host)"
    missing = [c for c in ("ip", "unshare", "setsid", "dockerd", "containerd", "iptables") if not shutil.which(c)]
    if missing:
        return False, "missing on PATH: %s" % ", ".join(missing)
    return True, ""


_CHECKS = {}


def _check(name, probe):
    if name not in _CHECKS:
        _CHECKS[name] = probe()
    return _CHECKS[name]


def in_ci():
    return os.environ.get("CI") == "true"


def pytest_runtest_setup(item):
    if item.get_closest_marker("seedemu"):
        ok, reason = _check("seedemu", seedemu_path)
        if not ok:
            pytest.skip(reason)
    if item.get_closest_marker("docker"):
        ok, reason = _check("docker", docker_ready)
        if not ok:
            pytest.skip(reason)
    if item.get_closest_marker("netns"):
        ok, reason = _check("netns", netns_ready)
        if not ok:
            pytest.skip(reason)
    if item.get_closest_marker("swarm"):
        ok, reason = _check("swarm", swarm_ready)
        if not ok:
            pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped docker, seedemu or netns test is a failure: those tiers are the product."""
    outcome = yield
    report = outcome.get_result()
    if not (in_ci() and report.skipped and not hasattr(report, "wasxfail")):
        return
    tiers = [m for m in ("docker", "seedemu", "netns") if item.get_closest_marker(m)]
    if tiers:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = "CI=true: this %s test must run, but it was skipped: %s" % ("/".join(tiers), reason)


ANSIBLE_PLAYBOOK = os.path.join(REPO, ".venv", "bin", "ansible-playbook")


def run_playbook(playbook, *extra, timeout=900):
    """ansible-playbook from the repository's venv (else PATH), without colour; the CompletedProcess."""
    ansible = ANSIBLE_PLAYBOOK if os.path.exists(ANSIBLE_PLAYBOOK) else "ansible-playbook"
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([ansible, os.path.join(REPO, "playbooks", playbook)] + list(extra), cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def offline_images():
    """The node image and the FATE stand-ins, built by the images playbook when missing (12 s when up to date).

    Tests that start stand-in containers depend on this rather than on running after test_images.
    """
    ok, reason = _check("docker", docker_ready)
    if not ok:
        pytest.skip(reason)
    proc = run_playbook("images.yml", "-e", "images_build_standins=true")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc
