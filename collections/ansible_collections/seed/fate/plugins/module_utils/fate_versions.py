# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The FATE versions seed.fate knows, and what each one is made of: the version catalogue.

A FATE version is data. Its catalogue entry here is the one place that says
- which components each cluster (training, serving, exchange) has, in the order the skeleton reserves
  their addresses (so in the order seedemu hands out .71, .72, ...);
- which component the other parties reach a party by (``entry``) and what the party directory lists
  about every party (``directory``);
- the ports, the image of every component (``images``) and the default image settings
  (``image_defaults``), the generated per-party secrets (``secrets``);
- FATE's home inside the containers (``fate_home``), the folders a bundle ships empty (``empty_dirs``)
  and the persistent data folders a redeploy must preserve (``data_dirs``);
- the health checks (``health``: component -> port, per cluster) and the jobs that verify a lab
  (``verify``);
- the role's template folder (``templates``: ``roles/fate_config/templates/<templates>/``).

Adding a version is one entry here, one template folder and its image recipes; nothing of another
version changes. :func:`check_templates` refuses a version whose entry and template folder disagree.
Roles read an entry through the ``seed.fate.fate_catalogue`` lookup (the same data, JSON-ready).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import re


class UnsupportedVersion(ValueError):
    pass


class CatalogueError(ValueError):
    """A catalogue entry that contradicts itself or its template folder."""


TRAINING, SERVING, EXCHANGE = "training", "serving", "exchange"
CLUSTER_ORDER = (TRAINING, SERVING, EXCHANGE)

