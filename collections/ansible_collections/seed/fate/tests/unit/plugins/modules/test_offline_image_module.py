# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""seed.fate.offline_image through AnsibleModule, with run_command patched: the exact commands."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.seed.fate.plugins.module_utils import offline_image as oi
from ansible_collections.seed.fate.plugins.modules import offline_image as module

DOCKER = "/usr/bin/docker"
MMDEBSTRAP = "/usr/bin/mmdebstrap"


class Exit(Exception):
    pass


def run_module(monkeypatch, capsys, args, responses):
    """Run main() with ``args``; ``responses(cmd) -> (rc, out, err)``. Returns (result, commands)."""
    commands = []

    def run_command(self, args, data=None, binary_data=False, **kwargs):
        commands.append(list(args))
        return responses(list(args))

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return {"docker": DOCKER, "mmdebstrap": MMDEBSTRAP}.get(name)

    def exit_json(self, **kwargs):
        print(json.dumps(dict(kwargs, failed=False)))
        raise Exit()

    def fail_json(self, **kwargs):
        print(json.dumps(dict(kwargs, failed=True)))
        raise Exit()

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", get_bin_path)
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    with patch_module_args(args):
        with pytest.raises(Exit):
            module.main()
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1]), commands


def labelled(hash_value, image_id="sha256:new"):
    return json.dumps({"Id": image_id, "Size": 42, "Config": {"Labels": {oi.HASH_LABEL: hash_value}}})


def test_build_runs_exact_pipe_then_tags(monkeypatch, capsys):
    state = {}

    def responses(cmd):
        if cmd[:3] == [DOCKER, "image", "inspect"]:
            if "built" in state:
                return 0, labelled(state["hash"]), ""
            return 1, "", "Error: No such image: sftest/node:1"
        if cmd[0] == "bash":
            state["built"] = True
            state["hash"] = cmd[2].split("seed.fate/recipe-hash=")[1].split("'")[0]
            return 0, "sha256:new\n", "I: success\n%s 0 0\n" % oi.PIPE_STATUS_MARK
        return 0, "", ""

    res, commands = run_module(monkeypatch, capsys, {
        "name": "sftest/node:1", "packages": ["iproute2", "bird2"], "cmd": ["/bin/bash"],
        "labels": {"seed.fate/software": "iproute2,bird2"}, "mirror": "http://deb.debian.org/debian",
    }, responses)
    assert res["failed"] is False and res["changed"] is True and res["built"] is True
    assert res["id"] == "sha256:new" and res["size"] == 42
    assert commands[0] == [DOCKER, "image", "inspect", "--format", "{{json .}}", "sftest/node:1"]
    h = res["recipe_hash"]
    assert commands[1] == ["bash", "-c", (
        "/usr/bin/mmdebstrap --variant=apt --format=tar --include=bird2,iproute2 bookworm - "
        "http://deb.debian.org/debian | /usr/bin/docker import --change 'CMD [\"/bin/bash\"]' "
        "--change 'LABEL seed.fate/software=\"iproute2,bird2\"' --change 'LABEL seed.fate/recipe-hash=%s' -\n"
        "set -- \"${PIPESTATUS[@]}\"\necho \"%s $1 $2\" >&2\n[ \"$1\" = 0 ] && [ \"$2\" = 0 ]"
    ) % (h, oi.PIPE_STATUS_MARK)]
    assert commands[2] == [DOCKER, "tag", "sha256:new", "sftest/node:1"]
    assert res["commands"] == commands


def test_up_to_date_image_is_left_alone(monkeypatch, capsys):
    args = {"name": "sftest/node:1", "packages": ["bird2"]}
    wanted = oi.recipe_hash(oi.debian_recipe("bookworm", "apt", ["bird2"]))
    res, commands = run_module(monkeypatch, capsys, args, lambda cmd: (0, labelled(wanted, "sha256:old"), ""))
    assert res["changed"] is False and res["id"] == "sha256:old" and res["build_seconds"] == 0.0
    assert len(commands) == 1


def test_check_mode_with_diff_builds_nothing(monkeypatch, capsys):
    args = {"name": "sftest/node:1", "packages": ["bird2"], "_ansible_check_mode": True, "_ansible_diff": True}
    res, commands = run_module(monkeypatch, capsys, args, lambda cmd: (0, labelled("stale", "sha256:old"), ""))
    assert res["changed"] is True and res["built"] is False
    assert res["diff"]["before"] == {"id": "sha256:old", "recipe_hash": "stale"}
    assert res["diff"]["after"]["recipe_hash"] == res["recipe_hash"] != "stale"
    assert [c[1:3] for c in commands] == [["image", "inspect"]]


