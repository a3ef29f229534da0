# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""FATE configuration bundles: validate a lab, render a party's bundles in memory, pack them as
deterministic tars and write them only when their bytes change.

Plain Python (jinja2 + the standard library), usable without Ansible: the module ``seed.fate.fate_bundle``
and the action ``seed.fate.fate_bundles`` only wire it. This is its public face; the work is done in

- ``bundle_checks``: input checks (parties, directory, exchange, images, settings, published ports);
- ``bundle_secrets``: a party's passwords (stored, generated, the user's on top);
- ``bundle_render``: the templates of a FATE version, rendered in memory;
- ``bundle_archives``: deterministic tars and change-aware writes.

It also holds the pieces of the argument spec that ``fate_bundle`` and ``fate_bundles`` share (their
documentation is the doc fragment ``seed.fate.fate_bundle``).

Inputs follow docs/contracts.md "Inventory": a party is its id, layout index and clusters
(component -> address, docker network, gateway); the directory lists every party's proxy, python and
serving addresses in layout order.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.seed.fate.plugins.module_utils import fate_versions
from ansible_collections.seed.fate.plugins.module_utils.bundle_archives import (
    TAR_MODE, tar_bytes, tar_digest, write_output)
from ansible_collections.seed.fate.plugins.module_utils.bundle_checks import (
    DEFAULT_EXCHANGE_PUBLISH_PORT, DEFAULT_FATEBOARD_PORT_BASE, BundleError, check_lab, check_settings,
    fateboard_port, images_with_defaults, normalize_directory, normalize_exchange, normalize_images,
    normalize_party, port)
from ansible_collections.seed.fate.plugins.module_utils.bundle_render import (
    EXCHANGE_ID, FATE_HOME, HAS_JINJA2, JINJA2_IMPORT_ERROR, Bundle, Renderer, pod_script)
from ansible_collections.seed.fate.plugins.module_utils.bundle_secrets import (
    HAS_YAML, SECRET_KEYS, SECRET_LENGTH, SECRETS_DIR_MODE, SECRETS_MODE, YAML_IMPORT_ERROR, check_secrets,
    dump_secrets, generate_secret, resolve_secrets, secrets_modes_ok, store_secrets)

__all__ = [
    # bundle_checks
    "DEFAULT_EXCHANGE_PUBLISH_PORT", "DEFAULT_FATEBOARD_PORT_BASE", "BundleError", "check_lab", "check_settings",
    "fateboard_port", "images_with_defaults", "normalize_directory", "normalize_exchange", "normalize_images",
    "normalize_party", "port",
    # bundle_secrets
    "HAS_YAML", "SECRET_KEYS", "SECRET_LENGTH", "SECRETS_DIR_MODE", "SECRETS_MODE", "YAML_IMPORT_ERROR",
    "check_secrets", "dump_secrets", "generate_secret", "resolve_secrets", "secrets_modes_ok", "store_secrets",
    # bundle_render
    "EXCHANGE_ID", "FATE_HOME", "HAS_JINJA2", "JINJA2_IMPORT_ERROR", "Bundle", "Renderer", "pod_script",
    # bundle_archives
    "TAR_MODE", "tar_bytes", "tar_digest", "write_output",
    # argument spec
    "DEFAULT_DEPLOY_DIR", "DEFAULT_PUBLISH_ADDRESS", "DEFAULT_GRPC_TIMEOUT_MS", "DEFAULT_USER", "DEFAULT_HOLDER_IMAGE",
    "PARTY_OPTIONS", "EXCHANGE_OPTIONS", "IMAGES_OPTIONS", "LAB_OPTIONS", "argument_spec",
]

# --------------------------------------------------------------------------------------------------
# Argument spec shared by the fate_bundle module and the fate_bundles action (documented once, in
# plugins/doc_fragments/fate_bundle.py). Defaults of the lab-wide settings are the role's defaults too.
# --------------------------------------------------------------------------------------------------

DEFAULT_DEPLOY_DIR = "/data/projects/fate"
DEFAULT_PUBLISH_ADDRESS = "127.0.0.1"
DEFAULT_GRPC_TIMEOUT_MS = 300000
DEFAULT_USER = "root"
DEFAULT_HOLDER_IMAGE = "seedfate/seedemu-node:bookworm"

# One party: fate_bundle's ``party``, each of fate_bundles' ``parties``.
PARTY_OPTIONS = dict(
    party_id=dict(type="raw", required=True),
    index=dict(type="int", default=0),
    clusters=dict(type="dict", required=True),
    serving=dict(type="bool"),
    fateboard_port=dict(type="int"),
    name=dict(type="str"),
    host=dict(type="str"),
)

EXCHANGE_OPTIONS = dict(
    address=dict(type="str"),
    network=dict(type="str"),
    gateway=dict(type="str"),
    publish_port=dict(type="int", default=DEFAULT_EXCHANGE_PUBLISH_PORT),
    host=dict(type="str"),
)

IMAGES_OPTIONS = dict(
    registry=dict(type="str", default=""),
    prefix=dict(type="str"),
    tag=dict(type="str"),
    serving_tag=dict(type="str"),
    overrides=dict(type="dict", default={}),
    holder=dict(type="str", default=DEFAULT_HOLDER_IMAGE),
)

# The lab-wide options of both.
LAB_OPTIONS = dict(
    fate_version=dict(type="str", default=fate_versions.DEFAULT_VERSION),
    directory=dict(type="list", elements="dict", required=True),
    exchange=dict(type="dict", options=EXCHANGE_OPTIONS),
    images=dict(type="dict", default={}, options=IMAGES_OPTIONS),
    deploy_dir=dict(type="path", default=DEFAULT_DEPLOY_DIR),
    publish_address=dict(type="str", default=DEFAULT_PUBLISH_ADDRESS),
    fateboard_port_base=dict(type="int", default=DEFAULT_FATEBOARD_PORT_BASE),
    grpc_timeout_ms=dict(type="int", default=DEFAULT_GRPC_TIMEOUT_MS),
    user=dict(type="str", default=DEFAULT_USER),
)


def argument_spec(**own):
    """A fresh argument spec: :data:`LAB_OPTIONS` plus a caller's ``own`` options (each a fresh copy, so
    neither the constants nor another caller's spec can be changed through it)."""
    spec = copy.deepcopy(LAB_OPTIONS)
    spec.update(copy.deepcopy(own))
    return spec
