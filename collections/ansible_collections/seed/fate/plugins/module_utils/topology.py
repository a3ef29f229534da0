# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The declarative lab (topology + FATE parties): validation and normalisation.

Input is what a user writes in inventory vars (``seedfate_topology``, ``seedfate_parties``), after
Ansible has passed it through JSON, so mapping keys may arrive as strings ("150") or ints (150).
Output is one plain, ordered structure that ``seedemu_build`` turns into seedemu calls. Every
problem is reported as a :class:`TopologyError` naming the offending field by its path, before
anything is built or written. No seedemu here: this runs (and is tested) without it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.seed.fate.plugins.module_utils import fate_versions
from ansible_collections.seed.fate.plugins.module_utils import validate

# The components a party reserves come from the version catalogue (fate_versions), in the order the
# fork (and so seedemu) reserves their addresses. These two name the default version's, for callers
# that predate the catalogue.
TRAINING_COMPONENTS = fate_versions.components(fate_versions.get(fate_versions.DEFAULT_VERSION), "training")
SERVING_COMPONENTS = fate_versions.components(fate_versions.get(fate_versions.DEFAULT_VERSION), "serving")
# The fork prefixes serving ghosts so they do not clash with training ones in the same AS.
SERVING_PREFIX = "Serving"

# seedemu's default address plan inside an AS network (AddressAssignmentConstraint defaults).
HOST_FIRST, HOST_LAST = 71, 99
ROUTER_FIRST, ROUTER_LAST = 254, 200
RELATIONSHIPS = ("peer", "provider", "unfiltered")

# The seedemu services a declarative host may run, the one list of them: name -> the seedemu service layer
# (a class of seedemu.services), the Debian packages its install adds to the node (the offline node image
# must carry them: nothing is installed while the lab is built) and its options (the server's setter, and
# how to check the value). Only services whose packages the node image carries belong here.
SERVICES = {
    "web": {
        "layer": "WebService",
        "packages": ["nginx-light"],
        "options": {
            "port": {"setter": "setPort", "check": "port"},
            "index": {"setter": "setIndexContent", "check": "page"},
        },
    },
}
# Placeholders seedemu fills in a WebService index page.
_PAGE_FIELDS = {"asn": 0, "nodeName": "host"}

_IX_RE = re.compile(r"^ix([0-9]+)$")


class TopologyError(ValueError):
    """Bad input. ``field`` is the path of the offending value, e.g. ``topology.peerings[0].ix``."""

    def __init__(self, field, message, source=None):
        self.field = field
        self.message = message
        self.source = source
        where = "%s (in %s)" % (field, source) if source else field
        super(TopologyError, self).__init__("%s: %s" % (where, message))


def host_capacity():
    """How many hosts seedemu can place on one AS network with its default address plan."""
    return HOST_LAST - HOST_FIRST + 1


def ghost_name(cluster, component):
    """seedemu host name of a party component (fork naming: serving ones carry a prefix)."""
    return SERVING_PREFIX + component if cluster == "serving" else component


def _catalogue(fate_version):
    try:
        return fate_versions.get(fate_version or fate_versions.DEFAULT_VERSION)
    except fate_versions.UnsupportedVersion as exc:
        raise TopologyError("fate_version", str(exc))


def party_components(party, fate_version=None):
    """[(cluster, component)] a normalised party reserves, in reservation order, for its FATE version
    (default: the catalogue's default version)."""
    catalogue = _catalogue(fate_version)
    out = []
    if party["training"]:
        out.extend(("training", c) for c in fate_versions.components(catalogue, "training"))
    if party["serving"]:
        out.extend(("serving", c) for c in fate_versions.components(catalogue, "serving"))
    return out


def _int(value, field, what, lo=None, hi=None):
    try:
        return validate.integer(value, what, lo, hi)
    except validate.Invalid as exc:
        raise TopologyError(field, str(exc))


def _bool(value, field):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.lower() in ("true", "yes", "on", "1")
    raise TopologyError(field, "must be true or false, got %r" % (value,))


def _name(value, field, what):
    try:
        return validate.name(value, what)
    except validate.Invalid as exc:
        raise TopologyError(field, str(exc))


def _prefix(value, field):
    try:
        net = validate.prefix(value, "prefix")
    except validate.Invalid as exc:
        raise TopologyError(field, str(exc))
    if net.prefixlen > 24:
        # seedemu puts hosts at .71-.99 and routers at .254 downwards: it needs a whole /24.
        raise TopologyError(field, "prefix %s is smaller than a /24; seedemu's address plan needs at least a /24" % net)
    return net


