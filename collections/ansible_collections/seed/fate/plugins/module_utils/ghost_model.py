# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ghost files as one model: the lab the skeleton stage writes and the inventory reads.

One set of classes (:class:`Interface`, :class:`Node`, :class:`Network`, :class:`AutonomousSystem`,
:class:`Lab`) with one gateway rule (:meth:`AutonomousSystem.gateway`). The skeleton stage fills a
:class:`Lab` from a rendered seedemu emulator (``seedemu_build``) and ``ghost_export`` writes it as
``GhostNodes.json``, ``AutonomousSystems.json``, ``pre_party_list.json`` and ``lab.json``. The inventory
plugin reads those files back (:func:`load_lab`: the fork's format, the nested or the older flat
layout) into the same classes, resolves the parties (:class:`Party`, :class:`Component`) and turns
them into the host variables that docs/contracts.md "Inventory" describes.

Plain Python without Ansible or seedemu, so that it can be tested (and timed) on its own. Every problem
in the files raises :class:`GhostModelError`, whose message names the file and the offending entry.
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
# What the fork prints for seedemu's default AddressAssignmentConstraint.
DEFAULT_AAC = "AddressAssignmentConstraint: Default Constraint\n"

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
# The model

class Interface(object):
    __slots__ = ("net", "address", "latency", "bandwidth", "loss", "_ip")

    def __init__(self, net, address, latency=0, bandwidth=0, loss=0):
        self.net = net
        self.address = str(address)
        self.latency = latency
        self.bandwidth = bandwidth
        self.loss = loss
        self._ip = address if isinstance(address, ipaddress.IPv4Address) else None

    @property
    def ip(self):
        """The address as an IPv4Address (parsed once)."""
        if self._ip is None:
            self._ip = ipaddress.IPv4Address(self.address)
        return self._ip

    def to_dict(self):
        return {"net": self.net, "address": self.address, "latency": self.latency,
                "bandwidth": self.bandwidth, "loss": self.loss}

    @classmethod
    def from_dict(cls, d):
        return cls(d["net"], d["address"], d.get("latency", 0), d.get("bandwidth", 0), d.get("loss", 0))


class Node(object):
    """A host or router as the fork prints it. ``role`` is seedemu's NodeRole name (Host, Router...).

    ``node_id`` is computed from the kind, AS and name unless given (read from a file, it is the file's
    NodeId); ``entry`` says where a node read from a file was (for error messages)."""

    def __init__(self, asn, name, role="Host", interfaces=None, ghost=False, files=None, software=None,
                 build_commands=None, start_commands=None, post_config_commands=None, kind=None, node_id=None,
                 entry=None):
        self.asn = int(asn)
        self.name = name
        self.role = role
        self.interfaces = list(interfaces or [])
        self.ghost = bool(ghost)
        self.files = list(files or [])                  # [(path, content)]
        self.software = sorted(software or [])          # a set in seedemu: sorted for stable output
        self.build_commands = list(build_commands or [])
        self.start_commands = [(c, bool(f)) for c, f in (start_commands or [])]
        self.post_config_commands = [(c, bool(f)) for c, f in (post_config_commands or [])]
        # seedemu's registry type: hnode, rnode, rs. Decides the NodeId prefix.
        self.kind = kind or ("hnode" if role == "Host" else "rnode")
        self._node_id = node_id
        self.entry = entry

    @property
    def node_id(self):
        if self._node_id is not None:
            return self._node_id
        if self.kind == "hnode":
            return naming.ghost_node_id(self.asn, self.name)
        return "%s_%s_%s" % (self.kind, self.asn, self.name)

    def default_route(self):
        """Gateway of the last `ip route add default via X` of the start commands, or None."""
        found = None
        for cmd, _fork in self.start_commands:
            if isinstance(cmd, str):
                for m in _DEFAULT_ROUTE_RE.finditer(cmd):
                    found = m.group(1)
        return found

    def file_prefixes(self):
        """{net_name: prefix} from the node's /ifinfo.txt (lines `net0:10.150.0.0/24:...`)."""
        out = {}
        for path, content in self.files:
            if path == "/ifinfo.txt" and isinstance(content, str):
                for line in content.splitlines():
                    parts = line.strip().split(":")
                    if len(parts) >= 2 and parts[0]:
                        out[parts[0]] = parts[1]
        return out

    def to_dict(self):
        return {"asn": self.asn, "name": self.name, "role": self.role, "kind": self.kind, "ghost": self.ghost,
                "interfaces": [i.to_dict() for i in self.interfaces],
                "files": [[p, c] for p, c in self.files], "software": list(self.software),
                "build_commands": list(self.build_commands),
                "start_commands": [[c, f] for c, f in self.start_commands],
                "post_config_commands": [[c, f] for c, f in self.post_config_commands]}

    @classmethod
    def from_dict(cls, d):
        return cls(d["asn"], d["name"], d.get("role", "Host"), [Interface.from_dict(i) for i in d.get("interfaces", [])],
                   d.get("ghost", False), [tuple(f) for f in d.get("files", [])], d.get("software", []),
                   d.get("build_commands", []), [tuple(c) for c in d.get("start_commands", [])],
                   [tuple(c) for c in d.get("post_config_commands", [])], d.get("kind"))


