# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every party's FATE bundles of a lab in one call: checks, secrets, rendering, writes, per-party results.

Plain Python on top of ``module_utils/fate_bundle`` (usable without Ansible): the action plugin
``seed.fate.fate_bundles`` wires it on the controller, so a lab of N parties costs one call instead of N
module processes. Order of work, as ``fate_bundle`` does for one party:

1. the whole lab is checked (ids, components, addresses, published ports) - a bad lab writes nothing;
2. every party's passwords are resolved (stored file, generated on first run, user overrides on top) and
   every bundle is rendered and packed in memory - a template error writes nothing either;
3. then each party's secrets file (0600 in a 0700 folder) and archives (0600) are written atomically,
   each only when its bytes differ; check mode writes nothing.

The result says per party whether it changed and which archive members changed, so the caller can
report each party honestly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pickle

from ansible_collections.seed.fate.plugins.module_utils import fate_bundle as fb
from ansible_collections.seed.fate.plugins.module_utils import fate_versions

MASK = "********"
# Below this many parties per process a helper process costs more than it saves.
PARTIES_PER_WORKER = 12
MAX_WORKERS = 4


def default_workers():
    """Processes to render with: one per CPU this process may use, at most MAX_WORKERS."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def _render_tars(renderer, items, directory, settings):
    """[[(project, archive, tar bytes)] per party] of ``items``, [(checked party, its passwords)]."""
    return [[(b.project, b.archive, fb.tar_bytes(b)) for b in renderer.render_party(party, directory, settings, values)]
            for party, values in items]


def _forked(renderer, items, directory, settings):
    """Start a child process rendering ``items``; returns (pid, read end of its pipe), or None if no fork."""
    try:
        rfd, wfd = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(rfd)
        os.close(wfd)
        return None
    if pid == 0:  # pragma: no cover - the child leaves through os._exit, out of coverage's sight
        code = 0
        try:
            os.close(rfd)
            try:
                payload = ("ok", _render_tars(renderer, items, directory, settings))
            except fb.BundleError as exc:
                payload = ("error", str(exc))
            except Exception as exc:  # pylint: disable=broad-except
                payload = ("crash", "%s: %s" % (type(exc).__name__, exc))
            data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(wfd, "wb") as f:
                f.write(data)
        except BaseException:  # pylint: disable=broad-except
            code = 1
        finally:
            os._exit(code)
    os.close(wfd)
    return pid, rfd


def _collect(pid, rfd):
    """What the child ``pid`` rendered: its list, or raises BundleError; None when it died without a word."""
    with os.fdopen(rfd, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    if not data:
        return None
    status, value = pickle.loads(data)
    if status == "ok":
        return value
    if status == "error":
        raise fb.BundleError(value)
    raise fb.BundleError("rendering failed in a helper process: %s" % value)


def render_all(renderer, items, directory, settings, workers=1):
    """Render and pack every party of ``items`` ([(checked party, its passwords)]), in order.

    With ``workers`` > 1 and enough parties, forked helper processes take a share each (the templates are
    already compiled in the parent, so a child starts rendering at once) and send back the tar bytes.
    Output is the same bytes in the same order whatever the number of processes; a helper that cannot be
    started or dies leaves its share to this process.
    """
    workers = max(1, min(int(workers or 1), len(items) // PARTIES_PER_WORKER or 1))
    if workers == 1 or not hasattr(os, "fork"):
        return _render_tars(renderer, items, directory, settings)
    # Make sure every template is compiled before forking, so no child compiles it again.
    for cluster in renderer.catalogue["clusters"]:
        if any(cluster in party["clusters"] for party, _values in items):
            renderer.templates(cluster)
    shares = [items[i::workers] for i in range(workers)]
    children = [(k, _forked(renderer, shares[k], directory, settings)) for k in range(1, workers)]
    done = {0: _render_tars(renderer, shares[0], directory, settings)}
    error = None
    for k, child in children:
        got = None
        if child is not None:
            try:
                got = _collect(*child)
            except fb.BundleError as exc:
                error = error or exc
        if got is None and error is None:
            got = _render_tars(renderer, shares[k], directory, settings)
        done[k] = got
    if error is not None:
        raise error
    out = [None] * len(items)
    for k in range(workers):
        out[k::workers] = done[k]
    return out


def _overrides_of(secrets, party_id):
    """The user's passwords of one party; ``secrets`` keys may be ints (YAML) or strings."""
    secrets = secrets or {}
    if not isinstance(secrets, dict):
        raise fb.BundleError("secrets (fate_config_secrets) must be a mapping of party id to passwords")
    found = None
    for key, value in secrets.items():
        if str(key) == party_id:
            found = value
            break
    if found in (None, ""):
        return {}
    if not isinstance(found, dict):
        raise fb.BundleError("fate_config_secrets[%s] must be a mapping of password names to values" % party_id)
    return found