def _mapping(value, field, what):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TopologyError(field, "%s must be a mapping, got %s" % (what, type(value).__name__))
    return value


def _list(value, field, what):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise TopologyError(field, "%s must be a list, got %s" % (what, type(value).__name__))
    return list(value)


def _unknown_keys(entry, allowed, field):
    extra = sorted(str(k) for k in entry if k not in allowed)
    if extra:
        raise TopologyError(field, "unknown key(s) %s (allowed: %s)" % (", ".join(extra), ", ".join(sorted(allowed))))


def _keyed_items(value, field, what, key_name):
    """Accept both ``{key: body}`` and ``[{key_name: key, ...}]``; yield (key, body, field)."""
    if isinstance(value, dict):
        for key, body in value.items():
            yield key, body, "%s.%s" % (field, key)
    elif isinstance(value, (list, tuple)):
        for i, body in enumerate(value):
            sub = "%s[%d]" % (field, i)
            if not isinstance(body, dict) or key_name not in body:
                raise TopologyError(sub, "%s entries in a list need a '%s' key" % (what, key_name))
            rest = dict(body)
            key = rest.pop(key_name)
            yield key, rest, sub
    elif value is None:
        return
    else:
        raise TopologyError(field, "%s must be a mapping or a list, got %s" % (what, type(value).__name__))


def _claim(seen, key, field, what):
    """Record where ``key`` was first given; a second use is an error naming both places."""
    if key in seen:
        raise TopologyError(field, "duplicate %s (also at %s)" % (what, seen[key]))
    seen[key] = field


# Link properties (seedemu's Network.setDefaultLinkProperties / Interface.setLinkProperties): latency in
# milliseconds, bandwidth in bits per second (tc's rate units), loss in percent. Normalised as
# {"latency": int ms, "bandwidth": int bit/s, "loss": int|float %}, holding only the keys that were given.
LINK_KEYS = ("latency", "bandwidth", "loss")
LATENCY_MAX_MS = 60000
BANDWIDTH_MIN, BANDWIDTH_MAX = 1000, 100 * 10 ** 9
_BANDWIDTH_UNITS = {"": 1, "bit": 1, "kbit": 10 ** 3, "mbit": 10 ** 6, "gbit": 10 ** 9}
_LATENCY_UNITS = {"": 1, "ms": 1, "s": 1000}
_QUANTITY_RE = re.compile(r"^\s*(?P<num>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[a-z%]*)\s*$", re.I)