class Network(object):
    """A network of an AS (or an internet exchange). ``prefix`` is kept as text; :attr:`ip_network` parses it
    (once; a prefix given as an IPv4Network is kept as is)."""

    def __init__(self, name, prefix, net_type="Local", aac=DEFAULT_AAC):
        self.name = name
        self.prefix = str(prefix)
        self.net_type = net_type
        self.aac = aac
        self._ip = prefix if isinstance(prefix, ipaddress.IPv4Network) else None

    @property
    def ip_network(self):
        if self._ip is None:
            self._ip = ipaddress.IPv4Network(self.prefix)
        return self._ip

    def to_dict(self):
        return {"name": self.name, "prefix": self.prefix, "type": self.net_type, "aac": self.aac}

    @classmethod
    def from_dict(cls, d):
        return cls(d["name"], d["prefix"], d.get("type", "Local"), d.get("aac", DEFAULT_AAC))


class AutonomousSystem(object):
    def __init__(self, asn, networks=None, routers=None, hosts=None, entry=None):
        self.asn = int(asn)
        self.networks = list(networks or [])
        self.routers = list(routers or [])
        self.hosts = list(hosts or [])
        self.entry = entry      # where it was in AutonomousSystems.json, when read from it

    def network(self, name):
        """The AS's network called ``name``, or None."""
        for net in self.networks:
            if net.name == name:
                return net
        return None

    def gateway(self, net_name):
        """Address of the AS's first router (by name) on ``net_name``, or None: the gateway of every host on
        that network (docs/contracts.md), for the skeleton stage and the inventory alike."""
        for router in sorted(self.routers, key=lambda r: r.name):
            for iface in router.interfaces:
                if iface.net == net_name:
                    return iface.address
        return None

    def to_dict(self):
        return {"asn": self.asn, "networks": [n.to_dict() for n in self.networks],
                "routers": [r.to_dict() for r in self.routers], "hosts": [h.to_dict() for h in self.hosts]}

    @classmethod
    def from_dict(cls, d):
        return cls(d["asn"], [Network.from_dict(n) for n in d.get("networks", [])],
                   [Node.from_dict(r) for r in d.get("routers", [])], [Node.from_dict(h) for h in d.get("hosts", [])])


class Lab(object):
    """Everything the ghost files say: ASes (with their hosts and routers) and the party layout.

    ``layout`` is an ordered list of ``(party_id, cluster, component, node_id)``; party order is the
    order of first appearance. ``exchanges`` are the internet exchanges' networks.

    Read from the files (:func:`load_lab`), ``ghost_nodes`` are the ghosts as GhostNodes.json lists them
    (the ASes then carry networks and routers only) and ``systems_known`` is False when there was no
    AutonomousSystems.json; ``parties`` ([:class:`Party`], layout order), ``catalogue`` and ``sources``
    (the paths read) are then set too.
    """

    def __init__(self, project=None, systems=None, layout=None, exchanges=None, ghost_nodes=None,
                 systems_known=True):
        self.project = project
        self.systems = list(systems or [])
        self.layout = list(layout or [])
        self.exchanges = list(exchanges or [])      # [Network] of the internet exchanges
        self.ghost_nodes = ghost_nodes
        self.systems_known = systems_known
        self.parties = []
        self.catalogue = fate_versions.get(fate_versions.DEFAULT_VERSION)
        self.sources = {}

    def ghosts(self):
        if self.ghost_nodes is not None:
            return list(self.ghost_nodes)
        return [h for s in self.systems for h in s.hosts if h.ghost]

    def system(self, asn):
        """The AS numbered ``asn``, or None."""
        for system in self.systems:
            if system.asn == asn:
                return system
        return None

    def components(self):
        for party in self.parties:
            for comps in party.clusters.values():
                yield from comps.values()

    def to_dict(self):
        return {"project": self.project, "systems": [s.to_dict() for s in self.systems],
                "layout": [list(x) for x in self.layout], "exchanges": [n.to_dict() for n in self.exchanges]}

    @classmethod
    def from_dict(cls, d):
        return cls(d.get("project"), [AutonomousSystem.from_dict(s) for s in d.get("systems", [])],
                   [tuple(x) for x in d.get("layout", [])], [Network.from_dict(n) for n in d.get("exchanges", [])])


