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

from ansible_collections.seed.fate.plugins.module_utils import naming, validate

LOCAL = "local"
SWARM = "swarm"
TARGETS = (LOCAL, SWARM)
DEFAULT_TARGET = LOCAL
PLACEMENT_KEYS = ("ix", "ases", "parties")

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


def _where(source, message):
    return "%s: %s" % (source, message) if source else message


def check_target(value, source=None):
    """``value`` as a target name (None or empty: the default); PlacementError naming ``source`` otherwise."""
    if value is None or value == "":
        return DEFAULT_TARGET
    if value not in TARGETS:
        raise PlacementError(_where(source, "seedfate_target must be one of %s, got %s"
                                    % (", ".join(TARGETS), validate.show(value))))
    return value


def _host_name(value, where, source, field="seedfate_placement"):
    try:
        return validate.node_id(value, "Docker host name")
    except validate.Invalid as exc:
        raise PlacementError(_where(source, "%s.%s: %s" % (field, where, exc)))


def check_placement(placement, source=None, field="seedfate_placement"):
    """The placement's form checked, without the lab or the inventory: ``{ix: name or None, ases: {int asn: name},
    parties: {int id: name}}``. Keys may be ints or decimal strings (YAML gives either); names are inventory host
    names. ``source`` (the file it came from, when known) is named in every PlacementError."""
    if placement is None:
        placement = {}
    if not isinstance(placement, dict):
        raise PlacementError(_where(source, "%s must be a dictionary {ix, ases, parties}, got %s"
                                    % (field, validate.show(placement))))
    unknown = sorted(str(k) for k in placement if k not in PLACEMENT_KEYS)
    if unknown:
        raise PlacementError(_where(source, "%s: unknown key(s) %s (known: %s)"
                                    % (field, ", ".join(unknown), ", ".join(PLACEMENT_KEYS))))
    out = {"ix": None, "ases": {}, "parties": {}}
    if placement.get("ix") is not None:
        out["ix"] = _host_name(placement["ix"], "ix", source, field)
    for part, check in (("ases", validate.asn), ("parties", validate.party_id)):
        entries = placement.get(part) or {}
        if not isinstance(entries, dict):
            raise PlacementError(_where(source, "%s.%s must be a dictionary {<%s>: <docker host>}, "
                                                "got %s" % (field, part, "asn" if part == "ases" else "party id",
                                                            validate.show(entries))))
        for key, host in entries.items():
            try:
                number = check(key)
            except validate.Invalid as exc:
                raise PlacementError(_where(source, "%s.%s: %s" % (field, part, exc)))
            if number in out[part]:
                raise PlacementError(_where(source, "%s.%s names %s twice" % (field, part, number)))
            out[part][number] = _host_name(host, "%s.%s" % (part, key), source, field)
    return out


def validate_placement(placement, docker_hosts, asns, has_ix=True, parties=None, source=None,
                       field="seedfate_placement"):
    """The placement checked against the inventory and the lab (:func:`check_placement` first, for its form).

    ``docker_hosts``: the names of the inventory group ``docker_hosts``; ``asns``: the lab's ASes; ``parties``:
    the lab's party ids (None: not checked). Returns the normal form of :func:`check_placement`. Raises
    PlacementError naming the field at fault.
    """
    hosts = [str(h) for h in (docker_hosts or [])]
    if not hosts:
        raise PlacementError(_where(source, "docker_hosts: no Docker host given (inventory group docker_hosts is "
                                            "empty)"))
    out = check_placement(placement, source, field)

    def member(value, where):
        if value not in hosts:
            raise PlacementError(_where(source, "%s.%s: %r is not a Docker host (group docker_hosts: "
                                                "%s)" % (field, where, value, ", ".join(hosts))))

    if out["ix"] is None and has_ix:
        raise PlacementError(_where(source, "%s.ix: the lab has internet exchanges; name the Docker "
                                            "host of their route servers" % field))
    if out["ix"] is not None:
        member(out["ix"], "ix")
    for asn, host in out["ases"].items():
        if asn not in asns:
            raise PlacementError(_where(source, "%s.ases.%s: AS%s is not in the lab (its ASes: %s)"
                                        % (field, asn, asn, ", ".join(str(a) for a in asns))))
        member(host, "ases.%s" % asn)
    missing = [a for a in asns if a not in out["ases"]]
    if missing:
        raise PlacementError(_where(source, "%s.ases: AS%s not placed on any Docker host (every AS "
                                            "of the lab needs one)" % (field, ", AS".join(str(a) for a in missing))))
    known = None if parties is None else set(int(p) for p in parties)
    for party_id, host in out["parties"].items():
        if known is not None and party_id not in known:
            raise PlacementError(_where(source, "%s.parties.%s: no such party (the lab's parties: %s)"
                                        % (field, party_id, ", ".join(str(p) for p in sorted(known)))))
        member(host, "parties.%s" % party_id)
    return out


def host_of_as(placement, asn):
    """The Docker host that runs AS ``asn``'s routers and hosts."""
    return placement["ases"][int(asn)]


def host_of_ix(placement):
    """The Docker host that runs the route servers."""
    return placement["ix"]


def party_docker_host(placement, party_id, asn, source=None):
    """The Docker host of party ``party_id`` (in AS ``asn``): ``placement.parties[party_id]`` when named there,
    else ``placement.ases[asn]``; a PlacementError naming the missing field (and ``source``) otherwise."""
    party_id, asn = int(party_id), int(asn)
    parties, ases = placement.get("parties") or {}, placement.get("ases") or {}
    if party_id in parties:
        return parties[party_id]
    if asn in ases:
        return ases[asn]
    raise PlacementError(_where(source, "seedfate_placement.ases has no Docker host for AS %d, where party %d lives "
                                        "(add seedfate_placement.ases.%d or seedfate_placement.parties.%d)"
                                % (asn, party_id, asn, party_id)))


def docker_environment(docker_host_url):
    """The ``environment`` of the tasks that drive a Docker host's engine: {} for the local engine (nothing set)."""
    return {"DOCKER_HOST": docker_host_url} if docker_host_url else {}


def engine_is_local(docker_host_url):
    """Whether the engine's processes are this machine's: no DOCKER_HOST, or a unix socket.

    Only then may a container's ``State.Pid`` be read under this machine's ``/proc`` (pods.HostView).
    """
    return not docker_host_url or docker_host_url.startswith("unix://")


def docker_host_env(hostvars, docker_host):
    """``{"DOCKER_HOST": url}`` for an inventory Docker host (its ``seedfate_docker_host``)."""
    url = (hostvars.get(docker_host) or {}).get("seedfate_docker_host")
    if not url:
        raise PlacementError("%s: seedfate_docker_host is not set (the DOCKER_HOST URL of that engine)" % docker_host)
    return docker_environment(url)


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


def split_compose(compose, project, placement, party_networks=None, reserved=(), hosts_dir=naming.TARGET_HOSTS_DIR,
                  swarm_nodes=0):
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
            users[key].add(party_docker_host(placement, party_id, asn))

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
            # Sized for every node of the swarm: the anchor is a global service, on hosts the placement leaves
            # empty too (all ASes on one of three hosts still gives three anchor tasks on each overlay).
            "ip_range": dynamic_range(net["subnet"], used, max(len(all_hosts), swarm_nodes)) if net["subnet"] else None,
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
