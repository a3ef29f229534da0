# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way seed.fate's modules talk to the Docker engine: its ``docker`` command line client.

* :data:`DOCKER_CLI_SPEC` is the ``docker_cli`` option every such module merges into its argument spec (its
  documentation is the doc fragment ``seed.fate.docker_cli``).
* :class:`DockerCli` runs ``docker <args>``: from a module (:meth:`DockerCli.from_module`: the binary found with
  ``get_bin_path``, commands through ``run_command`` with ``LC_ALL=C``) or from any ``run(argv[, data]) ->
  (rc, stdout, stderr)`` callable (unit tests pass a fake docker that way). A call may be given a ``timeout``
  in seconds: the command then runs under coreutils ``timeout`` (TERM at the deadline, KILL 5 s later), and a
  call stopped that way returns :data:`TIMEOUT_RC` with a stderr line that says so. That is what keeps a
  ``docker exec`` against a hung engine or container from hanging a module.
* :data:`PROJECT_LABEL` / :data:`SERVICE_LABEL`: the labels docker compose puts on what it creates.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

# The option, as every module that drives the docker CLI declares it.
DOCKER_CLI_SPEC = dict(docker_cli=dict(type="path", default="docker"))

# Labels docker compose (v2) sets on the containers and networks of a project.
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"

# coreutils timeout: exit status when the deadline stopped the command, and the grace before KILL.
TIMEOUT_RC = 124
KILLED_RC = 137
KILL_AFTER = 5


class DockerError(RuntimeError):
    """A docker command failed. ``cmd``, ``rc``, ``stdout`` and ``stderr`` say which and how."""

    def __init__(self, msg, cmd=None, rc=None, stdout="", stderr=""):
        super(DockerError, self).__init__(msg)
        self.msg = msg
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr


def project_filter(project):
    """The ``--filter`` value that selects what belongs to compose project ``project``."""
    return "label=%s=%s" % (PROJECT_LABEL, project)


def _seconds(timeout):
    text = ("%.3f" % float(timeout)).rstrip("0").rstrip(".")
    return text or "0"


def bounded(argv, timeout, timeout_bin="timeout"):
    """``argv`` run under coreutils ``timeout``: TERM after ``timeout`` s, KILL :data:`KILL_AFTER` s later."""
    return [timeout_bin, "-k", str(KILL_AFTER), _seconds(timeout)] + list(argv)


def unbounded(argv):
    """(timeout in seconds or None, the command) of an argv that :func:`bounded` may have wrapped."""
    argv = list(argv)
    if len(argv) > 4 and argv[0].rsplit("/", 1)[-1] == "timeout" and argv[1] == "-k":
        return float(argv[3]), argv[4:]
    return None, argv


def module_runner(module):
    """``run(argv, data=None) -> (rc, stdout, stderr)`` through ``module.run_command``, with ``LC_ALL=C``.

    ``data`` (text or bytes) goes to the command's stdin as is (no newline added). A program that cannot be
    started gives rc 127 and the reason on stderr, as a shell would, instead of failing the module.
    """
    def run(argv, data=None):
        try:
            return module.run_command(list(argv), data=data, binary_data=data is not None,
                                      environ_update={"LC_ALL": "C"}, handle_exceptions=False)
        except (IOError, OSError) as exc:
            return 127, "", "%s: %s" % (argv[0], exc)
    return run


