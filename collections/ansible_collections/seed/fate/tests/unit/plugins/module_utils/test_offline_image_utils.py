# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of module_utils/offline_image.py: recipe hash, command lines, build flow."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import shutil
import subprocess
import tarfile

import pytest

from ansible_collections.seed.fate.plugins.module_utils import offline_image as oi
from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DockerCli

DOCKER = "/usr/bin/docker"


def node_recipe(**over):
    args = dict(suite="bookworm", variant="apt", packages=["iproute2", "bird2"], files=[], options=[],
                changes=["CMD [\"/bin/bash\"]"])
    args.update(over)
    return oi.debian_recipe(**args)


# ---------------------------------------------------------------------------- recipe hash

def test_hash_is_stable_and_pinned():
    # A change here rebuilds every user's images: bump RECIPE_FORMAT on purpose, never by accident.
    first = oi.recipe_hash(node_recipe())
    assert first == oi.recipe_hash(node_recipe())
    assert first == "03a977faaa8f31a3f1f8033a5ebe1596ab317ba18ad7342122085df8879a207f"


def test_hash_ignores_package_order_duplicates_and_dict_order():
    a = oi.debian_recipe("bookworm", "apt", ["bird2", "iproute2"],
                         changes=oi.docker_changes(env={"A": "1", "B": "2"}, labels={"x": "1", "y": "2"}))
    b = oi.debian_recipe("bookworm", "apt", ["iproute2", "bird2", "bird2"],
                         changes=oi.docker_changes(env={"B": "2", "A": "1"}, labels={"y": "2", "x": "1"}))
    assert oi.recipe_hash(a) == oi.recipe_hash(b)


@pytest.mark.parametrize("over", [
    {"suite": "trixie"},
    {"variant": "minbase"},
    {"packages": ["iproute2", "bird2", "jq"]},
    {"packages": ["iproute2"]},
    {"options": ["--dpkgopt=path-exclude=/usr/share/man/*"]},
    {"changes": ["CMD [\"/bin/sh\"]"]},
    {"changes": ["CMD [\"/bin/bash\"]", "ENV A=\"1\""]},
])
def test_hash_changes_with_every_input(over):
    assert oi.recipe_hash(node_recipe(**over)) != oi.recipe_hash(node_recipe())


def test_hash_follows_file_content_and_mode(tmp_path):
    src = tmp_path / "prog"
    src.write_text("print(1)\n")
    spec = [{"src": str(src), "dest": "/usr/local/bin/prog", "mode": "0755"}]
    base = oi.recipe_hash(node_recipe(files=oi.normalize_files(spec)))
    assert base == oi.recipe_hash(node_recipe(files=oi.normalize_files(spec)))
    src.write_text("print(2)\n")
    changed_content = oi.recipe_hash(node_recipe(files=oi.normalize_files(spec)))
    spec[0]["mode"] = "0644"
    changed_mode = oi.recipe_hash(node_recipe(files=oi.normalize_files(spec)))
    assert len({base, changed_content, changed_mode}) == 3
    # The same bytes given inline are the same file.
    inline = [{"content": "print(2)\n", "dest": "/usr/local/bin/prog", "mode": "0644"}]
    assert oi.recipe_hash(node_recipe(files=oi.normalize_files(inline))) == changed_mode


def test_derived_hash_follows_base_id_and_changes():
    a = oi.recipe_hash(oi.derived_recipe("b:1", "sha256:aa", ["ENV X=\"1\""]))
    assert a == oi.recipe_hash(oi.derived_recipe("b:1", "sha256:aa", ["ENV X=\"1\""]))
    assert a != oi.recipe_hash(oi.derived_recipe("b:1", "sha256:bb", ["ENV X=\"1\""]))
    assert a != oi.recipe_hash(oi.derived_recipe("b:1", "sha256:aa", ["ENV X=\"2\""]))


# ---------------------------------------------------------------------------- validation

@pytest.mark.parametrize("kwargs, words", [
    ({"env": {"A": "x\ny"}}, ["env.A", "line break"]),
    ({"env": {"1A": "x"}}, ["env", "1A"]),
    ({"labels": {oi.HASH_LABEL: "x"}}, ["labels", oi.HASH_LABEL]),
    ({"labels": {"bad key": "x"}}, ["labels", "bad key"]),
    ({"expose": ["http"]}, ["expose", "http"]),
    ({"changes": ["RUN apt-get update"]}, ["changes", "RUN apt-get update"]),
])
def test_bad_changes_name_the_field(kwargs, words):
    with pytest.raises(oi.ImageError) as err:
        oi.docker_changes(**kwargs)
    for word in words:
        assert word in err.value.msg


