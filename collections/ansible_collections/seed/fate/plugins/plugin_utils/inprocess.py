# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one of the collection's modules in the worker process when its host is the controller itself.

Most of seed.fate's modules run on the controller (``ansible_connection: local``): they read the compiled lab,
ask the local Docker engine, compare fingerprints. Run the usual way, each call starts a new Python, unpacks the
AnsiballZ payload and compiles ``ansible.module_utils.basic`` and the collection's module_utils from the zip,
since code imported from a zip is never cached as bytecode: about half a second of CPU per call on this
project's 2-core reference machine, more than the work of most of these calls, and a dozen of them make up a
third of an unchanged rerun of ``site.yml``.

When nothing would differ, the action below runs the very same module code in the worker process Ansible has
already forked for this task, the way the AnsiballZ wrapper runs it (the arguments in ``basic``, the module
executed as ``__main__``, its JSON read from its stdout), and parses the result with the same code as a module
run. It falls back to the normal module run whenever the run could differ:

- the connection is not ``local`` (a remote host, a container, ``delegate_to`` a remote host);
- privilege escalation (``become``), ``async``, or a task ``environment`` (the module would see other variables);
- the interpreter the module would use is not the controller's own Python (same path and same environment);
- the ansible-core in use does not expose what this needs (checked, never assumed).

``SEEDFATE_INPROCESS_MODULES=0`` (environment of ``ansible-playbook``) turns it off, for debugging.

The module keeps its DOCUMENTATION, argument spec, check and diff mode: this changes where it runs, not what it
does. Each module that may run this way has an action plugin of its own name (``plugins/action/<module>.py``)
made by :func:`action_for`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import io
import json
import os
import runpy
import shutil
import sys
import tempfile

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

try:
    from ansible.module_utils import basic as _basic
    from ansible.module_utils.common import json as _common_json
    from ansible.module_utils.common import warnings as _warnings
    _SUPPORTED = (hasattr(_basic, "_ANSIBLE_ARGS") and hasattr(_basic, "_ANSIBLE_PROFILE")
                  and hasattr(_common_json, "get_module_encoder") and hasattr(_warnings, "_global_warnings")
                  and hasattr(_warnings, "_global_deprecations"))
except ImportError:  # pragma: no cover (another ansible-core)
    _SUPPORTED = False

try:
    from ansible.vars.clean import remove_internal_keys
    from ansible.executor.interpreter_discovery import discover_interpreter, InterpreterDiscoveryRequiredError
    from ansible.executor.module_common import _get_shebang
except ImportError:  # pragma: no cover (another ansible-core)
    remove_internal_keys = None

PROFILE = "legacy"
ENV_SWITCH = "SEEDFATE_INPROCESS_MODULES"
COLLECTION_MODULES = "ansible_collections.seed.fate.plugins.modules."


def enabled(environ=None):
    """False when the environment turns the in-process runs off."""
    value = (os.environ if environ is None else environ).get(ENV_SWITCH, "1").strip().lower()
    return value not in ("0", "false", "no", "off")


def same_interpreter(path, executable=None):
    """True when ``path`` (the interpreter a module would run with) is this process's Python: the same file and the
    same environment (a virtualenv's ``bin/python`` resolves to its base interpreter, so the folder must match too)."""
    executable = executable or sys.executable
    if not path or not executable:
        return False
    path = path.strip()
    if not os.path.isabs(path):
        return False
    try:
        same_file = os.path.realpath(path) == os.path.realpath(executable)
    except OSError:  # pragma: no cover
        return False
    return same_file and os.path.dirname(os.path.abspath(path)) == os.path.dirname(os.path.abspath(executable))


