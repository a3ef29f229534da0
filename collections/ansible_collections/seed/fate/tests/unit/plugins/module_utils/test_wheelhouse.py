# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of module_utils/wheelhouse.py: lock parsing, wheel matching, pip only for what is missing,
staging, check mode. No network, no pip: the runner is a fake that drops wheel files into the cache."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.seed.fate.plugins.module_utils import wheelhouse as wh

LOCK = """# a comment
fate-flow==2.2.0
PyYAML==6.0.4
ruamel.yaml==0.16.0
torch==2.13.0+cpu
mmh3==3.0.0
"""
WHEELS = {
    "fate-flow==2.2.0": "fate_flow-2.2.0-py3-none-any.whl",
    "PyYAML==6.0.4": "PyYAML-6.0.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "ruamel.yaml==0.16.0": "ruamel.yaml-0.16.0-py2.py3-none-any.whl",
    "torch==2.13.0+cpu": "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
    "mmh3==3.0.0": "mmh3-3.0.0-cp311-cp311-linux_x86_64.whl",
}


def touch(folder, name, content=b"wheel"):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(content)


class FakePip(object):
    """Answers the interpreter probe and `pip wheel -r FILE -w CACHE` by creating the wheels asked for."""

    def __init__(self, version="3.11 x86_64", fail=()):
        self.version = version
        self.fail = set(fail)
        self.commands = []
        self.requested = []

    def __call__(self, args):
        self.commands.append(list(args))
        if args[1] == "-c":
            return 0, self.version + "\n", ""
        req = args[args.index("-r") + 1]
        cache = args[args.index("-w") + 1]
        with open(req) as f:
            lines = [line.strip() for line in f if line.strip()]
        self.requested.extend(lines)
        rc = 0
        for line in lines:
            if line in self.fail:
                rc = 1
                continue
            touch(cache, WHEELS[line])
        return rc, "", "ERROR: no matching distribution" if rc else ""


# ---------------------------------------------------------------------------- parsing

def test_parse_lock_normalises_and_skips_comments():
    pins = wh.parse_lock(LOCK)
    expected = [("fate-flow", "2.2.0"), ("pyyaml", "6.0.4"), ("ruamel-yaml", "0.16.0"), ("torch", "2.13.0+cpu"),
                ("mmh3", "3.0.0")]
    assert [(n, v) for n, v, _l in pins] == expected
    assert pins[1][2] == "PyYAML==6.0.4"


@pytest.mark.parametrize("text", ["torch>=2.0\n", "-e git+https://x/y\n", "fate-flow @ file:///x.whl\n", "\n# only\n",
                                  "a==1\nA==2\n"])
def test_parse_lock_rejects_anything_but_exact_pins(text):
    with pytest.raises(wh.WheelhouseError):
        wh.parse_lock(text)


def test_parse_lock_allows_extras_and_duplicates_of_the_same_pin():
    pins = wh.parse_lock("pyfate[rabbitmq]==2.2.0\npyfate==2.2.0\n")
    assert [(n, v) for n, v, _l in pins] == [("pyfate", "2.2.0")]


def test_parse_wheel_filename():
    w = wh.parse_wheel_filename(WHEELS["PyYAML==6.0.4"])
    assert w["name"] == "pyyaml" and w["version"] == "6.0.4"
    assert w["plat"] == {"manylinux_2_17_x86_64", "manylinux2014_x86_64"}
    assert wh.parse_wheel_filename("mmh3-3.0.0.tar.gz") is None
    assert wh.parse_wheel_filename("pkg-1.0-1build-py3-none-any.whl")["build"] == "1build"


@pytest.mark.parametrize("name,ok", [
    ("x-1-py3-none-any.whl", True),
    ("x-1-py2.py3-none-any.whl", True),
    ("x-1-cp311-cp311-manylinux_2_17_x86_64.whl", True),
    ("x-1-cp311-cp311-linux_x86_64.whl", True),
    ("x-1-cp38-abi3-manylinux2014_x86_64.whl", True),
    ("x-1-cp312-cp312-manylinux_2_17_x86_64.whl", False),
    ("x-1-cp311-cp311-musllinux_1_1_x86_64.whl", False),
    ("x-1-cp311-cp311-manylinux_2_17_aarch64.whl", False),
    ("x-1-cp311-cp311-win_amd64.whl", False),
    ("x-1-py2-none-any.whl", False),
])
def test_compatible_with_bookworm_python(name, ok):
    assert wh.compatible(wh.parse_wheel_filename(name), "3.11", "x86_64") is ok


def test_plan_prefers_published_wheel_over_local_build(tmp_path):
    cache = str(tmp_path / "cache")
    touch(cache, "mmh3-3.0.0-cp311-cp311-linux_x86_64.whl")
    touch(cache, "mmh3-3.0.0-cp311-cp311-manylinux_2_17_x86_64.whl")
    touch(cache, "mmh3-3.0.0-cp312-cp312-manylinux_2_17_x86_64.whl")
    present, missing = wh.plan(wh.parse_lock("mmh3==3.0.0\nsix==1.17.0\n"), cache)
    assert present == {"mmh3": "mmh3-3.0.0-cp311-cp311-manylinux_2_17_x86_64.whl"}
    assert missing == ["six==1.17.0"]


def test_pip_wheel_command_with_user_indexes():
    cmd = wh.pip_wheel_command("/usr/bin/python3", "/t/req.txt", "/c", index_url="https://pypi.org/simple",
                               extra_index_urls=["https://download.pytorch.org/whl/cpu"], find_links=["/opt/wheels"])
    assert cmd == ["/usr/bin/python3", "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
                   "-r", "/t/req.txt", "-w", "/c", "--index-url", "https://pypi.org/simple",
                   "--extra-index-url", "https://download.pytorch.org/whl/cpu", "--find-links", "/opt/wheels"]


