# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""FATE bundles, part 1: input checks. Everything is checked before anything is written.

A party is its id, layout index and clusters (component -> address, docker network, gateway); the
directory lists every party's proxy, python and serving addresses in layout order (docs/contracts.md
"Inventory"). Each check returns a normalized copy or raises :class:`BundleError` naming the field and
where it came from.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.seed.fate.plugins.module_utils import fate_versions
from ansible_collections.seed.fate.plugins.module_utils import naming
from ansible_collections.seed.fate.plugins.module_utils import validate

DEFAULT_EXCHANGE_PUBLISH_PORT = 9371
DEFAULT_FATEBOARD_PORT_BASE = 18080


class BundleError(ValueError):
    """Bad input; the message names the field and where it came from."""


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


def port(value, where):
    """``value`` as a port number (1-65535), or a BundleError naming ``where``."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BundleError("%s must be a port number, got %r" % (where, value))
    if not 1 <= number <= 65535:
        raise BundleError("%s must be a port number (1-65535), got %r" % (where, value))
    return number


def _component(comp, where):
    if not isinstance(comp, dict):
        raise BundleError("%s must be a mapping with address, network and gateway, got %r" % (where, comp))
    out = {}
    for key in ("address", "gateway"):
        out[key] = _lab_address(comp.get(key), "%s.%s" % (where, key), key)
    out["network"] = _checked(validate.docker_name, where + ".network", comp.get("network"),
                              "network (the skeleton's docker network)")
    return out


def fateboard_port(party, base):
    """Host port of a party's FATEBoard: its own ``fateboard_port`` when set, else ``base`` plus its layout
    ``index`` (fate_config_fateboard_port, else fate_config_fateboard_port_base + seedfate_party_index).

    The one place this port is computed: the lab's collision check and the rendered compose file use it.
    """
    own = party.get("fateboard_port")
    return own if own is not None else int(base) + int(party.get("index") or 0)


def normalize_party(party, catalogue, source="party", fateboard_port_base=None):
    """Checked copy of one party: party_id (str), index, clusters (ordered as the version lists its
    components), serving requested or not, fateboard_port, host.

    ``fateboard_port``: the party's own, else (with ``fateboard_port_base``) the default of
    :func:`fateboard_port`, else left out."""
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
    board = party.get("fateboard_port")
    if board is None and fateboard_port_base is not None:
        board = fateboard_port(out, fateboard_port_base)
    if board is not None:
        out["fateboard_port"] = port(board, "%s: fateboard_port" % where)
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
    out["publish_port"] = port(publish, "%s.publish_port" % source) if publish not in (None, 0, False) else None
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


def check_lab(parties, directory, exchange, publish_address, catalogue, source="fate_parties",
              fateboard_port_base=None):
    """Lab-wide checks: ids, party directory, addresses and published ports.

    Returns (checked parties, checked directory, checked exchange or None). With ``fateboard_port_base``
    every party's FATEBoard port (its own or the default) takes part in the collision check; without it,
    only the ports parties set themselves."""
    dir_entries = normalize_directory(directory, catalogue=catalogue)
    by_id = dict((d["party_id"], d) for d in dir_entries)
    checked, hosts_of = [], {}
    for i, party in enumerate(parties or []):
        p = normalize_party(party, catalogue, "%s[%d] %s" % (source, i, party.get("name", "")) if isinstance(party, dict)
                            else "%s[%d]" % (source, i), fateboard_port_base)
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

    def _take(host, number, what):
        key = (host, publish_address, number)
        if key in taken:
            raise BundleError("published port collision on %s %s:%s: %s and %s; set fate_config_fateboard_port / "
                              "fate_config_fateboard_port_base or fate_config_exchange.publish_port apart"
                              % (host, publish_address, number, taken[key], what))
        taken[key] = what

    for p in checked:
        # Only versions with a FATEBoard publish it.
        if "fateboard_port" in p and "fateboard" in catalogue["ports"]:
            _take(p["host"], p["fateboard_port"], "fateboard of %s" % p["name"])
    if ex and ex["publish_port"]:
        _take(ex["host"], ex["publish_port"], "the exchange")
    return checked, dir_entries, ex


def check_settings(settings):
    """Checks of the lab-wide settings shared by every kind of output. Returns warnings (a list of
    messages): 0.0.0.0 as publish address is allowed, but said."""
    _checked(validate.absolute_path, "deploy_dir (fate_config_deploy_dir)", settings.get("deploy_dir"), "deploy_dir")
    _address, warning = _checked(validate.bind_address, "publish_address (fate_config_publish_address)",
                                 settings.get("publish_address"), "publish_address")
    port(settings.get("fateboard_port_base", DEFAULT_FATEBOARD_PORT_BASE), "fateboard_port_base (fate_config_fateboard_port_base)")
    try:
        timeout = int(settings.get("grpc_timeout_ms"))
    except (TypeError, ValueError):
        timeout = 0
    if timeout < 1000:
        raise BundleError("grpc_timeout_ms (fate_config_grpc_timeout_ms) must be at least 1000, got %r"
                          % (settings.get("grpc_timeout_ms"),))
    return [warning] if warning else []
