# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab as the skeleton stage left it: parties, their components and where each one lives.

Reads the seedemu fork's ``GhostNodes.json`` and ``AutonomousSystems.json`` plus the party layout
(``pre_party_list.json``, nested training/serving form or the older flat form) and turns them into
plain objects, then into the host variables that docs/contracts.md "Inventory" describes.

Plain Python without Ansible, so that it can be tested (and timed) on its own. Every problem in the
input raises :class:`GhostModelError`, whose message names the file and the offending entry.
Everything is parsed once; per-network facts (prefix, gateway) are computed once per network.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import os
import re

from ansible_collections.seed.fate.plugins.module_utils import fate_versions
from ansible_collections.seed.fate.plugins.module_utils import naming
from ansible_collections.seed.fate.plugins.module_utils import validate

LAYOUT_FORMATS = ("auto", "nested", "flat")

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")

# The fork's ghosts end their Start_Commands with `ip route add default via <router> dev net0`
# (`ip` accepts any prefix of `route`).
_DEFAULT_ROUTE_RE = re.compile(r"\bip\s+r(?:o(?:u(?:te?)?)?)?\s+(?:add|replace)\s+default\s+via\s+(\S+)")


class GhostModelError(ValueError):
    """Bad or inconsistent skeleton outputs. ``str()`` names the file and the entry."""

    def __init__(self, path, entry, problem):
        self.path = path
        self.entry = entry
        self.problem = problem
        if entry:
            msg = "%s: %s: %s" % (path, entry, problem)
        else:
            msg = "%s: %s" % (path, problem)
        super(GhostModelError, self).__init__(msg)


class _PairsDict(dict):
    """A JSON object that remembers keys it saw more than once (json keeps only the last)."""

    __slots__ = ("duplicates",)


def _pairs_hook(pairs):
    obj = _PairsDict()
    dups = []
    for key, value in pairs:
        if key in obj:
            dups.append(key)
        obj[key] = value
    obj.duplicates = dups
    return obj


def load_json(path, keep_duplicates=False):
    """Parsed content of a JSON file; GhostModelError when it is missing or not valid JSON.

    With ``keep_duplicates`` objects are :class:`_PairsDict` whose ``duplicates`` lists repeated keys.
    """
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except (IOError, OSError) as exc:
        if not os.path.exists(path):
            raise GhostModelError(path, None, "file not found")
        raise GhostModelError(path, None, "cannot read: %s" % exc)
    try:
        text = raw.decode("utf-8")
        if keep_duplicates:
            return json.loads(text, object_pairs_hook=_pairs_hook)
        return json.loads(text)
    except UnicodeDecodeError as exc:
        raise GhostModelError(path, None, "not UTF-8 text: %s" % exc)
    except RecursionError:
        # json's decoder recurses once per nested array or object.
        raise GhostModelError(path, None, "invalid JSON: nested too deeply")
    except ValueError as exc:
        raise GhostModelError(path, None, "invalid JSON: %s" % exc)