def _secret_values(values):
    return set(v for v in values if isinstance(v, str) and v)


def render_lab(parties, directory, template_dir, dest, secrets_dir, fate_version=fate_versions.DEFAULT_VERSION,
               exchange=None, images=None, secrets=None, deploy_dir=fb.DEFAULT_DEPLOY_DIR,
               publish_address=fb.DEFAULT_PUBLISH_ADDRESS, fateboard_port_base=fb.DEFAULT_FATEBOARD_PORT_BASE,
               grpc_timeout_ms=fb.DEFAULT_GRPC_TIMEOUT_MS, user=fb.DEFAULT_USER, parties_conf=True, check_mode=False,
               workers=1):
    """Render and write every party's bundles, ``parties.conf`` and the exchange (when configured).

    ``parties``: dicts of party_id, index, clusters[, serving, fateboard_port, name, host] (the
    ``fate_bundle`` module's ``party``). ``secrets``: the user's passwords per party id. The secrets of
    party ``<id>`` are kept in ``<secrets_dir>/<id>.yml``. ``workers``: processes to render with
    (``render_all``).

    Returns a dict: ``changed``; ``parties`` (per party in the given order: party_id, name, changed,
    secrets_changed, bundles); ``bundles`` (lab-wide files: parties.conf, confs-exchange); ``catalogue``;
    ``warnings``; and ``secret_values``, the user's passwords, for the caller to mask (never return it).
    Nothing in the result is made from a password; masking the user's (which may be short or common
    words) is a second line of defence, generated ones (random) need none.
    """
    catalogue = fate_versions.get(fate_version)
    settings = {"deploy_dir": deploy_dir, "publish_address": publish_address,
                "fateboard_port_base": fateboard_port_base, "grpc_timeout_ms": grpc_timeout_ms, "user": user}
    warnings = fb.check_settings(settings)
    if not parties:
        raise fb.BundleError("parties (the play's fate_parties hosts) must not be empty")
    # Every FATEBoard is published somewhere: the default port takes part in the collision check too.
    checked, dir_entries, ex = fb.check_lab(parties, directory, exchange, publish_address, catalogue,
                                            fateboard_port_base=fateboard_port_base)
    settings["exchange"] = ex
    images = fb.images_with_defaults(images, catalogue)
    described = fate_versions.describe(catalogue["version"], images)
    settings["images"], settings["holder_image"] = fb.normalize_images(images, catalogue)
    renderer = fb.Renderer(template_dir, fate_version)

    # Everything in memory first: a party that fails to render stops the lab before anything is written.
    # Passwords are resolved (and generated) here, in this process, before any rendering.
    masked = set()  # the user's passwords (generated ones are random and never put in a result)
    resolved = []
    for party in checked:
        pid = party["party_id"]
        overrides = _overrides_of(secrets, pid)
        masked |= _secret_values(overrides.values())
        path = os.path.join(secrets_dir, "%s.yml" % pid)
        values, secrets_data = fb.resolve_secrets(path, pid, overrides, keys=catalogue["secrets"])
        resolved.append((party, path, secrets_data, values))
    rendered = render_all(renderer, [(party, values) for party, _p, _d, values in resolved], dir_entries, settings,
                          workers)
    planned = [(party, path, secrets_data, tars) for (party, path, secrets_data, _v), tars in zip(resolved, rendered)]
    lab_files = []
    if parties_conf:
        lab_files.append(("parties.conf", "parties.conf", renderer.render_parties_conf(dir_entries, settings), 0o644))
    if ex:
        b = renderer.render_exchange(dir_entries, settings)
        lab_files.append((b.project, b.archive, fb.tar_bytes(b), fb.TAR_MODE))

    results = []
    for party, path, secrets_data, tars in planned:
        secrets_changed = secrets_data is not None
        if secrets_changed and not check_mode:
            fb.store_secrets(path, secrets_data)
        bundles = []
        for project, archive, data in tars:
            target = os.path.join(dest, archive)
            created = not os.path.lexists(target)
            r = fb.write_output(target, data, fb.TAR_MODE, check_mode=check_mode)
            r["project"], r["created"] = project, created
            bundles.append(r)
        results.append({"party_id": party["party_id"], "name": party["name"], "secrets_file": path,
                        "secrets_changed": secrets_changed, "bundles": bundles,
                        "changed": secrets_changed or any(r["changed"] for r in bundles)})
    lab_bundles = []
    for project, name, data, mode in lab_files:
        is_tar = name.endswith(".tar")
        path = os.path.join(dest, name)
        created = not os.path.lexists(path)
        r = fb.write_output(path, data, mode, check_mode=check_mode, members=is_tar)
        r["project"], r["created"] = project, created
        if not is_tar:
            r["files_changed"] = [name] if r["changed"] else []
        lab_bundles.append(r)
    changed = any(r["changed"] for r in results) or any(r["changed"] for r in lab_bundles)
    return {"changed": changed, "parties": results, "bundles": lab_bundles, "catalogue": described,
            "warnings": warnings, "secret_values": masked}


