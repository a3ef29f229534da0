# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read BIRD's ``show protocols`` table and tell which BGP sessions are up.

BIRD 2 prints (``birdc show protocols``)::

    BIRD 2.0.12 ready.
    Name       Proto      Table      State  Since         Info
    device1    Device     ---        up     18:07:23.844
    p_as150    BGP        ---        up     18:07:28.536  Established
    p_rs100    BGP        ---        start  18:07:24.168  Active        Socket: Connection refused

The "Since" column may hold a date and a time (its format is configurable), so columns after
"State" are not split by position: the BGP state is the first word of the rest that is a BGP state.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

# Seconds one ``docker exec`` of birdc or ip may take before it is stopped (a hung container or engine).
EXEC_TIMEOUT = 15

# RFC 4271 finite state machine states as BIRD names them.
BGP_STATES = ("Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established", "Close")
ESTABLISHED = "Established"


def parse_protocols(text):
    """Rows of a ``show protocols`` table: dicts name, proto, table, state, info, bgp_state.

    ``bgp_state`` is None for non-BGP protocols (and for a BGP one whose row shows no state).
    Lines before the "Name Proto ..." header (the banner) and reply codes are ignored.
    """
    rows = []
    in_table = False
    for raw in (text or "").splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        words = line.split()
        if not in_table:
            if words[:2] == ["Name", "Proto"]:
                in_table = True
            continue
        if len(words) < 4:
            continue
        name, proto, table, state = words[:4]
        rest = words[4:]
        bgp_state = None
        if proto == "BGP":
            for word in rest:
                if word in BGP_STATES:
                    bgp_state = word
                    break
        info_start = rest.index(bgp_state) if bgp_state in rest else min(len(rest), 1)
        rows.append({
            "name": name,
            "proto": proto,
            "table": table,
            "state": state,
            "info": " ".join(rest[info_start:]),
            "bgp_state": bgp_state,
        })
    return rows


def bgp_sessions(text):
    """The BGP rows of ``text``, each with ``established`` (bool) added."""
    sessions = []
    for row in parse_protocols(text):
        if row["proto"] != "BGP":
            continue
        row = dict(row)
        row["established"] = row["state"] == "up" and row["bgp_state"] == ESTABLISHED
        sessions.append(row)
    return sessions


def is_protocol_table(text):
    """Whether ``text`` holds a protocol table at all (birdc answered, BIRD was running)."""
    return any(line.split()[:2] == ["Name", "Proto"] for line in (text or "").splitlines() if line.strip())


def describe_session(container, row):
    """``container/p_rs100 (start Active Socket: Connection refused)``: what an error message names."""
    detail = " ".join(part for part in (row.get("state"), row.get("info")) if part)
    return "%s/%s (%s)" % (container, row["name"], detail) if detail else "%s/%s" % (container, row["name"])


# seedemu labels every node with its role; these are the ones that run BIRD with BGP.
ROLE_LABEL = "org.seedsecuritylabs.seedemu.meta.role"


def is_bgp_role(role):
    """seedemu roles that run BGP: Router, BorderRouter, Route Server (and the fork's spellings)."""
    role = (role or "").lower()
    return "router" in role or "route server" in role or role == "rs"


def discover_speakers(docker, project):
    """[(container, state)] of the router and route-server containers of a compose project.

    ``docker``: a DockerCli. Raises RuntimeError when docker cannot be asked.
    """
    found = []
    for parts in _project_containers(docker, project, ("{{.State}}", '{{.Label "%s"}}' % ROLE_LABEL)):
        if is_bgp_role(parts[2]):
            found.append((parts[0], parts[1]))
    return sorted(found)


class Routed(object):
    """A docker client for containers spread over several engines: ``exec`` goes to the engine that runs the
    container (registered with :meth:`add`), else to ``default``. What :func:`poll` and :func:`missing_routes`
    need, so that the swarm target's routers on every Docker host are asked like those on one engine."""

    def __init__(self, default):
        self.default = default
        self.owner = {}

    def add(self, client, containers):
        for name in containers:
            self.owner[name] = client

    def exec(self, container, argv, timeout=None, data=None, user=None):
        return self.owner.get(container, self.default).exec(container, argv, timeout=timeout, data=data, user=user)


def _project_containers(docker, project, fields):
    """``docker ps -a`` of a compose project: one [name] + fields row per container (Go templates)."""
    fmt = "\t".join(("{{.Names}}",) + tuple(fields))
    rc, out, err = docker.ps(project, fmt=fmt, timeout=EXEC_TIMEOUT)
    if rc != 0:
        raise RuntimeError("cannot list the containers of compose project %s: %s" % (project, (err or out).strip()))
    width = len(fields) + 1
    return [parts for parts in (line.split("\t") for line in out.splitlines()) if len(parts) >= width]


# How many ``docker exec`` run at once: each mostly waits for the engine, and a lab of 30 routers asked one
# after the other takes seconds per round.
PARALLEL = 8


