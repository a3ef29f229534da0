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


def ghost_node_id(asn, name):
    """NodeId seedemu gives a host: hnode_<asn>_<name>."""
    return "hnode_%s_%s" % (asn, name)


def group_safe(name):
    """Ansible group names may not contain '-' or '.'."""
    return str(name).replace("-", "_").replace(".", "_")
