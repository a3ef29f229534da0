# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""FATE bundles, part 2: a party's passwords.

Stored per party in a YAML file (mode 0600, folder 0700), generated on first run, with the user's own
(for example from vault) on top - those are never stored. Reading and writing are separate steps
(:func:`resolve_secrets`, :func:`store_secrets`) so a caller renders everything before writing anything.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import secrets as pysecrets
import string

try:
    import yaml
    HAS_YAML = True
    YAML_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - PyYAML comes with ansible-core
    yaml = None
    HAS_YAML = False
    YAML_IMPORT_ERROR = exc

from ansible_collections.seed.fate.plugins.module_utils import fate_versions
from ansible_collections.seed.fate.plugins.module_utils import fileio
from ansible_collections.seed.fate.plugins.module_utils.bundle_checks import BundleError

# The default version's generated secrets; every version's are its catalogue's ``secrets``.
SECRET_KEYS = tuple(fate_versions.get(fate_versions.DEFAULT_VERSION)["secrets"])
SECRET_LENGTH = 24
_SECRET_ALPHABET = string.ascii_letters + string.digits
# Secrets go into YAML, Java properties, Python and a command line: printable ASCII without blanks,
# quotes or backslashes needs no escaping anywhere.
_SECRET_RE = re.compile(r"^[!#%&()*+,\-./0-9:;<=>?@A-Z\[\]^_a-z{|}~]{8,128}$")
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
SECRETS_MODE = 0o600
SECRETS_DIR_MODE = 0o700


def check_secrets(values, where, keys=SECRET_KEYS):
    for key in keys:
        value = values.get(key)
        if not isinstance(value, str) or not _SECRET_RE.match(value):
            # Never echo the value itself.
            raise BundleError("%s: %s must be 8-128 printable ASCII characters without blanks, quotes, '$' or "
                              "backslashes" % (where, key))


def generate_secret(length=SECRET_LENGTH):
    return "".join(pysecrets.choice(_SECRET_ALPHABET) for _i in range(length))


def dump_secrets(party_id, values):
    lines = ["# seed.fate: generated passwords of FATE party %s. Private: mode 0600, never commit." % party_id]
    lines += ["%s: %s" % (k, json.dumps(values[k])) for k in sorted(values)]
    return ("\n".join(lines) + "\n").encode("ascii")


def resolve_secrets(path, party_id, overrides=None, generate=generate_secret, keys=SECRET_KEYS):
    """Secrets of a party: the stored file, completed with new ones on first run, overridden by the user.

    ``keys``: the version's catalogue ``secrets``. Only generated values are stored (a vault override
    stays out of the file). Returns (secrets, bytes to store or None when the file is already right).
    Reads, never writes.
    """
    keys = tuple(keys)
    overrides = dict((k, v) for k, v in (overrides or {}).items() if v not in (None, ""))
    unknown = sorted(k for k in overrides if k not in keys)
    if unknown:
        raise BundleError("fate_config_secrets[%s]: unknown key(s) %s; known: %s"
                          % (party_id, ", ".join(unknown), ", ".join(keys)))
    stored = {}
    raw = fileio.read_bytes(path)
    if raw is not None:
        stored = _parse_secrets(raw, path)
        if not isinstance(stored, dict):
            raise BundleError("%s must hold a mapping of %s" % (path, ", ".join(keys)))
        unknown = [k for k in stored if k not in keys]
        if unknown:
            # Key names only when they look like names: a mangled line may have put a password in a key.
            named = sorted(k for k in unknown if isinstance(k, str) and _KEY_RE.match(k) and k.islower())
            others = len(unknown) - len(named)
            raise BundleError("%s: unknown key(s) %s; known: %s"
                              % (path, ", ".join(named + (["%d other(s) not shown" % others] if others else [])),
                                 ", ".join(keys)))
        check_secrets(dict((k, stored.get(k, "x" * 8)) for k in keys), path, keys)
    wanted = dict(stored)
    for key in keys:
        if key not in wanted and key not in overrides:
            wanted[key] = generate()
    values = dict(wanted)
    values.update(overrides)
    check_secrets(values, "fate_config_secrets[%s]" % party_id, keys)
    data = dump_secrets(party_id, wanted)
    if data == raw and secrets_modes_ok(path):
        data = None
    return dict((k, values[k]) for k in keys), data


def _parse_secrets(raw, path):
    """The secrets file's YAML. A syntax error is reported by line and column only: PyYAML's own message
    quotes the offending line, which holds a password."""
    try:
        # libyaml's loader when PyYAML has it: a lab's secrets files are read on every run.
        return yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = " at line %d, column %d" % (mark.line + 1, mark.column + 1) if mark is not None else ""
        raise BundleError("%s is not valid YAML%s (content not shown: it holds passwords); fix or remove it to "
                          "generate new secrets" % (path, where))
    except RecursionError:
        raise BundleError("%s is not valid YAML: nested too deeply; fix or remove it to generate new secrets" % path)


def _mode(path):
    try:
        return os.lstat(path).st_mode & 0o7777
    except OSError:
        return None


def secrets_modes_ok(path):
    """Whether the secrets file is 0600 and its folder 0700 (a loosened mode counts as a change)."""
    return _mode(path) == SECRETS_MODE and _mode(os.path.dirname(os.path.abspath(path))) == SECRETS_DIR_MODE


def store_secrets(path, data):
    """Write a party's secrets file (mode 0600) in a folder only its owner can enter (0700); a folder
    loosened since is tightened again."""
    folder = os.path.dirname(os.path.abspath(path))
    # Parties render in parallel (one module process each): another one may create the folder first.
    os.makedirs(folder, SECRETS_DIR_MODE, exist_ok=True)
    os.chmod(folder, SECRETS_DIR_MODE)
    fileio.atomic_write(path, data, SECRETS_MODE)