# How an image reference is made for a service:
#   ("fate", name)    -> [registry/]prefix/name:tag            (FATE training images)
#   ("serving", name) -> [registry/]prefix/name:serving_tag    (FATE-Serving images)
#   ("third", ref)    -> [registry/]ref                        (public images: mysql, redis)
# A per-image override (keyed by the image key) replaces the whole reference.
_V1_3_0 = {
    "version": "1.3.0",
    "templates": "1.3.0",
    # KubeFATE's /f: a container path, never the host's deploy dir.
    "fate_home": "/data/projects/fate",
    # The component other parties (and the exchange) reach a party by; every party has it.
    "entry": "proxy",
    "clusters": {
        TRAINING: {
            "components": ("federation", "proxy", "fateboard", "roll", "egg", "python", "meta-service",
                           "mysql", "redis"),
            # Folders that must exist before `compose up` (bind devices of named volumes).
            "empty_dirs": ("shared_dir/examples", "shared_dir/federatedml"),
            # Persistent data (relative to the project folder): never in a bundle, kept by a redeploy.
            "data_dirs": ("confs/mysql/data", "confs/egg/data-dir", "confs/redis/data",
                          "shared_dir/examples", "shared_dir/federatedml"),
        },
        SERVING: {
            # The fork reserves serving ghosts in this order (redis first).
            "components": ("redis", "serving-server", "serving-proxy"),
            "empty_dirs": (),
            "data_dirs": ("confs/redis/data", "confs/serving-server/.fate"),
        },
        EXCHANGE: {
            "components": ("exchange",),
            "empty_dirs": (),
            "data_dirs": (),
        },
    },
    # Template folders of a component (relative to templates/1.3.0/<cluster>/); default confs/<component>,
    # () for a component that runs from its image alone.
    "conf_dirs": {
        TRAINING: {"python": ("confs/fate_flow", "confs/federatedml"), "redis": ()},
        SERVING: {"redis": ()},
        EXCHANGE: {"exchange": ("conf",)},
    },
    # What seedfate_party_directory lists of every party: key -> (cluster, component, required).
    "directory": {
        "proxy": (TRAINING, "proxy", True),
        "python": (TRAINING, "python", True),
        "serving_server": (SERVING, "serving-server", False),
        "serving_proxy": (SERVING, "serving-proxy", False),
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
    "image_defaults": {"registry": "", "prefix": "federatedai", "tag": "1.3.0-release",
                       "serving_tag": "1.2.2-release"},
    # Generated per party on first run (<build>/secrets/<id>.yml, 0600).
    "secrets": ("mysql_root_password", "mysql_password", "redis_password"),
    # Ports the other parties and the exchange use (route tables, parties.conf).
    "ports": {
        "proxy": 9370,
        "exchange": 9371,
        "fateboard": 8080,
        "fateflow_grpc": 9360,
        "fateflow_http": 9380,
        "federation": 9394,
        "serving_server": 8000,
        "serving_proxy_inter": 8869,
    },
    # Health: a component answers TCP on this port once it runs (per cluster).
    "health": {
        TRAINING: {"federation": 9394, "proxy": 9370, "fateboard": 8080, "roll": 8011, "egg": 7888,
                   "python": 9380, "meta-service": 8590, "mysql": 3306, "redis": 6379},
        SERVING: {"redis": 6379, "serving-server": 8000, "serving-proxy": 8869},
        EXCHANGE: {"exchange": 9370},
    },
    "verify": {
        # Probes run from this component's pod (holder image: sh, nc).
        "source": {"cluster": TRAINING, "component": "proxy"},
        # What every party must reach of every other party (directory key, port); "serving" ones only
        # between parties that both have serving.
        "reachability": (
            {"what": "proxy", "directory_key": "proxy", "port": 9370, "serving": False},
            {"what": "serving-proxy", "directory_key": "serving_proxy", "port": 8869, "serving": True},
        ),
        "exchange_port": 9371,
        "jobs": {
            # FATE 1.3's run_toy_example.py in the python container (guest may equal host).
            "toy_example": {
                "min_parties": 1,
                "service": "python",
                "activate": "/data/projects/python/venv/bin/activate",
                "workdir": "/data/projects/fate/python/examples/toy_example",
                "client_dir": "/data/projects/fate/python/fate_flow",
                "http_port": 9380,
            },
            # v1.3.0-a README: guest 9999, host and arbiter 10000 (two parties suffice).
            "hetero_lr": {"min_parties": 2, "roles": ("guest", "host", "arbiter")},
        },
    },
}

_V2_2_0 = {
    "version": "2.2.0",
    "templates": "2.2.0",
    # FATE-Flow's home (fate_flow init --home): persistent data on the flow's bind folder.
    "fate_home": "/data/fate",
    # Other parties' flows reach this party through its nginx (dest-party-id routing).
    "entry": "nginx",
    "clusters": {
        TRAINING: {
            "components": ("fateflow", "rabbitmq", "nginx"),
            "empty_dirs": (),
            # fateflow's home (sqlite, standalone computing and storage data) and the broker's state.
            "data_dirs": ("confs/fate_flow/data", "confs/rabbitmq/data"),
            # Bundle members written 0600 (the broker reads its admin password from this file).
            "private_files": ("confs/rabbitmq/secrets/rabbitmq_admin_password",),
        },
    },
    "conf_dirs": {
        TRAINING: {"fateflow": ("confs/fate_flow",), "rabbitmq": ("confs/rabbitmq",), "nginx": ("confs/nginx",)},
    },
    "directory": {
        "fateflow": (TRAINING, "fateflow", True),
        "rabbitmq": (TRAINING, "rabbitmq", True),
        "nginx": (TRAINING, "nginx", True),
    },
    # Built locally from PyPI and Debian (seedfate/fate-*:2.2.0); fate_config_image_* still override.
    "images": {
        "fateflow": ("fate", "fate-flow"),
        "rabbitmq": ("fate", "fate-rabbitmq"),
        "nginx": ("fate", "fate-nginx"),
    },
    "image_aliases": {},
    "image_defaults": {"registry": "", "prefix": "seedfate", "tag": "2.2.0", "serving_tag": "2.2.0"},
    # No registry has these images: deploy never pulls them (fate_deploy_pull), and says how to build them.
    "image_pull": "never",
    "image_build": "ansible-playbook playbooks/images.yml -e images_build_fate22=true",
    "secrets": ("rabbitmq_admin_password",),
    "ports": {
        "fateflow_http": 9380,
        "fateflow_grpc": 9360,
        "rabbitmq_amqp": 5672,
        "rabbitmq_management": 15672,
        "nginx_http": 9300,
        "nginx_grpc": 9310,
    },
    # Ports a component's pod accepts only from named components of its own party (and loopback): the
    # broker's management API creates the federation users and queues for the party's own flow only.
    "private_ports": {
        TRAINING: {"rabbitmq": {15672: ("fateflow",)}},
    },
    "settings": {
        "rabbitmq_admin_user": "seedfate",
        # A party may play two roles of one job at once (guest and host of a toy job): each asks 4 cores.
        "standalone_cores": 16,
    },
    "health": {
        TRAINING: {"fateflow": 9380, "rabbitmq": 5672, "nginx": 9300},
    },
    # Ready = the component speaks its protocol, asked from its own pod after the containers run:
    # http (GET path answers 2xx), amqp (the broker answers an AMQP 0-9-1 header with connection.start),
    # tcp (the port accepts).
    "ready": {
        TRAINING: {"fateflow": {"probe": "http", "port": 9380, "path": "/v2/server/fateflow"},
                   "rabbitmq": {"probe": "amqp", "port": 5672},
                   "nginx": {"probe": "tcp", "port": 9300}},
    },
    "verify": {
        "source": {"cluster": TRAINING, "component": "nginx"},
        "reachability": (
            {"what": "nginx", "directory_key": "nginx", "port": 9300, "serving": False},
            {"what": "rabbitmq", "directory_key": "rabbitmq", "port": 5672, "serving": False},
        ),
        "exchange_port": None,
        "jobs": {
            # `flow test toy -gid <guest> -hid <host>`: exit code 0 either way, judge the status.
            # Run by the seed.fate.fate_job module (runner), judged by the job's status.
            "toy_example": {"min_parties": 1, "service": "fateflow", "http_port": 9380,
                            "health_path": "/v2/server/fateflow", "runner": "fate_job"},
            # FATE's examples/pipeline/coordinated_lr: guest, host and arbiter on three parties.
            "hetero_lr": {"min_parties": 3, "roles": ("guest", "host", "arbiter"), "runner": "fate_job",
                          "service": "fateflow", "http_port": 9380, "metric_task": "evaluation_0"},
        },
    },
}

VERSIONS = {
    "1.3.0": _V1_3_0,
    "2.2.0": _V2_2_0,
}

SUPPORTED = tuple(sorted(VERSIONS))
DEFAULT_VERSION = "1.3.0"

_REQUIRED_KEYS = ("version", "templates", "fate_home", "entry", "clusters", "directory", "images",
                  "image_defaults", "secrets", "ports", "health", "verify")
_COMPONENT_RE = re.compile(r"^[a-z][a-z0-9-]*$")


def get(version):
    """The catalogue entry of ``version``; refuses an unknown one, listing the supported ones."""
    version = str(version).strip()
    if version not in VERSIONS:
        raise UnsupportedVersion("FATE version %r is not supported by seed.fate; supported: %s"
                                 % (version, ", ".join(SUPPORTED)))
    return VERSIONS[version]


def clusters(catalogue):
    """Clusters of a version in pipeline order (training, serving, exchange)."""
    return [c for c in CLUSTER_ORDER if c in catalogue["clusters"]]


def components(catalogue, cluster):
    """Components of a cluster in reservation order; () when the version has no such cluster."""
    return tuple(catalogue["clusters"].get(cluster, {}).get("components", ()))


def data_dirs(catalogue, cluster=None):
    """Persistent data folders of one cluster, or of every cluster (first use kept, order kept)."""
    out = []
    for c in ([cluster] if cluster else clusters(catalogue)):
        for d in catalogue["clusters"].get(c, {}).get("data_dirs", ()):
            if d not in out:
                out.append(d)
    return out


def check_entry(catalogue):
    """Self-consistency of one entry; raises CatalogueError naming the version and the field."""
    v = catalogue.get("version", "?")
    missing = [k for k in _REQUIRED_KEYS if k not in catalogue]
    if missing:
        raise CatalogueError("FATE %s catalogue entry lacks %s" % (v, ", ".join(missing)))
    if TRAINING not in catalogue["clusters"]:
        raise CatalogueError("FATE %s catalogue entry has no training cluster" % v)
    unknown = sorted(set(catalogue["clusters"]) - set(CLUSTER_ORDER))
    if unknown:
        raise CatalogueError("FATE %s: unknown cluster(s) %s (known: %s)" % (v, ", ".join(unknown), ", ".join(CLUSTER_ORDER)))
    all_components = set()
    for cluster in clusters(catalogue):
        comps = components(catalogue, cluster)
        if not comps or len(set(comps)) != len(comps):
            raise CatalogueError("FATE %s: clusters.%s.components must list distinct components" % (v, cluster))
        for comp in comps:
            if not _COMPONENT_RE.match(comp):
                raise CatalogueError("FATE %s: component name %r must be lowercase letters, digits and '-'" % (v, comp))
            key = catalogue.get("image_aliases", {}).get(comp, comp)
            if key not in catalogue["images"]:
                raise CatalogueError("FATE %s: component %s (%s) has no image in images" % (v, comp, cluster))
        health = catalogue["health"].get(cluster, {})
        if sorted(health) != sorted(comps):
            raise CatalogueError("FATE %s: health.%s must give a port for exactly the components %s"
                                 % (v, cluster, ", ".join(comps)))
        all_components.update(comps)
    for cluster, comps in catalogue.get("conf_dirs", {}).items():
        unknown = sorted(set(comps) - set(components(catalogue, cluster)))
        if unknown:
            raise CatalogueError("FATE %s: conf_dirs.%s names unknown component(s) %s" % (v, cluster, ", ".join(unknown)))
    if catalogue["entry"] not in components(catalogue, TRAINING):
        raise CatalogueError("FATE %s: entry %r is not a training component" % (v, catalogue["entry"]))
    for key, (cluster, comp, _required) in catalogue["directory"].items():
        if comp not in components(catalogue, cluster):
            raise CatalogueError("FATE %s: directory.%s names %s %s, which the version does not have"
                                 % (v, key, cluster, comp))
    for job, spec in catalogue["verify"].get("jobs", {}).items():
        if int(spec.get("min_parties", 0)) < 1:
            raise CatalogueError("FATE %s: verify.jobs.%s.min_parties must be at least 1" % (v, job))
    return catalogue


def conf_dirs(catalogue, cluster, component):
    """Template folders (relative to ``templates/<version>/<cluster>/``) of a component; () means the
    component runs from its image alone (its service in the compose template is all it needs)."""
    return tuple(catalogue.get("conf_dirs", {}).get(cluster, {}).get(component, ("confs/%s" % component,)))


def _template_folders(croot):
    """Folders of a cluster's templates: confs/<x> for each x, plus any other top folder."""
    found = []
    for d in sorted(os.listdir(croot)):
        if not os.path.isdir(os.path.join(croot, d)) or d.startswith((".", "_")):
            continue
        if d == "confs":
            found += ["confs/%s" % x for x in sorted(os.listdir(os.path.join(croot, d)))
                      if os.path.isdir(os.path.join(croot, d, x))]
        else:
            found.append(d)
    return found


def check_templates(catalogue, template_dir):
    """The version's template folder must agree with its catalogue entry.

    - one sub-folder per cluster of the entry and none for a cluster the version does not have;
    - each with a ``docker-compose.yml.j2`` that names every component of the cluster (its service);
    - every component's template folders (``conf_dirs``, default ``confs/<component>``) exist;
    - every template folder (``confs/<x>`` or another top folder) belongs to a component.

    Raises CatalogueError saying what to fix.
    """
    v = catalogue["version"]
    root = os.path.abspath(template_dir)
    if not os.path.isdir(root):
        raise CatalogueError("FATE %s: template folder %s does not exist (expected roles/fate_config/templates/%s)"
                             % (v, root, catalogue["templates"]))
    present = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and not d.startswith((".", "_")))
    wanted = clusters(catalogue)
    extra = [d for d in present if d not in wanted]
    if extra:
        raise CatalogueError("FATE %s: template folder %s has folder(s) %s for clusters the catalogue does not list "
                             "(it lists: %s)" % (v, root, ", ".join(extra), ", ".join(wanted)))
    for cluster in wanted:
        croot = os.path.join(root, cluster)
        compose = os.path.join(croot, "docker-compose.yml.j2")
        if not os.path.isfile(compose):
            raise CatalogueError("FATE %s: %s is missing (every cluster of the catalogue needs its compose template)"
                                 % (v, compose))
        with open(compose) as f:
            compose_text = f.read()
        folders = _template_folders(croot)
        owned = {}
        for comp in components(catalogue, cluster):
            for d in conf_dirs(catalogue, cluster, comp):
                owned[d] = comp
                if d not in folders:
                    raise CatalogueError("FATE %s: component %s (%s) has no templates: %s/%s/ is missing"
                                         % (v, comp, cluster, cluster, d))
            if not re.search(r"""["']%s["']""" % re.escape(comp), compose_text):
                raise CatalogueError("FATE %s: component %s (%s) has no service in %s/docker-compose.yml.j2"
                                     % (v, comp, cluster, cluster))
        unknown = [d for d in folders if d not in owned]
        if unknown:
            raise CatalogueError("FATE %s: templates %s belong to no %s component of the catalogue (%s)"
                                 % (v, ", ".join("%s/%s/" % (cluster, d) for d in unknown), cluster,
                                    ", ".join(components(catalogue, cluster))))
    return catalogue


