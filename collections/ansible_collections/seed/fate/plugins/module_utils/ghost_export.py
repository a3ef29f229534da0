# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reserved ("ghost") hosts as a small in-memory model, and its export to the four ghost files.

The model is filled from a rendered seedemu emulator (``seedemu_build``) or built by hand in tests;
the export writes ``GhostNodes.json``, ``AutonomousSystems.json`` (both in the seedemu fork's
format, see docs/contracts.md), ``pre_party_list.json`` (nested training/serving form) and
``lab.json``. Plain Python, no seedemu.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.seed.fate.plugins.module_utils import fate_versions
from ansible_collections.seed.fate.plugins.module_utils import naming

GENERATOR = "seed.fate.seedemu_network"
LAB_FORMAT = 1
DEFAULT_FATE_VERSION = fate_versions.DEFAULT_VERSION
# What the fork prints for seedemu's default AddressAssignmentConstraint.
DEFAULT_AAC = "AddressAssignmentConstraint: Default Constraint\n"


class Interface(object):
    def __init__(self, net, address, latency=0, bandwidth=0, loss=0):
        self.net = net
        self.address = str(address)
        self.latency = latency
        self.bandwidth = bandwidth
        self.loss = loss

    def to_dict(self):
        return {"net": self.net, "address": self.address, "latency": self.latency,
                "bandwidth": self.bandwidth, "loss": self.loss}

    @classmethod
    def from_dict(cls, d):
        return cls(d["net"], d["address"], d.get("latency", 0), d.get("bandwidth", 0), d.get("loss", 0))


class Node(object):
    """A host or router as the fork prints it. ``role`` is seedemu's NodeRole name (Host, Router...)."""

    def __init__(self, asn, name, role="Host", interfaces=None, ghost=False, files=None, software=None,
                 build_commands=None, start_commands=None, post_config_commands=None, kind=None):
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

    @property
    def node_id(self):
        if self.kind == "hnode":
            return naming.ghost_node_id(self.asn, self.name)
        return "%s_%s_%s" % (self.kind, self.asn, self.name)

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
    def __init__(self, name, prefix, net_type="Local", aac=DEFAULT_AAC):
        self.name = name
        self.prefix = str(prefix)
        self.net_type = net_type
        self.aac = aac

    def to_dict(self):
        return {"name": self.name, "prefix": self.prefix, "type": self.net_type, "aac": self.aac}

    @classmethod
    def from_dict(cls, d):
        return cls(d["name"], d["prefix"], d.get("type", "Local"), d.get("aac", DEFAULT_AAC))


