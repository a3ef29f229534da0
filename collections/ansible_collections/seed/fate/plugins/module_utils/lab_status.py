# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lab's shape from its own files, its state from Docker, and both as a picture (DOT) and a table.

The shape is read from the build folder only, so it is the same for the declarative topology and for a
user's own seedemu program:

* ``output/docker-compose.yml``: seedemu's labels say each node's AS, name, role and addresses; the
  top-level networks say which are internet exchanges (``meta.scope: ix``) and which belong to an AS;
* each router's BIRD configuration (the file of its folder that holds ``protocol bgp``): every BGP
  session with its neighbour, and the relationship from the community its import filter adds
  (seedemu's Ebgp layer: ``CUSTOMER_COMM`` - the neighbour is a customer, ``PROVIDER_COMM`` - a provider,
  ``PEER_COMM`` - a peer or the route server; ``x_`` sessions are unfiltered);
* ``ghost/``: the parties, their components and reserved addresses (``pre_party_list.json``,
  ``GhostNodes.json``) and the compose project (``lab.json``).

The state (container status, health, restarts; BGP session state from ``birdc show protocols``) is
joined in by :func:`collect_state`. :func:`to_dot` and :func:`table_lines` are deterministic: the same
input gives the same text, so golden tests can compare them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import os
import re

from ansible_collections.seed.fate.plugins.module_utils import bird, naming, topology

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML comes with Ansible
    HAS_YAML = False

META = "org.seedsecuritylabs.seedemu.meta."
_PROTO_RE = re.compile(r"^protocol\s+bgp\s+(\S+)\s*\{(.*?)^\}", re.M | re.S)
_LOCAL_RE = re.compile(r"^\s*local\s+(\S+)\s+as\s+(\d+)\s*;", re.M)
_NEIGHBOR_RE = re.compile(r"^\s*neighbor\s+(\S+)\s+as\s+(\d+)\s*;", re.M)
_COMMUNITY_RE = re.compile(r"bgp_large_community\.add\((\w+)\)")
# What the neighbour is to the router, by the community the router tags its routes with.
_RELATION_BY_COMMUNITY = {"CUSTOMER_COMM": "customer", "PROVIDER_COMM": "provider", "PEER_COMM": "peer"}

UP, DOWN = "up", "down"


class LabFilesError(ValueError):
    """The build folder cannot be read as a lab."""


# ------------------------------------------------------------------------------------------------
# Reading the files

def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (IOError, OSError):
        return None
    except ValueError as exc:
        raise LabFilesError("%s: not valid JSON (%s)" % (path, exc))


def _addr(value):
    return str(value).split("/", maxsplit=1)[0] if value else None


def _labels(entry):
    labels = entry.get("labels") or {}
    if isinstance(labels, list):
        labels = dict(item.split("=", 1) for item in labels if "=" in item)
    return dict((k[len(META):], str(v)) for k, v in labels.items() if str(k).startswith(META))


def parse_bird_sessions(text):
    """The BGP protocols of a BIRD configuration: [{protocol, local, local_as, neighbor, neighbor_as,
    community, rs_client}], in file order."""
    out = []
    for name, body in _PROTO_RE.findall(text or ""):
        local, neighbor = _LOCAL_RE.search(body), _NEIGHBOR_RE.search(body)
        community = _COMMUNITY_RE.search(body)
        out.append({
            "protocol": name,
            "local": local.group(1) if local else None,
            "local_as": int(local.group(2)) if local else None,
            "neighbor": neighbor.group(1) if neighbor else None,
            "neighbor_as": int(neighbor.group(2)) if neighbor else None,
            "community": community.group(1) if community else None,
            "rs_client": bool(re.search(r"^\s*rs client\s*;", body, re.M)),
        })
    return out


def _bird_text(folder):
    """The router folder's BIRD configuration (seedemu names node files by digest)."""
    texts = []
    if not os.path.isdir(folder):
        return ""
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not os.path.isfile(path) or os.path.getsize(path) > (4 << 20):
            continue
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        if "protocol bgp" in text:
            texts.append(text)
    return "\n".join(texts)


_COPY_RE = re.compile(r"^\s*COPY\s+(\S+)\s+(\S+)\s*$", re.M)


