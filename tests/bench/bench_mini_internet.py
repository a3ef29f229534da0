#!/usr/bin/env python3
"""The mini-Internet beside the built-in 3-AS lab: compile, image build, up, BGP convergence, memory.

For each lab - inventories/default (IX100, AS150-152, one route server) and inventories/mini-internet
(19 ASes on IX131-133: tier-1 and regional transits with OSPF + iBGP, stubs, three route servers) - runs
playbooks/network.yml with the shipped inventory (lab name, build folder, compose project and guard comment
of the bench's own, so a running lab is never touched) and `network_bgp_wait=false`, then polls every router
itself (four at a time, every 2 s). Printed per lab (seconds, wall clock):

- compile: seed.fate.seedemu_network (seedemu render + compile, ghost export, host adaptation);
- build: the node images of the compiled project (`docker compose build`, classic builder; a new project,
  so cold: every node's image is built);
- up: `docker compose up` of the project; containers: how many it started;
- sessions: from the end of `up` until every BGP session of every router and route server is Established;
- routes: ... until every party's prefix is in the kernel table of every router of every party AS (what the
  network role waits for); full: ... until every AS network's prefix is in every router's kernel table;
- memory: the sum of the containers' memory use once the routes converged (`docker stats --no-stream`; where
  that says 0B, as it does on some cgroup v1 hosts, the containers' cgroups: use less inactive page cache);
- down: `network_state=absent`.

Needs seedemu in .venv and a Docker engine; a lab whose subnets are in use is skipped with the reason.
Everything it makes is removed at the end (containers, networks, the project's images, its guard rules).
Heavy: run it alone (`flock /tmp/seedfate-heavy.lock .venv/bin/python tests/bench/bench_mini_internet.py`).

    .venv/bin/python tests/bench/bench_mini_internet.py [--labs default,mini-internet] [--timeout 400]
"""

import argparse
import concurrent.futures
import datetime
import ipaddress
import json
import os
import re
import sys
import tempfile
import time
import uuid

import yaml

from benchlib import REPO, image_refs, remove_lab, sh, stage_times
import benchlib

sys.path.insert(0, os.path.join(REPO, "collections"))

from ansible_collections.seed.fate.plugins.module_utils import bird  # noqa: E402  pylint: disable=wrong-import-position

PROJECT_LABEL = "com.docker.compose.project"
ROLE_LABEL = "org.seedsecuritylabs.seedemu.meta.role"
ASN_LABEL = "org.seedsecuritylabs.seedemu.meta.asn"
STEPS = [
    ("image", "seed.fate.images :"),
    ("compile", "Compile the emulated Internet"),
    ("build", "Build the node images"),
    ("up", "Start the emulated Internet"),
]
INTERVAL = 2.0


def play(inventory, overrides, *extra):
    """(wall seconds, {stage: seconds}, end of compose up or None) of one run of network.yml."""
    wall, doc = benchlib.play(inventory, "-e", "@" + overrides, *extra)
    steps, ends = stage_times(doc, STEPS)
    return wall, steps, ends.get("up")


def lab_model(inventory):
    """The inventory's topology, normalised (FATE 2.2.0 parties, no serving)."""
    from ansible_collections.seed.fate.plugins.module_utils import topology as topo
    with open(os.path.join(inventory, "group_vars", "all", "topology.yml")) as f:
        lab = yaml.safe_load(f)
    for party in lab["seedfate_parties"].values():
        party["serving"] = False
    return topo.normalize(lab["seedfate_topology"], lab["seedfate_parties"], fate_version="2.2.0")


def busy(prefixes):
    taken = []
    for net in sh("docker", "network", "ls", "-q").stdout.split():
        out = sh("docker", "network", "inspect", "--format", "{{.Name}}{{range .IPAM.Config}} {{.Subnet}}{{end}}",
                 net).stdout.split()
        taken.extend("%s (%s)" % (out[0], s) for s in out[1:] if s in prefixes)
    return taken