def to_bool(value, path, entry, key):
    """The fork writes booleans as strings ("True"); accept both."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE:
        return True
    if isinstance(value, str) and value.strip().lower() in _FALSE:
        return False
    raise GhostModelError(path, entry, "%s must be a boolean (true/false or 'True'/'False'), got %r" % (key, value))


def _checked(check, path, entry, *args):
    try:
        return check(*args)
    except validate.Invalid as exc:
        raise GhostModelError(path, entry, str(exc))


def to_asn(value, path, entry, key):
    return _checked(validate.asn, path, entry, value, key)


def _require(obj, keys, path, entry):
    if not isinstance(obj, dict):
        raise GhostModelError(path, entry, "expected an object, got %s" % type(obj).__name__)
    missing = [k for k in keys if k not in obj]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise GhostModelError(path, entry, "missing key%s %s" % (plural, ", ".join(repr(k) for k in missing)))


def _ipv4(value, path, entry, what="address"):
    return ipaddress.IPv4Address(_checked(validate.ipv4_address, path, entry, value, what, True))


def _host(value, prefix, path, entry, what="address", network=None):
    """A host address inside ``prefix`` (not its network or broadcast address), as a string."""
    return _checked(validate.host_address, path, entry, value, prefix, what, network)


def _prefix(value, path, entry, what="prefix"):
    return _checked(validate.prefix, path, entry, value, what)


# --------------------------------------------------------------------------------------------------
# GhostNodes.json

class Ghost(object):
    """One reserved host of GhostNodes.json."""

    __slots__ = ("node_id", "name", "asn", "interfaces", "ghost", "raw", "entry")

    def __init__(self, node_id, name, asn, interfaces, ghost, raw, entry):
        self.node_id = node_id
        self.name = name
        self.asn = asn
        self.interfaces = interfaces  # [(net_name, "a.b.c.d", IPv4Address)], file order
        self.ghost = ghost
        self.raw = raw
        self.entry = entry

    @property
    def software(self):
        """Packages the fork lists for the node, under either spelling of the key."""
        return self.raw.get("Softwares", self.raw.get("Sofewares", []))

    def default_route(self):
        """Gateway of the last `ip route add default via X` of Start_Commands, or None."""
        found = None
        for item in self.raw.get("Start_Commands") or []:
            cmd = item[0] if isinstance(item, (list, tuple)) and item else item
            if isinstance(cmd, str):
                for m in _DEFAULT_ROUTE_RE.finditer(cmd):
                    found = m.group(1)
        return found

    def file_prefixes(self):
        """{net_name: prefix} from the node's /ifinfo.txt (lines `net0:10.150.0.0/24:...`)."""
        out = {}
        for f in self.raw.get("Files") or []:
            if isinstance(f, dict) and f.get("path") == "/ifinfo.txt" and isinstance(f.get("content"), str):
                for line in f["content"].splitlines():
                    parts = line.strip().split(":")
                    if len(parts) >= 2 and parts[0]:
                        out[parts[0]] = parts[1]
        return out


def parse_ghost_nodes(data, path):
    """{NodeId: Ghost} in file order. Checks keys, AS numbers, IPv4 addresses, unique NodeIds and
    unique addresses among the ghosts."""
    if not isinstance(data, list):
        raise GhostModelError(path, None, "expected a list of ghost nodes, got %s" % type(data).__name__)
    ghosts = {}
    owners = {}
    for i, item in enumerate(data):
        entry = "entry %d" % i
        if isinstance(item, dict) and isinstance(item.get("NodeId"), str):
            entry = "entry %d (NodeId %s)" % (i, item["NodeId"])
        _require(item, ("NodeId", "Autonomous_Systems", "Interfaces"), path, entry)
        node_id = _checked(validate.node_id, path, entry, item["NodeId"], "NodeId")
        if node_id in ghosts:
            raise GhostModelError(path, entry, "NodeId %s is listed twice (also %s)" % (node_id, ghosts[node_id].entry))
        asn = to_asn(item["Autonomous_Systems"], path, entry, "Autonomous_Systems")
        ghost = to_bool(item.get("Ghost_Node", True), path, entry, "Ghost_Node")
        ifaces = item["Interfaces"]
        if not isinstance(ifaces, list) or not ifaces:
            raise GhostModelError(path, entry, "Interfaces must be a non-empty list")
        interfaces = []
        for k, iface in enumerate(ifaces):
            where = "%s interface %d" % (entry, k)
            _require(iface, ("Connected_to", "Address"), path, where)
            net = _checked(validate.name, path, where, iface["Connected_to"], "Connected_to")
            addr = iface["Address"]
            ip = _ipv4(addr, path, where)
            other = owners.get(ip)
            if other is not None:
                raise GhostModelError(path, where, "address %s is also the address of %s" % (addr, other))
            owners[ip] = node_id
            interfaces.append((net, str(addr), ip))
        ghosts[node_id] = Ghost(node_id, item.get("Name"), asn, interfaces, ghost, item, entry)
    return ghosts


# --------------------------------------------------------------------------------------------------
# AutonomousSystems.json

class AutonomousSystem(object):
    __slots__ = ("asn", "networks", "routers", "entry")

    def __init__(self, asn, networks, routers, entry):
        self.asn = asn
        self.networks = networks  # {net_name: IPv4Network}
        self.routers = routers    # [(name, NodeId, {net_name: "a.b.c.d"})] sorted by name
        self.entry = entry

    def gateway(self, net_name):
        """Address of the first router (by name) on ``net_name``, or None."""
        for _name, _node, addrs in self.routers:
            if net_name in addrs:
                return addrs[net_name]
        return None