def _node_file(folder, container_path):
    """Text of the file a node's Dockerfile copies to ``container_path`` (None when there is none)."""
    try:
        with open(os.path.join(folder, "Dockerfile")) as f:
            dockerfile = f.read()
    except (IOError, OSError):
        return None
    for src, dst in _COPY_RE.findall(dockerfile):
        if dst == container_path:
            try:
                with open(os.path.join(folder, src), "rb") as f:
                    return f.read(1 << 20).decode("utf-8", "replace")
            except (IOError, OSError):
                return None
    return None


def node_links(folder):
    """{network: link properties} a compiled node asks for (its ``/ifinfo.txt``: name:prefix:latency ms:bandwidth
    bit/s:loss %; zeros left out), and whether its ``/interface_setup`` still runs netem (host adaptations
    remove it where the kernel has none, and with it latency and loss)."""
    links = {}
    for line in (_node_file(folder, "/ifinfo.txt") or "").splitlines():
        parts = line.strip().split(":")
        if len(parts) < 5:
            continue
        props = {}
        for key, raw in (("latency", parts[2]), ("bandwidth", parts[3]), ("loss", parts[4])):
            try:
                value = float(raw)
            except ValueError:
                continue
            if value:
                props[key] = int(value) if value == int(value) else value
        if props:
            links[parts[0]] = props
    setup = _node_file(folder, "/interface_setup")
    return links, setup is None or "netem" in setup


def link_text(props, netem=True):
    """``10mbit, 20ms, loss 1%`` for a label; latency and loss marked off where the node has no netem."""
    if not props:
        return ""
    parts = []
    if props.get("bandwidth"):
        parts.append(topology.format_bandwidth(int(props["bandwidth"])))
    emulated = [("%dms" % props["latency"]) if props.get("latency") else None,
                ("loss %s%%" % props["loss"]) if props.get("loss") else None]
    emulated = [x for x in emulated if x]
    if emulated:
        parts.append(" ".join(emulated) + ("" if netem else " (off: no netem)"))
    return ", ".join(parts)


def _network_links(lab):
    """Each network's own label: the properties most interfaces on it share (seedemu's network defaults);
    an interface whose properties differ keeps them on its edge (``label`` on the interface)."""
    members = {}
    for s in lab["systems"]:
        for node in s["routers"] + s["hosts"]:
            for i in node["interfaces"]:
                # AS networks are named per AS (every AS may have a net0); internet exchanges once.
                members.setdefault((s["asn"], i["net"]), []).append(i)
                members.setdefault((None, i["net"]), []).append(i)
    for x in lab["exchanges"]:
        for i in (x["route_server"] or {}).get("interfaces", []):
            members.setdefault((None, i["net"]), []).append(i)
    nets = [((s["asn"], n["name"]), n) for s in lab["systems"] for n in s["networks"]]
    for key, net in nets + [((None, x["name"]), x) for x in lab["exchanges"]]:
        ifaces = members.get(key, [])
        counts = {}
        for i in ifaces:
            counts[i.get("link_text", "")] = counts.get(i.get("link_text", ""), 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        # The network's default is what most of its interfaces have (a tie names none).
        shared = ranked[0][0] if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]) else ""
        if shared:
            net["link"] = shared
        for i in ifaces:
            if i.get("link_text", "") != shared:
                i["label"] = i.get("link_text") or "no shaping"


def _party_layout(doc):
    """[(party, cluster, component, node_id)] of pre_party_list.json (nested or flat form), file order."""
    if not isinstance(doc, dict):
        return []
    nested = bool(doc) and set(doc) <= set(naming.CLUSTERS)
    clusters = doc if nested else {naming.TRAINING: doc}
    out = []
    for cluster in naming.CLUSTERS:
        for party, comps in (clusters.get(cluster) or {}).items():
            for comp, node_ids in (comps or {}).items():
                node_ids = node_ids if isinstance(node_ids, list) else [node_ids]
                if node_ids:
                    out.append((str(party), cluster, comp, str(node_ids[0])))
    return out


def _services(value):
    """The seedemu services of a host (``WebService``, ...) from its ``class`` label (a JSON list)."""
    try:
        classes = json.loads(value) if value else []
    except ValueError:
        return []
    return sorted(str(c) for c in classes if c) if isinstance(classes, list) else []


