# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""scripts/install-seedemu, the way `make venv` runs it: seedemu installed like any other dependency.

A fresh virtual environment gets seedemu from the vendored source archive of the pinned commit (what CI
does; users with GitHub get the same commit through pip's git form, exercised here with a local git
repository made from that archive). Checked: it imports afterwards (a plain `pip install` of upstream
does not: its package lists no data files); a second run does nothing; without SEEDEMU_SOURCE an
install of the pinned commit is kept; SEEDEMU_PATH wins; bad sources stop at once with an error naming
SEEDEMU_SOURCE and the source, and nothing is recorded.
"""

import os
import subprocess
import sys
import time

import pytest

pytestmark = [pytest.mark.seedemu, pytest.mark.slow]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "scripts", "install-seedemu")
ARCHIVE = os.path.join(os.path.dirname(REPO), "shared", "vendor", "seed-emulator-da525dd9.tar.gz")
COMMIT = "da525dd9bf27901374e4ed9cc052dd51125c9a5d"


def install(venv, source=None, path=None, timeout=600):
    env = dict(os.environ, SEEDFATE_VENV=str(venv))
    env.pop("SEEDEMU_SOURCE", None)
    env.pop("SEEDEMU_PATH", None)
    if source is not None:
        env["SEEDEMU_SOURCE"] = str(source)
    if path is not None:
        env["SEEDEMU_PATH"] = str(path)
    started = time.time()
    proc = subprocess.run([SCRIPT], env=env, capture_output=True, text=True, timeout=timeout)
    proc.seconds = time.time() - started
    return proc


def imports(venv):
    return subprocess.run([str(venv / "bin" / "python"), "-c", "import seedemu, seedemu.compiler; print(seedemu.__file__)"],
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH="")).returncode == 0


@pytest.fixture(scope="module")
def archive():
    if not os.path.isfile(ARCHIVE):
        pytest.skip("the vendored seedemu archive is not at %s" % ARCHIVE)
    return ARCHIVE


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A new venv with what seedemu imports (PyYAML, geopy), as requirements-dev.txt gives .venv."""
    root = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    pins = [line.strip() for line in open(os.path.join(REPO, "requirements-dev.txt"))
            if line.startswith(("PyYAML==", "geopy=="))]
    subprocess.run([str(root / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"] + pins,
                   check=True, capture_output=True)
    return root


def test_bad_sources_stop_at_once_naming_the_variable(tmp_path, venv):
    (tmp_path / "empty").mkdir()
    for source, said in ((tmp_path / "nope.tar.gz", "no such file or folder"),
                         (tmp_path / "empty", "neither pip's git form, an archive, nor a checkout"),
                         ("git+file://%s/no-repo@%s" % (tmp_path, COMMIT), "pip failed")):
        proc = install(venv, source)
        assert proc.returncode == 2, (source, proc.stdout, proc.stderr)
        assert "seedemu could not be installed from SEEDEMU_SOURCE=%s" % source in proc.stderr
        assert said in proc.stderr
        assert proc.seconds < 60
        assert not (venv / ".seedemu-source").exists()
    not_seedemu = tmp_path / "not-seedemu.tar.gz"
    subprocess.run(["tar", "-czf", str(not_seedemu), "-C", str(tmp_path), "empty"], check=True)
    proc = install(venv, not_seedemu)
    assert proc.returncode == 2 and "holds no seed-emulator source" in proc.stderr


def test_archive_install_imports_and_a_second_run_does_nothing(venv, archive):
    proc = install(venv, archive)
    assert proc.returncode == 0, proc.stderr
    assert imports(venv)
    assert (venv / ".seedemu-source").read_text().strip() == "commit=%s source=%s" % (COMMIT, archive)
    # Editable, from an unpacked copy inside the venv, never from the project tree.
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import seedemu; print(seedemu.__file__)"],
                           capture_output=True, text=True).stdout
    assert where.startswith(str(venv / "src")) and not where.startswith(REPO + os.sep)

    again = install(venv, archive)
    assert again.returncode == 0 and again.stdout == "" and again.seconds < 10
    # No SEEDEMU_SOURCE: the pinned commit is installed already, so the default git source is not tried.
    default = install(venv)
    assert default.returncode == 0 and default.stdout == "", default.stderr


def test_without_seedemu_source_the_archive_beside_the_clone_is_the_default(venv, archive):
    # The README's commands as written, on a machine without GitHub: the pinned commit's archive in
    # ../shared/vendor beside the clone is taken before pip's git form.
    (venv / ".seedemu-source").unlink()
    proc = install(venv)
    assert proc.returncode == 0, proc.stderr
    assert imports(venv)
    assert (venv / ".seedemu-source").read_text().strip() == "commit=%s source=%s" % (COMMIT, archive)


def test_seedemu_path_wins(tmp_path, venv, archive):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "seedemu").mkdir()
    proc = install(venv, "git+https://example.invalid/x@%s" % COMMIT, path=checkout)
    assert proc.returncode == 0 and "SEEDEMU_PATH=%s is set and wins" % checkout in proc.stdout
    bad = install(venv, path=tmp_path / "nothing")
    assert bad.returncode == 2 and "holds no seedemu/ package" in bad.stderr


def test_git_form_installs_the_pinned_commit(tmp_path, venv, archive):
    # pip's git form, as users with GitHub run it, against a local repository holding the same sources.
    repo = tmp_path / "seed-emulator"
    repo.mkdir()
    subprocess.run(["tar", "-xzf", archive, "-C", str(repo), "--strip-components=1"], check=True)
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.invalid", "-c", "user.name=t"]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "seedemu"], check=True)
    head = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    source = "git+file://%s@%s" % (repo, head)
    proc = install(venv, source)
    assert proc.returncode == 0, proc.stderr
    assert "(git, into %s/src)" % venv in proc.stdout
    assert imports(venv)
    assert (venv / ".seedemu-source").read_text().strip() == "commit=%s source=%s" % (COMMIT, source)