@pytest.mark.parametrize("files, words", [
    ([{"dest": "relative/path", "content": "x"}], ["files[0].dest", "relative/path"]),
    ([{"dest": "/a"}], ["files[0]", "src or content"]),
    ([{"dest": "/a", "src": "/nonexistent/seedfate"}], ["files[0].src", "/nonexistent/seedfate"]),
    ([{"dest": "/a", "content": "x", "mode": "rwx"}], ["files[0].mode", "rwx"]),
    ([{"dest": "/a", "content": "x"}, {"dest": "/a", "content": "y"}], ["files[1].dest", "twice"]),
])
def test_bad_files_name_the_entry(files, words):
    with pytest.raises(oi.ImageError) as err:
        oi.normalize_files(files)
    for word in words:
        assert word in err.value.msg


def test_bad_package_and_variant_are_named():
    with pytest.raises(oi.ImageError, match="packages: 'bird2; rm -rf /'"):
        oi.normalize_packages(["bird2; rm -rf /"])
    with pytest.raises(oi.ImageError, match="variant.*'tiny'"):
        oi.debian_recipe("bookworm", "tiny", [])


def test_dockerfile_quote_keeps_values_literal():
    assert oi.docker_changes(env={"A": 'x "y" $HOME \\z'}) == ['ENV A="x \\"y\\" \\$HOME \\\\z"']


# ---------------------------------------------------------------------------- command lines

def test_mmdebstrap_command_exact():
    cmd = oi.mmdebstrap_command("bookworm", "apt", ["bird2", "iproute2"], mirror="http://deb.example/debian",
                                options=["--dpkgopt=path-exclude=/usr/share/man/*"],
                                files_tar_path="/tmp/w/files.tar", mmdebstrap="/usr/bin/mmdebstrap")
    assert cmd == ["/usr/bin/mmdebstrap", "--variant=apt", "--format=tar", "--include=bird2,iproute2",
                   "--dpkgopt=path-exclude=/usr/share/man/*", "--customize-hook=tar-in /tmp/w/files.tar /",
                   "bookworm", "-", "http://deb.example/debian"]


def test_mmdebstrap_command_minimal_lets_mmdebstrap_choose_the_mirror():
    assert oi.mmdebstrap_command("bookworm", "minbase", []) == [
        "mmdebstrap", "--variant=minbase", "--format=tar", "bookworm", "-"]


def test_import_and_commit_commands_exact():
    changes = ['CMD ["/bin/bash"]', 'LABEL seed.fate/software="bird2"']
    assert oi.import_command(changes, "abc", DOCKER) == [
        DOCKER, "import", "--change", 'CMD ["/bin/bash"]', "--change", 'LABEL seed.fate/software="bird2"',
        "--change", "LABEL seed.fate/recipe-hash=abc", "-"]
    assert oi.commit_command("tmp1", changes[:1], "abc", DOCKER) == [
        DOCKER, "commit", "--change", 'CMD ["/bin/bash"]', "--change", "LABEL seed.fate/recipe-hash=abc", "tmp1"]


@pytest.mark.parametrize("first, second, want_rc, want", [
    (["sh", "-c", "echo rootfs"], ["cat"], 0, (0, 0)),
    (["sh", "-c", "echo partial; exit 3"], ["cat"], 1, (3, 0)),
    (["true"], ["sh", "-c", "cat >/dev/null; exit 5"], 1, (0, 5)),
])
def test_pipe_command_reports_both_exit_codes(first, second, want_rc, want):
    # Real bash: this is what tells a failed mmdebstrap apart from a failed docker import.
    proc = subprocess.run(oi.pipe_command(first, second), capture_output=True, text=True, check=False)
    assert proc.returncode == want_rc
    assert oi.parse_pipe_status(proc.stderr) == want


def test_pipe_command_quotes_arguments():
    proc = subprocess.run(oi.pipe_command(["printf", "%s", "a b; echo INJECTED"], ["cat"]),
                          capture_output=True, text=True, check=False)
    assert proc.stdout == "a b; echo INJECTED"


