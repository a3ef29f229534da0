# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""FATE configuration bundles: validate a lab, render a party's bundles in memory, pack them as
deterministic tars and write them only when their bytes change.

Plain Python (jinja2 + the standard library), usable without Ansible: the module
``seed.fate.fate_bundle`` only wires it. A party's whole bundle is rendered in one call from the
templates of its FATE version (``<template_dir>/<cluster>/**.j2``): every config file first, then
``docker-compose.yml``, whose services carry the hash of the config files they mount.

Inputs follow docs/contracts.md "Inventory": a party is its id, layout index and clusters
(component -> address, docker network, gateway); the directory lists every party's proxy, python and
serving addresses in layout order.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import io
import ipaddress
import json
import os
import re
import secrets as pysecrets
import shlex
import string
import tarfile
import threading

try:
    import jinja2
    HAS_JINJA2 = True
    JINJA2_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - jinja2 comes with ansible-core
    jinja2 = None
    HAS_JINJA2 = False
    JINJA2_IMPORT_ERROR = exc

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
from ansible_collections.seed.fate.plugins.module_utils import naming
from ansible_collections.seed.fate.plugins.module_utils import validate

# Where FATE 1.x images keep everything (KubeFATE's /f); every version's is its catalogue's fate_home.
FATE_HOME = fate_versions.get(fate_versions.DEFAULT_VERSION)["fate_home"]
# The default version's generated secrets; every version's are its catalogue's ``secrets``.
SECRET_KEYS = tuple(fate_versions.get(fate_versions.DEFAULT_VERSION)["secrets"])
SECRET_LENGTH = 24
_SECRET_ALPHABET = string.ascii_letters + string.digits
# Secrets go into YAML, Java properties, Python and a command line: printable ASCII without blanks,
# quotes or backslashes needs no escaping anywhere.
_SECRET_RE = re.compile(r"^[!#%&()*+,\-./0-9:;<=>?@A-Z\[\]^_a-z{|}~]{8,128}$")
_USER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
TAR_MODE = 0o600        # bundles hold the party's passwords
SECRETS_MODE = 0o600
SECRETS_DIR_MODE = 0o700
EXCHANGE_ID = "exchange"
DEFAULT_EXCHANGE_PUBLISH_PORT = 9371


class BundleError(ValueError):
    """Bad input; the message names the field and where it came from."""


# --------------------------------------------------------------------------------------------------
# Input checks. Everything is checked before anything is written.
# --------------------------------------------------------------------------------------------------

def _checked(check, where, *args):
    """``check`` of module_utils/validate on ``args``; its complaint becomes a BundleError naming ``where``."""
    try:
        return check(*args)
    except validate.Invalid as exc:
        raise BundleError("%s: %s" % (where, exc))


def _lab_address(value, where, what):
    """A lab address (validate.ipv4_address, private ranges), as a string."""
    return _checked(validate.ipv4_address, where, value, what, True)


def _party_id(value, where):
    return str(_checked(validate.party_id, where, value, "party id"))


def _port(value, where):
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise BundleError("%s must be a port number, got %r" % (where, value))
    if not 1 <= port <= 65535:
        raise BundleError("%s must be a port number (1-65535), got %r" % (where, value))
    return port


def _component(comp, where):
    if not isinstance(comp, dict):
        raise BundleError("%s must be a mapping with address, network and gateway, got %r" % (where, comp))
    out = {}
    for key in ("address", "gateway"):
        out[key] = _lab_address(comp.get(key), "%s.%s" % (where, key), key)
    out["network"] = _checked(validate.docker_name, where + ".network", comp.get("network"),
                              "network (the skeleton's docker network)")
    return out


def normalize_party(party, catalogue, source="party"):
    """Checked copy of one party: party_id (str), index, clusters (ordered as the version lists its
    components), serving requested or not, fateboard_port, host."""
    if not isinstance(party, dict):
        raise BundleError("%s: party must be a mapping, got %r" % (source, party))
    pid = _party_id(party.get("party_id"), "%s: party_id" % source)
    where = "%s (party %s)" % (source, pid)
    index = _checked(validate.integer, where, party.get("index", 0), "index", 0, validate.PARTY_ID_MAX)
    clusters_in = party.get("clusters") or {}
    if not isinstance(clusters_in, dict):
        raise BundleError("%s: clusters (seedfate_clusters) must be a mapping, got %r" % (where, clusters_in))
    clusters = {}
    for cluster in (naming.TRAINING, naming.SERVING):
        comps = clusters_in.get(cluster)
        if cluster == naming.SERVING and not comps:
            continue
        if cluster not in catalogue["clusters"]:
            raise BundleError("%s: seedfate_clusters has a %s cluster but FATE %s has none (clusters: %s); was the "
                              "skeleton built for another fate_version?"
                              % (where, cluster, catalogue["version"], ", ".join(fate_versions.clusters(catalogue))))
        if not isinstance(comps, dict) or not comps:
            raise BundleError("%s: seedfate_clusters.%s is missing; a party needs all of: %s"
                              % (where, cluster, ", ".join(catalogue["clusters"][cluster]["components"])))
        wanted = catalogue["clusters"][cluster]["components"]
        missing = [c for c in wanted if c not in comps]
        if missing:
            raise BundleError("%s: seedfate_clusters.%s lacks component(s) %s (FATE %s needs: %s)"
                              % (where, cluster, ", ".join(missing), catalogue["version"], ", ".join(wanted)))
        clusters[cluster] = dict((c, _component(comps[c], "%s: seedfate_clusters.%s.%s" % (where, cluster, c)))
                                 for c in wanted)
    serving = party.get("serving")
    if serving and naming.SERVING not in catalogue["clusters"]:
        raise BundleError("%s: serving is requested (seedfate_parties[%s].serving) but FATE %s has no serving cluster; "
                          "set serving: false" % (where, pid, catalogue["version"]))
    if serving and naming.SERVING not in clusters:
        raise BundleError("%s: serving is requested (seedfate_parties[%s].serving) but the inventory has no serving "
                          "components for it (seedfate_clusters.serving, from pre_party_list.json 'serving'): "
                          "reserve %s or drop the request"
                          % (where, pid, ", ".join(catalogue["clusters"][naming.SERVING]["components"])))
    out = {"party_id": pid, "index": index, "clusters": clusters, "host": str(party.get("host") or "localhost")}
    if party.get("fateboard_port") is not None:
        out["fateboard_port"] = _port(party["fateboard_port"], "%s: fateboard_port" % where)
    return out


def normalize_directory(directory, source="directory", catalogue=None):
    """Checked copy of seedfate_party_directory (layout order kept), with the keys of the version's
    catalogue ``directory`` (required ones must be IPv4 addresses, optional ones may be null; the optional
    ones of one cluster are all set or all null)."""
    catalogue = catalogue or fate_versions.get(fate_versions.DEFAULT_VERSION)
    spec = list(catalogue["directory"].items())
    if not isinstance(directory, list) or not directory:
        raise BundleError("%s (seedfate_party_directory) must be a non-empty list of parties" % source)
    out, seen = [], {}
    for i, entry in enumerate(directory):
        where = "%s[%d]" % (source, i)
        if not isinstance(entry, dict):
            raise BundleError("%s must be a mapping, got %r" % (where, entry))
        pid = _party_id(entry.get("party_id"), "%s.party_id" % where)
        if pid in seen:
            raise BundleError("%s: party id %s appears twice (entries %d and %d); every party needs its own id"
                              % (source, pid, seen[pid], i))
        seen[pid] = i
        item = {"party_id": pid}
        for key, (_cluster, _comp, required) in spec:
            if not required:
                continue
            item[key] = _lab_address(entry.get(key), "%s.%s (party %s)" % (where, key, pid), key)
        optional = {}
        for key, (cluster, _comp, required) in spec:
            if required:
                continue
            value = entry.get(key)
            if value in (None, ""):
                item[key] = None
            else:
                item[key] = _lab_address(value, "%s.%s (party %s)" % (where, key, pid), key + " (an address or null)")
            optional.setdefault(cluster, []).append(key)
        for cluster, keys in sorted(optional.items()):
            if len(set(item[k] is None for k in keys)) > 1:
                raise BundleError("%s (party %s): %s must all be set or all be null"
                                  % (where, pid, " and ".join(keys)))
        out.append(item)
    return out


def normalize_exchange(exchange, source="fate_config_exchange"):
    """Checked exchange settings, or None when no exchange is configured."""
    if exchange in (None, {}, ""):
        return None
    if not isinstance(exchange, dict):
        raise BundleError("%s must be a mapping with address, network and gateway, got %r" % (source, exchange))
    if not exchange.get("address"):
        raise BundleError("%s: an exchange needs an address (its reserved IPv4 address in the emulated Internet); "
                          "set %s.address or remove %s" % (source, source, source))
    out = _component(exchange, source)
    publish = exchange.get("publish_port", DEFAULT_EXCHANGE_PUBLISH_PORT)
    out["publish_port"] = _port(publish, "%s.publish_port" % source) if publish not in (None, 0, False) else None
    out["host"] = str(exchange.get("host") or "localhost")
    return out


def images_with_defaults(images, catalogue):
    """Image settings with the version catalogue's ``image_defaults`` for what is unset (None)."""
    out = dict(catalogue.get("image_defaults", {}))
    out.update(dict((k, v) for k, v in (images or {}).items() if v is not None))
    return out


def normalize_images(images, catalogue):
    """Every image reference of the version, from registry/prefix/tags/overrides; plus the holder."""
    images = images or {}
    for key in ("tag", "serving_tag", "holder"):
        if not images.get(key):
            raise BundleError("images.%s (fate_config_image_%s) must not be empty" % (
                key, {"holder": "holder", "tag": "tag", "serving_tag": "serving_tag"}[key]))
    overrides = images.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise BundleError("images.overrides (fate_config_image_overrides) must be a mapping, got %r" % (overrides,))
    known = set(catalogue["images"]) | set(catalogue.get("image_aliases", {}))
    unknown = sorted(k for k in overrides if k not in known)
    if unknown:
        raise BundleError("images.overrides (fate_config_image_overrides): unknown image(s) %s; known: %s"
                          % (", ".join(unknown), ", ".join(sorted(known))))
    refs = dict((k, fate_versions.image_ref(catalogue, k, images)) for k in known)
    return refs, str(images["holder"])


def check_secrets(values, where, keys=SECRET_KEYS):
    for key in keys:
        value = values.get(key)
        if not isinstance(value, str) or not _SECRET_RE.match(value):
            # Never echo the value itself.
            raise BundleError("%s: %s must be 8-128 printable ASCII characters without blanks, quotes, '$' or "
                              "backslashes" % (where, key))


def check_lab(parties, directory, exchange, publish_address, catalogue, source="fate_parties"):
    """Lab-wide checks: ids, party directory, addresses and published ports. Returns the checked parties."""
    dir_entries = normalize_directory(directory, catalogue=catalogue)
    by_id = dict((d["party_id"], d) for d in dir_entries)
    checked, hosts_of = [], {}
    for i, party in enumerate(parties or []):
        p = normalize_party(party, catalogue, "%s[%d] %s" % (source, i, party.get("name", "")) if isinstance(party, dict)
                            else "%s[%d]" % (source, i))
        name = (party.get("name") or naming.party_host(p["party_id"]))
        if p["party_id"] in hosts_of:
            raise BundleError("%s: two parties use party id %s (%s and %s); every party needs its own id"
                              % (source, p["party_id"], hosts_of[p["party_id"]], name))
        hosts_of[p["party_id"]] = name
        if p["party_id"] not in by_id:
            raise BundleError("%s: party %s (%s) is missing from seedfate_party_directory" % (source, p["party_id"], name))
        p["name"] = name
        checked.append(p)
    ex = normalize_exchange(exchange)
    if ex and naming.EXCHANGE not in catalogue["clusters"]:
        raise BundleError("fate_config_exchange is set but FATE %s has no exchange (clusters: %s); leave it empty"
                          % (catalogue["version"], ", ".join(fate_versions.clusters(catalogue))))
    # One reserved address, one holder.
    owners = {}
    for p in checked:
        for cluster, comps in sorted(p["clusters"].items()):
            for comp, c in comps.items():
                what = "%s %s %s" % (p["name"], cluster, comp)
                if c["address"] in owners:
                    raise BundleError("%s: address %s is reserved twice (%s and %s)"
                                      % (source, c["address"], owners[c["address"]], what))
                owners[c["address"]] = what
    if ex and ex["address"] in owners:
        raise BundleError("fate_config_exchange.address %s is already reserved for %s" % (ex["address"], owners[ex["address"]]))
    # Published ports: one (host, address, port) per listener.
    taken = {}

    def _take(host, port, what):
        key = (host, publish_address, port)
        if key in taken:
            raise BundleError("published port collision on %s %s:%s: %s and %s; set fate_config_fateboard_port / "
                              "fate_config_fateboard_port_base or fate_config_exchange.publish_port apart"
                              % (host, publish_address, port, taken[key], what))
        taken[key] = what

    for p in checked:
        # Only versions with a FATEBoard publish it.
        if "fateboard_port" in p and "fateboard" in catalogue["ports"]:
            _take(p["host"], p["fateboard_port"], "fateboard of %s" % p["name"])
    if ex and ex["publish_port"]:
        _take(ex["host"], ex["publish_port"], "the exchange")
    return checked, dir_entries, ex


# --------------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------------

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


def load_secrets(path, party_id, overrides=None, check_mode=False, generate=generate_secret, keys=SECRET_KEYS):
    """resolve_secrets + store_secrets: returns (secrets, changed)."""
    values, data = resolve_secrets(path, party_id, overrides, generate, keys)
    if data is not None and not check_mode:
        store_secrets(path, data)
    return values, data is not None


# --------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------

def _yq(value):
    """A YAML double-quoted scalar that compose takes literally ($ escaped as $$)."""
    return json.dumps(str(value).replace("$", "$$"))


def _tojson(value):
    return json.dumps(value)


def _prop(value):
    """A Java properties value."""
    return str(value).replace("\\", "\\\\")


def _pystr(value):
    return repr(str(value))


def _shq(value):
    return shlex.quote(str(value))


def pod_script(gateway, private_ports=()):
    """Command of a network-pod holder: route through the AS router, then wait for `docker stop`.

    ``private_ports``: (port, [source addresses]) the pod's namespace accepts only from those addresses and
    loopback (iptables in the holder, which owns the namespace; a rule that cannot be set stops the pod).
    """
    rules = []
    for port, sources in private_ports:
        port = int(port)
        rules.append("iptables -A INPUT -i lo -p tcp --dport %d -j ACCEPT" % port)
        rules.extend("iptables -A INPUT -p tcp -s %s --dport %d -j ACCEPT" % (ipaddress.ip_address(a), port) for a in sources)
        rules.append("iptables -A INPUT -p tcp --dport %d -j REJECT --reject-with tcp-reset" % port)
    script = "ip route replace default via %s || exit 1; " % gateway
    if rules:
        script += "{ %s; } || exit 1; " % " && ".join(rules)
    return script + "trap 'exit 0' TERM INT; sleep infinity & wait $!"


class Bundle(object):
    """One rendered compose project: ``files`` maps bundle-relative paths to bytes."""

    def __init__(self, project, files, empty_dirs, private_files=()):
        self.project = project
        self.files = files
        self.empty_dirs = tuple(empty_dirs)
        # Members written 0600 (every file holding a password: the containers read them as root), the
        # others 0644; the top folder of a bundle with private members is 0700.
        self.private_files = frozenset(private_files)

    @property
    def archive(self):
        return self.project + ".tar"


_ENV_CACHE = {}
_ENV_LOCK = threading.Lock()


class Renderer(object):
    """Templates of one FATE version, compiled once per process and reused for every party."""

    def __init__(self, template_dir, version):
        if not HAS_JINJA2:
            raise BundleError("jinja2 is required to render bundles: %s" % JINJA2_IMPORT_ERROR)
        self.catalogue = fate_versions.get(version)
        self.version = self.catalogue["version"]
        self.template_dir = os.path.abspath(template_dir)
        if not os.path.isdir(self.template_dir):
            raise BundleError("template_dir %s does not exist (expected the role's templates/%s folder)"
                              % (self.template_dir, self.catalogue["templates"]))
        # A version whose catalogue entry and template folder disagree is refused before any rendering.
        try:
            fate_versions.check_entry(self.catalogue)
            fate_versions.check_templates(self.catalogue, self.template_dir)
        except fate_versions.CatalogueError as exc:
            raise BundleError(str(exc))
        with _ENV_LOCK:
            key = (self.template_dir, self.version)
            if key not in _ENV_CACHE:
                _ENV_CACHE[key] = (self._environment(), {})
            self.env, self._templates = _ENV_CACHE[key]

    def _environment(self):
        try:
            # Compiled templates are cached per user in the system's temporary folder (jinja2 checks its
            # ownership and mode), keyed by the template source: each module process then skips most of
            # the compile, which costs more than rendering a whole party.
            cache = jinja2.FileSystemBytecodeCache()
        except (IOError, OSError, RuntimeError):
            cache = None
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.template_dir),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,
            auto_reload=False,
            bytecode_cache=cache,
        )
        env.filters.update(yq=_yq, tojson=_tojson, prop=_prop, pystr=_pystr, shq=_shq)
        return env

    def templates(self, cluster):
        """[(compiled template, bundle-relative output path)] of a cluster, config files first."""
        with _ENV_LOCK:
            if cluster in self._templates:
                return self._templates[cluster]
            root = os.path.join(self.template_dir, cluster)
            found = []
            for folder, dirs, files in os.walk(root):
                dirs.sort()
                for name in sorted(files):
                    if name.startswith("_") or not name.endswith(".j2"):
                        continue
                    rel = os.path.relpath(os.path.join(folder, name), self.template_dir).replace(os.sep, "/")
                    found.append((rel, rel[len(cluster) + 1:-3]))
            if not any(t[1] == "docker-compose.yml" for t in found):
                raise BundleError("template_dir %s has no %s/docker-compose.yml.j2 for FATE %s"
                                  % (self.template_dir, cluster, self.version))
            # Config files first; the compose file needs their hashes.
            found.sort(key=lambda t: (t[1] == "docker-compose.yml", t[1]))
            try:
                compiled = [(self.env.get_template(rel), out) for rel, out in found]
            except jinja2.TemplateError as exc:
                raise BundleError("template %s: %s" % (getattr(exc, "name", None) or root, exc))
            self._templates[cluster] = compiled
            return compiled

    def _context(self, cluster, project, party_id, components, directory, settings, **extra):
        ports = self.catalogue["ports"]
        me = next((d for d in directory if d["party_id"] == party_id), None)
        ctx = {
            "version": self.version,
            "fate_home": self.catalogue["fate_home"],
            "catalogue": self.catalogue,
            "fate_settings": self.catalogue.get("settings", {}),
            "cluster": cluster,
            "project": project,
            "party_id": party_id,
            "deploy_dir": settings["deploy_dir"],
            "project_dir": settings["deploy_dir"].rstrip("/") + "/" + project,
            "components": components,
            "networks_used": sorted(set(c["network"] for c in components.values())),
            "me": me,
            "others": [d for d in directory if d["party_id"] != party_id],
            "directory": directory,
            "exchange": settings.get("exchange"),
            "images": settings["images"],
            "holder_image": settings["holder_image"],
            "publish_address": settings["publish_address"],
            "ports": ports,
            "grpc_timeout_ms": settings["grpc_timeout_ms"],
            "pod_script": pod_script,
        }
        ctx.update(extra)
        return ctx

    def _render_cluster(self, cluster, project, ctx):
        files = {}
        data_dirs = []

        def config_hash(mounts):
            h = hashlib.sha256()
            for src, _dst, kind in mounts:
                rel = src[2:] if src.startswith("./") else None
                if kind == "config":
                    names = sorted(p for p in files if rel and (p == rel or p.startswith(rel + "/")))
                    if not names:
                        raise BundleError("template %s/docker-compose.yml.j2 mounts %s, which the bundle does not have"
                                          % (cluster, src))
                    for name in names:
                        h.update(name.encode("utf-8") + b"\0" + files[name] + b"\0")
                elif kind == "data" and rel:
                    data_dirs.append(rel)
            return h.hexdigest()

        ctx["config_hash"] = config_hash
        for template, out in self.templates(cluster):
            try:
                text = template.render(ctx)
            except jinja2.UndefinedError as exc:
                raise BundleError("template %s: %s" % (template.name, exc))
            files[out] = text.encode("utf-8")
        for rel in data_dirs:
            if any(p == rel or p.startswith(rel + "/") for p in files):
                raise BundleError("persistent data folder %s must not be part of bundle %s" % (rel, project))
        spec = self.catalogue["clusters"][cluster]
        private = tuple(spec.get("private_files", ()))
        missing = [p for p in private if p not in files]
        if missing:
            raise BundleError("FATE %s: private file(s) %s of cluster %s are not rendered by any template"
                              % (self.version, ", ".join(missing), cluster))
        # Every file that carries one of the party's passwords is private too (0600 wherever it lands),
        # whichever template wrote it: secrets need no escaping (check_secrets), so each appears verbatim.
        values = [v.encode("utf-8") for v in (ctx.get("secrets") or {}).values() if isinstance(v, str) and v]
        private += tuple(sorted(p for p, data in files.items() if p not in private and any(v in data for v in values)))
        return Bundle(project, files, spec["empty_dirs"], private)

    def render_party(self, party, directory, settings, secrets):
        """Bundles of one checked party: confs-<id> and, with serving, serving-<id>."""
        pid = party["party_id"]
        if not any(d["party_id"] == pid for d in directory):
            raise BundleError("party %s is missing from seedfate_party_directory" % pid)
        fateboard_port = party.get("fateboard_port")
        if fateboard_port is None:
            fateboard_port = settings["fateboard_port_base"] + party["index"]
        out = []
        for cluster in (naming.TRAINING, naming.SERVING):
            comps = party["clusters"].get(cluster)
            if not comps or cluster not in self.catalogue["clusters"]:
                continue
            project = naming.bundle_project(cluster, pid)
            ctx = self._context(cluster, project, pid, comps, directory, settings,
                                party_index=party["index"], secrets=secrets, fateboard_port=fateboard_port)
            out.append(self._render_cluster(cluster, project, ctx))
        return out

    def render_exchange(self, directory, settings):
        ex = settings.get("exchange")
        if not ex:
            raise BundleError("no exchange is configured (fate_config_exchange)")
        if naming.EXCHANGE not in self.catalogue["clusters"]:
            raise BundleError("FATE %s has no exchange (fate_config_exchange must stay empty for it)" % self.version)
        project = naming.bundle_project(naming.EXCHANGE)
        comps = {"exchange": dict((k, ex[k]) for k in ("address", "network", "gateway"))}
        ctx = self._context(naming.EXCHANGE, project, EXCHANGE_ID, comps, directory, settings)
        return self._render_cluster(naming.EXCHANGE, project, ctx)

    def render_parties_conf(self, directory, settings):
        if not _USER_RE.match(settings.get("user") or ""):
            raise BundleError("user (fate_config_user) must be a plain user name, got %r" % (settings.get("user"),))
        template = self.env.get_template("parties.conf.j2")
        ctx = {"version": self.version, "directory": directory, "exchange": settings.get("exchange"),
               "user": settings["user"], "deploy_dir": settings["deploy_dir"], "catalogue": self.catalogue,
               "ports": self.catalogue["ports"], "fate_settings": self.catalogue.get("settings", {})}
        return template.render(ctx).encode("utf-8")


def check_settings(settings):
    """Checks of the lab-wide settings shared by every kind of output. Returns warnings (a list of
    messages): 0.0.0.0 as publish address is allowed, but said."""
    _checked(validate.absolute_path, "deploy_dir (fate_config_deploy_dir)", settings.get("deploy_dir"), "deploy_dir")
    _address, warning = _checked(validate.bind_address, "publish_address (fate_config_publish_address)",
                                 settings.get("publish_address"), "publish_address")
    _port(settings.get("fateboard_port_base", 18080), "fateboard_port_base (fate_config_fateboard_port_base)")
    try:
        timeout = int(settings.get("grpc_timeout_ms"))
    except (TypeError, ValueError):
        timeout = 0
    if timeout < 1000:
        raise BundleError("grpc_timeout_ms (fate_config_grpc_timeout_ms) must be at least 1000, got %r"
                          % (settings.get("grpc_timeout_ms"),))
    return [warning] if warning else []


# --------------------------------------------------------------------------------------------------
# Deterministic tars and change-aware writes
# --------------------------------------------------------------------------------------------------

def _tarinfo(name, size=None, mode=None):
    info = tarfile.TarInfo(name)
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if size is None:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755 if mode is None else mode
    else:
        info.size = size
        info.mode = 0o644 if mode is None else mode
    return info


def tar_bytes(bundle):
    """The bundle as a plain tar: sorted entries, one top folder, mtime 0, owner 0:0, 0644/0755.

    Private files (every file with a password) are 0600 and then the top folder is 0700.
    """
    top = bundle.project
    entries = {top: None}
    for rel in list(bundle.files) + list(bundle.empty_dirs):
        parts = rel.split("/")
        for i in range(1, len(parts)):
            entries["/".join([top] + parts[:i])] = None
    for rel in bundle.empty_dirs:
        entries["%s/%s" % (top, rel)] = None
    modes = {}
    for rel, data in bundle.files.items():
        entries["%s/%s" % (top, rel)] = data
        if rel in getattr(bundle, "private_files", ()):
            modes["%s/%s" % (top, rel)] = 0o600
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(entries):
            data = entries[name]
            if data is None:
                private = name == top and bool(getattr(bundle, "private_files", ()))
                tar.addfile(_tarinfo(name, mode=0o700 if private else 0o755))
            else:
                tar.addfile(_tarinfo(name, len(data), modes.get(name, 0o644)), io.BytesIO(data))
    return buf.getvalue()


def tar_digest(data):
    """{member name: sha256 of its content, or 'dir'} of a tar's bytes (None -> {})."""
    if not data:
        return {}
    out = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for m in tar.getmembers():
                if m.isdir():
                    out[m.name] = "dir"
                else:
                    out[m.name] = hashlib.sha256(tar.extractfile(m).read()).hexdigest()
    except tarfile.TarError:
        return {"<unreadable archive>": "?"}
    return out


def write_output(path, data, mode, check_mode=False, members=True):
    """Write ``data`` at ``path`` if its bytes (or mode) differ.

    Returns a result dict: path, sha256, changed, and (for tars) the member paths whose content
    changed, appeared or vanished.
    """
    before = fileio.read_bytes(path)
    changed = fileio.write_if_changed(path, data, mode=mode, check_mode=check_mode)
    result = {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "changed": changed}
    if members:
        if changed and before != data:
            old, new = tar_digest(before), tar_digest(data)
            diff = sorted(n for n in set(old) | set(new) if old.get(n) != new.get(n))
            # Folders only matter when they are the whole change (an empty folder came or went).
            files = [n for n in diff if "dir" not in (old.get(n), new.get(n))]
            result["files_changed"] = files or diff
        else:
            result["files_changed"] = []
    return result
