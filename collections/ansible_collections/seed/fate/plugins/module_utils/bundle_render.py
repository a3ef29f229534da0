# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""FATE bundles, part 3: rendering a party's compose projects in memory.

A party's whole bundle is rendered in one call from the templates of its FATE version
(``<template_dir>/<cluster>/**.j2``): every config file first, then ``docker-compose.yml``, whose
services carry the hash of the config files they mount. Templates are compiled once per process.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import ipaddress
import json
import os
import re
import shlex
import threading

try:
    import jinja2
    HAS_JINJA2 = True
    JINJA2_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - jinja2 comes with ansible-core
    jinja2 = None
    HAS_JINJA2 = False
    JINJA2_IMPORT_ERROR = exc

from ansible_collections.seed.fate.plugins.module_utils import fate_versions
from ansible_collections.seed.fate.plugins.module_utils import naming
from ansible_collections.seed.fate.plugins.module_utils.bundle_checks import BundleError, fateboard_port

# Where FATE 1.x images keep everything (KubeFATE's /f); every version's is its catalogue's fate_home.
FATE_HOME = fate_versions.get(fate_versions.DEFAULT_VERSION)["fate_home"]
_USER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
EXCHANGE_ID = "exchange"


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
        board_port = fateboard_port(party, settings["fateboard_port_base"])
        out = []
        for cluster in (naming.TRAINING, naming.SERVING):
            comps = party["clusters"].get(cluster)
            if not comps or cluster not in self.catalogue["clusters"]:
                continue
            project = naming.bundle_project(cluster, pid)
            ctx = self._context(cluster, project, pid, comps, directory, settings,
                                party_index=party["index"], secrets=secrets, fateboard_port=board_port)
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
