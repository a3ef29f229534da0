# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deployment target (issue 14): where the emulated Internet's nodes, networks and parties live.

``seedfate_target`` is ``local`` (one Docker engine, today's behaviour) or ``swarm`` (several Docker hosts
joined by Docker Swarm). The roles never look at a target's details: the decisions are made here, in plain
Python, and the Ansible side (role ``seed.fate.target``) only carries them out.

The ``swarm`` placement model. Input: the one compose project the network stage compiles
(``<build>/output/docker-compose.yml``, plain seedemu ``Docker`` compiler plus host_compat's adaptations) and the
placement map of the inventory::

    seedfate_placement:
      ix: node1                       # the route servers (the IX scope)
      ases: {150: node1, 151: node2}  # every AS of the lab
      parties: {9999: node3}          # optional: a party follows its AS's host otherwise

Output (:func:`split_compose`): per Docker host one compose project (the services of the ASes placed there,
the route servers on the ``ix`` host, and the image-only helper services they are built from), and the kind of
every network:

* ``overlay``: every IX network, and every AS network used from more than one host (a node or a party of
  another host attached to it). Created once by the target's ``networks`` operation as an attachable overlay
  with seedemu's prefix; every project refers to it as external.
* ``bridge``: an AS network used on its AS's host only. Defined in that host's project as seedemu wrote it.

Every network keeps the Docker name it has under ``local`` (explicit ``name:``), so the party templates, the
inventory plugin and the contracts do not depend on the target.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import ipaddress
import posixpath

from ansible_collections.seed.fate.plugins.module_utils import naming

LOCAL = "local"
SWARM = "swarm"
TARGETS = (LOCAL, SWARM)

ASN_LABEL = "org.seedsecuritylabs.seedemu.meta.asn"
ROLE_LABEL = "org.seedsecuritylabs.seedemu.meta.role"
NET_TYPE_LABEL = "org.seedsecuritylabs.seedemu.meta.type"
NET_SCOPE_LABEL = "org.seedsecuritylabs.seedemu.meta.scope"
NET_PREFIX_LABEL = "org.seedsecuritylabs.seedemu.meta.prefix"

OVERLAY = "overlay"
BRIDGE = "bridge"

# seedemu sets the bridges' MTU to 1500; an overlay has to leave room for the VXLAN header (Docker computes 1450
# for a 1500-byte underlay), so that option is not carried over to overlays.
MTU_OPTION = "com.docker.network.driver.mtu"


class PlacementError(ValueError):
    """The placement map does not fit the lab or the Docker hosts; the message names the field."""


def _labels(entry):
    labels = (entry or {}).get("labels") or {}
    if isinstance(labels, list):  # ["key=value", ...]
        labels = dict(item.split("=", 1) if "=" in item else (item, "") for item in labels)
    return dict((str(k), "" if v is None else str(v)) for k, v in labels.items())


def _names(value):
    """Keys of a compose list-or-mapping field (``networks``, ``depends_on``)."""
    if not value:
        return []
    if isinstance(value, dict):
        return [str(k) for k in value]
    return [str(v) for v in value]


def is_route_server(labels):
    role = labels.get(ROLE_LABEL, "").lower()
    return "route server" in role or role == "rs"


def is_ix_network(key, entry):
    labels = _labels(entry)
    return labels.get(NET_TYPE_LABEL) == "global" or labels.get(NET_SCOPE_LABEL) == "ix" or key.startswith("net_ix_")


def network_scope(key, entry):
    """``"ix"`` for an IX network, else the ASN (int) the network belongs to, or None when unknown."""
    if is_ix_network(key, entry):
        return "ix"
    scope = _labels(entry).get(NET_SCOPE_LABEL, "")
    if not scope and key.startswith("net_"):
        scope = key.split("_")[1]
    return int(scope) if scope.isdigit() else None


def network_subnet(entry):
    for item in ((entry or {}).get("ipam") or {}).get("config") or []:
        if item.get("subnet"):
            return str(item["subnet"])
    return _labels(entry).get(NET_PREFIX_LABEL) or None


# --------------------------------------------------------------------------------------------- placement
def lab_asns(compose):
    """The ASes of a compiled project: the ASN labels of its nodes (route servers excepted) and the scopes of
    its AS networks."""
    asns = set()
    for entry in (compose.get("services") or {}).values():
        labels = _labels(entry)
        asn = labels.get(ASN_LABEL, "")
        if asn.isdigit() and not is_route_server(labels):
            asns.add(int(asn))
    for key, entry in (compose.get("networks") or {}).items():
        scope = network_scope(key, entry)
        if isinstance(scope, int):
            asns.add(scope)
    return sorted(asns)


def lab_has_ix(compose):
    return any(is_ix_network(k, e) for k, e in (compose.get("networks") or {}).items()) or any(
        is_route_server(_labels(e)) for e in (compose.get("services") or {}).values())


def validate_placement(placement, docker_hosts, asns, has_ix=True, parties=None, field="seedfate_placement"):
    """The placement map checked and normalised: ``{"ix": host, "ases": {asn: host}, "parties": {id: host}}``.

    ``docker_hosts``: the names of the inventory group ``docker_hosts``; ``asns``: the lab's ASes; ``parties``:
    the lab's party ids (None: not checked). Raises PlacementError naming the field at fault.
    """
    hosts = [str(h) for h in (docker_hosts or [])]
    if not hosts:
        raise PlacementError("docker_hosts: no Docker host given (inventory group docker_hosts is empty)")
    if not isinstance(placement, dict):
        raise PlacementError("%s: a mapping with keys ix, ases, parties is needed, got %r" % (field, placement))
    unknown = sorted(set(placement) - set(["ix", "ases", "parties"]))
    if unknown:
        raise PlacementError("%s: unknown key(s) %s (expected ix, ases, parties)" % (field, ", ".join(unknown)))

    def host(value, where):
        if value is None or str(value) not in hosts:
            raise PlacementError("%s.%s: %r is not a Docker host (group docker_hosts: %s)"
                                 % (field, where, value, ", ".join(hosts)))
        return str(value)

    out = {"ix": None, "ases": {}, "parties": {}}
    if placement.get("ix") is not None or has_ix:
        if placement.get("ix") is None:
            raise PlacementError("%s.ix: the lab has internet exchanges; name the Docker host of their route "
                                 "servers" % field)
        out["ix"] = host(placement["ix"], "ix")
    ases = placement.get("ases") or {}
    if not isinstance(ases, dict):
        raise PlacementError("%s.ases: a mapping ASN -> Docker host is needed, got %r" % (field, ases))
    for key, value in ases.items():
        if not str(key).isdigit():
            raise PlacementError("%s.ases.%s: not an AS number" % (field, key))
        asn = int(key)
        if asn not in asns:
            raise PlacementError("%s.ases.%s: AS%s is not in the lab (its ASes: %s)"
                                 % (field, key, key, ", ".join(str(a) for a in asns)))
        out["ases"][asn] = host(value, "ases.%s" % key)
    missing = [a for a in asns if a not in out["ases"]]
    if missing:
        raise PlacementError("%s.ases: AS%s not placed on any Docker host (every AS of the lab needs one)"
                             % (field, ", AS".join(str(a) for a in missing)))
    given = placement.get("parties") or {}
    if not isinstance(given, dict):
        raise PlacementError("%s.parties: a mapping party id -> Docker host is needed, got %r" % (field, given))
    known = None if parties is None else set(str(p) for p in parties)
    for key, value in given.items():
        if known is not None and str(key) not in known:
            raise PlacementError("%s.parties.%s: no such party (the lab's parties: %s)"
                                 % (field, key, ", ".join(sorted(known))))
        out["parties"][str(key)] = host(value, "parties.%s" % key)
    return out


def host_of_as(placement, asn):
    """The Docker host that runs AS ``asn``'s routers and hosts."""
    return placement["ases"][int(asn)]


def host_of_ix(placement):
    """The Docker host that runs the route servers."""
    return placement["ix"]


def host_of_party(placement, party_id, asn):
    """The Docker host of a party: named in ``parties``, else its AS's host."""
    return placement["parties"].get(str(party_id)) or host_of_as(placement, asn)


def docker_host_env(hostvars, docker_host):
    """``{"DOCKER_HOST": url}`` for an inventory Docker host (its ``seedfate_docker_host``)."""
    url = (hostvars.get(docker_host) or {}).get("seedfate_docker_host")
    if not url:
        raise PlacementError("%s: seedfate_docker_host is not set (the DOCKER_HOST URL of that engine)" % docker_host)
    return {"DOCKER_HOST": url}


# --------------------------------------------------------------------------------------------- the split
def _service_host(name, entry, placement):
    """The Docker host of a node service, or None for a service without seedemu labels."""
    labels = _labels(entry)
    if is_route_server(labels):
        return host_of_ix(placement)
    asn = labels.get(ASN_LABEL, "")
    if asn.isdigit():
        return host_of_as(placement, int(asn))
    return None


def _depends(entry):
    return _names((entry or {}).get("depends_on"))


def _relative(path, up):
    """A relative compose path (build context, bind source) seen from a folder ``up`` levels deeper."""
    if not isinstance(path, str) or path.startswith("/") or "://" in path or path.startswith("~"):
        return path
    return posixpath.normpath(posixpath.join(*([".."] * up + ["output", path])))


def _rebase_paths(entry, up):
    """A service's build context and relative bind mounts pointed back at ``<build>/output``."""
    entry = copy.deepcopy(entry)
    build = entry.get("build")
    if isinstance(build, str):
        entry["build"] = _relative(build, up)
    elif isinstance(build, dict) and "context" in build:
        build["context"] = _relative(build["context"], up)
    volumes = []
    for vol in entry.get("volumes") or []:
        if isinstance(vol, str) and vol.startswith((".", "..")) and ":" in vol:
            src, rest = vol.split(":", 1)
            vol = "%s:%s" % (_relative(src, up), rest)
        elif isinstance(vol, dict) and vol.get("type") == "bind" and str(vol.get("source", "")).startswith("."):
            vol = dict(vol, source=_relative(vol["source"], up))
        volumes.append(vol)
    if volumes:
        entry["volumes"] = volumes
    return entry


def _static_addresses(compose, key):
    found = set()
    for entry in (compose.get("services") or {}).values():
        nets = entry.get("networks")
        if isinstance(nets, dict) and isinstance(nets.get(key), dict):
            addr = nets[key].get("ipv4_address")
            if addr:
                found.add(ipaddress.ip_address(str(addr)))
    return found


def dynamic_range(subnet, used, hosts):
    """The block of ``subnet`` the overlay's own addresses come from (``ip_range``), or None.

    Swarm takes addresses on an overlay for itself (a load-balancer endpoint per node, the anchor's task per
    node) from IPAM's free pool, lowest first; seedemu's nodes and the parties' pods ask for fixed addresses
    there. Giving IPAM the highest block of the subnet that holds none of ``used`` (with room for two
    addresses per host) keeps the two apart.
    """
    net = ipaddress.ip_network(str(subnet), strict=False)
    need = 2 * max(1, hosts) + 2
    prefix = net.max_prefixlen
    while (1 << (net.max_prefixlen - prefix)) < need and prefix > net.prefixlen:
        prefix -= 1
    if prefix <= net.prefixlen:
        return None
    reserved = set([net.network_address, net.broadcast_address, net.network_address + 1])
    for block in reversed(list(net.subnets(new_prefix=prefix))):
        if not any(a in block for a in set(used) | reserved):
            return str(block)
    return None


def split_compose(compose, project, placement, party_networks=None, reserved=(), hosts_dir=naming.TARGET_HOSTS_DIR):
    """The per-host plan of a compiled project; see the module docstring.

    ``compose``: the compiled project (a dict); ``placement``: as :func:`validate_placement` returns it;
    ``party_networks``: {party id: (asn, network name)} (the parties' pods join ``net_<asn>_<network>``);
    ``reserved``: addresses taken outside the compose file (the parties' pods, from GhostNodes.json).

    Returns ``{"hosts": {host: {"project", "dir", "compose", "services", "start", "overlays"}}, "networks":
    {key: {"name", "kind", "scope", "subnet", "hosts"}}, "overlays": [{"name", "key", "subnet", "ip_range",
    "labels"}]}``. ``dir`` is relative to the build folder; ``start`` lists the services to start (not the
    image-only helpers); ``overlays`` (per host) the overlay names its project refers to.
    """
    services = compose.get("services") or {}
    networks = compose.get("networks") or {}
    party_networks = party_networks or {}
    up = len([p for p in hosts_dir.split("/") if p]) + 1

    node_host = {}
    for name, entry in services.items():
        host = _service_host(name, entry, placement)
        if host is not None:
            node_host[name] = host
    # Services without seedemu labels: the image-only helpers nodes are built FROM go with every host that
    # builds such a node; anything else (an internet map, a user's extra service) goes with the route servers.
    helpers = {}
    for name, host in node_host.items():
        for dep in _depends(services[name]):
            if dep in services and dep not in node_host:
                helpers.setdefault(dep, set()).add(host)
    others = [n for n in services if n not in node_host and n not in helpers]
    fallback = placement.get("ix") or sorted(set(placement["ases"].values()))[0]
    for name in others:
        node_host[name] = fallback
        for dep in _depends(services[name]):
            if dep in services and dep not in node_host:
                helpers.setdefault(dep, set()).add(fallback)

    # Which hosts use which network.
    users = dict((key, set()) for key in networks)
    for name, host in node_host.items():
        for key in _names(services[name].get("networks")):
            users.setdefault(key, set()).add(host)
    for party_id, (asn, net) in sorted(party_networks.items()):
        key = "net_%s_%s" % (asn, net)
        if key in networks:
            users[key].add(host_of_party(placement, party_id, asn))

    plan_networks = {}
    for key in sorted(networks):
        entry = networks[key] or {}
        scope = network_scope(key, entry)
        owner = host_of_ix(placement) if scope == "ix" else (
            placement["ases"].get(scope) if isinstance(scope, int) else None)
        used_on = set(users.get(key, ()))
        if owner:
            used_on.add(owner)
        kind = OVERLAY if scope == "ix" or len(used_on) > 1 else BRIDGE
        plan_networks[key] = {
            "name": naming.compose_network(project, key),
            "kind": kind,
            "scope": scope,
            "subnet": network_subnet(entry),
            "owner": owner or fallback,
            "hosts": sorted(used_on or [fallback]),
        }

    all_hosts = sorted(set(node_host.values()) | set(h for hs in helpers.values() for h in hs))
    overlays = []
    for key, net in sorted(plan_networks.items()):
        if net["kind"] != OVERLAY:
            continue
        labels = dict((k, v) for k, v in _labels(networks[key]).items())
        labels[naming.LAB_LABEL] = project
        used = _static_addresses(compose, key) | set(
            ipaddress.ip_address(str(a)) for a in reserved
            if net["subnet"] and ipaddress.ip_address(str(a)) in ipaddress.ip_network(net["subnet"], strict=False))
        overlays.append({
            "name": net["name"],
            "key": key,
            "subnet": net["subnet"],
            "ip_range": dynamic_range(net["subnet"], used, len(all_hosts)) if net["subnet"] else None,
            "labels": labels,
        })

    hosts = {}
    for host in all_hosts:
        names = [n for n in services if node_host.get(n) == host or host in helpers.get(n, ())]
        doc_services = {}
        keys = set()
        for name in names:
            entry = _rebase_paths(services[name], up)
            # What the lab started on a host is found again by this label (teardown, leftovers).
            entry["labels"] = dict(_labels(entry), **{naming.LAB_LABEL: project})
            doc_services[name] = entry
            keys.update(_names(services[name].get("networks")))
        # The bridges this host owns, also those no node of it uses (a party's pods join them).
        keys.update(k for k, n in plan_networks.items() if n["kind"] == BRIDGE and n["owner"] == host)
        doc_networks = {}
        for key in sorted(keys):
            net = plan_networks.get(key)
            if net is None:  # a service names a network the project does not declare: leave it to compose
                continue
            if net["kind"] == OVERLAY:
                doc_networks[key] = {"name": net["name"], "external": True}
            else:
                entry = dict((k, v) for k, v in (networks[key] or {}).items() if k not in ("name", "external"))
                entry["labels"] = dict(_labels(entry), **{naming.LAB_LABEL: project})
                doc_networks[key] = dict([("name", net["name"])] + list(entry.items()))
        doc = {"name": naming.host_project(project, host), "services": doc_services}
        if doc_networks:
            doc["networks"] = doc_networks
        hosts[host] = {
            "project": doc["name"],
            "dir": posixpath.join(hosts_dir, naming.compose_safe(host)),
            "compose": doc,
            "services": names,
            "start": [n for n in names if n not in helpers],
            "overlays": sorted(plan_networks[k]["name"] for k in doc_networks if plan_networks[k]["kind"] == OVERLAY),
        }
    return {"hosts": hosts, "networks": plan_networks, "overlays": overlays}


def render_compose(doc, source="output/docker-compose.yml"):
    """The text of a host's compose file (what ``seed.fate.target_projects`` writes)."""
    import yaml
    head = ("# Written by seed.fate.target_projects from %s (seedfate_target: swarm); do not edit,\n"
            "# the network stage rewrites it from the compiled project and seedfate_placement.\n" % source)
    return head + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=120)


def plan_summary(plan):
    """The plan without the compose documents: what the module returns and the golden file holds."""
    return {
        "hosts": dict((h, dict((k, v) for k, v in p.items() if k != "compose")) for h, p in plan["hosts"].items()),
        "networks": plan["networks"],
        "overlays": plan["overlays"],
    }