# ---------------------------------------------------------------------------- ensure

def house(tmp_path, runner, lock=LOCK, **kw):
    return wh.Wheelhouse(runner, lock, str(tmp_path / "cache"), str(tmp_path / "house"), python="/usr/bin/python3",
                         tmpdir=str(tmp_path), **kw)


def test_cold_downloads_everything_then_warm_does_nothing(tmp_path):
    pip = FakePip()
    res = house(tmp_path, pip).ensure()
    assert res["changed"] is True and res["pins"] == 5 and res["cached"] == 5
    assert sorted(res["downloaded"]) == sorted(WHEELS)
    assert sorted(os.listdir(str(tmp_path / "house"))) == sorted(list(WHEELS.values()) + [wh.LOCK_NAME])
    with open(str(tmp_path / "house" / wh.LOCK_NAME)) as f:
        assert f.read() == LOCK
    # hard links into the cache, not copies
    assert os.path.samefile(str(tmp_path / "house" / WHEELS["torch==2.13.0+cpu"]),
                            str(tmp_path / "cache" / WHEELS["torch==2.13.0+cpu"]))
    assert res["wheels"][0] == WHEELS["fate-flow==2.2.0"]

    pip2 = FakePip()
    res2 = house(tmp_path, pip2).ensure()
    assert res2["changed"] is False and res2["downloaded"] == [] and res2["staged"] == [] and res2["removed"] == []
    assert pip2.commands == []  # not even the interpreter probe
    assert res2["lock_sha256"] == res["lock_sha256"]


def test_changed_lock_fetches_only_the_new_pin_and_prunes_the_old(tmp_path):
    house(tmp_path, FakePip()).ensure()
    WHEELS["PyYAML==6.0.5"] = "PyYAML-6.0.5-cp311-cp311-manylinux_2_17_x86_64.whl"
    try:
        pip = FakePip()
        res = house(tmp_path, pip, lock=LOCK.replace("PyYAML==6.0.4", "PyYAML==6.0.5")).ensure()
    finally:
        del WHEELS["PyYAML==6.0.5"]
    assert pip.requested == ["PyYAML==6.0.5"]
    assert res["changed"] is True
    assert sorted(res["staged"]) == sorted(["PyYAML-6.0.5-cp311-cp311-manylinux_2_17_x86_64.whl", wh.LOCK_NAME])
    assert res["removed"] == [WHEELS["PyYAML==6.0.4"]]
    # the cache only grows: the old wheel is still there for the old lock
    assert os.path.exists(str(tmp_path / "cache" / WHEELS["PyYAML==6.0.4"]))


def test_check_mode_writes_nothing(tmp_path):
    pip = FakePip()
    res = house(tmp_path, pip).ensure(check_mode=True)
    assert res["changed"] is True and sorted(res["missing"]) == sorted(WHEELS)
    assert pip.commands == [] and not os.path.exists(str(tmp_path / "house"))
    house(tmp_path, FakePip()).ensure()
    touch(str(tmp_path / "house"), "stale-1.0-py3-none-any.whl")
    res = house(tmp_path, FakePip()).ensure(check_mode=True)
    assert res["changed"] is True and res["removed"] == ["stale-1.0-py3-none-any.whl"]
    assert os.path.exists(str(tmp_path / "house" / "stale-1.0-py3-none-any.whl"))


def test_wrong_interpreter_fails_before_pip(tmp_path):
    pip = FakePip(version="3.12 x86_64")
    with pytest.raises(wh.WheelhouseError) as err:
        house(tmp_path, pip).ensure()
    assert "Python 3.12" in err.value.msg and "3.11" in err.value.msg
    assert len(pip.commands) == 1


def test_pip_failure_names_the_missing_pins(tmp_path):
    pip = FakePip(fail=["torch==2.13.0+cpu"])
    with pytest.raises(wh.WheelhouseError) as err:
        house(tmp_path, pip).ensure()
    assert "torch==2.13.0+cpu" in err.value.msg and err.value.details["missing"] == ["torch==2.13.0+cpu"]
    # what did come down stays in the cache for the next try
    pip2 = FakePip()
    house(tmp_path, pip2).ensure()
    assert pip2.requested == ["torch==2.13.0+cpu"]


def test_copy_replaced_when_content_differs(tmp_path):
    house(tmp_path, FakePip()).ensure()
    target = str(tmp_path / "house" / WHEELS["mmh3==3.0.0"])
    os.unlink(target)
    touch(os.path.dirname(target), os.path.basename(target), b"corrupt")
    res = house(tmp_path, FakePip()).ensure()
    assert res["staged"] == [os.path.basename(target)] and res["changed"] is True
    with open(target, "rb") as f:
        assert f.read() == b"wheel"


def test_real_lock_of_the_role_parses():
    here = os.path.dirname(os.path.abspath(__file__))
    lock = os.path.join(here, *[".."] * 4, "roles", "images", "files", "fate22", "requirements.lock")
    with open(lock) as f:
        pins = dict((n, v) for n, v, _l in wh.parse_lock(f.read()))
    assert len(pins) == 83
    assert pins["pyfate"] == "2.2.0" and pins["fate-flow"] == "2.2.0" and pins["fate-client"] == "2.2.0"
    assert pins["torch"] == "2.13.0+cpu" and pins["werkzeug"] == "2.2.3" and pins["pandas"] == "2.0.3"
    assert pins["pika"] == "1.2.1" and pins["mmh3"] == "3.0.0"