def read_lab(build_dir, project=None):
    """The lab's shape from ``build_dir`` (``output/`` and ``ghost/``). Raises :class:`LabFilesError`."""
    output = os.path.join(build_dir, "output")
    ghost = os.path.join(build_dir, "ghost")
    compose_path = os.path.join(output, "docker-compose.yml")
    if not os.path.isfile(compose_path):
        raise LabFilesError("%s does not exist: compile the lab first (playbooks/network.yml)" % compose_path)
    if not HAS_YAML:
        raise LabFilesError("PyYAML is needed to read %s" % compose_path)
    try:
        with open(compose_path) as f:
            compose = yaml.safe_load(f) or {}
    except yaml.YAMLError as exc:
        raise LabFilesError("%s: not valid YAML (%s)" % (compose_path, exc))
    meta = _read_json(os.path.join(ghost, naming.LAB_METADATA_FILE)) or {}
    project = project or meta.get("compose_project") or compose.get("name") or naming.SEEDEMU_DEFAULT_PROJECT

    exchanges, systems = {}, {}

    def system(asn):
        return systems.setdefault(asn, {"asn": asn, "networks": [], "routers": [], "hosts": []})

    for key, net in sorted((compose.get("networks") or {}).items()):
        labels = _labels(net or {})
        name, prefix, scope = labels.get("name", key), labels.get("prefix"), labels.get("scope")
        if scope == "ix" or labels.get("type") == "global":
            m = re.match(r"^ix(\d+)$", name)
            ix = int(m.group(1)) if m else name
            exchanges[name] = {"ix": ix, "name": name, "prefix": prefix, "route_server": None}
        elif scope and scope.isdigit():
            system(int(scope))["networks"].append({"name": name, "prefix": prefix})

    for service, entry in sorted((compose.get("services") or {}).items()):
        labels = _labels(entry or {})
        if "asn" not in labels or not labels["asn"].isdigit():
            continue
        asn, role, name = int(labels["asn"]), labels.get("role", ""), labels.get("nodename", service)
        ifaces, i = [], 0
        while "net.%d.name" % i in labels:
            ifaces.append({"net": labels["net.%d.name" % i], "address": _addr(labels.get("net.%d.address" % i))})
            i += 1
        links, netem = node_links(os.path.join(output, service))
        for i in ifaces:
            if links.get(i["net"]):
                i["link"] = links[i["net"]]
                i["link_text"] = link_text(links[i["net"]], netem)
        node = {"name": name, "service": service, "container": entry.get("container_name") or service,
                "role": role, "interfaces": ifaces}
        if "route server" in role.lower():
            ix_name = ifaces[0]["net"] if ifaces else name
            rs = exchanges.setdefault(ix_name, {"ix": asn, "name": ix_name, "prefix": None, "route_server": None})
            node["sessions"] = parse_bird_sessions(_bird_text(os.path.join(output, service)))
            rs["route_server"] = node
        elif bird.is_router_role(role):
            node["sessions"] = parse_bird_sessions(_bird_text(os.path.join(output, service)))
            system(asn)["routers"].append(node)
        else:
            node["services"] = _services(labels.get("class"))
            system(asn)["hosts"].append(node)

    ghosts = dict((g.get("NodeId"), g) for g in (_read_json(os.path.join(ghost, naming.GHOST_NODES_FILE)) or [])
                  if isinstance(g, dict))
    parties, order = {}, []
    for pid, cluster, comp, node_id in _party_layout(_read_json(os.path.join(ghost, naming.PARTY_LAYOUT_FILE))):
        g = ghosts.get(node_id) or {}
        iface = (g.get("Interfaces") or [{}])[0]
        asn = g.get("Autonomous_Systems")
        if pid not in parties:
            order.append(pid)
            parties[pid] = {"id": pid, "asn": int(asn) if asn is not None else None,
                            "network": iface.get("Connected_to"), "components": []}
        bundle = naming.bundle_project(cluster, pid)
        parties[pid]["components"].append({
            "cluster": cluster, "component": comp, "node_id": node_id, "address": iface.get("Address"),
            "container": naming.container_name(bundle, comp),
            "pod_container": naming.container_name(bundle, naming.pod_service(comp))})

    for s in systems.values():
        s["routers"].sort(key=lambda r: r["name"])
        s["hosts"].sort(key=lambda h: h["name"])
    lab = {
        "project": project,
        "fate_version": meta.get("fate_version"),
        "exchanges": sorted(exchanges.values(), key=lambda x: (str(type(x["ix"])), x["ix"])),
        "systems": [systems[a] for a in sorted(systems)],
        "parties": [parties[p] for p in order],
    }
    lab["peerings"] = peerings(lab)
    _network_links(lab)
    return lab