class InProcessModuleAction(ActionBase):
    """Runs the module of the same name in this process when nothing would differ, else as usual."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars if task_vars is not None else {}
        result = super(InProcessModuleAction, self).run(tmp, task_vars)
        del tmp
        name = self._task.action.rsplit(".", 1)[-1]
        fqn = COLLECTION_MODULES + name
        reason = self._why_not_here(fqn, task_vars)
        if reason is None:
            return merge_hash(result, self._run_here(fqn, task_vars))
        self._display.vvv("seed.fate: %s runs as a module process: %s" % (fqn, reason))
        # What ansible.builtin.normal does.
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(module_name="seed.fate." + name, task_vars=task_vars,
                                                         wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _why_not_here(self, fqn, task_vars):
        """None when the module may run in this process, else why not (for -vvv)."""
        if not _SUPPORTED or remove_internal_keys is None:
            return "this ansible-core does not expose what an in-process run needs"
        if not enabled():
            return "%s is off" % ENV_SWITCH
        if getattr(self._connection, "transport", None) != "local":
            return "the connection is not local"
        if self._play_context.become or self._task.async_val:
            return "become or async"
        if self._compute_environment_string():
            return "the task sets environment variables"
        interpreter = self._interpreter(task_vars)
        if interpreter is None:
            return "the interpreter of this host is not known here"
        if not same_interpreter(interpreter):
            return "its interpreter %s is not this Python (%s)" % (interpreter, sys.executable)
        return None

    def _interpreter(self, task_vars):
        """The Python the module would run with on this host, as a module run decides it (the host's
        ansible_python_interpreter, else the configured one, else interpreter discovery, whose answer is kept as a
        fact exactly as a module run keeps it) - without building the module's payload, which costs more than most
        of these modules' work. None when it cannot be told here (then the module runs as a process)."""
        remote_is_local = bool(getattr(self._connection, "_remote_is_local", False))
        try:
            _shebang, interpreter = _get_shebang("/usr/bin/python", task_vars, self._templar,
                                                 remote_is_local=remote_is_local)
        except InterpreterDiscoveryRequiredError as idre:
            if self._task.delegate_to and not self._task.delegate_facts:
                return None
            try:
                found = discover_interpreter(action=self, interpreter_name=idre.interpreter_name,
                                             discovery_mode=idre.discovery_mode, task_vars=task_vars)
            except Exception:  # the module run reports discovery problems the usual way
                return None
            key = "discovered_interpreter_%s" % idre.interpreter_name
            task_vars.setdefault("ansible_facts", {})[key] = found
            # Given back to the controller with the result, as _execute_module does.
            self._discovered_interpreter_key, self._discovered_interpreter = key, found
            interpreter = found
        except Exception:  # another ansible-core: let the module run decide
            return None
        return interpreter if isinstance(interpreter, str) and interpreter else None

    def _run_here(self, fqn, task_vars):
        self._display.vvv("seed.fate: running %s in the controller's worker process" % fqn)
        module_args = dict(self._task.args)
        self._update_module_args(fqn.replace(COLLECTION_MODULES, "seed.fate."), module_args, task_vars)
        tmpdir = tempfile.mkdtemp(prefix="seedfate-module-")
        # A temporary folder of this run, removed below (a module run's own is removed by the wrapper the same way).
        module_args["_ansible_tmpdir"] = tmpdir
        module_args["_ansible_remote_tmp"] = tmpdir
        encoder = _common_json.get_module_encoder(PROFILE, _common_json.Direction.CONTROLLER_TO_MODULE)
        params = json.dumps({"ANSIBLE_MODULE_ARGS": module_args}, cls=encoder).encode()
        out = io.StringIO()
        saved = (_basic._ANSIBLE_ARGS, _basic._ANSIBLE_PROFILE, dict(_warnings._global_warnings),
                 dict(_warnings._global_deprecations), os.getcwd())
        rc = 0
        try:
            _basic._ANSIBLE_ARGS, _basic._ANSIBLE_PROFILE = params, PROFILE
            _warnings._global_warnings.clear()
            _warnings._global_deprecations.clear()
            with contextlib.redirect_stdout(out):
                try:
                    runpy.run_module(mod_name=fqn, run_name="__main__", alter_sys=False)
                    rc = 1
                    print('{"failed": true, "msg": "%s did not exit with its result"}' % fqn)
                except SystemExit as exc:
                    rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception as exc:  # what AnsiballZ would report as a module failure
            return {"failed": True, "msg": "%s raised %s: %s" % (fqn, type(exc).__name__, exc)}
        finally:
            _basic._ANSIBLE_ARGS, _basic._ANSIBLE_PROFILE = saved[0], saved[1]
            _warnings._global_warnings.clear()
            _warnings._global_warnings.update(saved[2])
            _warnings._global_deprecations.clear()
            _warnings._global_deprecations.update(saved[3])
            with contextlib.suppress(OSError):
                os.chdir(saved[4])
            shutil.rmtree(tmpdir, ignore_errors=True)
        stdout = out.getvalue()
        res = {"rc": rc, "stdout": stdout, "stdout_lines": stdout.splitlines(), "stderr": "", "stderr_lines": []}
        data = self._parse_returned_data(res, PROFILE)
        remove_internal_keys(data)
        if self._discovered_interpreter_key:
            data.setdefault("ansible_facts", {})[self._discovered_interpreter_key] = self._discovered_interpreter
        return data


def action_for(module_name):
    """The action plugin class for ``seed.fate.<module_name>`` (see the module docstring)."""
    return type("ActionModule", (InProcessModuleAction,), {"__doc__": "seed.fate.%s, run in process when local." % module_name})