def test_mmdebstrap_failure_names_package_and_shows_stderr(monkeypatch, capsys):
    def responses(cmd):
        if cmd[0] == "bash":
            return 1, "sha256:half\n", "E: Unable to locate package nopkg\n%s 1 0\n" % oi.PIPE_STATUS_MARK
        if cmd[1:3] == ["image", "inspect"]:
            return 1, "", "Error: No such image"
        return 0, "", ""

    res, commands = run_module(monkeypatch, capsys, {"name": "sftest/x:1", "packages": ["nopkg"]}, responses)
    assert res["failed"] is True
    assert "mmdebstrap failed" in res["msg"] and "nopkg" in res["msg"]
    assert "Unable to locate package nopkg" in res["stderr"]
    assert [DOCKER, "image", "rm", "sha256:half"] in commands
    assert not any(c[1] == "tag" for c in commands if c[0] == DOCKER)


def test_debian_options_are_refused_with_base_image(monkeypatch, capsys):
    res, commands = run_module(monkeypatch, capsys, {"name": "a:1", "base_image": "b:1", "packages": ["jq"]},
                               lambda cmd: (0, "", ""))
    assert res["failed"] and "packages" in res["msg"] and "base_image" in res["msg"]
    assert commands == []


def test_bad_env_fails_before_any_docker_change(monkeypatch, capsys):
    res, commands = run_module(monkeypatch, capsys, {"name": "a:1", "env": {"A": "x\ny"}},
                               lambda cmd: (1, "", "Error: No such image"))
    assert res["failed"] and "env.A" in res["msg"]
    assert commands == []


def test_derived_mode_exact_commands(monkeypatch, capsys):
    base = json.dumps({"Id": "sha256:base", "Size": 7, "Config": {"Labels": {}}})

    def responses(cmd):
        if cmd[1:3] == ["image", "inspect"]:
            if cmd[-1] == "sftest/base:1":
                return 0, base, ""
            if cmd[-1] == "sftest/proxy:1" and any(c[1] == "tag" for c in seen):
                return 0, labelled("x", "sha256:child"), ""
            return 1, "", "Error: No such image"
        if cmd[1] == "commit":
            return 0, "sha256:child\n", ""
        return 0, "", ""

    seen = []

    def recording(cmd):
        seen.append(cmd)
        return responses(cmd)

    res, commands = run_module(monkeypatch, capsys, {
        "name": "sftest/proxy:1", "base_image": "sftest/base:1",
        "env": {"STANDIN_PORTS": "9370", "STANDIN_NAME": "proxy"}, "expose": ["9370"],
    }, recording)
    assert res["changed"] is True and res["id"] == "sha256:child"
    tmp = commands[2][3]
    assert commands[2:6] == [
        [DOCKER, "create", "--name", tmp, "sftest/base:1"],
        [DOCKER, "commit", "--change", 'ENV STANDIN_NAME="proxy"', "--change", 'ENV STANDIN_PORTS="9370"',
         "--change", "EXPOSE 9370", "--change", "LABEL seed.fate/recipe-hash=%s" % res["recipe_hash"], tmp],
        [DOCKER, "rm", "--force", tmp],
        [DOCKER, "tag", "sha256:child", "sftest/proxy:1"],
    ]


def test_recipes_are_checked_in_one_run_over_the_top_level_options(monkeypatch, capsys):
    # One image up to date with the top-level suite, one whose own suite makes it stale.
    current = oi.recipe_hash(oi.debian_recipe("trixie", "apt", ["bird2"]))
    args = {"recipes": [{"name": "sftest/a:1", "packages": ["bird2"]},
                        {"name": "sftest/b:1", "packages": ["bird2"], "suite": "bookworm"}],
            "suite": "trixie", "_ansible_check_mode": True}
    res, commands = run_module(monkeypatch, capsys, args, lambda cmd: (0, labelled(current, "sha256:old"), ""))
    assert res["failed"] is False and res["changed"] is True
    assert [(i["image"], i["changed"], i["built"]) for i in res["images"]] == [
        ("sftest/a:1", False, False), ("sftest/b:1", True, False)]
    # The hash of an item is the one the single-image call computes for the same options.
    single_args = {"name": "sftest/b:1", "packages": ["bird2"], "suite": "bookworm", "_ansible_check_mode": True}
    single, dummy = run_module(monkeypatch, capsys, single_args, lambda cmd: (0, labelled(current, "sha256:old"), ""))
    assert res["images"][1]["recipe_hash"] == single["recipe_hash"]
    assert [c[1:3] for c in commands] == [["image", "inspect"], ["image", "inspect"]]


def test_a_bad_recipe_is_named_by_its_index(monkeypatch, capsys):
    args = {"recipes": [{"name": "sftest/a:1"}, {"packages": ["bird2"]}, {"name": "sftest/c:1", "env": "x=1"}]}
    res, commands = run_module(monkeypatch, capsys, args, lambda cmd: (0, labelled("x"), ""))
    assert res["failed"] and res["msg"].startswith("recipes[1]: ") and "name" in res["msg"]
    assert commands == []   # refused before any image was looked at


def test_name_and_recipes_exclude_each_other(monkeypatch, capsys):
    both = {"name": "sftest/a:1", "recipes": [{"name": "sftest/b:1"}]}
    res, dummy = run_module(monkeypatch, capsys, both, lambda cmd: (0, labelled("x"), ""))
    assert res["failed"] and "mutually exclusive" in res["msg"]