def containers(project):
    """[(name, role, asn)] of the project's running containers."""
    fmt = "{{.Names}}\t{{.Label \"%s\"}}\t{{.Label \"%s\"}}" % (ROLE_LABEL, ASN_LABEL)
    out = sh("docker", "ps", "--filter", "label=%s=%s" % (PROJECT_LABEL, project), "--format", fmt).stdout
    return [tuple(line.split("\t")) for line in out.splitlines() if line.count("\t") == 2]


def routes_of(container):
    return bird.parse_kernel_routes(sh("docker", "exec", container, "ip", "-4", "route", "show").stdout)


def sessions_of(container):
    out = sh("docker", "exec", container, "birdc", "show", "protocols").stdout
    if not bird.is_protocol_table(out):
        return None
    return bird.bgp_sessions(out)


def converge(project, model, up_end, timeout):
    """Seconds from ``up_end`` until sessions, party routes and all routes are there (None: not within timeout)."""
    nodes = containers(project)
    speakers = [n for n, role, _a in nodes if bird.is_bgp_role(role)]
    routers = [(n, int(a)) for n, role, a in nodes if bird.is_router_role(role) and a.isdigit()]
    party_asns = set(p["asn"] for p in model["parties"])
    party_prefixes = set(str(n["prefix"]) for s in model["autonomous_systems"] if s["asn"] in party_asns
                         for n in s["networks"] if any(p["asn"] == s["asn"] and p["network"] == n["name"]
                                                       for p in model["parties"]))
    all_prefixes = set(str(n["prefix"]) for s in model["autonomous_systems"] for n in s["networks"])
    got = {"sessions": None, "routes": None, "full": None}
    # Light on a 2-core host: four docker execs at a time, every INTERVAL seconds, routes only once the
    # sessions are up (the poll itself competes with the nodes' start-up for the CPU).
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline and got["full"] is None:
            tick = datetime.datetime.now(datetime.timezone.utc)
            elapsed = (tick - up_end).total_seconds()
            if got["sessions"] is None:
                tables = list(pool.map(sessions_of, speakers))
                if all(t is not None for t in tables) and all(s["established"] for t in tables for s in t):
                    got["sessions"] = elapsed
            if got["sessions"] is not None:
                tables = dict(zip([r for r, _a in routers], pool.map(routes_of, [r for r, _a in routers])))

                def holds(container, prefixes):
                    have = tables[container]
                    return all(p in have or any("/" in h and ipaddress.ip_network(h, strict=False) == ipaddress.ip_network(p)
                                                for h in have) for p in prefixes)
                if got["routes"] is None and all(holds(r, party_prefixes) for r, a in routers if a in party_asns):
                    got["routes"] = elapsed
                if got["routes"] is not None and all(holds(r, all_prefixes) for r, _a in routers):
                    got["full"] = elapsed
            time.sleep(max(0.0, INTERVAL - (datetime.datetime.now(datetime.timezone.utc) - tick).total_seconds()))
    finally:
        pool.shutdown()
    return got, len(nodes)


def _cgroup_mib(container_id):
    """A container's memory use from its cgroup, as docker stats counts it (usage less inactive file pages)."""
    for folder, usage, stat, inactive in (
            ("/sys/fs/cgroup/memory/docker/%s", "memory.usage_in_bytes", "memory.stat", "total_inactive_file"),
            ("/sys/fs/cgroup/system.slice/docker-%s.scope", "memory.current", "memory.stat", "inactive_file"),
            ("/sys/fs/cgroup/docker/%s", "memory.current", "memory.stat", "inactive_file")):
        path = folder % container_id
        try:
            with open(os.path.join(path, usage)) as f:
                used = int(f.read())
            with open(os.path.join(path, stat)) as f:
                stats = dict(line.split() for line in f if len(line.split()) == 2)
        except (OSError, ValueError):
            continue
        return (used - int(stats.get(inactive, 0))) / 2.0 ** 20
    return None


