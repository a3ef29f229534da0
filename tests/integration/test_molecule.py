"""The molecule scenarios, run as a user runs them: `molecule test -s <scenario>` from the repository root.

default: three parties on this machine's Docker engine, stand-in skeleton and FATE stand-ins (no seedemu).
lab:     the full lab on real seedemu (BGP, network pods across emulated routers).
fate22:  real FATE 2.2.0 on real seedemu: toy and hetero-LR jobs across the emulated routers, report.json.
swarm:   the lab over three Docker hosts of this machine (tests/multihost/swarmlab.py, root), seedfate_target swarm.
"""

import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def molecule(scenario, timeout):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_NOCOLOR="1",
               NO_COLOR="1", PY_COLORS="0", ANSIBLE_FORCE_COLOR="0")
    r = subprocess.run([os.path.join(BIN, "molecule"), "test", "-s", scenario], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=timeout)
    return r


def check(r):
    out = r.stdout + r.stderr
    assert r.returncode == 0, "molecule failed (rc=%s):\n%s" % (r.returncode, out[-8000:])
    recap = out.split("SCENARIO RECAP")[-1]
    assert re.search(r"\bfailed=0\b", recap), recap
    # testinfra really ran, and nothing in it failed.
    assert re.search(r"=+ \d+ passed", out), out[-4000:]
    assert not re.search(r"\d+ (failed|error)", out), out[-4000:]


@pytest.mark.docker
@pytest.mark.slow
def test_molecule_default():
    check(molecule("default", timeout=1800))


@pytest.mark.docker
@pytest.mark.seedemu
@pytest.mark.slow
def test_molecule_lab():
    check(molecule("lab", timeout=3600))


@pytest.mark.docker
@pytest.mark.seedemu
@pytest.mark.slow
@pytest.mark.fate22
def test_molecule_fate22():
    check(molecule("fate22", timeout=3600))


# Not marked swarm: that marker's tests (the harness's own) stay out of the seedemu tier, this scenario is in it.
@pytest.mark.docker
@pytest.mark.seedemu
@pytest.mark.slow
def test_molecule_swarm():
    if os.geteuid() != 0:
        pytest.skip("molecule swarm needs root: its harness runs a dockerd per network namespace")
    check(molecule("swarm", timeout=1800))
