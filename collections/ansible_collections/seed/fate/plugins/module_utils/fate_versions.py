# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The FATE versions seed.fate can configure, and what each one is made of.

A version is data: which components each cluster (training, serving, exchange) must have, which image
each FATE service runs, which folders a bundle ships empty. Its files are templates in the role's
``templates/<version>/`` folder. Adding a version (for example a 2.x layout with rollsite, OSX or
fateflow) means adding an entry here and a new template folder; nothing of another version changes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class UnsupportedVersion(ValueError):
    pass


# How an image reference is made for a service:
#   ("fate", name)    -> [registry/]prefix/name:tag            (FATE training images)
#   ("serving", name) -> [registry/]prefix/name:serving_tag    (FATE-Serving images)
#   ("third", ref)    -> [registry/]ref                        (public images: mysql, redis)
# A per-image override (keyed by the image key) replaces the whole reference.
_V1_3_0 = {
    "version": "1.3.0",
    "clusters": {
        "training": {
            "components": ("federation", "proxy", "fateboard", "roll", "egg", "python", "meta-service",
                           "mysql", "redis"),
            # Folders that must exist before `compose up` (bind devices of named volumes).
            "empty_dirs": ("shared_dir/examples", "shared_dir/federatedml"),
        },
        "serving": {
            "components": ("serving-server", "serving-proxy", "redis"),
            "empty_dirs": (),
        },
        "exchange": {
            "components": ("exchange",),
            "empty_dirs": (),
        },
    },
    # image key -> how to build its reference
    "images": {
        "federation": ("fate", "federation"),
        "proxy": ("fate", "proxy"),
        "fateboard": ("fate", "fateboard"),
        "roll": ("fate", "roll"),
        "egg": ("fate", "egg"),
        "python": ("fate", "python"),
        "meta-service": ("fate", "meta-service"),
        "serving-server": ("serving", "serving-server"),
        "serving-proxy": ("serving", "serving-proxy"),
        # KubeFATE 1.3 floats mysql:8 / redis:5; later KubeFATE pins MySQL 8.0.28.
        "mysql": ("third", "mysql:8.0.28"),
        "redis": ("third", "redis:5.0.14"),
    },
    # The exchange is FATE's proxy run alone; its image key falls back to "proxy".
    "image_aliases": {"exchange": "proxy"},
    # Ports the other parties and the exchange use (route tables, parties.conf).
    "ports": {
        "proxy": 9370,
        "exchange": 9371,
        "fateboard": 8080,
        "serving_server": 8000,
        "serving_proxy_inter": 8869,
    },
}

VERSIONS = {
    "1.3.0": _V1_3_0,
}

SUPPORTED = tuple(sorted(VERSIONS))
DEFAULT_VERSION = "1.3.0"


def get(version):
    """The catalogue of ``version``; refuses an unknown one, listing the supported ones."""
    version = str(version)
    if version not in VERSIONS:
        raise UnsupportedVersion("FATE version %r is not supported by seed.fate.fate_config; supported: %s"
                                 % (version, ", ".join(SUPPORTED)))
    return VERSIONS[version]


def image_ref(catalogue, key, images):
    """Full image reference of image ``key`` from the image settings.

    ``images``: registry, prefix, tag, serving_tag, overrides (dict). The registry applies to FATE and
    public images alike (a private registry mirrors both); overrides are taken as written.
    """
    overrides = images.get("overrides") or {}
    alias = catalogue.get("image_aliases", {}).get(key)
    for k in (key, alias):
        if k and overrides.get(k):
            return str(overrides[k])
    kind, name = catalogue["images"][alias or key]
    registry = (images.get("registry") or "").strip().rstrip("/")
    if kind == "third":
        ref = name
    else:
        prefix = (images.get("prefix") or "").strip().strip("/")
        tag = images.get("serving_tag") if kind == "serving" else images.get("tag")
        ref = "%s:%s" % ("/".join(p for p in (prefix, name) if p), tag)
    return "%s/%s" % (registry, ref) if registry else ref
