# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


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
