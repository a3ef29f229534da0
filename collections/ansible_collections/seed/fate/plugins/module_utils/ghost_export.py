# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Export of the ghost model (module_utils/ghost_model.py) to the four ghost files.

The skeleton stage fills a ``ghost_model.Lab`` from a rendered seedemu emulator (``seedemu_build``);
this module writes it as ``GhostNodes.json``, ``AutonomousSystems.json`` (both in the seedemu fork's
format, see docs/contracts.md), ``pre_party_list.json`` (nested training/serving form) and ``lab.json``.
The inventory reads them back with ``ghost_model.load_lab``. Plain Python, no seedemu.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.seed.fate.plugins.module_utils import fate_versions
from ansible_collections.seed.fate.plugins.module_utils import naming

GENERATOR = "seed.fate.seedemu_network"
LAB_FORMAT = 1
DEFAULT_FATE_VERSION = fate_versions.DEFAULT_VERSION


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