def _quantity(value, field, what, units, example):
    """(number, unit) of an int/float or a string like ``10mbit``; no bools, no negatives."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TopologyError(field, "%s must be a number or a string like %s, got %r" % (what, example, value))
    if isinstance(value, str):
        m = _QUANTITY_RE.match(value)
        if not m:
            raise TopologyError(field, "%s must be a non-negative number with a unit (%s), like %s, got %r"
                                % (what, ", ".join(u for u in units if u), example, value))
        number, unit = float(m.group("num")), m.group("unit").lower()
    else:
        number, unit = float(value), ""
        if value < 0:
            raise TopologyError(field, "%s must not be negative, got %r" % (what, value))
    if unit not in units:
        raise TopologyError(field, "%s has an unknown unit %r in %r (use %s, like %s)"
                            % (what, unit, value, ", ".join(u for u in units if u), example))
    return number, unit


def _latency(value, field):
    number, unit = _quantity(value, field, "latency", _LATENCY_UNITS, "20ms or 1s (a bare number is ms)")
    ms = number * _LATENCY_UNITS[unit]
    if ms != int(ms):
        raise TopologyError(field, "latency must be whole milliseconds (seedemu's unit), got %r" % (value,))
    if ms > LATENCY_MAX_MS:
        raise TopologyError(field, "latency must be at most %d ms, got %r" % (LATENCY_MAX_MS, value))
    return int(ms)


def _bandwidth(value, field):
    if isinstance(value, str) and re.search(r"bps\s*$", value, re.I):
        raise TopologyError(field, "bandwidth %r: say bits per second with bit, kbit, mbit or gbit (tc reads "
                                   "'bps' as bytes per second), like 10mbit" % value)
    number, unit = _quantity(value, field, "bandwidth", _BANDWIDTH_UNITS, "10mbit (a bare number is bit/s)")
    bps = number * _BANDWIDTH_UNITS[unit]
    if bps == 0:
        raise TopologyError(field, "bandwidth must be more than 0 (leave it out for an unlimited link), got %r" % (value,))
    if not BANDWIDTH_MIN <= bps <= BANDWIDTH_MAX:
        raise TopologyError(field, "bandwidth must be between 1kbit and 100gbit, got %r" % (value,))
    return int(round(bps))


def _loss(value, field):
    number, unit = _quantity(value, field, "loss", {"": 1, "%": 1}, "1.5 or '1.5%' (percent)")
    if number > 100:
        raise TopologyError(field, "loss is a percentage from 0 to 100, got %r" % (value,))
    return int(number) if number == int(number) else number


def _link_properties(body, field):
    """The link properties given in mapping ``body`` (other keys are the caller's), normalised."""
    out = {}
    for key, parse in (("latency", _latency), ("bandwidth", _bandwidth), ("loss", _loss)):
        if body.get(key) is not None:
            out[key] = parse(body[key], "%s.%s" % (field, key))
    return out


def _join_target(target, field):
    """(network name or IX id, link properties) of one entry of a router's or host's joins: a plain name,
    an IX id, or a mapping ``{network: <name>, latency, bandwidth, loss}`` for this interface only."""
    if not isinstance(target, dict):
        return target, {}
    _unknown_keys(target, ("network",) + LINK_KEYS, field)
    if target.get("network") is None:
        raise TopologyError(field, "a join given as a mapping needs a 'network' (with latency, bandwidth or loss "
                                   "for this interface), e.g. {network: ix100, bandwidth: 10mbit}")
    return target["network"], _link_properties(target, field)


def _add_links(node, raw_joins, field):
    """Put the per-interface link properties of a router's or host's joins on ``node`` as ``links``
    ({network: properties}, only when some are given)."""
    links = {}
    for j, target in enumerate(_list(raw_joins, field, "joins")):
        name, props = _join_target(target, "%s[%d]" % (field, j))
        if props:
            links[name if isinstance(name, str) else "ix%d" % name] = props
    if links:
        node["links"] = links
    return node


def format_link(props):
    """``latency 20ms, bandwidth 10mbit, loss 1%`` for link properties (tc's units)."""
    parts = []
    if props.get("latency") is not None:
        parts.append("latency %dms" % props["latency"])
    if props.get("bandwidth") is not None:
        parts.append("bandwidth %s" % format_bandwidth(props["bandwidth"]))
    if props.get("loss") is not None:
        parts.append("loss %s%%" % props["loss"])
    return ", ".join(parts)


def format_bandwidth(bps):
    for unit, factor in (("gbit", 10 ** 9), ("mbit", 10 ** 6), ("kbit", 10 ** 3)):
        if bps >= factor and bps % factor == 0:
            return "%d%s" % (bps // factor, unit)
    return "%dbit" % bps


def describe_link(prop, value):
    """``latency 20ms``, ``bandwidth 10mbit``, ``loss 1.5%`` for one normalised property."""
    return format_link({prop: value})


def link_items(model):
    """Every link property the lab asks for: [{where, property, value}] in model order; ``where`` names the
    network (``ix100``, ``AS150 net0``) or the interface (``AS150 router0 on ix100``)."""
    items = []

    def add(where, props):
        for key in LINK_KEYS:
            if props.get(key) is not None:
                items.append({"where": where, "property": key, "value": props[key]})
    for ix in model["internet_exchanges"]:
        add("ix%d" % ix["id"], ix.get("link") or {})
    for system in model["autonomous_systems"]:
        for net in system["networks"]:
            add("AS%d %s" % (system["asn"], net["name"]), net.get("link") or {})
        for kind in ("routers", "hosts"):
            for node in system[kind]:
                for target in node["joins"]:
                    add("AS%d %s on %s" % (system["asn"], node["name"], target), (node.get("links") or {}).get(target, {}))
    return items


def _internet_exchanges(value, field):
    out, seen = [], {}
    for i, entry in enumerate(_list(value, field, "internet_exchanges")):
        sub = "%s[%d]" % (field, i)
        prefix = None
        if isinstance(entry, dict):
            _unknown_keys(entry, ("id", "prefix") + LINK_KEYS, sub)
            if "id" not in entry:
                raise TopologyError(sub, "an internet exchange needs an 'id'")
            ix = _int(entry["id"], sub + ".id", "IX id", 1, 254)
            if entry.get("prefix") is not None:
                prefix = _prefix(entry["prefix"], sub + ".prefix")
        else:
            # seedemu gives the route server the IX id as host number: 1..254.
            ix = _int(entry, sub, "IX id", 1, 254)
        _claim(seen, ix, sub, "internet exchange %d" % ix)
        out.append({"id": ix, "prefix": prefix or ipaddress.IPv4Network("10.%d.0.0/24" % ix)})
        link = _link_properties(entry, sub) if isinstance(entry, dict) else {}
        if link:
            out[-1]["link"] = link
    return out


def _networks(value, field, asn):
    """Networks of one AS: a list of names / {name, prefix} or a mapping name -> {prefix}."""
    out = []
    if isinstance(value, dict):
        items = [(k, v, "%s.%s" % (field, k)) for k, v in value.items()]
    else:
        items = []
        for i, entry in enumerate(_list(value, field, "networks")):
            sub = "%s[%d]" % (field, i)
            if isinstance(entry, dict):
                if "name" not in entry:
                    raise TopologyError(sub, "a network entry needs a 'name'")
                body = dict(entry)
                items.append((body.pop("name"), body, sub))
            else:
                items.append((entry, None, sub))
    seen = {}
    auto_index = 0
    for name, body, sub in items:
        name = _name(name, sub, "network name")
        if _IX_RE.match(name):
            raise TopologyError(sub, "network name %r is reserved for internet exchanges" % name)
        _claim(seen, name, sub, "network %r in AS%d" % (name, asn))
        body = _mapping(body, sub, "network")
        _unknown_keys(body, ("prefix",) + LINK_KEYS, sub)
        link = _link_properties(body, sub)
        if body.get("prefix") is not None:
            prefix = _prefix(body["prefix"], sub + ".prefix")
        elif asn > 255:
            raise TopologyError(sub, "AS%d is above 255, so seedemu cannot derive a prefix for network %r: "
                                     "give it an explicit 'prefix' (e.g. 10.%d.%d.0/24)" % (asn, name, asn // 256, asn % 256))
        else:
            # seedemu hands out 10.<asn>.<k>.0/24 to an AS's automatic networks in creation order.
            if auto_index > 255:
                raise TopologyError(sub, "AS%d has more than 256 networks without explicit prefixes" % asn)
            prefix = ipaddress.IPv4Network("10.%d.%d.0/24" % (asn, auto_index))
            auto_index += 1
        out.append({"name": name, "prefix": prefix, "explicit_prefix": body.get("prefix") is not None})
        if link:
            out[-1]["link"] = link
    if not out:
        raise TopologyError(field, "AS%d needs at least one network" % asn)
    return out


def _joins(value, field, asn, nets, ixes, what, allow_ix):
    joins = _list(value, field, what)
    if not joins:
        raise TopologyError(field, "%s must join at least one network" % what)
    out = []
    for j, target in enumerate(joins):
        sub = "%s[%d]" % (field, j)
        target = _join_target(target, sub)[0]
        if isinstance(target, int) and not isinstance(target, bool):
            target = "ix%d" % target
        if not isinstance(target, str):
            raise TopologyError(sub, "expected a network name or ixN, got %r" % (target,))
        m = _IX_RE.match(target)
        if m:
            if not allow_ix:
                raise TopologyError(sub, "hosts cannot join internet exchange %s; only routers can" % target)
            if _int(m.group(1), sub, "IX id of %r" % target, 1, 254) not in ixes:
                raise TopologyError(field, "joins unknown internet exchange %r (known: %s)"
                                    % (target, ", ".join("ix%d" % i for i in ixes) or "none"))
            if not 2 <= asn <= 254:
                # seedemu derives a router's IX address from its ASN.
                raise TopologyError(field, "AS%d cannot join %s: seedemu maps the ASN to the router's IX address, "
                                           "so only ASNs 2-254 can join an internet exchange" % (asn, target))
        elif target not in nets:
            raise TopologyError(field, "joins unknown network %r (AS%d has: %s)" % (target, asn, ", ".join(nets)))
        if target in out:
            raise TopologyError(sub, "joins %r twice" % target)
        out.append(target)
    return out


def _service_option(check, value, field):
    if check == "port":
        return _int(value, field, "port", 1, 65535)
    if not isinstance(value, str):
        raise TopologyError(field, "must be a string (the page's HTML), got %s" % type(value).__name__)
    try:
        value.format(**_PAGE_FIELDS)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
        raise TopologyError(field, "seedemu fills only {asn} and {nodeName} in the page (%s: %s); write {{ and }} "
                                   "for a literal brace (in Ansible variables inside {%% raw %%})"
                            % (type(exc).__name__, exc))
    return value


def _services(value, field, asn, host):
    """A host's services: a list of names (``[web]``) or ``{name, <option>: value}`` entries, each known to
    :data:`SERVICES` and given once. Returns ``[{name, options}]``."""
    known = ", ".join(sorted(SERVICES))
    if value is not None and not isinstance(value, (list, tuple)):
        raise TopologyError(field, "services must be a list (e.g. [%s]), got %s" % (known, type(value).__name__))
    out, seen = [], {}
    for i, entry in enumerate(value or []):
        sub = "%s[%d]" % (field, i)
        options = {}
        if isinstance(entry, dict):
            if "name" not in entry:
                raise TopologyError(sub, "a service entry needs a 'name' (one of: %s)" % known)
            options = dict(entry)
            entry = options.pop("name")
        if not isinstance(entry, str):
            raise TopologyError(sub, "expected a service name (one of: %s) or {name: ..., <option>: ...}, got %r"
                                % (known, entry))
        if entry not in SERVICES:
            raise TopologyError(sub, "unknown service %r (known: %s)" % (entry, known))
        spec = SERVICES[entry]
        _unknown_keys(options, ("name",) + tuple(spec["options"]), sub)
        _claim(seen, entry, sub, "service %r on host %s of AS%d" % (entry, host, asn))
        checked = dict((k, _service_option(spec["options"][k]["check"], v, "%s.%s" % (sub, k)))
                       for k, v in sorted(options.items()))
        out.append({"name": entry, "options": checked})
    return out


def _no_router_services(body, field, asn, router):
    """Services run on hosts; say so rather than "unknown key" when a router is given some."""
    if isinstance(body, dict) and "services" in body:
        raise TopologyError(field + ".services", "services run on hosts, not on routers: router %s of AS%d cannot "
                                                 "run %r; add a host on its network instead (topology."
                                                 "autonomous_systems.%d.hosts: {<name>: {networks: [...], services: "
                                                 "[...]}})" % (router, asn, body["services"], asn))


def _autonomous_systems(value, field, ixes):
    out, seen = [], {}
    for key, body, sub in _keyed_items(value, field, "autonomous_systems", "asn"):
        asn = _int(key, sub, "ASN", validate.ASN_MIN, validate.ASN_MAX)
        _claim(seen, asn, sub, "ASN %d" % asn)
        body = _mapping(body, sub, "autonomous system")
        _unknown_keys(body, ("networks", "routers", "hosts"), sub)
        nets = _networks(body.get("networks"), sub + ".networks", asn)
        net_names = [n["name"] for n in nets]
        routers, names = [], {}
        for rname, joins, rsub in _keyed_items(body.get("routers"), sub + ".routers", "routers", "name"):
            rname = _name(rname, rsub, "router name")
            if rname in names:
                raise TopologyError(rsub, "duplicate router %r in AS%d" % (rname, asn))
            names[rname] = rsub
            _no_router_services(joins, rsub, asn, rname)
            if isinstance(joins, dict):
                _unknown_keys(joins, ("networks",), rsub)
                joins = joins.get("networks")
            routers.append(_add_links({"name": rname, "joins": _joins(joins, rsub, asn, net_names, ixes, "router", True)},
                                      joins, rsub))
        if not routers:
            raise TopologyError(sub + ".routers", "AS%d needs at least one router" % asn)
        hosts = []
        raw_hosts = body.get("hosts")
        if isinstance(raw_hosts, (list, tuple)) and all(isinstance(h, str) for h in raw_hosts):
            # Shorthand: a list of host names, each on the AS's first network.
            raw_hosts = dict((h, [net_names[0]]) for h in raw_hosts)
        for hname, joins, hsub in _keyed_items(raw_hosts, sub + ".hosts", "hosts", "name"):
            hname = _name(hname, hsub, "host name")
            if hname in names:
                raise TopologyError(hsub, "name %r is already used in AS%d (at %s)" % (hname, asn, names[hname]))
            names[hname] = hsub
            services = []
            if isinstance(joins, dict):
                _unknown_keys(joins, ("networks", "services"), hsub)
                services = _services(joins.get("services"), hsub + ".services", asn, hname)
                joins = joins.get("networks")
            if joins is None:
                joins = [net_names[0]]
            hosts.append(_add_links({"name": hname, "joins": _joins(joins, hsub, asn, net_names, ixes, "host", False),
                                     "services": services}, joins, hsub))
        out.append({"asn": asn, "networks": nets, "routers": routers, "hosts": hosts})
    if not out:
        raise TopologyError(field, "the topology needs at least one autonomous system")
    return out


def _at_ix(system, ix):
    return any(("ix%d" % ix) in r["joins"] for r in system["routers"])


def _ixes_of(system):
    return sorted(int(m.group(1)) for r in system["routers"] for m in (_IX_RE.match(j) for j in r["joins"]) if m)


def _check_shared_ix(field, ix, a, b):
    """A private peering (a relationship) needs both ASes at its IX: say which IXes they do share, if any."""
    at_a, at_b = _ixes_of(a), _ixes_of(b)
    if ix in at_a and ix in at_b:
        return
    shared = sorted(set(at_a) & set(at_b))
    where = "AS%d is at %s; AS%d is at %s" % (
        a["asn"], ", ".join("ix%d" % i for i in at_a) or "no IX", b["asn"], ", ".join("ix%d" % i for i in at_b) or "no IX")
    if not shared:
        raise TopologyError(field, "AS%d and AS%d share no internet exchange, so they cannot peer or have a "
                                   "relationship (%s)" % (a["asn"], b["asn"], where))
    missing = a["asn"] if ix not in at_a else b["asn"]
    raise TopologyError(field + ".ix", "AS%d has no router at ix%d, so AS%d and AS%d cannot peer there; they share %s"
                        % (missing, ix, a["asn"], b["asn"], ", ".join("ix%d" % i for i in shared)))


def _check_ix_peerings(systems, peerings):
    """A router joining an IX where its AS has no peering (route server or private) carries no route there."""
    peers = set()
    for peering in peerings:
        for asn in (peering["asns"] if peering["type"] == "route_server" else (peering["a"], peering["b"])):
            peers.add((peering["ix"], asn))
    for system in systems:
        for router in system["routers"]:
            for j, target in enumerate(router["joins"]):
                m = _IX_RE.match(target)
                if m and (int(m.group(1)), system["asn"]) not in peers:
                    raise TopologyError(
                        "topology.autonomous_systems.%d.routers.%s" % (system["asn"], router["name"]),
                        "router %s joins %s, but AS%d does not peer at %s: add it to a peering there "
                        "(topology.peerings: {ix: %s, route_server: [...]} or {ix: %s, a: ..., b: ..., "
                        "relationship: ...}) or remove %s from the router's networks"
                        % (router["name"], target, system["asn"], target, m.group(1), m.group(1), target))


def multi_router_asns(model):
    """ASNs of the ASes with more than one router: they need iBGP and an IGP (OSPF) inside."""
    return [s["asn"] for s in model["autonomous_systems"] if len(s["routers"]) > 1]


def _peerings(value, field, ixes, systems):
    by_asn = dict((s["asn"], s) for s in systems)
    out, private = [], {}
    for i, entry in enumerate(_list(value, field, "peerings")):
        sub = "%s[%d]" % (field, i)
        entry = _mapping(entry, sub, "peering")
        if "ix" not in entry:
            raise TopologyError(sub, "a peering needs an 'ix'")
        ix = _int(entry["ix"], sub + ".ix", "IX id", 1, 254)
        if ix not in ixes:
            raise TopologyError(sub + ".ix", "unknown internet exchange %d" % ix)

        def member(value, mfield, check_ix=True):
            asn = _int(value, mfield, "ASN", validate.ASN_MIN, validate.ASN_MAX)
            if asn not in by_asn:
                raise TopologyError(mfield, "AS%d is not in topology.autonomous_systems" % asn)
            if check_ix and not _at_ix(by_asn[asn], ix):
                raise TopologyError(mfield, "AS%d has no router at ix%d, so it cannot peer there" % (asn, ix))
            return asn

        if "route_server" in entry:
            _unknown_keys(entry, ("ix", "route_server"), sub)
            asns = [member(a, "%s.route_server[%d]" % (sub, j))
                    for j, a in enumerate(_list(entry["route_server"], sub + ".route_server", "route_server"))]
            if not asns:
                raise TopologyError(sub + ".route_server", "a route server peering needs at least one member AS")
            if len(set(asns)) != len(asns):
                raise TopologyError(sub + ".route_server", "an AS is listed twice")
            out.append({"ix": ix, "type": "route_server", "asns": asns})
        elif "a" in entry or "b" in entry:
            _unknown_keys(entry, ("ix", "a", "b", "relationship"), sub)
            if "a" not in entry or "b" not in entry:
                raise TopologyError(sub, "a private peering needs both 'a' and 'b'")
            a = member(entry["a"], sub + ".a", False)
            b = member(entry["b"], sub + ".b", False)
            if a == b:
                raise TopologyError(sub, "AS%d cannot peer with itself" % a)
            _check_shared_ix(sub, ix, by_asn[a], by_asn[b])
            pair = (ix, min(a, b), max(a, b))
            if pair in private:
                raise TopologyError(sub, "AS%d and AS%d already peer privately at ix%d (at %s)" % (a, b, ix, private[pair]))
            private[pair] = sub
            rel = entry.get("relationship", "peer")
            if rel not in RELATIONSHIPS:
                raise TopologyError(sub + ".relationship", "must be one of %s, got %r" % (", ".join(RELATIONSHIPS), rel))
            out.append({"ix": ix, "type": "private", "a": a, "b": b, "relationship": rel})
        else:
            raise TopologyError(sub, "a peering is either {ix, route_server: [asns]} or {ix, a, b, relationship}")
    return out


def _read_parties(value, field, default_network):
    """Each party's own fields, checked: (party, field path, body). ``default_network(asn)`` names the
    network of a party that gives none."""
    seen = {}
    for key, body, sub in _keyed_items(value, field, "parties", "id"):
        pid = _int(key, sub, "party id", validate.PARTY_ID_MIN, validate.PARTY_ID_MAX)
        _claim(seen, pid, sub, "party id %d" % pid)
        body = _mapping(body, sub, "party")
        _unknown_keys(body, ("asn", "network", "training", "serving"), sub)
        if "asn" not in body:
            raise TopologyError(sub, "a party needs an 'asn'")
        asn = _int(body["asn"], sub + ".asn", "ASN", validate.ASN_MIN, validate.ASN_MAX)
        network = body.get("network")
        network = _name(network, sub + ".network", "network name") if network is not None else default_network(asn)
        party = {"id": str(pid), "asn": asn, "network": network,
                 "training": _bool(body.get("training", True), sub + ".training"),
                 "serving": _bool(body.get("serving", False), sub + ".serving")}
        if not party["training"] and not party["serving"]:
            raise TopologyError(sub, "a party needs training, serving or both")
        yield party, sub


def _check_version(party, sub, fate_version):
    """A party may only ask for clusters its FATE version has."""
    catalogue = _catalogue(fate_version)
    for cluster in ("training", "serving"):
        if party[cluster] and not fate_versions.components(catalogue, cluster):
            raise TopologyError(sub + "." + cluster, "FATE %s has no %s cluster (it has: %s); set %s: false"
                                % (catalogue["version"], cluster, ", ".join(fate_versions.clusters(catalogue)), cluster))


def _parties(value, field, systems, fate_version=None):
    by_asn = dict((s["asn"], s) for s in systems)
    out, used_as = [], {}

    def first_network(asn):
        return by_asn[asn]["networks"][0]["name"] if asn in by_asn else None

    for party, sub in _read_parties(value, field, first_network):
        _check_version(party, sub, fate_version)
        asn, pid = party["asn"], int(party["id"])
        if asn not in by_asn:
            raise TopologyError(sub + ".asn", "AS%d is not in topology.autonomous_systems" % asn)
        if asn in used_as:
            # Ghost host names (hnode_<asn>_<component>) would clash.
            raise TopologyError(sub + ".asn", "AS%d already hosts party %s; one party per AS" % (asn, used_as[asn]))
        used_as[asn] = pid
        nets = [n["name"] for n in by_asn[asn]["networks"]]
        if party["network"] not in nets:
            raise TopologyError(sub + ".network", "AS%d has no network %r (it has: %s)"
                                % (asn, party["network"], ", ".join(nets)))
        names = set(h["name"] for h in by_asn[asn]["hosts"]) | set(r["name"] for r in by_asn[asn]["routers"])
        for cluster, comp in party_components(party, fate_version):
            if ghost_name(cluster, comp) in names:
                raise TopologyError(sub, "AS%d already has a host or router named %r, which party %d's %s %s needs"
                                    % (asn, ghost_name(cluster, comp), pid, cluster, comp))
        out.append(party)
    return out


def _check_capacity(systems, parties, fate_version=None):
    """seedemu would fail mid-render when a network runs out of host or router addresses."""
    for system in systems:
        for net in system["networks"]:
            name = net["name"]
            ghosts = sum(len(party_components(p, fate_version)) for p in parties if p["asn"] == system["asn"] and p["network"] == name)
            hosts = sum(1 for h in system["hosts"] if name in h["joins"])
            if ghosts + hosts > host_capacity():
                raise TopologyError(
                    "topology.autonomous_systems.%d.networks.%s" % (system["asn"], name),
                    "%d reserved hosts (%d FATE components + %d hosts) but seedemu's host range .%d-.%d holds %d"
                    % (ghosts + hosts, ghosts, hosts, HOST_FIRST, HOST_LAST, host_capacity()))
            routers = sum(1 for r in system["routers"] if name in r["joins"])
            if routers > ROUTER_FIRST - ROUTER_LAST + 1:
                raise TopologyError("topology.autonomous_systems.%d.routers" % system["asn"],
                                    "%d routers on %s exceed seedemu's router range" % (routers, name))


def _check_ix_members(ixes, systems):
    """An internet exchange no router joins is a mistake (a typo in a router's joins, most likely)."""
    for i, ix in enumerate(ixes):
        if not any(_at_ix(s, ix["id"]) for s in systems):
            raise TopologyError("topology.internet_exchanges[%d]" % i, "internet exchange ix%d has no members: no "
                                "router of topology.autonomous_systems joins it" % ix["id"])


def _check_overlaps(ixes, systems):
    seen = [("topology.internet_exchanges (ix%d)" % ix["id"], ix["prefix"]) for ix in ixes]
    for system in systems:
        for net in system["networks"]:
            seen.append(("topology.autonomous_systems.%d.networks.%s" % (system["asn"], net["name"]), net["prefix"]))
    for i, (field, prefix) in enumerate(seen):
        for other_field, other in seen[:i]:
            if prefix.overlaps(other):
                raise TopologyError(field, "prefix %s overlaps %s of %s" % (prefix, other, other_field))


def normalize(topology, parties=None, source=None, fate_version=None):
    """Validate and normalise a declarative lab; parties reserve the components of ``fate_version``
    (default: the catalogue's default version). The version is not part of the returned model: pass
    it on to :func:`ghost_plan`.

    Returns ``{"internet_exchanges": [{id, prefix, link?}], "autonomous_systems": [{asn, networks: [{name,
    prefix, explicit_prefix, link?}], routers: [{name, joins, links?}], hosts: [{name, joins, services: [{name,
    options}], links?}]}], "peerings": [...], "parties": [{id, asn, network, training, serving}]}`` with
    prefixes as ``IPv4Network``. ``link`` (a network's default link properties) and ``links`` ({joined network:
    properties} of a node's own interfaces) are there only when given; see :func:`_link_properties`.
    Raises :class:`TopologyError`.
    """
    try:
        topology = _mapping(topology, "topology", "topology")
        _unknown_keys(topology, ("internet_exchanges", "autonomous_systems", "peerings"), "topology")
        ix_list = _internet_exchanges(topology.get("internet_exchanges"), "topology.internet_exchanges")
        ixes = [ix["id"] for ix in ix_list]
        systems = _autonomous_systems(topology.get("autonomous_systems"), "topology.autonomous_systems", ixes)
        _check_ix_members(ix_list, systems)
        peerings = _peerings(topology.get("peerings"), "topology.peerings", ixes, systems)
        _check_ix_peerings(systems, peerings)
        party_list = _parties(parties, "parties", systems, fate_version)
        _check_capacity(systems, party_list, fate_version)
        _check_overlaps(ix_list, systems)
    except TopologyError as exc:
        if source and not exc.source:
            raise TopologyError(exc.field, exc.message, source)
        raise
    return {"internet_exchanges": ix_list, "autonomous_systems": systems, "peerings": peerings, "parties": party_list}


def normalize_parties_only(parties, source=None, fate_version=None):
    """Parties for script mode, where the topology lives in the user's program (checked later)."""
    try:
        out = []
        for party, sub in _read_parties(parties, "parties", lambda asn: "net0"):
            _check_version(party, sub, fate_version)
            out.append(party)
        return out
    except TopologyError as exc:
        if source and not exc.source:
            raise TopologyError(exc.field, exc.message, source)
        raise


def ghost_plan(parties, fate_version=None):
    """Ghost hosts to reserve, in reservation order: dicts of party, cluster, component, name, asn, network.

    The components are those of ``fate_version`` in the catalogue (default: the default version)."""
    plan = []
    for party in parties:
        for cluster, comp in party_components(party, fate_version):
            plan.append({"party": party["id"], "cluster": cluster, "component": comp,
                         "name": ghost_name(cluster, comp), "asn": party["asn"], "network": party["network"]})
    return plan


def to_jsonable(model):
    """The normalised model with prefixes as strings (for golden files and diffs)."""
    if isinstance(model, dict):
        return dict((k, to_jsonable(v)) for k, v in model.items())
    if isinstance(model, list):
        return [to_jsonable(v) for v in model]
    if isinstance(model, ipaddress.IPv4Network):
        return str(model)
    return model