# ------------------------------------------------------------------------------------------------
# Peerings

def _exchange_of(lab, address):
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    for x in lab["exchanges"]:
        try:
            if x["prefix"] and ip in ipaddress.ip_network(x["prefix"], strict=False):
                return x
        except ValueError:
            continue
    return None


def classify(lab, router, asn, session):
    """What a router's session is: {kind: route_server|private|ibgp, ix, relationship, peer_as}."""
    if session["neighbor_as"] == asn:
        return {"kind": "ibgp", "ix": None, "relationship": None, "peer_as": asn}
    x = _exchange_of(lab, session["neighbor"])
    rs = x and x["route_server"]
    if rs and any(i["address"] == session["neighbor"] for i in rs["interfaces"]):
        return {"kind": "route_server", "ix": x["name"], "relationship": None, "peer_as": session["neighbor_as"]}
    rel = _RELATION_BY_COMMUNITY.get(session["community"])
    if session["protocol"].startswith("x_"):
        rel = "unfiltered"
    return {"kind": "private", "ix": x["name"] if x else None, "relationship": rel, "peer_as": session["neighbor_as"]}


def _router_by_address(lab):
    out = {}
    for s in lab["systems"]:
        for r in s["routers"]:
            for i in r["interfaces"]:
                if i["address"]:
                    out[i["address"]] = (s["asn"], r["name"])
    return out


def peerings(lab):
    """Every peering once: route-server memberships and private peerings (with the relationship as the
    first AS sees the second: ``provider`` means a is b's provider), and iBGP pairs."""
    by_addr = _router_by_address(lab)
    rs_members, private, ibgp = set(), {}, set()
    for s in lab["systems"]:
        for r in s["routers"]:
            for sess in r.get("sessions", []):
                c = classify(lab, r, s["asn"], sess)
                if c["kind"] == "route_server":
                    rs_members.add((c["ix"], s["asn"], r["name"]))
                elif c["kind"] == "ibgp":
                    other = by_addr.get(sess["neighbor"])
                    # iBGP runs over loopbacks, which the compose labels do not carry: pair by AS only then.
                    ibgp.add((s["asn"],) + tuple(sorted((r["name"], other[1]))) if other else (s["asn"], r["name"], None))
                else:
                    other = by_addr.get(sess["neighbor"], (sess["neighbor_as"], None))
                    me, them = (s["asn"], r["name"]), other
                    key = (c["ix"] or "",) + tuple(sorted([me, them], key=lambda t: (t[0], str(t[1]))))
                    rel = c["relationship"]
                    # The neighbour being my customer means I am its provider.
                    mine = {"customer": "provider", "provider": "customer"}.get(rel, rel)
                    if key not in private:
                        a, b = key[1], key[2]
                        if me != a:
                            mine = {"provider": "customer", "customer": "provider"}.get(mine, mine)
                        private[key] = {"kind": "private", "ix": c["ix"], "a": a[0], "a_router": a[1],
                                        "b": b[0], "b_router": b[1], "relationship": mine}
    out = []
    for ix, asn, router in sorted(rs_members, key=lambda t: (str(t[0]), t[1], t[2])):
        out.append({"kind": "route_server", "ix": ix, "asn": asn, "router": router})
    for key in sorted(private, key=lambda k: (k[0], k[1][0], str(k[1][1]), k[2][0], str(k[2][1]))):
        p = private[key]
        if p["relationship"] == "customer":
            # Always written provider first.
            p = dict(p, a=p["b"], a_router=p["b_router"], b=p["a"], b_router=p["a_router"], relationship="provider")
        out.append(p)
    pairs = set()
    for asn, a, b in ibgp:
        if b is None:
            continue
        pairs.add((asn, a, b))
    for s in lab["systems"]:
        names = [r["name"] for r in s["routers"]]
        if any(t[0] == s["asn"] and t[2] is None for t in ibgp) and len(names) > 1:
            # Loopback neighbours: seedemu's Ibgp is a full mesh of the AS's routers.
            for i, a in enumerate(names):
                for b in names[i + 1:]:
                    pairs.add((s["asn"], a, b))
    for asn, a, b in sorted(pairs):
        if a != b:
            out.append({"kind": "ibgp", "asn": asn, "a_router": a, "b_router": b})
    return out