def each(fn, items, workers=PARALLEL):
    """``[fn(item) for item in items]``, run in up to ``workers`` threads; results in the order of ``items``."""
    items = list(items)
    if len(items) < 2 or workers < 2:
        return [fn(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


def poll(docker, containers, birdc="birdc", timeout=EXEC_TIMEOUT):
    """Ask every container's BIRD once (the containers at the same time).

    Returns {"sessions": [row + container], "problems": ["what is not up", ...]}; no problems means
    every BGP session of every container is Established. Each ``docker exec`` is stopped after ``timeout`` s
    (the container is then reported as not answering).
    """
    sessions, problems = [], []
    answers = each(lambda c: docker.exec(c, [birdc, "show", "protocols"], timeout=timeout), containers)
    for container, (rc, out, err) in zip(containers, answers):
        if rc != 0 or not is_protocol_table(out):
            reason = (err or out).strip().splitlines()
            problems.append("%s (BIRD does not answer: %s)" % (container, reason[-1] if reason else "rc=%d" % rc))
            continue
        for row in bgp_sessions(out):
            row["container"] = container
            sessions.append(row)
            if not row["established"]:
                problems.append(describe_session(container, row))
    return {"sessions": sessions, "problems": problems}


def wait_established(docker, containers, timeout, interval=2.0, birdc="birdc",
                     clock=time.monotonic, sleep=time.sleep):
    """Poll until every BGP session is Established or ``timeout`` seconds pass.

    Returns (ok, last poll result, seconds waited).
    """
    start = clock()
    while True:
        result = poll(docker, containers, birdc)
        elapsed = clock() - start
        if not result["problems"]:
            return True, result, elapsed
        if elapsed >= timeout:
            return False, result, elapsed
        sleep(max(0.0, min(interval, timeout - elapsed)))


# ---------------------------------------------------------------------------------------------
# Convergence: sessions up is not enough, the routes must be where the traffic needs them.
# ---------------------------------------------------------------------------------------------

ASN_LABEL = "org.seedsecuritylabs.seedemu.meta.asn"


def is_router_role(role):
    """Roles that forward traffic (and so need the routes in their kernel table): not route servers."""
    return "router" in (role or "").lower()


def discover_routers(docker, project):
    """[(container, asn)] of the router containers (not route servers) of a compose project.

    ``asn`` is an int, or None when the container has no seedemu ASN label.
    """
    found = []
    for parts in _project_containers(docker, project, ('{{.Label "%s"}}' % ROLE_LABEL, '{{.Label "%s"}}' % ASN_LABEL)):
        if is_router_role(parts[1]):
            asn = parts[2].strip()
            found.append((parts[0], int(asn) if asn.isdigit() else None))
    return sorted(found, key=lambda item: item[0])


def parse_kernel_routes(text):
    """The destinations of ``ip -4 route show`` output, as written there (``10.152.0.0/24``, ``default``)."""
    return set(line.split()[0] for line in (text or "").splitlines() if line.strip())


def _same_prefix(a, b):
    import ipaddress
    try:
        return ipaddress.ip_network(a, strict=False) == ipaddress.ip_network(b, strict=False)
    except ValueError:
        return a == b


def missing_routes(docker, targets, prefixes, timeout=EXEC_TIMEOUT):
    """Ask each router's kernel table once. ``targets``: containers; ``prefixes``: what each must hold.

    Returns [{"container": c, "missing": [prefix, ...]}] for the routers that lack some (or do not answer:
    then every prefix is missing and ``error`` says why).
    """
    out = []
    answers = each(lambda c: docker.exec(c, ["ip", "-4", "route", "show"], timeout=timeout), targets)
    for container, (rc, text, err) in zip(targets, answers):
        if rc != 0:
            reason = (err or text or "rc=%d" % rc).strip().splitlines()
            out.append({"container": container, "missing": list(prefixes), "error": reason[-1] if reason else ""})
            continue
        have = parse_kernel_routes(text)
        lacking = [p for p in prefixes if p not in have and not any(_same_prefix(p, h) for h in have if "/" in h)]
        if lacking:
            out.append({"container": container, "missing": lacking})
    return out


def describe_missing(entries):
    """``as241brd-router0-10.241.0.254 lacks 10.243.0.0/24, 10.244.0.0/24``; one clause per router."""
    parts = []
    for entry in entries:
        text = "%s lacks %s" % (entry["container"], ", ".join(entry["missing"]))
        if entry.get("error"):
            text += " (cannot read its routing table: %s)" % entry["error"]
        parts.append(text)
    return "; ".join(parts)


def wait_converged(docker, containers, timeout, interval=2.0, birdc="birdc", route_targets=(),
                   prefixes=(), route_timeout=30, clock=time.monotonic, sleep=time.sleep):
    """Poll until every BGP session is Established and every router of ``route_targets`` holds every prefix
    of ``prefixes`` in its kernel table.

    Gives up after ``timeout`` seconds in all, or ``route_timeout`` seconds after the sessions were first all
    Established (routes that have not spread by then will not: a missing iBGP or peering, a filter).
    Returns (ok, last poll result with ``missing_routes``, seconds waited, what failed: "sessions" | "routes"
    | None).
    """
    start = clock()
    sessions_up_at = None
    while True:
        result = poll(docker, containers, birdc)
        result["missing_routes"] = []
        now = clock()
        if not result["problems"]:
            if sessions_up_at is None:
                sessions_up_at = now
            if prefixes and route_targets:
                result["missing_routes"] = missing_routes(docker, route_targets, list(prefixes))
                now = clock()
            if not result["missing_routes"]:
                return True, result, now - start, None
            if now - sessions_up_at >= route_timeout or now - start >= timeout:
                return False, result, now - start, "routes"
        else:
            sessions_up_at = None
            if now - start >= timeout:
                return False, result, now - start, "sessions"
        left = timeout - (now - start)
        if sessions_up_at is not None:
            left = min(left, route_timeout - (now - sessions_up_at))
        sleep(max(0.0, min(interval, left)))