# --------------------------------------------------------------------------------------------------
# GhostNodes.json

def _fork_commands(items):
    """The fork's [[command, fork?], ...] as (command, fork?) pairs; a bare string is a command too."""
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, (list, tuple)) and item:
            out.append((item[0], item[1] if len(item) > 1 else False))
        elif isinstance(item, str):
            out.append((item, False))
    return out


def _fork_files(items):
    """The fork's [{"path", "content"}, ...] as (path, content) pairs."""
    return [(f.get("path"), f.get("content")) for f in (items if isinstance(items, list) else []) if isinstance(f, dict)]


def _fork_software(item):
    # The fork spells the key "Sofewares"; accept the right spelling too.
    software = item.get("Softwares", item.get("Sofewares"))
    return [s for s in software if isinstance(s, str)] if isinstance(software, list) else []


def parse_ghost_nodes(data, path):
    """{NodeId: Node} in file order. Checks keys, AS numbers, IPv4 addresses, unique NodeIds and
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
            interfaces.append(Interface(net, ip))
        ghosts[node_id] = Node(asn, item.get("Name"), "Host", interfaces, ghost, _fork_files(item.get("Files")),
                               _fork_software(item), start_commands=_fork_commands(item.get("Start_Commands")),
                               node_id=node_id, entry=entry)
    return ghosts


# --------------------------------------------------------------------------------------------------
# AutonomousSystems.json

def parse_autonomous_systems(data, path, ghosts=None):
    """{asn: AutonomousSystem} with the AS's networks and routers (its hosts are not read: the ghosts
    come from GhostNodes.json). The list comes in no stable order. Router addresses on the AS's own
    networks must be IPv4, inside the prefix and not taken by a ghost of ``ghosts``."""
    if not isinstance(data, list):
        raise GhostModelError(path, None, "expected a list of autonomous systems, got %s" % type(data).__name__)
    owners = {}
    if ghosts:
        for g in ghosts.values():
            for iface in g.interfaces:
                owners[iface.ip] = g.node_id
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
            interfaces = []
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
                interfaces.append(Interface(net, ip))
            routers.append(Node(asn, str(router["Name"]), "Router", interfaces, node_id=node, entry=where))
        systems[asn] = AutonomousSystem(asn, [Network(name, prefix) for name, prefix in networks.items()], routers,
                                        entry=entry)
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
# Parties: the layout joined with the ghosts and the ASes

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


class _NetworkFacts(object):
    """Prefix and gateway of each (asn, network), worked out once per network."""

    def __init__(self, systems, as_path, ghost_path):
        self.systems = systems      # {asn: AutonomousSystem}, or None without AutonomousSystems.json
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
            network = system.network(net)
            if network is None:
                raise GhostModelError(self.as_path, system.entry, "network %r of %s (%s) is not among the AS's networks (%s)"
                                      % (net, ghost.node_id, self.ghost_path,
                                         ", ".join(sorted(n.name for n in system.networks)) or "none"))
            prefix = network.ip_network
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


def _by_party(layout):
    """[(party_id, {cluster: [(component, NodeId)]})] of a layout, parties in order of first appearance."""
    parties = {}
    for pid, cluster, comp, node_id in layout:
        parties.setdefault(pid, {}).setdefault(cluster, []).append((comp, node_id))
    return list(parties.items())


def resolve_parties(lab):
    """The parties of ``lab`` (layout order), each component joined with its ghost, prefix and gateway.

    ``lab.catalogue`` says which components a cluster may have and which one every party needs (its
    ``entry``); ``lab.sources`` names the files in error messages."""
    catalogue = lab.catalogue
    entry = catalogue["entry"]
    ghost_path, layout_path = lab.sources.get("ghost_nodes"), lab.sources.get("party_layout")
    systems = dict((s.asn, s) for s in lab.systems) if lab.systems_known else None
    facts = _NetworkFacts(systems, lab.sources.get("autonomous_systems"), ghost_path)
    ghosts = dict((g.node_id, g) for g in lab.ghosts())
    used = {}
    parties = []
    for index, (pid, clusters) in enumerate(_by_party(lab.layout)):
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
                iface = ghost.interfaces[0]
                prefix, gateway = facts.get(ghost, iface.net)
                _host(iface.address, prefix, ghost_path, ghost.entry, "address", iface.net)
                comps[comp] = Component(pid, cluster, comp, node_id, ghost.asn, iface.address, iface.net, str(prefix),
                                        gateway)
            built[cluster] = comps
        if entry not in built.get(naming.TRAINING, {}):
            raise GhostModelError(layout_path, "party %s" % pid, "has no training %s (every party of FATE %s needs one: "
                                  "it is how the other parties reach it)" % (entry, catalogue["version"]))
        parties.append(Party(pid, index, built, entry))
    return parties


def _assemble(ghosts, systems, layout, sources):
    """A Lab of parsed ghosts ({NodeId: Node}), ASes ({asn: AutonomousSystem} or None) and parsed layout."""
    flat = [(pid, cluster, comp, node_id)
            for pid, clusters in layout
            for cluster in naming.CLUSTERS
            for comp, node_id in clusters.get(cluster, ())]
    lab = Lab(None, list((systems or {}).values()), flat, ghost_nodes=list(ghosts.values()),
              systems_known=systems is not None)
    lab.sources = dict(sources)
    return lab


def read_lab(ghost_nodes_doc, layout_doc, systems_doc=None, sources=None, layout_format="auto"):
    """A :class:`Lab` from the parsed content of the ghost files (``systems_doc=None``: no
    AutonomousSystems.json), checked; its parties are not resolved. ``sources`` names the files
    ({"ghost_nodes", "autonomous_systems", "party_layout"}) in error messages."""
    sources = dict(sources or {})
    ghosts = parse_ghost_nodes(ghost_nodes_doc, sources.get("ghost_nodes"))
    systems = None
    if systems_doc is not None:
        systems = parse_autonomous_systems(systems_doc, sources.get("autonomous_systems"), ghosts)
    layout = parse_layout(layout_doc, sources.get("party_layout"), layout_format)
    return _assemble(ghosts, systems, layout, sources)


def load_lab(ghost_nodes_file, party_layout_file, autonomous_systems_file=None, layout_format="auto",
             fate_version=None):
    """Read and check the three files into a :class:`Lab` with its parties resolved;
    ``autonomous_systems_file=None`` means it is absent. ``fate_version`` (default: the catalogue's
    default) names the components the layout may hold."""
    try:
        catalogue = fate_versions.get(fate_version or fate_versions.DEFAULT_VERSION)
    except fate_versions.UnsupportedVersion as exc:
        raise GhostModelError(party_layout_file, None, str(exc))
    # Each file is read and checked in turn: the first problem found is the one reported.
    ghosts = parse_ghost_nodes(load_json(ghost_nodes_file), ghost_nodes_file)
    systems = None
    if autonomous_systems_file is not None:
        systems = parse_autonomous_systems(load_json(autonomous_systems_file), autonomous_systems_file, ghosts)
    layout = parse_layout(load_json(party_layout_file, keep_duplicates=True), party_layout_file, layout_format)
    lab = _assemble(ghosts, systems, layout, {"ghost_nodes": ghost_nodes_file, "party_layout": party_layout_file,
                                              "autonomous_systems": autonomous_systems_file})
    lab.catalogue = catalogue
    lab.parties = resolve_parties(lab)
    return lab


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


def party_names(party):
    """The names the roles use for a party's stacks, from naming.py: ``seedfate_projects`` (compose project
    of each cluster: confs-<id>, serving-<id>; serving's whether or not the party serves;
    ``exchange``: confs-exchange, the lab's exchange project, deployed by the one party host that runs it),
    ``seedfate_containers`` and ``seedfate_pod_containers`` ({cluster: {component: container}} of the
    party's components and of the network pods that carry their addresses)."""
    containers, pods = {}, {}
    for cluster, comps in party.clusters.items():
        bundle = naming.bundle_project(cluster, party.party_id)
        containers[cluster] = dict((name, naming.container_name(bundle, name)) for name in comps)
        pods[cluster] = dict((name, naming.container_name(bundle, naming.pod_service(name))) for name in comps)
    return {
        "seedfate_projects": dict((c, naming.bundle_project(c, party.party_id))
                                  for c in naming.CLUSTERS + (naming.EXCHANGE,)),
        "seedfate_containers": containers,
        "seedfate_pod_containers": pods,
    }


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