# ------------------------------------------------------------------------------------------------
# State

def _health(info):
    state = (info or {}).get("State") or {}
    health = state.get("Health") or {}
    return {
        "state": state.get("Status") or "absent",
        "health": health.get("Status") or None,
        "restarts": int((info or {}).get("RestartCount") or 0),
    }


def item_status(container_state, health=None):
    """up / down / starting / unhealthy of one container."""
    if container_state != "running":
        return DOWN
    if health in ("starting", "unhealthy"):
        return health
    return UP


def inspect_containers(docker, names):
    """{name: docker inspect document} of those of ``names`` that exist (one docker call; ``docker``: a DockerCli)."""
    return dict((d.get("Name", "").lstrip("/"), d) for d in docker.inspect(names, kind="container"))


def _speakers(lab):
    for x in lab["exchanges"]:
        if x["route_server"]:
            yield x["route_server"]
    for s in lab["systems"]:
        yield from s["routers"]


def collect_state(lab, docker=None, birdc="birdc"):
    """The lab with the runtime state joined in. ``docker`` is a DockerCli; None means Docker is not asked (all
    down).

    Every router (and route server) gets ``state``/``health``/``restarts``/``status``; each of its sessions
    the BGP state from ``birdc show protocols`` (``status`` up when Established); every party component its
    container's state. Returns (status dict, [warnings]).
    """
    warnings = []
    names = [n["container"] for n in _speakers(lab)] + [c[k] for p in lab["parties"] for c in p["components"]
                                                        for k in ("container", "pod_container")]
    infos = {}
    if docker is not None:
        try:
            infos = inspect_containers(docker, names)
        except RuntimeError as exc:
            warnings.append("cannot ask Docker, everything is reported down: %s" % exc)
            docker = None

    def speaker_status(node, asn):
        h = _health(infos.get(node["container"]))
        live = {}
        if docker is not None and h["state"] == "running":
            rc, out, err = docker.exec(node["container"], [birdc, "show", "protocols"], timeout=bird.EXEC_TIMEOUT)
            if rc == 0 and bird.is_protocol_table(out):
                live = dict((row["name"], row) for row in bird.bgp_sessions(out))
            else:
                reason = ((err or out or "").strip().splitlines() or ["rc=%d" % rc])[-1]
                warnings.append("%s: BIRD does not answer (%s)" % (node["container"], reason))
        sessions = []
        for sess in node.get("sessions", []):
            row = live.pop(sess["protocol"], None)
            entry = {"protocol": sess["protocol"], "neighbor": sess["neighbor"], "neighbor_as": sess["neighbor_as"],
                     "bgp_state": row["bgp_state"] if row else None, "info": row["info"] if row else None,
                     "status": UP if row and row["established"] else DOWN}
            if asn is not None:
                entry.update(classify(lab, node, asn, sess))
            else:
                entry.update({"kind": "rs_client", "ix": node["interfaces"][0]["net"] if node["interfaces"] else None,
                              "relationship": None, "peer_as": sess["neighbor_as"]})
            sessions.append(entry)
        for name in sorted(live):
            row = live[name]
            sessions.append({"protocol": name, "neighbor": None, "neighbor_as": None, "kind": None, "ix": None,
                             "relationship": None, "peer_as": None, "bgp_state": row["bgp_state"], "info": row["info"],
                             "status": UP if row["established"] else DOWN})
        return dict(h, name=node["name"], container=node["container"], role=node["role"],
                    status=item_status(h["state"], h["health"]),
                    addresses=dict((i["net"], i["address"]) for i in node["interfaces"]), sessions=sessions)

    systems = []
    for s in lab["systems"]:
        systems.append({"asn": s["asn"], "networks": s["networks"],
                        "routers": [speaker_status(r, s["asn"]) for r in s["routers"]],
                        "hosts": [{"name": h["name"], "container": h["container"], "services": h.get("services", []),
                                   "addresses": dict((i["net"], i["address"]) for i in h["interfaces"])}
                                  for h in s["hosts"]]})
    exchanges = []
    for x in lab["exchanges"]:
        exchanges.append(dict({"ix": x["ix"], "name": x["name"], "prefix": x["prefix"],
                               "route_server": speaker_status(x["route_server"], None) if x["route_server"] else None},
                              **({"link": x["link"]} if x.get("link") else {})))
    parties = []
    for p in lab["parties"]:
        comps = []
        for c in p["components"]:
            h = _health(infos.get(c["container"]))
            pod = _health(infos.get(c["pod_container"]))
            comps.append(dict(h, cluster=c["cluster"], component=c["component"], address=c["address"],
                              container=c["container"], pod_state=pod["state"], status=item_status(h["state"], h["health"])))
        ups = sum(1 for c in comps if c["status"] == UP)
        parties.append({"id": p["id"], "asn": p["asn"], "network": p["network"], "components": comps,
                        "status": UP if comps and ups == len(comps) else ("degraded" if ups else DOWN)})
    status = {"project": lab["project"], "fate_version": lab["fate_version"], "exchanges": exchanges,
              "systems": systems, "parties": parties, "peerings": lab["peerings"]}
    status["summary"] = summary(status)
    return status, warnings