def diff(result):
    """Per changed party (then the lab-wide files), the archive members that changed, never their content.

    The ``fate_bundle`` module's form: ``before`` lists ``<project>: <member>``, ``after`` the same with
    `` (changed)``; the members of a new archive are only in ``after`` (`` (new)``); a secrets file
    written is named, its content never shown.
    """
    out = []

    def entry(header, bundles, secrets_file=None):
        before, after = [], []
        for r in bundles:
            for name in r.get("files_changed", []):
                if r.get("created"):
                    after.append("%s: %s (new)" % (r["project"], name))
                else:
                    before.append("%s: %s" % (r["project"], name))
                    after.append("%s: %s (changed)" % (r["project"], name))
        if secrets_file:
            before.append("secrets: %s" % secrets_file)
            after.append("secrets: %s (written, mode 0600, content not shown)" % secrets_file)
        if after:
            out.append({"before_header": header, "after_header": header,
                        "before": "".join(line + "\n" for line in before),
                        "after": "".join(line + "\n" for line in after)})

    for p in result["parties"]:
        if p["changed"]:
            entry("%s (party %s)" % (p["name"], p["party_id"]), p["bundles"],
                  p["secrets_file"] if p["secrets_changed"] else None)
    entry("lab", [r for r in result["bundles"] if r["changed"]])
    return out


def summary(result):
    """The report: one line per changed party (which archives changed, and which of their members), one
    line naming the unchanged parties, one line per lab-wide file."""
    lines, unchanged = [], []

    def describe(r):
        name = os.path.basename(r["path"])
        if not r["changed"]:
            return "%s unchanged" % name
        if r.get("created"):
            return "%s created" % name
        files = [f.split("/", 1)[-1] for f in r.get("files_changed", [])]
        return "%s changed (%s)" % (name, ", ".join(files)) if files else "%s changed (mode)" % name

    for p in result["parties"]:
        if not p["changed"]:
            unchanged.append(p["name"])
            continue
        parts = [describe(r) for r in p["bundles"]]
        if p["secrets_changed"]:
            parts.append("secrets written")
        lines.append("%s: %s" % (p["name"], "; ".join(parts)))
    if unchanged:
        lines.append("unchanged (%d of %d parties): %s" % (len(unchanged), len(result["parties"]), ", ".join(unchanged)))
    for r in result["bundles"]:
        lines.append("lab: %s" % describe(r))
    return lines


def mask(value, secret_values):
    """``value`` (result data) with every occurrence of a password replaced by ``MASK``."""
    if not secret_values:
        return value
    if isinstance(value, dict):
        return dict((k, mask(v, secret_values)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [mask(v, secret_values) for v in value]
    if isinstance(value, str):
        for s in sorted(secret_values, key=len, reverse=True):
            if s in value:
                value = value.replace(s, MASK)
    return value