def test_files_tar_has_modes_and_root_owner():
    files = oi.normalize_files([{"content": "#!/bin/sh\n", "dest": "/usr/local/bin/x", "mode": "0755"},
                                {"content": "k=v\n", "dest": "/etc/x.conf"}])
    with tarfile.open(fileobj=io.BytesIO(oi.files_tar(files))) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == ["etc/x.conf", "usr/local/bin/x"]  # no parent folders: existing ones stay
        assert members["usr/local/bin/x"].mode == 0o755 and members["etc/x.conf"].mode == 0o644
        assert members["usr/local/bin/x"].uid == 0
        assert tar.extractfile("etc/x.conf").read() == b"k=v\n"


@pytest.mark.parametrize("stderr, words", [
    ("E: Unable to locate package netcat\nE: Unable to locate package nopkg\n", ["netcat", "nopkg"]),
    ("E: Package 'netcat' has no installation candidate\n", ["netcat"]),
    ("Unknown option: varaint\n", ["--varaint"]),
    ("I: foo\nE: apt-get update failed\n", ["apt-get update failed"]),
])
def test_explain_mmdebstrap_failure_names_the_culprit(stderr, words):
    text = oi.explain_mmdebstrap_failure(stderr)
    for word in words:
        assert word in text


# ---------------------------------------------------------------------------- build flow (fake docker)

class FakeDocker(object):
    """Just enough of the docker CLI (and the mmdebstrap|import pipe) to drive OfflineImage."""

    def __init__(self, images=None, pipe=(0, 0), commit_rc=0):
        self.images = dict(images or {})  # name or id -> inspect dict
        self.calls = []
        self.pipe = pipe
        self.commit_rc = commit_rc
        self.containers = set()
        self.counter = 0

    def _new_image(self, changes):
        self.counter += 1
        labels = {}
        for change in changes:
            if change.startswith("LABEL "):
                key, value = change[6:].split("=", 1)
                labels[key] = value.strip('"')
        image_id = "sha256:%064d" % self.counter
        self.images[image_id] = {"Id": image_id, "Size": 1000 * self.counter, "Config": {"Labels": labels}}
        return image_id

    def __call__(self, args, data=None):
        self.calls.append(list(args))
        if args[0] == "bash":
            script = args[2]
            changes = [c for c in script.split("'") if c.startswith(("LABEL ", "CMD "))]
            image_id = self._new_image(changes) if self.pipe[1] == 0 else ""
            rc = 0 if self.pipe == (0, 0) else 1
            err = "E: Unable to locate package nopkg\n" if self.pipe[0] else ""
            return rc, image_id + "\n", err + "%s %d %d\n" % (oi.PIPE_STATUS_MARK, self.pipe[0], self.pipe[1])
        verb = args[1]
        if verb == "image" and args[2] == "inspect":
            info = self.images.get(args[-1])
            if info is None:
                return 1, "", "Error: No such image: %s\n" % args[-1]
            return 0, json.dumps(info), ""
        if verb == "image" and args[2] == "rm":
            if args[3] in self.images:
                del self.images[args[3]]
                return 0, "", ""
            return 1, "", "no such image"
        if verb == "tag":
            self.images[args[3]] = self.images[args[2]]
            return 0, "", ""
        if verb == "create":
            self.containers.add(args[3])
            return 0, "cid\n", ""
        if verb == "commit":
            if self.commit_rc:
                return self.commit_rc, "", "Error response from daemon: bad change"
            changes = [args[i + 1] for i, a in enumerate(args) if a == "--change"]
            return 0, self._new_image(changes) + "\n", ""
        if verb == "rm":
            self.containers.discard(args[-1])
            return 0, "", ""
        raise AssertionError("unexpected command %r" % (args,))


def debian_spec(**over):
    spec = {"name": "sftest/node:1", "suite": "bookworm", "variant": "apt", "packages": ["bird2"],
            "cmd": ["/bin/bash"], "labels": {"seed.fate/software": "bird2"}, "remove_replaced": True}
    spec.update(over)
    return spec


def test_missing_image_is_built_tagged_and_reported():
    fake = FakeDocker()
    res = oi.OfflineImage(DockerCli(fake, DOCKER), debian_spec()).ensure()
    assert res["changed"] and res["built"]
    assert res["id"] == "sha256:%064d" % 1 and res["size"] == 1000
    assert fake.images["sftest/node:1"]["Config"]["Labels"][oi.HASH_LABEL] == res["recipe_hash"]
    verbs = [c[1] if c[0] != "bash" else "pipe" for c in fake.calls]
    assert verbs == ["image", "pipe", "tag", "image"]
    script = fake.calls[1][2]
    assert script.startswith("mmdebstrap --variant=apt --format=tar --include=bird2 bookworm - | "
                             "/usr/bin/docker import --change 'CMD [\"/bin/bash\"]' ")
    assert "--change 'LABEL seed.fate/recipe-hash=%s' -\n" % res["recipe_hash"] in script
    assert fake.calls[2] == [DOCKER, "tag", res["id"], "sftest/node:1"]