def summary(status):
    speakers = [r for s in status["systems"] for r in s["routers"]] + [
        x["route_server"] for x in status["exchanges"] if x["route_server"]]
    sessions = [sess for r in speakers for sess in r["sessions"]]
    comps = [c for p in status["parties"] for c in p["components"]]
    out = {
        "routers": len(speakers), "routers_up": sum(1 for r in speakers if r["status"] == UP),
        "sessions": len(sessions), "sessions_up": sum(1 for x in sessions if x["status"] == UP),
        "parties": len(status["parties"]), "parties_up": sum(1 for p in status["parties"] if p["status"] == UP),
        "components": len(comps), "components_up": sum(1 for c in comps if c["status"] == UP),
    }
    if speakers and out["routers_up"] == out["routers"] and out["sessions_up"] == out["sessions"]:
        out["network"] = UP
    elif out["routers_up"] == 0:
        out["network"] = DOWN
    else:
        out["network"] = "degraded"
    return out


# ------------------------------------------------------------------------------------------------
# The table

def _columns(rows, indent):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))] if rows else []
    return [indent + "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _session_peer(sess):
    if sess.get("kind") == "route_server":
        return "route server %s" % sess["ix"] if sess.get("ix") else "route server"
    if sess.get("kind") == "rs_client":
        return "AS%s %s (route-server client)" % (sess["peer_as"], sess["neighbor"])
    if sess.get("kind") == "ibgp":
        return "iBGP AS%s %s" % (sess["peer_as"], sess["neighbor"])
    if sess.get("kind") == "private":
        return "AS%s %s (%s%s)" % (sess["peer_as"], sess["neighbor"], sess["relationship"] or "?",
                                   ", %s" % sess["ix"] if sess.get("ix") else "")
    if sess.get("peer_as"):
        return "AS%s %s" % (sess["peer_as"], sess["neighbor"])
    return "-"


def _state(item):
    """``up (running, healthy)``, ``down (absent)``: the item's status, then what Docker says."""
    detail = item["state"] + (", %s" % item["health"] if item.get("health") else "")
    return "%s (%s)" % (item["status"], detail)


def _bgp(sess):
    if sess["status"] == UP:
        return sess["bgp_state"]
    # BIRD's info starts at the BGP state: "Active Socket: Connection refused".
    return "down (%s)" % (sess["info"] or sess["bgp_state"]) if sess["bgp_state"] else DOWN


def table_lines(status, lab_name=None):
    """A compact text table: per AS its routers and their sessions, per IX its route server, per party its
    components (address, container state, health, restarts)."""
    s = status["summary"]
    lines = ["lab %s (compose project %s): network %s, routers %d/%d up, BGP sessions %d/%d Established, "
             "parties %d/%d up, components %d/%d up"
             % (lab_name or status["project"], status["project"], s["network"], s["routers_up"], s["routers"],
                s["sessions_up"], s["sessions"], s["parties_up"], s["parties"], s["components_up"], s["components"])]

    def speaker(node, head_rows):
        rows = [head_rows + [node["container"], _state(node), "restarts %d" % node["restarts"]]]
        out = _columns(rows, "  ")
        sess_rows = [[x["protocol"], _session_peer(x), _bgp(x)] for x in node["sessions"]]
        out.extend(_columns(sess_rows, "      ") if sess_rows else ["      (no BGP sessions)"])
        return out

    for system in status["systems"]:
        nets = ", ".join("%s %s" % (n["name"], n["prefix"]) + (" (%s)" % n["link"] if n.get("link") else "")
                         for n in system["networks"])
        lines.append("AS%s  %s" % (system["asn"], nets))
        for r in system["routers"]:
            lines.extend(speaker(r, ["router %s" % r["name"]]))
        for h in system["hosts"]:
            addresses = ", ".join("%s=%s" % kv for kv in sorted(h["addresses"].items()))
            services = "  " + ", ".join(h["services"]) if h.get("services") else ""
            lines.append("  host %s  %s%s" % (h["name"], addresses, services))
    for x in status["exchanges"]:
        lines.append("%s  %s" % (x["name"].upper() if str(x["name"]).startswith("ix") else x["name"], x["prefix"] or "")
                     + ("  (%s)" % x["link"] if x.get("link") else ""))
        if x["route_server"]:
            lines.extend(speaker(x["route_server"], ["route server"]))
    for p in status["parties"]:
        lines.append("party %s  AS%s %s  %s" % (p["id"], p["asn"], p["network"], p["status"]))
        rows = [[c["cluster"], c["component"], c["address"] or "-", c["container"], _state(c), "restarts %d" % c["restarts"]]
                for c in p["components"]]
        lines.extend(_columns(rows, "  "))
    return lines


# ------------------------------------------------------------------------------------------------
# The picture

REL_STYLE = {
    "provider": 'color="#c0392b", dir=forward, arrowhead=normal, label="provider -> customer"',
    "peer": 'color="#27ae60", dir=none, label="peer"',
    "unfiltered": 'color="#e67e22", dir=none, label="unfiltered"',
    None: 'color="#7f8c8d", dir=none, label="private"',
}


def _q(text):
    return '"%s"' % str(text).replace("\\", "\\\\").replace('"', '\\"')


def _label(*lines):
    return _q("\n".join(str(x) for x in lines if x)).replace("\n", "\\n")


def _rid(asn, router):
    return "as%s_r_%s" % (asn, router)


def _span(addresses):
    addrs = sorted((a for a in addresses if a), key=lambda a: tuple(int(x) for x in a.split(".")) if a.count(".") == 3 else (0,))
    if not addrs:
        return ""
    if len(addrs) == 1:
        return addrs[0]
    return "%s - .%s" % (addrs[0], addrs[-1].split(".")[-1])


def _edge_link(iface):
    """``, headlabel="2mbit"`` for an interface whose link properties differ from its network's."""
    return ", headlabel=%s" % _q(iface["label"]) if iface.get("label") else ""


def to_dot(lab, title=None):
    """Graphviz DOT text of the lab: IXes, ASes (clusters) with their networks, routers, hosts and parties,
    route-server and private peerings (with relationship) and iBGP. Deterministic."""
    out = ["graph lab {"]
    add = out.append
    add('  graph [fontname="Helvetica", fontsize=12, labelloc=t, newrank=true, nodesep=0.4, ranksep=0.7, '
        'label=%s];' % _label(title or "seed.fate lab %s" % lab["project"],
                              "blue: route server peering   red arrow: provider -> customer   green: peer   "
                              "orange: unfiltered   dotted: iBGP"))
    add('  node [fontname="Helvetica", fontsize=10];')
    add('  edge [fontname="Helvetica", fontsize=9];')
    for x in lab["exchanges"]:
        rs = x["route_server"]
        add('  %s [shape=box3d, style=filled, fillcolor="#d6eaf8", label=%s];'
            % (_q(x["name"]), _label(str(x["name"]).upper(), x["prefix"], x.get("link"),
                                     "route server %s" % rs["interfaces"][0]["address"] if rs and rs["interfaces"] else None)))
    parties_by_as = {}
    for p in lab["parties"]:
        parties_by_as.setdefault(p["asn"], []).append(p)
    for s in lab["systems"]:
        asn = s["asn"]
        add("  subgraph cluster_as%s {" % asn)
        kind = "transit" if len(s["routers"]) > 1 else None
        add('    graph [label=%s, style="rounded,filled", fillcolor="#fbfcfc", color="#566573"];'
            % _label("AS%s" % asn + (" (%s)" % kind if kind else "")))
        for n in s["networks"]:
            add('    %s [shape=ellipse, style=filled, fillcolor="#eaeded", label=%s];'
                % (_q("as%s_n_%s" % (asn, n["name"])), _label(n["name"], n["prefix"], n.get("link"))))
        for r in s["routers"]:
            add('    %s [shape=octagon, style=filled, fillcolor="#fdebd0", label=%s];'
                % (_q(_rid(asn, r["name"])), _label(r["name"])))
        for h in s["hosts"]:
            label = _label("host %s" % h["name"], *([i["address"] for i in h["interfaces"]] + h.get("services", [])))
            add('    %s [shape=box, label=%s];' % (_q("as%s_h_%s" % (asn, h["name"])), label))
        for p in parties_by_as.get(asn, []):
            clusters = []
            for cluster in naming.CLUSTERS:
                comps = [c for c in p["components"] if c["cluster"] == cluster]
                if comps:
                    clusters.append("%s: %d (%s)" % (cluster, len(comps), _span(c["address"] for c in comps)))
            add('    %s [shape=folder, style=filled, fillcolor="#d5f5e3", label=%s];'
                % (_q("party_%s" % p["id"]), _label("FATE party %s" % p["id"], *clusters)))
        nets = set(n["name"] for n in s["networks"])
        for r in s["routers"]:
            for i in r["interfaces"]:
                if i["net"] in nets:
                    add("    %s -- %s [taillabel=%s%s];" % (_q(_rid(asn, r["name"])), _q("as%s_n_%s" % (asn, i["net"])),
                                                            _q("." + i["address"].split(".")[-1] if i["address"] else ""),
                                                            _edge_link(i)))
        for h in s["hosts"]:
            for i in h["interfaces"]:
                if i["net"] in nets:
                    add("    %s -- %s%s;" % (_q("as%s_n_%s" % (asn, i["net"])), _q("as%s_h_%s" % (asn, h["name"])),
                                             " [label=%s]" % _q(i["label"]) if i.get("label") else ""))
        for p in parties_by_as.get(asn, []):
            if p["network"]:
                add("    %s -- %s;" % (_q("as%s_n_%s" % (asn, p["network"])), _q("party_%s" % p["id"])))
        add("  }")
    ixes = set(x["name"] for x in lab["exchanges"])
    rs_members = set((p["ix"], p["asn"], p["router"]) for p in lab["peerings"] if p["kind"] == "route_server")
    for s in lab["systems"]:
        for r in s["routers"]:
            for i in r["interfaces"]:
                if i["net"] in ixes:
                    member = (i["net"], s["asn"], r["name"]) in rs_members
                    style = ('color="#2e86c1", penwidth=2, label="RS"' if member else 'color="#909497"')
                    add("  %s -- %s [%s, taillabel=%s%s];" % (_q(i["net"]), _q(_rid(s["asn"], r["name"])), style,
                                                              _q("." + i["address"].split(".")[-1] if i["address"] else ""),
                                                              _edge_link(i)))
    for p in lab["peerings"]:
        if p["kind"] == "private" and p["a_router"] and p["b_router"]:
            style = REL_STYLE.get(p["relationship"], REL_STYLE[None])
            if p.get("ix"):
                style = style[:-1] + ' @ %s"' % p["ix"]
            # A customer is drawn below its provider (tiers, as in a mini-Internet); other peerings do not rank.
            add("  %s -- %s [%s, style=dashed, penwidth=1.5, constraint=%s];"
                % (_q(_rid(p["a"], p["a_router"])), _q(_rid(p["b"], p["b_router"])), style,
                   "true" if p["relationship"] == "provider" else "false"))
        elif p["kind"] == "ibgp":
            add('  %s -- %s [style=dotted, color="#566573", label="iBGP", constraint=false];'
                % (_q(_rid(p["asn"], p["a_router"])), _q(_rid(p["asn"], p["b_router"]))))
    add("}")
    return "\n".join(out) + "\n"


def status_json(status):
    """status.json text: sorted keys, stable (no times), final newline."""
    return json.dumps(status, indent=2, sort_keys=True) + "\n"
