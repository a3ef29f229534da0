# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The keys of one party, shared by fate_bundle's ``party`` and fate_bundles' ``parties`` (the argument spec
# is module_utils/fate_bundle.PARTY_OPTIONS). Indented to sit under an option's ``suboptions``.
_PARTY_SUBOPTIONS = r"""
      party_id:
        description: Party id (C(seedfate_party_id)).
        type: raw
        required: true
      index:
        description: Position of the party in the layout (C(seedfate_party_index)); offsets its published ports.
        type: int
        default: 0
      clusters:
        description:
          - C(seedfate_clusters) of the party host; C(training) (and C(serving)) map each component to its
            C(address), C(network) and C(gateway).
        type: dict
        required: true
      serving:
        description: Whether the party is meant to have serving; refused when it has no serving components.
        type: bool
      fateboard_port:
        description:
          - Host port of the party's FATEBoard; default O(fateboard_port_base) plus the party's C(index).
          - Where the whole lab is checked, two parties publishing one port on the same docker host are refused.
        type: int
      name:
        description: Inventory name of the party host, for messages (and the per-party result of M(seed.fate.fate_bundles)).
        type: str
      host:
        description: Docker host the party runs on; published ports only collide on the same host.
        type: str
"""


class ModuleDocFragment(object):
    """Options of seed.fate.fate_bundle and seed.fate.fate_bundles, written once
    (their argument spec is module_utils/fate_bundle.py)."""

    # The lab-wide options of both.
    DOCUMENTATION = r"""
options:
  fate_version:
    description:
      - FATE version whose layout and templates are used. An unknown version is refused, listing the
        supported ones.
    type: str
    default: 1.3.0
  directory:
    description:
      - C(seedfate_party_directory), every party of the lab in layout order with its C(proxy), C(python),
        C(serving_server) and C(serving_proxy) addresses (2.2.0 its C(fateflow), C(rabbitmq), C(nginx)).
    type: list
    elements: dict
    required: true
  exchange:
    description:
      - The lab's exchange, if any. Parties' default route points at it (port 9371), and
        C(confs-exchange.tar) is rendered from it.
    type: dict
    suboptions:
      address:
        description: Reserved IPv4 address of the exchange in the emulated Internet.
        type: str
      network:
        description: Docker network (skeleton) the exchange joins.
        type: str
      gateway:
        description: AS router the exchange routes through.
        type: str
      publish_port:
        description: Host port publishing the exchange on O(publish_address); V(0) publishes nothing.
        type: int
        default: 9371
      host:
        description: Docker host the exchange runs on.
        type: str
  images:
    description: Image settings.
    type: dict
    default: {}
    suboptions:
      registry:
        description: Registry host prefixed to every FATE and public image (empty means Docker Hub).
        type: str
        default: ""
      prefix:
        description:
          - Namespace of the FATE images. Default from the version catalogue (C(image_defaults)),
            V(federatedai) for 1.3.0, V(seedfate) for 2.2.0.
        type: str
      tag:
        description:
          - Tag of the FATE training images and the exchange. Default from the version catalogue,
            V(1.3.0-release) for 1.3.0, V(2.2.0) for 2.2.0.
        type: str
      serving_tag:
        description: Tag of the FATE-Serving images. Default from the version catalogue (V(1.2.2-release) for 1.3.0).
        type: str
      overrides:
        description: Full image reference per image key (V(mysql), V(redis), V(python), V(exchange), ...).
        type: dict
        default: {}
      holder:
        description: Image of the network-pod holders (needs C(ip) and C(sleep)).
        type: str
        default: seedfate/seedemu-node:bookworm
  deploy_dir:
    description:
      - Folder the bundles are unpacked in on the party hosts; baked into the named volumes' devices.
      - An absolute path of plain characters without C(.), C(..) or empty components.
    type: path
    default: /data/projects/fate
  publish_address:
    description:
      - Host address published ports bind to.
      - V(0.0.0.0) (every interface) is allowed but warned about.
    type: str
    default: 127.0.0.1
  fateboard_port_base:
    description: FATEBoard of party number I(index) is published on this port plus I(index).
    type: int
    default: 18080
  grpc_timeout_ms:
    description: fate_flow's overall gRPC timeout in milliseconds (C(DEFAULT_GRPC_OVERALL_TIMEOUT)).
    type: int
    default: 300000
  user:
    description: C(user) of C(parties.conf).
    type: str
    default: root
notes:
  - Persistent data (MySQL data, egg data-dir, redis data, shared_dir contents, serving-server's C(.fate))
    is never part of a bundle.
"""

    # fate_bundle's one party.
    PARTY = r"""
options:
  party:
    description:
      - The party to render (O(kind=party)), from its inventory host.
    type: dict
    suboptions:""" + _PARTY_SUBOPTIONS

    # fate_bundles' parties.
    PARTIES = r"""
options:
  parties:
    description:
      - The parties to render, each with the keys of one party. Party order is the result's order.
      - Exactly one of O(parties) and O(party_hosts) is required.
    type: list
    elements: dict
    suboptions:""" + _PARTY_SUBOPTIONS