class DockerCli(object):
    """``docker`` commands through ``run(argv[, data])``.

    ``binary`` is the docker client (a path or a name); ``timeout_bin`` the coreutils ``timeout`` command, or
    None to run every command unbounded (a fake ``run`` in a unit test then sees docker's argv unchanged).
    With ``record``, every command run (as docker's argv, without the timeout wrapper) is kept in ``commands``.
    """

    def __init__(self, run, binary="docker", timeout_bin=None, record=False, host=None):
        self._run = run
        self.binary = binary
        self.timeout_bin = timeout_bin
        self.commands = [] if record else None
        # A DOCKER_HOST URL (``docker -H``): another engine than the environment's (the swarm target's hosts).
        self.host = host

    def on_host(self, host):
        """The same client talking to the engine at ``host`` (a DOCKER_HOST URL), sharing the command log."""
        other = DockerCli(self._run, self.binary, self.timeout_bin, host=host)
        other.commands = self.commands
        return other

    @classmethod
    def from_module(cls, module, required=True, option="docker_cli", record=False):
        """The client named by the module's ``docker_cli`` option; None when it is not installed and not required."""
        binary = module.get_bin_path(module.params.get(option) or "docker", required=required)
        if not binary:
            return None
        return cls(module_runner(module), binary, module.get_bin_path("timeout"), record=record)

    # ------------------------------------------------------------------ running
    def call(self, argv, data=None, timeout=None):
        """Run any ``argv`` (docker's or another program's) the way this client runs docker: (rc, out, err).

        With ``timeout`` (seconds) the command is stopped at the deadline; it then returns :data:`TIMEOUT_RC`
        and a last stderr line ``<command> timed out after <timeout> s``.
        """
        argv = list(argv)
        if self.commands is not None:
            self.commands.append(argv)
        wrapped = bounded(argv, timeout, self.timeout_bin) if timeout and self.timeout_bin else argv
        start = time.monotonic()
        rc, out, err = self._run(wrapped) if data is None else self._run(wrapped, data)
        if timeout and wrapped is not argv and (
                rc == TIMEOUT_RC or (rc == KILLED_RC and time.monotonic() - start >= timeout)):
            said = (err or "").rstrip("\n")
            err = "%s%s timed out after %s s" % (said + "\n" if said.strip() else "", " ".join(argv),
                                                 _seconds(timeout))
            rc = TIMEOUT_RC
        return rc, out, err

    def run(self, args, data=None, timeout=None):
        """``docker <args>``: (rc, stdout, stderr)."""
        head = [self.binary] + (["-H", self.host] if self.host else [])
        return self.call(head + list(args), data=data, timeout=timeout)

    def check(self, args, data=None, timeout=None, what=None):
        """``docker <args>``'s stdout; raises DockerError naming ``what`` (default: the command) when it fails."""
        rc, out, err = self.run(args, data=data, timeout=timeout)
        if rc != 0:
            argv = [self.binary] + list(args)
            raise DockerError("%s failed (rc=%s): %s" % (what or " ".join(argv), rc, (err or out).strip()),
                              cmd=argv, rc=rc, stdout=out, stderr=err)
        return out

    # ------------------------------------------------------------------ the calls several modules share
    def exec(self, container, argv, timeout=None, data=None, user=None):
        """``docker exec [-i] [-u user] <container> <argv...>``; ``-i`` when ``data`` goes to its stdin."""
        head = ["exec"] + (["-i"] if data is not None else []) + (["-u", user] if user else [])
        return self.run(head + [container] + list(argv), data=data, timeout=timeout)

    def ps(self, project=None, fmt=None, stopped=True, quiet=False, no_trunc=False, timeout=None):
        """``docker ps`` (``-a`` unless not ``stopped``; of compose project ``project`` when given): (rc, out, err)."""
        args = ["ps"] + (["-a"] if stopped else []) + (["-q"] if quiet else []) + (["--no-trunc"] if no_trunc else [])
        if project is not None:
            args += ["--filter", project_filter(project)]
        if fmt is not None:
            args += ["--format", fmt]
        return self.run(args, timeout=timeout)

    def inspect(self, names, kind=None, timeout=None):
        """The ``docker inspect`` documents of those of ``names`` that exist (one call; [] for no names).

        A name that does not exist is left out (docker still prints the others); any other failure raises
        DockerError.
        """
        names = list(names)
        if not names:
            return []
        args = ["inspect"] + (["--type", kind] if kind else []) + names
        rc, out, err = self.run(args, timeout=timeout)
        try:
            docs = json.loads(out or "[]")
        except ValueError:
            docs = None
        if docs is None or (rc != 0 and not docs and "no such" not in (err or "").lower()):
            raise DockerError("docker inspect failed (rc=%s): %s" % (rc, (err or out).strip()),
                              cmd=[self.binary] + args, rc=rc, stdout=out, stderr=err)
        return docs

    def inspect_image(self, name, timeout=None):
        """Image ``name``'s inspect document, or None when there is no such image."""
        args = ["image", "inspect", "--format", "{{json .}}", name]
        rc, out, err = self.run(args, timeout=timeout)
        if rc != 0:
            if "no such image" in (err or "").lower():
                return None
            raise DockerError("docker image inspect %s failed (rc=%s): %s" % (name, rc, (err or "").strip()),
                              cmd=[self.binary, "image", "inspect", name], rc=rc, stderr=err)
        try:
            return json.loads(out)
        except ValueError:
            raise DockerError("docker image inspect %s returned no JSON: %r" % (name, out[:200]),
                              cmd=[self.binary] + args, rc=rc, stdout=out)
