# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parts of module_utils/seedemu_build.py that need no seedemu (the rest: tests/integration)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

from ansible_collections.seed.fate.plugins.module_utils import seedemu_build as sb

SEEDEMU_COMPOSE = """version: "3.4"
services:
    abc:
        image: abc
networks:
    net_150_net0:
        ipam:
            config:
                - subnet: 10.150.0.0/24
"""


def test_finalize_compose_names_the_project_and_drops_version():
    out = sb.finalize_compose(SEEDEMU_COMPOSE, "lab1")
    assert out.startswith("name: lab1\nservices:\n")
    assert "version:" not in out
    # Idempotent: finalising twice gives the same text (and replaces an old name).
    assert sb.finalize_compose(out, "lab1") == out
    assert sb.finalize_compose(out, "lab2").startswith("name: lab2\n")


def test_ordered_set_iterates_in_first_use_order():
    s = sb._OrderedSet()
    for item in ["b", "a", "b", "c"]:
        s.add(item)
    assert list(s) == ["b", "a", "c"] and "a" in s and "z" not in s and len(s) == 3


def test_read_tree_is_relative_and_complete(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f").write_bytes(b"1")
    (tmp_path / ".env").write_bytes(b"\n")
    assert sb.read_tree(str(tmp_path)) == {"a/b/f": b"1", ".env": b"\n"}
    assert sb.read_tree(str(tmp_path / "missing")) == {}


def test_quiet_captures_prints_and_raw_fd_writes(capfd):
    with sb.quiet():
        print("from print")
        sys.stderr.write("from stderr\n")
        os.write(1, b"from fd 1\n")
        os.write(2, b"from fd 2\n")
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    for text in ("from print", "from stderr", "from fd 1", "from fd 2"):
        assert text in sb.quiet.last


def test_resolve_seedemu_path_prefers_the_option(monkeypatch, tmp_path):
    monkeypatch.setenv("SEEDEMU_PATH", "/from/env")
    assert sb.resolve_seedemu_path(str(tmp_path)) == str(tmp_path)
    assert sb.resolve_seedemu_path(None) == "/from/env"
    monkeypatch.delenv("SEEDEMU_PATH")
    assert sb.resolve_seedemu_path(None) is None


def test_load_seedemu_names_a_folder_without_seedemu(tmp_path):
    with pytest.raises(sb.SeedemuMissing) as info:
        sb.load_seedemu(str(tmp_path))
    assert str(tmp_path) in str(info.value)


def test_run_script_refuses_a_missing_program(tmp_path):
    with pytest.raises(sb.BuildError) as info:
        sb.run_script(str(tmp_path / "nope.py"), str(tmp_path), "p")
    assert "nope.py does not exist" in str(info.value)


def test_collections_root_holds_the_collection():
    root = sb._collections_root()
    assert os.path.isfile(os.path.join(root, "ansible_collections", "seed", "fate", "plugins", "module_utils",
                                       "seedemu_build.py"))


def test_offline_defaults_cover_the_router_image():
    # The offline image stands in for seedemu's base and router images: bird2 must be declared.
    assert "bird2" in sb.DEFAULT_OFFLINE_SOFTWARE and "iproute2" in sb.DEFAULT_OFFLINE_SOFTWARE


def _caller_of_callee():
    return _callee()


def _callee():
    import inspect
    return inspect.stack()[1].function


def test_light_stack_keeps_caller_names_and_is_restored():
    import inspect
    original = inspect.stack
    with sb.light_stack():
        assert inspect.stack is not original
        assert _caller_of_callee() == "_caller_of_callee"
        record = inspect.stack()[0]
        assert record.function == "test_light_stack_keeps_caller_names_and_is_restored"
        assert record.filename == __file__ and record.lineno > 0
    assert inspect.stack is original
    with sb.light_stack(enabled=False):
        assert inspect.stack is original


def test_render_lab_maps_an_unimportable_seedemu(tmp_path):
    # A seedemu that fails to import, as a checkout missing its dependencies would.
    root = tmp_path / "checkout"
    (root / "seedemu").mkdir(parents=True)
    (root / "seedemu" / "__init__.py").write_text("import geopy_that_is_not_installed\n")
    staging = tmp_path / "staging"
    staging.mkdir()
    model = {"internet_exchanges": [], "autonomous_systems": [], "peerings": [], "parties": []}
    with pytest.raises(sb.SeedemuMissing) as info:
        sb.render_lab(model, "p", str(staging), seedemu_path=str(root))
    assert "geopy_that_is_not_installed" in str(info.value)