def test_matching_label_means_no_build_and_no_change():
    fake = FakeDocker()
    first = oi.OfflineImage(DockerCli(fake, DOCKER), debian_spec()).ensure()
    fake.calls = []
    again = oi.OfflineImage(DockerCli(fake, DOCKER), debian_spec()).ensure()
    assert again["changed"] is False and again["built"] is False
    assert again["id"] == first["id"]
    assert [c[1:3] for c in fake.calls] == [["image", "inspect"]]


def test_force_rebuilds_and_check_mode_builds_nothing():
    fake = FakeDocker()
    oi.OfflineImage(DockerCli(fake, DOCKER), debian_spec()).ensure()
    forced = oi.OfflineImage(DockerCli(fake, DOCKER), debian_spec()).ensure(force=True)
    assert forced["changed"] and forced["built"]
    fake.calls = []
    checked = oi.OfflineImage(DockerCli(fake, DOCKER), debian_spec(packages=["bird2", "jq"])).ensure(check_mode=True)
    assert checked["changed"] is True and checked["built"] is False
    assert all(c[1:3] == ["image", "inspect"] for c in fake.calls)


def test_rebuild_removes_replaced_image_only_when_it_is_ours():
    fake = FakeDocker()
    first = oi.OfflineImage(DockerCli(fake, DOCKER), debian_spec()).ensure()
    second = oi.OfflineImage(DockerCli(fake, DOCKER), debian_spec(packages=["jq"])).ensure()
    assert second["replaced_image_removed"] is True and first["id"] not in fake.images
    foreign = {"Id": "sha256:foreign", "Size": 1, "Config": {"Labels": {}}}
    fake = FakeDocker(images={"sftest/node:1": foreign, "sha256:foreign": foreign})
    res = oi.OfflineImage(DockerCli(fake, DOCKER), debian_spec()).ensure()
    assert res["replaced_image_removed"] is False and "sha256:foreign" in fake.images


def test_failed_mmdebstrap_names_package_and_drops_the_half_image():
    fake = FakeDocker(pipe=(1, 0))
    with pytest.raises(oi.ImageError) as err:
        oi.OfflineImage(DockerCli(fake, DOCKER), debian_spec(packages=["nopkg"])).ensure()
    assert "mmdebstrap failed" in err.value.msg and "nopkg" in err.value.msg
    assert "stderr" in err.value.details and "Unable to locate package" in err.value.details["stderr"]
    assert "sftest/node:1" not in fake.images            # never tagged
    assert [DOCKER, "image", "rm", "sha256:%064d" % 1] in fake.calls
    assert not [k for k in fake.images if k.startswith("sha256:")]


def test_failed_import_is_reported_as_docker_failure():
    fake = FakeDocker(pipe=(0, 1))
    with pytest.raises(oi.ImageError, match="docker import failed"):
        oi.OfflineImage(DockerCli(fake, DOCKER), debian_spec()).ensure()


def test_files_go_in_through_one_tar_in_hook(tmp_path):
    fake = FakeDocker()
    spec = debian_spec(files=[{"content": "x", "dest": "/usr/local/bin/x", "mode": "0755"}])
    oi.OfflineImage(DockerCli(fake, DOCKER), spec, tmpdir=str(tmp_path)).ensure()
    script = fake.calls[1][2]
    assert "'--customize-hook=tar-in %s/" % tmp_path in script and "/files.tar /'" in script
    assert list(tmp_path.iterdir()) == []  # the work folder is gone


BASE = {"Id": "sha256:base1", "Size": 5, "Config": {"Labels": {oi.HASH_LABEL: "h"}}}


def derived_spec(**over):
    spec = {"name": "sftest/proxy:1", "base_image": "sftest/base:1", "env": {"STANDIN_PORTS": "9370"},
            "remove_replaced": True}
    spec.update(over)
    return spec


