# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names shared by every stage of the pipeline.

The skeleton, the inventory, the bundles and the deploy roles must agree on how compose projects,
services, containers and docker networks are called. Every such rule lives here and nowhere else.
"""

from __future__ import annotations

# Clusters a FATE party can run. "exchange" is the optional standalone proxy of the lab.
TRAINING = "training"
SERVING = "serving"
EXCHANGE = "exchange"
CLUSTERS = (TRAINING, SERVING)

# Compose project name of the skeleton network when a user's own seedemu program compiled it
# into ./output (docker derives the project name from that folder).
SEEDEMU_DEFAULT_PROJECT = "output"

# The metadata file the skeleton stage writes beside GhostNodes.json.
LAB_METADATA_FILE = "lab.json"
GHOST_NODES_FILE = "GhostNodes.json"
AUTONOMOUS_SYSTEMS_FILE = "AutonomousSystems.json"
PARTY_LAYOUT_FILE = "pre_party_list.json"


def party_host(party_id):
    """Inventory name of the host that runs a party's compose projects."""
    return "party-%s" % party_id


def bundle_project(cluster, party_id=None):
    """Compose project (and bundle folder) name: confs-<id>, serving-<id>, confs-exchange.

    These are KubeFATE's folder names; seed.fate also writes them as the compose project ``name``
    so they never depend on where a bundle is unpacked.
    """
    if cluster == EXCHANGE:
        return "confs-exchange"
    if cluster == TRAINING:
        return "confs-%s" % party_id
    if cluster == SERVING:
        return "serving-%s" % party_id
    raise ValueError("unknown cluster %r (expected one of: training, serving, exchange)" % (cluster,))


def pod_service(component):
    """Compose service of the network-pod holder that carries a component's address."""
    return "%s-pod" % component


def container_name(project, service, index=1):
    """Container name that docker compose v2 gives a service's first replica."""
    return "%s-%s-%d" % (project, service, index)


def skeleton_network(project, asn, network):
    """Docker network name of an AS network in the skeleton's compose project."""
    return "%s_net_%s_%s" % (project, asn, network)


def compose_network(project, key):
    """Docker name compose gives network ``key`` of project ``project`` (``net_150_net0`` -> ``<project>_net_150_net0``).

    The split projects of the ``swarm`` target write it as each network's explicit ``name:`` so that a network
    keeps today's name whichever project (or the ``networks`` operation) creates it.
    """
    return "%s_%s" % (project, key)


# Deployment targets (issue 14, module_utils/target.py).
# Label on what the swarm target creates outside compose (overlays, the anchor service): value = the lab's project.
LAB_LABEL = "seed.fate/lab"
# Folder of the build folder that holds one compose project per Docker host (<build>/hosts/<docker host>/).
TARGET_HOSTS_DIR = "hosts"


def compose_safe(text):
    """``text`` as compose accepts it in a project name: lower case letters, digits, '-' and '_'."""
    out = "".join(c if (c.isalnum() and c.isascii()) or c in "-_" else "-" for c in str(text).lower())
    return out.strip("-_") or "x"


def host_project(project, docker_host):
    """Compose project of the emulated Internet's part on Docker host ``docker_host`` (swarm target)."""
    return "%s-%s" % (project, compose_safe(docker_host))


def anchor_service(project):
    """Swarm service that makes the lab's overlays visible on every node (Compose-on-worker workaround)."""
    return "%s-anchor" % project


def ghost_node_id(asn, name):
    """NodeId seedemu gives a host: hnode_<asn>_<name>."""
    return "hnode_%s_%s" % (asn, name)


def group_safe(name):
    """Ansible group names may not contain '-' or '.'."""
    return str(name).replace("-", "_").replace(".", "_")