class AutonomousSystem(object):
    def __init__(self, asn, networks=None, routers=None, hosts=None):
        self.asn = int(asn)
        self.networks = list(networks or [])
        self.routers = list(routers or [])
        self.hosts = list(hosts or [])

    def gateway(self, net_name):
        """Address of the AS's first router (by name) on ``net_name`` (the contract's gateway rule)."""
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
    order of first appearance.
    """

    def __init__(self, project, systems=None, layout=None, exchanges=None):
        self.project = project
        self.systems = list(systems or [])
        self.layout = list(layout or [])
        self.exchanges = list(exchanges or [])      # [Network] of the internet exchanges

    def ghosts(self):
        return [h for s in self.systems for h in s.hosts if h.ghost]

    def to_dict(self):
        return {"project": self.project, "systems": [s.to_dict() for s in self.systems],
                "layout": [list(x) for x in self.layout], "exchanges": [n.to_dict() for n in self.exchanges]}

    @classmethod
    def from_dict(cls, d):
        return cls(d.get("project"), [AutonomousSystem.from_dict(s) for s in d.get("systems", [])],
                   [tuple(x) for x in d.get("layout", [])], [Network.from_dict(n) for n in d.get("exchanges", [])])


def _fork_bool(value):
    # The fork writes booleans as the strings "True"/"False".
    return "True" if value else "False"


def _fork_interface(iface):
    return {
        "Connected_to": iface.net,
        "Address": iface.address,
        # The fork prints the address here (not the link properties); readers rely on the shape only.
        "Link_Properties": iface.address,
        "Added_Latency": iface.latency,
        "Egress_Bandwidth_Limit": "%s bps" % (iface.bandwidth if iface.bandwidth else "unlimited"),
    }


def _fork_node_head(node):
    return {"Name": node.name, "NodeId": node.node_id, "Role": "NodeRole.%s" % node.role,
            "Ghost_Node": _fork_bool(node.ghost)}


def ghost_nodes(lab):
    """GhostNodes.json content: every ghost host, in reservation order."""
    out = []
    for node in lab.ghosts():
        entry = _fork_node_head(node)
        entry["Autonomous_Systems"] = node.asn
        entry["Interfaces"] = [_fork_interface(i) for i in node.interfaces]
        entry["Files"] = [{"path": p, "content": c} for p, c in node.files]
        entry["Sofewares"] = list(node.software)   # sic: the fork's spelling
        entry["Build_Commands"] = list(node.build_commands)
        entry["Start_Commands"] = [[c, f] for c, f in node.start_commands]
        entry["Post_Config_Commands"] = [[c, f] for c, f in node.post_config_commands]
        out.append(entry)
    return out


def autonomous_systems(lab):
    """AutonomousSystems.json content: ASes with networks, routers and hosts (ghost or not)."""
    out = []
    for system in lab.systems:
        routers, hosts = [], []
        for node in system.routers:
            entry = _fork_node_head(node)
            entry["Interfaces"] = [_fork_interface(i) for i in node.interfaces]
            routers.append(entry)
        for node in system.hosts:
            entry = _fork_node_head(node)
            entry["Interfaces"] = [_fork_interface(i) for i in node.interfaces]
            hosts.append(entry)
        out.append({
            "asn": system.asn,
            "Networks": [{"name": n.name, "type": "NetworkType.%s" % n.net_type, "prefix": n.prefix,
                          "Address_Assignment_Constraint": n.aac, "Remote_Access_Provider": []}
                         for n in system.networks],
            "Routers": routers,
            "Hosts": hosts,
        })
    return out


def party_layout(lab):
    """pre_party_list.json content, nested form; ``serving`` only when some party serves."""
    layout = {naming.TRAINING: {}, naming.SERVING: {}}
    for party, cluster, component, node_id in lab.layout:
        layout[cluster].setdefault(str(party), {}).setdefault(component, []).append(node_id)
    if not layout[naming.SERVING]:
        del layout[naming.SERVING]
    return layout


def lab_metadata(lab, generator=GENERATOR, fate_version=None):
    """lab.json: the compose project; ``fate_version`` only when it is not the catalogue's default (a
    lab.json without it means the default version, so labs of the default version read as before)."""
    meta = {"compose_project": lab.project, "generator": generator, "format": LAB_FORMAT}
    if fate_version and str(fate_version) != DEFAULT_FATE_VERSION:
        meta["fate_version"] = str(fate_version)
    return meta


def dumps(data):
    """JSON as the fork writes it (4-space indent), plus a final newline; key order kept."""
    return json.dumps(data, indent=4) + "\n"


def render_files(lab, generator=GENERATOR, fate_version=None):
    """{file name: text} of the ghost folder."""
    return {
        naming.GHOST_NODES_FILE: dumps(ghost_nodes(lab)),
        naming.AUTONOMOUS_SYSTEMS_FILE: dumps(autonomous_systems(lab)),
        naming.PARTY_LAYOUT_FILE: dumps(party_layout(lab)),
        naming.LAB_METADATA_FILE: dumps(lab_metadata(lab, generator, fate_version)),
    }


def check_layout(lab):
    """Every NodeId of the layout must be a ghost of the lab. Returns a list of problems."""
    ghosts = dict((g.node_id, g) for g in lab.ghosts())
    return ["party %s: %s %s has no reserved host %s" % (p, c, comp, nid)
            for p, c, comp, nid in lab.layout if nid not in ghosts]


def summary_lines(ghost_nodes_doc, systems_doc=None, project=None):
    """One line per network and ghost, for diff mode: what a person wants to see change."""
    lines = []
    if project:
        lines.append("compose project: %s" % project)
    for system in sorted(systems_doc or [], key=lambda s: int(s.get("asn", 0))):
        for net in system.get("Networks", []):
            lines.append("network AS%s %s %s" % (system.get("asn"), net.get("name"), net.get("prefix")))
        for router in system.get("Routers", []):
            addrs = ", ".join("%s=%s" % (i.get("Connected_to"), i.get("Address")) for i in router.get("Interfaces", []))
            lines.append("router %s %s" % (router.get("NodeId"), addrs))
    for ghost in ghost_nodes_doc or []:
        addrs = ", ".join("%s=%s" % (i.get("Connected_to"), i.get("Address")) for i in ghost.get("Interfaces", []))
        lines.append("ghost %s %s" % (ghost.get("NodeId"), addrs))
    return lines