def parse_autonomous_systems(data, path, ghosts=None):
    """{asn: AutonomousSystem}. The list comes in no stable order. Router addresses on the AS's own
    networks must be IPv4, inside the prefix and not taken by a ghost of ``ghosts``."""
    if not isinstance(data, list):
        raise GhostModelError(path, None, "expected a list of autonomous systems, got %s" % type(data).__name__)
    owners = {}
    if ghosts:
        for g in ghosts.values():
            for _net, _addr, ip in g.interfaces:
                owners[ip] = g.node_id
    systems = {}
    for i, item in enumerate(data):
        entry = "entry %d" % i
        if isinstance(item, dict) and "asn" in item:
            entry = "entry %d (asn %s)" % (i, item["asn"])
        _require(item, ("asn", "Networks"), path, entry)
        asn = to_asn(item["asn"], path, entry, "asn")
        if asn in systems:
            raise GhostModelError(path, entry, "AS %d is listed twice (also %s)" % (asn, systems[asn].entry))
        nets = item["Networks"]
        if not isinstance(nets, list):
            raise GhostModelError(path, entry, "Networks must be a list")
        networks = {}
        for k, net in enumerate(nets):
            where = "%s network %d" % (entry, k)
            _require(net, ("name", "prefix"), path, where)
            net_name = _checked(validate.name, path, where, net["name"], "network name")
            if net_name in networks:
                raise GhostModelError(path, where, "network %s is listed twice" % net_name)
            networks[net_name] = _prefix(net["prefix"], path, where)
        routers = []
        rlist = item.get("Routers") or []
        if not isinstance(rlist, list):
            raise GhostModelError(path, entry, "Routers must be a list")
        for k, router in enumerate(rlist):
            where = "%s router %d" % (entry, k)
            _require(router, ("Name", "Interfaces"), path, where)
            where = "%s router %s" % (entry, router["Name"])
            node = router.get("NodeId") or "rnode_%d_%s" % (asn, router["Name"])
            addrs = {}
            for j, iface in enumerate(router["Interfaces"] or []):
                iwhere = "%s interface %d" % (where, j)
                _require(iface, ("Connected_to", "Address"), path, iwhere)
                net = iface["Connected_to"]
                if net not in networks:
                    # IX and cross-AS links: not ours to check, never a gateway of a ghost.
                    continue
                ip = ipaddress.IPv4Address(_host(iface["Address"], networks[net], path, iwhere, "address", net))
                other = owners.get(ip)
                if other is not None and other != node:
                    raise GhostModelError(path, iwhere, "address %s is also the address of %s" % (iface["Address"], other))
                owners[ip] = node
                addrs.setdefault(net, str(iface["Address"]))
            routers.append((str(router["Name"]), node, addrs))
        # "First router by name" is plain string order, as the skeleton stage (ghost_export) has it.
        routers.sort(key=lambda r: r[0])
        systems[asn] = AutonomousSystem(asn, networks, routers, entry)
    return systems


# --------------------------------------------------------------------------------------------------
# Party layout (pre_party_list.json)

def _dups(obj):
    return getattr(obj, "duplicates", None) or []


def _party_key(key, path, entry):
    # Party ids are KubeFATE party ids: integers, written as JSON object keys (so always strings here).
    return _checked(validate.party_id, path, entry, key, "party id")


def _parse_cluster(parties, order, cluster, data, path):
    if not isinstance(data, dict):
        raise GhostModelError(path, cluster, "expected {party id: {component: [NodeId]}}, got %s" % type(data).__name__)
    for dup in _dups(data):
        raise GhostModelError(path, "%s party %s" % (cluster, dup), "party is listed twice")
    for key, comps in data.items():
        entry = "%s party %s" % (cluster, key)
        pid = _party_key(key, path, entry)
        if not isinstance(comps, dict):
            raise GhostModelError(path, entry, "expected {component: [NodeId]}, got %s" % type(comps).__name__)
        for dup in _dups(comps):
            raise GhostModelError(path, "%s component %s" % (entry, dup), "component is listed twice for party %s" % key)
        if pid not in parties:
            parties[pid] = {}
            order.append(pid)
        placed = parties[pid].setdefault(cluster, [])
        for comp, nodes in comps.items():
            where = "%s component %s" % (entry, comp)
            if isinstance(nodes, str):
                nodes = [nodes]
            if not isinstance(nodes, list) or len(nodes) != 1 or not isinstance(nodes[0], str):
                raise GhostModelError(path, where, "expected a list with exactly one NodeId, got %r" % (nodes,))
            placed.append((comp, nodes[0]))