def load(version, template_dir=None):
    """get() + check_entry() (+ check_templates() when ``template_dir`` is given)."""
    catalogue = check_entry(get(version))
    if template_dir is not None:
        check_templates(catalogue, template_dir)
    return catalogue


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


def _jsonable(value):
    if isinstance(value, dict):
        return dict((str(k), _jsonable(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def describe(version, images=None):
    """The entry as plain JSON data for roles (the ``seed.fate.fate_catalogue`` lookup, module returns).

    Adds ``supported`` (every version), ``data_dirs`` (union over clusters), ``components`` (per
    cluster, reservation order) and ``image_refs`` (image key -> reference, from ``images`` merged
    over the entry's ``image_defaults``).
    """
    catalogue = check_entry(get(version))
    out = _jsonable(copy.deepcopy(catalogue))
    out["supported"] = list(SUPPORTED)
    out["data_dirs"] = data_dirs(catalogue)
    out["cluster_names"] = clusters(catalogue)
    settings = dict(catalogue["image_defaults"])
    settings.update(dict((k, v) for k, v in (images or {}).items() if v not in (None, "")))
    keys = set(catalogue["images"]) | set(catalogue.get("image_aliases", {}))
    out["image_refs"] = dict((k, image_ref(catalogue, k, settings)) for k in sorted(keys))
    return out