def test_derived_build_commits_a_temporary_container_and_removes_it():
    fake = FakeDocker(images={"sftest/base:1": BASE})
    res = oi.OfflineImage(DockerCli(fake, DOCKER), derived_spec()).ensure()
    assert res["changed"] and res["recipe"]["base_id"] == "sha256:base1"
    create, commit, rm = fake.calls[2], fake.calls[3], fake.calls[4]
    tmp = create[3]
    assert tmp.startswith(oi.TEMP_CONTAINER_PREFIX)
    assert create == [DOCKER, "create", "--name", tmp, "sftest/base:1"]
    assert commit == [DOCKER, "commit", "--change", 'ENV STANDIN_PORTS="9370"',
                      "--change", "LABEL seed.fate/recipe-hash=%s" % res["recipe_hash"], tmp]
    assert rm == [DOCKER, "rm", "--force", tmp]
    assert not fake.containers
    fake.calls = []
    assert oi.OfflineImage(DockerCli(fake, DOCKER), derived_spec()).ensure()["changed"] is False


def test_derived_rebuilds_when_base_changes():
    fake = FakeDocker(images={"sftest/base:1": BASE})
    first = oi.OfflineImage(DockerCli(fake, DOCKER), derived_spec()).ensure()
    fake.images["sftest/base:1"] = dict(BASE, Id="sha256:base2")
    second = oi.OfflineImage(DockerCli(fake, DOCKER), derived_spec()).ensure()
    assert second["changed"] and second["recipe_hash"] != first["recipe_hash"]


def test_derived_commit_failure_still_removes_the_container():
    fake = FakeDocker(images={"sftest/base:1": BASE}, commit_rc=1)
    with pytest.raises(oi.ImageError, match="docker commit failed.*bad change"):
        oi.OfflineImage(DockerCli(fake, DOCKER), derived_spec()).ensure()
    assert not fake.containers and fake.calls[-1][1] == "rm"


def test_derived_missing_base_fails_but_check_mode_only_warns():
    fake = FakeDocker()
    with pytest.raises(oi.ImageError, match="base_image sftest/base:1 does not exist"):
        oi.OfflineImage(DockerCli(fake, DOCKER), derived_spec()).ensure()
    builder = oi.OfflineImage(DockerCli(fake, DOCKER), derived_spec())
    res = builder.ensure(check_mode=True)
    assert res["changed"] is True and builder.warnings


# ---------------------------------------------------------------------------- early package check

POLICY = "jq:\n  Installed: (none)\n  Candidate: 1.6\nnetcat:\n  Installed: (none)\n  Candidate: (none)\n"


def test_unknown_packages_from_apt_cache_policy():
    calls = []

    def runner(args):
        calls.append(args)
        return 0, POLICY, ""

    assert oi.unknown_packages(runner, ["jq=1.6", "netcat", "nopkg", "jq"]) == ["nopkg"]
    assert calls == [["apt-cache", "policy", "jq", "netcat", "nopkg"]]
    assert oi.unknown_packages(lambda args: (100, "", "E: boom"), ["nopkg"]) == []  # no verdict


@pytest.mark.skipif(not shutil.which("apt-cache"), reason="no apt-cache on this machine")
def test_unknown_packages_with_the_real_apt_cache():
    def runner(args):
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    assert oi.unknown_packages(runner, ["apt", "nopkg-seedfate-unknown"]) == ["nopkg-seedfate-unknown"]


def test_build_stops_before_mmdebstrap_on_unknown_package():
    fake = FakeDocker()

    def runner(args, data=None):
        if args[0] == "/usr/bin/apt-cache":
            fake.calls.append(args)
            return 0, POLICY, ""
        return fake(args, data)

    spec = debian_spec(packages=["jq", "nopkg"])
    builder = oi.OfflineImage(DockerCli(runner, DOCKER), spec, apt_cache="/usr/bin/apt-cache", host_suite="bookworm")
    with pytest.raises(oi.ImageError, match="packages: not found in bookworm.*: nopkg"):
        builder.ensure()
    assert not any(c[0] == "bash" for c in fake.calls)
    # Another suite, or an explicit mirror: the local apt knows nothing about it, so no early verdict.
    for over in ({"suite": "trixie"}, {"mirror": "http://deb.example/debian"}):
        fake.calls = []
        oi.OfflineImage(DockerCli(runner, DOCKER), debian_spec(packages=["jq", "nopkg"], **over),
                        apt_cache="/usr/bin/apt-cache", host_suite="bookworm").ensure()
        assert not any(c[0] == "/usr/bin/apt-cache" for c in fake.calls)


def test_host_codename(tmp_path):
    release = tmp_path / "os-release"
    release.write_text('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\n')
    assert oi.host_codename(str(release)) == "bookworm"
    assert oi.host_codename(str(tmp_path / "missing")) is None