def parse_layout(data, path, layout_format="auto"):
    """[(party_id, {cluster: [(component, NodeId)]})] in file order (training parties first).

    ``data`` should come from ``load_json(path, keep_duplicates=True)`` so that a party or component
    listed twice is caught (plain dicts cannot tell).
    """
    if layout_format not in LAYOUT_FORMATS:
        raise GhostModelError(path, None, "layout_format must be one of %s, got %r" % (", ".join(LAYOUT_FORMATS), layout_format))
    if not isinstance(data, dict):
        raise GhostModelError(path, None, "expected a JSON object (party layout), got %s" % type(data).__name__)
    keys = set(data)
    nested_keys = keys & set(naming.CLUSTERS)
    if layout_format == "auto":
        if nested_keys and nested_keys != keys:
            raise GhostModelError(path, None, "mixes cluster keys (%s) with party ids (%s)"
                                  % (", ".join(sorted(nested_keys)), ", ".join(sorted(keys - nested_keys))))
        layout_format = "nested" if nested_keys or not keys else "flat"
    parties, order = {}, []
    if layout_format == "nested":
        extra = keys - set(naming.CLUSTERS)
        if extra:
            raise GhostModelError(path, None, "nested layout expects only 'training' and 'serving', found %s"
                                  % ", ".join(sorted(repr(k) for k in extra)))
        for dup in _dups(data):
            raise GhostModelError(path, dup, "cluster is listed twice")
        for cluster in naming.CLUSTERS:
            if cluster in data:
                _parse_cluster(parties, order, cluster, data[cluster], path)
    else:
        _parse_cluster(parties, order, naming.TRAINING, data, path)
    return [(pid, parties[pid]) for pid in order]


# --------------------------------------------------------------------------------------------------
# The lab

class Component(object):
    """One FATE component of one party, at its reserved address."""

    __slots__ = ("party_id", "cluster", "component", "node_id", "asn", "address", "net_name", "prefix", "gateway")

    def __init__(self, party_id, cluster, component, node_id, asn, address, net_name, prefix, gateway):
        self.party_id = party_id
        self.cluster = cluster
        self.component = component
        self.node_id = node_id
        self.asn = asn
        self.address = address
        self.net_name = net_name
        self.prefix = prefix
        self.gateway = gateway


class Party(object):
    __slots__ = ("party_id", "index", "clusters", "entry_component")

    def __init__(self, party_id, index, clusters, entry_component="proxy"):
        self.party_id = party_id
        self.index = index
        self.clusters = clusters  # {cluster: {component: Component}}, file order
        self.entry_component = entry_component

    @property
    def entry(self):
        """The component the other parties reach this party by (the version's ``entry``)."""
        return self.clusters[naming.TRAINING][self.entry_component]

    @property
    def proxy(self):
        """FATE 1.x name of :attr:`entry` (the party's proxy)."""
        return self.entry

    @property
    def asn(self):
        return self.entry.asn

    def get(self, cluster, component):
        return self.clusters.get(cluster, {}).get(component)


class Lab(object):
    __slots__ = ("parties", "sources", "catalogue")

    def __init__(self, parties, sources, catalogue=None):
        self.parties = parties
        self.catalogue = catalogue or fate_versions.get(fate_versions.DEFAULT_VERSION)
        self.sources = sources  # {"ghost_nodes": path, "autonomous_systems": path|None, "party_layout": path}

    def components(self):
        for party in self.parties:
            for comps in party.clusters.values():
                yield from comps.values()


