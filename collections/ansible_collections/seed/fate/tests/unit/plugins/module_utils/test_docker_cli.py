# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker_cli: the argv it builds, LC_ALL=C and stdin through run_command, and the timeout path (with real
coreutils ``timeout`` and ``sleep`` standing in for docker: no engine needed)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import shutil
import subprocess
import time

import pytest

from ansible_collections.seed.fate.plugins.module_utils import docker_cli as D


class Recorder(object):
    """A fake ``run(argv[, data])``: records each call and answers from a function of argv."""

    def __init__(self, answer=lambda argv: (0, "", "")):
        self.calls = []
        self.answer = answer

    def __call__(self, argv, data=None):
        self.calls.append((list(argv), data))
        return self.answer(argv)


def local_run(argv, data=None):
    proc = subprocess.run(argv, input=data, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


needs_coreutils = pytest.mark.skipif(not (shutil.which("timeout") and shutil.which("sleep")),
                                     reason="coreutils timeout and sleep are needed")


def test_spec_and_labels_are_what_compose_and_the_modules_use():
    assert D.DOCKER_CLI_SPEC == {"docker_cli": {"type": "path", "default": "docker"}}
    assert D.project_filter("lab") == "label=com.docker.compose.project=lab"
    assert D.SERVICE_LABEL == "com.docker.compose.service"


def test_argv_of_the_shared_calls():
    rec = Recorder()
    cli = D.DockerCli(rec, "/usr/bin/docker")
    cli.exec("r1", ["birdc", "show", "protocols"])
    cli.exec("flow", ["bash", "-c", "cat"], data="x", user="root")
    cli.ps("lab", fmt="{{.Names}}")
    cli.ps("lab", stopped=False, quiet=True)
    cli.ps(quiet=True, no_trunc=True)
    assert [c[0] for c in rec.calls] == [
        ["/usr/bin/docker", "exec", "r1", "birdc", "show", "protocols"],
        ["/usr/bin/docker", "exec", "-i", "-u", "root", "flow", "bash", "-c", "cat"],
        ["/usr/bin/docker", "ps", "-a", "--filter", "label=com.docker.compose.project=lab", "--format", "{{.Names}}"],
        ["/usr/bin/docker", "ps", "-q", "--filter", "label=com.docker.compose.project=lab"],
        ["/usr/bin/docker", "ps", "-a", "-q", "--no-trunc"],
    ]
    # Data goes to the run callable only when there is some (a fake run(argv) keeps working).
    assert [c[1] for c in rec.calls] == [None, "x", None, None, None]


def test_without_timeout_bin_the_fake_sees_docker_argv_unwrapped():
    rec = Recorder()
    D.DockerCli(rec).exec("c", ["true"], timeout=3)
    assert rec.calls[0][0] == ["docker", "exec", "c", "true"]


def test_bounded_argv_and_back():
    rec = Recorder()
    cli = D.DockerCli(rec, "docker", timeout_bin="/usr/bin/timeout", record=True)
    cli.exec("c", ["sh", "-c", "x"], timeout=7.5)
    argv = rec.calls[0][0]
    assert argv == ["/usr/bin/timeout", "-k", "5", "7.5", "docker", "exec", "c", "sh", "-c", "x"]
    assert D.unbounded(argv) == (7.5, ["docker", "exec", "c", "sh", "-c", "x"])
    assert D.unbounded(["docker", "ps"]) == (None, ["docker", "ps"])
    # What is recorded is the command itself, not the wrapper.
    assert cli.commands == [["docker", "exec", "c", "sh", "-c", "x"]]


def test_a_timeout_is_reported_on_stderr_with_rc_124():
    rec = Recorder(lambda argv: (124, "partial", "some output\n"))
    rc, out, err = D.DockerCli(rec, "docker", timeout_bin="timeout").exec("r1", ["birdc", "show", "protocols"],
                                                                          timeout=15)
    assert rc == D.TIMEOUT_RC and out == "partial"
    assert err == "some output\ndocker exec r1 birdc show protocols timed out after 15 s"
    # The same exit code without a timeout asked for is the command's own.
    assert D.DockerCli(rec, "docker", timeout_bin="timeout").run(["ps"]) == (124, "partial", "some output\n")


@needs_coreutils
def test_real_timeout_stops_a_hung_command():
    cli = D.DockerCli(local_run, binary=shutil.which("sleep"), timeout_bin=shutil.which("timeout"))
    start = time.monotonic()
    rc, _out, err = cli.run(["30"], timeout=0.5)
    took = time.monotonic() - start
    assert rc == D.TIMEOUT_RC and took < 5, took
    assert err.endswith("sleep 30 timed out after 0.5 s")
    # A command that ends in time is not touched.
    assert cli.run(["0"], timeout=5) == (0, "", "")


def test_check_raises_docker_error_with_the_details():
    cli = D.DockerCli(Recorder(lambda argv: (1, "", "Error response from daemon: boom\n")), "docker")
    with pytest.raises(D.DockerError) as err:
        cli.check(["restart", "c1"])
    assert str(err.value) == "docker restart c1 failed (rc=1): Error response from daemon: boom"
    assert err.value.cmd == ["docker", "restart", "c1"] and err.value.rc == 1
    assert isinstance(err.value, RuntimeError)
    with pytest.raises(D.DockerError, match="^docker tag failed"):
        cli.check(["tag", "a", "b"], what="docker tag")


def test_inspect_keeps_what_exists_and_refuses_what_is_not_json():
    docs = [{"Name": "/a"}]
    rec = Recorder(lambda argv: (1, json.dumps(docs), "Error: No such object: b\n"))
    cli = D.DockerCli(rec, "docker")
    assert cli.inspect(["a", "b"], kind="container") == docs
    assert rec.calls[0][0] == ["docker", "inspect", "--type", "container", "a", "b"]
    assert cli.inspect([]) == [] and len(rec.calls) == 1
    down = D.DockerCli(Recorder(lambda argv: (1, "", "Cannot connect to the Docker daemon\n")))
    with pytest.raises(D.DockerError, match="Cannot connect to the Docker daemon"):
        down.inspect(["a"])


def test_inspect_image_none_when_absent():
    def answer(argv):
        if argv[-1] == "there":
            return 0, json.dumps({"Id": "sha256:1"}), ""
        return 1, "", "Error response from daemon: No such image: %s\n" % argv[-1]
    cli = D.DockerCli(Recorder(answer), "docker")
    assert cli.inspect_image("there") == {"Id": "sha256:1"}
    assert cli.inspect_image("gone") is None


class FakeModule(object):
    """What module_runner and from_module use of an AnsibleModule."""

    def __init__(self, fail=None, bins=("docker", "timeout")):
        self.params = {"docker_cli": "docker"}
        self.kwargs = []
        self.fail = fail
        self.bins = bins

    def get_bin_path(self, name, required=False, opt_dirs=None):
        if name in self.bins:
            return "/usr/bin/" + name
        assert not required, name
        return None

    def run_command(self, argv, **kwargs):
        self.kwargs.append(kwargs)
        if self.fail:
            raise self.fail
        return 0, "", ""


def test_module_runner_sets_lc_all_and_binary_stdin():
    module = FakeModule()
    run = D.module_runner(module)
    run(["docker", "ps"])
    run(["docker", "load"], data=b"\x00tar")
    assert module.kwargs[0] == dict(data=None, binary_data=False, environ_update={"LC_ALL": "C"},
                                    handle_exceptions=False)
    assert module.kwargs[1]["data"] == b"\x00tar" and module.kwargs[1]["binary_data"] is True


def test_module_runner_turns_a_missing_program_into_rc_127():
    run = D.module_runner(FakeModule(fail=OSError(2, "No such file or directory")))
    rc, out, err = run(["ip", "netns", "add", "x"])
    assert rc == 127 and out == "" and err.startswith("ip: ") and "No such file" in err


def test_from_module_finds_docker_and_timeout():
    cli = D.DockerCli.from_module(FakeModule())
    assert cli.binary == "/usr/bin/docker" and cli.timeout_bin == "/usr/bin/timeout"
    assert D.DockerCli.from_module(FakeModule(bins=()), required=False) is None
    # No coreutils timeout: commands still run, unbounded.
    assert D.DockerCli.from_module(FakeModule(bins=("docker",))).timeout_bin is None