def memory_mib(project):
    """Sum of the project's containers' memory use, MiB: docker stats, else their cgroups."""
    ids = sh("docker", "ps", "-q", "--no-trunc", "--filter", "label=%s=%s" % (PROJECT_LABEL, project)).stdout.split()
    units = {"B": 1.0 / 2 ** 20, "KiB": 1.0 / 1024, "kB": 1.0 / 1024, "MiB": 1.0, "MB": 1.0, "GiB": 1024.0, "GB": 1024.0}
    for _attempt in range(3):
        proc = sh("docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", *ids)
        total = 0.0
        for line in proc.stdout.splitlines():
            m = re.match(r"\s*([0-9.]+)\s*([A-Za-z]+)", line)
            if m:
                total += float(m.group(1)) * units.get(m.group(2), 1.0)
        if total > 0:
            return total
        if _attempt == 0:
            first = ((proc.stderr or proc.stdout).strip().splitlines() or ["nothing"])[0]
            print("bench_mini_internet: docker stats gave no memory figure (rc %d: %s ...): reading the cgroups"
                  % (proc.returncode, first), file=sys.stderr)
        time.sleep(2)
    figures = [_cgroup_mib(i) for i in ids]
    return sum(f for f in figures if f is not None) if any(f is not None for f in figures) else 0.0


def bench(name, timeout):
    inventory = os.path.join(REPO, "inventories", name)
    model = lab_model(inventory)
    prefixes = set(str(x["prefix"]) for x in model["internet_exchanges"]) | \
        set(str(n["prefix"]) for s in model["autonomous_systems"] for n in s["networks"])
    taken = busy(prefixes)
    if taken:
        return None, "its subnets are in use (%s)" % ", ".join(taken)
    root = tempfile.mkdtemp(prefix="sftest-bench-mini-")
    project = "sftest-bench-%s-%s" % (name, uuid.uuid4().hex[:6])
    comment = "sftest-bench %s" % project
    overrides = os.path.join(root, "overrides.json")
    with open(overrides, "w") as f:
        json.dump({"seedfate_lab_name": project, "seedfate_build_dir": os.path.join(root, "build"),
                   "seedfate_network_project": project, "network_isolation_guard_comment": comment,
                   "network_bgp_wait": False}, f)
    before = image_refs()
    try:
        total, steps, up_end = play(inventory, overrides)
        got, count = converge(project, model, up_end, timeout)
        mem = memory_mib(project)
        start = time.time()
        play(inventory, overrides, "-e", "network_state=absent")
        down = time.time() - start
        row = dict(steps, total=total, down=down, memory=mem, containers=count, ases=len(model["autonomous_systems"]),
                   ixes=len(model["internet_exchanges"]), **got)
        return row, None
    finally:
        remove_lab(project, comment, before, root)


def fmt(value, spec="%.1f"):
    return "-" if value is None else spec % value


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labs", default="default,mini-internet")
    ap.add_argument("--timeout", type=int, default=400, help="seconds to wait for convergence after up")
    args = ap.parse_args()
    try:
        import seedemu  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
    except ImportError as exc:
        print("bench_mini_internet: skipped: seedemu is not importable (%s)" % exc)
        return
    if sh("docker", "info").returncode:
        print("bench_mini_internet: skipped: no Docker engine answers")
        return
    cols = ("lab", "ASes", "IXes", "cont.", "compile", "build", "up", "sessions", "routes", "full", "memory",
            "playbook", "down")
    print("%-14s %4s %4s %5s %7s %6s %5s %8s %6s %5s %9s %8s %5s" % cols)
    for name in args.labs.split(","):
        row, reason = bench(name, args.timeout)
        if row is None:
            print("%-14s skipped: %s" % (name, reason))
            continue
        print("%-14s %4d %4d %5d %7.1f %6.1f %5.1f %8s %6s %5s %5.0f MiB %8.1f %5.1f" % (
            name, row["ases"], row["ixes"], row["containers"], row["compile"], row["build"], row["up"],
            fmt(row["sessions"]), fmt(row["routes"]), fmt(row["full"]), row["memory"], row["total"], row["down"]))
        sys.stdout.flush()
    print("seconds, wall clock; sessions/routes/full: from the end of compose up (network_bgp_wait=false); "
          "playbook: network.yml without the wait; memory: once converged")


if __name__ == "__main__":
    main()