class _NetworkFacts(object):
    """Prefix and gateway of each (asn, network), worked out once per network."""

    def __init__(self, systems, as_path, ghost_path):
        self.systems = systems
        self.as_path = as_path
        self.ghost_path = ghost_path
        self.cache = {}

    def get(self, ghost, net):
        key = (ghost.asn, net)
        facts = self.cache.get(key)
        if facts is None:
            facts = self._work_out(ghost, net)
            if self.systems is not None:
                # From AutonomousSystems.json the answer is the same for every node of the network.
                self.cache[key] = facts
        return facts

    def _work_out(self, ghost, net):
        if self.systems is not None:
            system = self.systems.get(ghost.asn)
            if system is None:
                raise GhostModelError(self.as_path, None, "AS %d of %s (%s) is not listed"
                                      % (ghost.asn, ghost.node_id, self.ghost_path))
            prefix = system.networks.get(net)
            if prefix is None:
                raise GhostModelError(self.as_path, system.entry, "network %r of %s (%s) is not among the AS's networks (%s)"
                                      % (net, ghost.node_id, self.ghost_path, ", ".join(sorted(system.networks)) or "none"))
            gateway = system.gateway(net)
            if gateway is None:
                gateway = ghost.default_route()
                if gateway is not None:
                    gateway = _host(gateway, prefix, self.ghost_path, ghost.entry, "default route", net)
            if gateway is None:
                raise GhostModelError(self.as_path, system.entry, "no router of AS %d is on network %s (needed as the "
                                      "gateway of %s) and the node's Start_Commands set no default route"
                                      % (ghost.asn, net, ghost.node_id))
            return prefix, gateway
        # No AutonomousSystems.json: what the ghost itself says (its /ifinfo.txt and default route).
        raw_prefix = ghost.file_prefixes().get(net)
        if raw_prefix is None:
            raise GhostModelError(self.ghost_path, ghost.entry, "no AutonomousSystems.json and no /ifinfo.txt line for "
                                  "network %s: cannot tell its prefix" % net)
        prefix = _prefix(raw_prefix, self.ghost_path, ghost.entry, "prefix of network %s in /ifinfo.txt" % net)
        gateway = ghost.default_route()
        if gateway is None:
            raise GhostModelError(self.ghost_path, ghost.entry, "no AutonomousSystems.json and no `ip route add default via` "
                                  "in Start_Commands: cannot tell the gateway")
        gateway = _host(gateway, prefix, self.ghost_path, ghost.entry, "default route", net)
        return prefix, gateway


def build_lab(ghosts, systems, layout, ghost_path, layout_path, as_path=None, catalogue=None):
    """Join ghosts, ASes (or None when AutonomousSystems.json is absent) and the parsed layout.

    ``catalogue`` (default: the default FATE version's) says which components a cluster may have and
    which one every party needs (its ``entry``)."""
    catalogue = catalogue or fate_versions.get(fate_versions.DEFAULT_VERSION)
    entry = catalogue["entry"]
    facts = _NetworkFacts(systems, as_path, ghost_path)
    used = {}
    parties = []
    for index, (pid, clusters) in enumerate(layout):
        built = {}
        for cluster in naming.CLUSTERS:
            if cluster not in clusters:
                continue
            comps = {}
            known = fate_versions.components(catalogue, cluster)
            for comp, node_id in clusters[cluster]:
                where = "%s party %s component %s" % (cluster, pid, comp)
                if comp not in known:
                    raise GhostModelError(layout_path, where, "FATE %s has no %s component %r (it has: %s); is "
                                          "lab.json's fate_version (or the plugin's fate_version option) right?"
                                          % (catalogue["version"], cluster, comp, ", ".join(known) or "none"))
                ghost = ghosts.get(node_id)
                if ghost is None:
                    raise GhostModelError(layout_path, where, "NodeId %s is not in %s" % (node_id, ghost_path))
                if node_id in used:
                    raise GhostModelError(layout_path, where, "NodeId %s is already placed as %s" % (node_id, used[node_id]))
                used[node_id] = where
                net, addr, ip = ghost.interfaces[0]
                prefix, gateway = facts.get(ghost, net)
                _host(addr, prefix, ghost_path, ghost.entry, "address", net)
                comps[comp] = Component(pid, cluster, comp, node_id, ghost.asn, addr, net, str(prefix), gateway)
            built[cluster] = comps
        if entry not in built.get(naming.TRAINING, {}):
            raise GhostModelError(layout_path, "party %s" % pid, "has no training %s (every party of FATE %s needs one: "
                                  "it is how the other parties reach it)" % (entry, catalogue["version"]))
        parties.append(Party(pid, index, built, entry))
    return Lab(parties, {"ghost_nodes": ghost_path, "autonomous_systems": as_path, "party_layout": layout_path},
               catalogue)


