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


def test_offline_defaults_are_what_the_images_role_builds():
    # The fallback (no image to read the label from) must say what role seed.fate.images really puts in:
    # the role's default is the lookup that returns NODE_SOFTWARE.
    import yaml
    from ansible_collections.seed.fate.plugins.lookup import node_software
    role = os.path.join(os.path.dirname(sb.__file__), "..", "..", "roles", "images", "defaults", "main.yml")
    with open(role) as f:
        defaults = yaml.safe_load(f)
    assert defaults["images_node_software"] == "{{ lookup('seed.fate.node_software') }}"
    role_default, = node_software.LookupModule().run([])
    assert sorted(role_default) == sorted(sb.DEFAULT_OFFLINE_SOFTWARE)
    # What seedemu's real-world routers and WebService ask for is carried.
    assert {"iptables", "nginx-light"} <= set(sb.DEFAULT_OFFLINE_SOFTWARE)


# Dockerfiles as seedemu's Docker compiler writes them (upstream da525dd9), plus a user's build command.
ROUTER_RW = ("FROM 6070c0c3131d49dc1bfe1cb85703b48c\nARG DEBIAN_FRONTEND=noninteractive\n"
             "RUN apt-get update && apt-get install -y --no-install-recommends iptables\n"
             "COPY 2b0ae038330eccd43095538618caee7d /etc/bird/bird.conf\n"
             "COPY 40d3a92b5bc934f3eb6786fdfdcd1859 /rw_configure_script\nCMD [\"/start.sh\"]\n")
WEB = ("FROM 6070c0c3131d49dc1bfe1cb85703b48c\n"
       "RUN apt-get update && apt-get install -y --no-install-recommends cowsay nginx-light\n"
       "RUN apt-get -q install -y figlet; echo done\nCMD [\"/start.sh\"]\n")
CLEAN = "FROM 6070c0c3131d49dc1bfe1cb85703b48c\nRUN chmod +x /start.sh\nCMD [\"/start.sh\"]\n"


def compiled_tree():
    return {"docker-compose.yml": b"services: {}\n", "dummies/6070c0c3131d49dc1bfe1cb85703b48c": b"FROM x\n",
            "brdnode_99999_rw/Dockerfile": ROUTER_RW.encode(), "hnode_150_web/Dockerfile": WEB.encode(),
            "rs_ix_ix100/Dockerfile": CLEAN.encode(), "hnode_150_web/start.sh": b"apt-get install nothing-here\n"}


def test_packages_to_install_reads_every_apt_get_of_every_node():
    assert sb.packages_to_install(compiled_tree()) == {
        "brdnode_99999_rw": ["iptables"],
        "hnode_150_web": ["cowsay", "figlet", "nginx-light"],   # options and what follows ';' are not packages
    }
    assert sb.packages_to_install({"rs_ix_ix100/Dockerfile": CLEAN.encode()}) == {}


def test_missing_software_message_names_node_package_and_variable():
    msg = sb.missing_software_message({"hnode_150_web": ["cowsay"], "brdnode_99999_rw": ["iptables"]},
                                      "seedfate/seedemu-node:bookworm")
    assert "hnode_150_web: cowsay" in msg and "brdnode_99999_rw: iptables" in msg
    assert "seedfate/seedemu-node:bookworm" in msg
    assert "images_node_software" in msg and '"cowsay": "cowsay"' in msg


def test_real_world_routers_are_found_by_their_configure_script():
    assert sb.real_world_routers(compiled_tree()) == ["brdnode_99999_rw"]


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


class _FakeLayer(object):
    def __init__(self):
        self.masked = []

    def maskAsn(self, asn):  # noqa: N802 - seedemu's name
        self.masked.append(asn)
        return self


class _FakeEmu(object):
    def __init__(self):
        self.layers = []

    def addLayer(self, layer):  # noqa: N802 - seedemu's name
        self.layers.append(layer)


def _fake_seedemu_layers(monkeypatch):
    import types
    mod = types.ModuleType("seedemu.layers")
    mod.Ibgp = type("Ibgp", (_FakeLayer,), {})
    mod.Ospf = type("Ospf", (_FakeLayer,), {})
    monkeypatch.setitem(sys.modules, "seedemu", types.ModuleType("seedemu"))
    monkeypatch.setitem(sys.modules, "seedemu.layers", mod)


def _model(routers_per_as):
    return {"autonomous_systems": [{"asn": asn, "routers": [{"name": "r%d" % i, "joins": []} for i in range(n)]}
                                   for asn, n in routers_per_as]}


def test_interior_routing_for_multi_router_ases_only(monkeypatch):
    _fake_seedemu_layers(monkeypatch)
    emu = _FakeEmu()
    assert sb.add_interior_routing(emu, _model([(240, 2), (241, 1), (242, 3)])) == [240, 242]
    assert [type(layer).__name__ for layer in emu.layers] == ["Ospf", "Ibgp"]
    # Single-router ASes are masked in both: their compiled routers stay as they were without the layers.
    assert all(layer.masked == [241] for layer in emu.layers)


def test_interior_routing_adds_nothing_to_a_lab_of_single_router_ases(monkeypatch):
    _fake_seedemu_layers(monkeypatch)
    emu = _FakeEmu()
    assert sb.add_interior_routing(emu, _model([(150, 1), (151, 1)])) == [] and emu.layers == []


def test_interior_routing_testing_switch_leaves_ibgp_out(monkeypatch):
    _fake_seedemu_layers(monkeypatch)
    emu = _FakeEmu()
    sb.add_interior_routing(emu, _model([(240, 2)]), ibgp=False)
    assert [type(layer).__name__ for layer in emu.layers] == ["Ospf"]
