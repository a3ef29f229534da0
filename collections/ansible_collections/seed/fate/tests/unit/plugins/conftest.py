"""Fixtures shared by the collection's unit tests."""

import os

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 7))


@pytest.fixture
def fork_dir():
    """The seedemu fork's real output files: $SEEDFATE_SHARED_DIR, or <repo>/../shared (as in CI)."""
    candidates = []
    env = os.environ.get("SEEDFATE_SHARED_DIR")
    if env:
        candidates += [os.path.join(env, "fixtures", "seedemu-fork-seedfate"), env]
    candidates.append(os.path.join(REPO, "..", "shared", "fixtures", "seedemu-fork-seedfate"))
    for c in candidates:
        if os.path.isfile(os.path.join(c, "GhostNodes.json")):
            return os.path.abspath(c)
    pytest.skip("the seedemu fork's fixtures are not at <repo>/../shared/fixtures/seedemu-fork-seedfate "
                "(set SEEDFATE_SHARED_DIR to the shared folder)")