def load_lab(ghost_nodes_file, party_layout_file, autonomous_systems_file=None, layout_format="auto",
             fate_version=None):
    """Read and check the three files; ``autonomous_systems_file=None`` means it is absent.
    ``fate_version`` (default: the catalogue's default) names the components the layout may hold."""
    try:
        catalogue = fate_versions.get(fate_version or fate_versions.DEFAULT_VERSION)
    except fate_versions.UnsupportedVersion as exc:
        raise GhostModelError(party_layout_file, None, str(exc))
    ghosts = parse_ghost_nodes(load_json(ghost_nodes_file), ghost_nodes_file)
    systems = None
    if autonomous_systems_file is not None:
        systems = parse_autonomous_systems(load_json(autonomous_systems_file), autonomous_systems_file, ghosts)
    layout = parse_layout(load_json(party_layout_file, keep_duplicates=True), party_layout_file, layout_format)
    return build_lab(ghosts, systems, layout, ghost_nodes_file, party_layout_file, autonomous_systems_file, catalogue)


def _lab_meta(lab_file):
    if not os.path.exists(lab_file):
        return None
    meta = load_json(lab_file)
    if not isinstance(meta, dict):
        raise GhostModelError(lab_file, None, "expected a JSON object, got %s" % type(meta).__name__)
    return meta


def read_fate_version(lab_file):
    """fate_version from lab.json; None when the file or the key is absent (the default version)."""
    meta = _lab_meta(lab_file)
    if not meta or meta.get("fate_version") is None:
        return None
    version = str(meta["fate_version"])
    if version not in fate_versions.VERSIONS:
        raise GhostModelError(lab_file, "fate_version", "FATE version %r is not supported by seed.fate; supported: %s"
                              % (version, ", ".join(fate_versions.SUPPORTED)))
    return version


def read_compose_project(lab_file):
    """compose_project from lab.json, or None when the file does not exist."""
    meta = _lab_meta(lab_file)
    if meta is None:
        return None
    project = meta.get("compose_project")
    if project is None:
        return None
    return _checked(validate.compose_project, lab_file, "compose_project", project, "compose_project")


# --------------------------------------------------------------------------------------------------
# Host variables (docs/contracts.md "Inventory")

def component_facts(comp, project):
    """One component as the party host's seedfate_clusters lists it."""
    return {
        "node_id": comp.node_id,
        "address": comp.address,
        "network": naming.skeleton_network(project, comp.asn, comp.net_name),
        "net_name": comp.net_name,
        "prefix": comp.prefix,
        "gateway": comp.gateway,
        "asn": comp.asn,
    }


def party_hostvars(party, project, fate_version=None):
    out = {
        "seedfate_party_id": party.party_id,
        "seedfate_party_index": party.index,
        "seedfate_asn": party.asn,
        "seedfate_compose_project": project,
        "seedfate_clusters": dict(
            (cluster, dict((name, component_facts(c, project)) for name, c in comps.items()))
            for cluster, comps in party.clusters.items()
        ),
    }
    if fate_version:
        out["seedfate_fate_version"] = fate_version
    return out


def component_hostvars(comp, project):
    bundle = naming.bundle_project(comp.cluster, comp.party_id)
    return {
        "ansible_host": naming.container_name(bundle, comp.component),
        "seedfate_party_id": comp.party_id,
        "seedfate_party_host": naming.party_host(comp.party_id),
        "seedfate_asn": comp.asn,
        "seedfate_cluster": comp.cluster,
        "seedfate_component": comp.component,
        "seedfate_node_id": comp.node_id,
        "seedfate_address": comp.address,
        "seedfate_network": naming.skeleton_network(project, comp.asn, comp.net_name),
        "seedfate_gateway": comp.gateway,
        "seedfate_prefix": comp.prefix,
        "seedfate_pod_container": naming.container_name(bundle, naming.pod_service(comp.component)),
    }


def party_directory(parties, catalogue=None):
    """Every party, layout order: what a party needs to know about the others (the catalogue's
    ``directory`` keys, e.g. proxy/python/serving_server/serving_proxy for 1.3.0)."""
    catalogue = catalogue or fate_versions.get(fate_versions.DEFAULT_VERSION)
    keys = list(catalogue["directory"].items())
    out = []
    for p in parties:
        entry = {"party_id": p.party_id, "asn": p.asn}
        for key, (cluster, comp, _required) in keys:
            c = p.get(cluster, comp)
            entry[key] = c.address if c is not None else None
        out.append(entry)
    return out


def component_groups(comp):
    """Groups of a component host besides fate_components."""
    return ("party_%s" % comp.party_id, "as_%s" % comp.asn, "component_%s" % naming.group_safe(comp.component),
            "cluster_%s" % comp.cluster)
