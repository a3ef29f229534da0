#!/usr/bin/env python3
"""Benchmark: seed.fate.seedemu_network against plain seedemu render + compile of the same lab.

Two labs: the built-in one (3 ASes, 12 reserved hosts each) and 30 ASes x 12 reserved hosts.
Each side runs in a fresh Python process, as it would for a user; CPU time of the process tree is
the figure compared (wall-clock is printed too, but this machine is shared and busy):

* plain: a seedemu program for the same lab (every component an ordinary host): import seedemu,
  build, render, Docker compile into a folder;
* module: the module as Ansible runs it (``python -m ...seedemu_network args.json``): validation,
  import, render, reading the addresses back, compile, host adaptation, ghost export, comparison
  with the build folder and the atomic swap; once into an empty folder and once more unchanged.

seedemu calls inspect.stack() for every node option, whose cost grows with nodes x loaded modules;
the module renders with a light stand-in for it (seedemu_build.light_stack), so it is also measured
without (SEEDFATE_LIGHT_STACK=0). The module must stay under 1.5x plain seedemu. Median of --runs.

    SEEDEMU_PATH=/opt/seedemu .venv/bin/python tests/bench/bench_skeleton.py [--runs 5]
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, "collections")
sys.path.insert(0, COLLECTIONS)

# As this machine's kernel is: the adaptation work is part of what is measured.
CAPS = {"privileged": False, "dummy_link": False, "netem": False, "missing_capabilities": ["SYS_RESOURCE"]}


def lab(n_as):
    asns = list(range(150, 150 + n_as))
    topology = {"internet_exchanges": [100],
                "autonomous_systems": dict((str(a), {"networks": ["net0"], "routers": {"router0": ["net0", "ix100"]}})
                                           for a in asns),
                "peerings": [{"ix": 100, "route_server": asns}]}
    parties = dict((str(10000 - i), {"asn": a, "network": "net0", "serving": True}) for i, a in enumerate(asns))
    return topology, parties


def plain_child(lab_file, out):
    """The plain seedemu program (run in a child process)."""
    t0 = time.perf_counter()
    if os.environ.get("SEEDEMU_PATH"):
        sys.path.insert(0, os.environ["SEEDEMU_PATH"])
    from seedemu.compiler import Docker
    from seedemu.core import Emulator
    from seedemu.layers import Base, Ebgp, EtcHosts, Routing
    from ansible_collections.seed.fate.plugins.module_utils import topology as topo
    with open(lab_file) as f:
        topology, parties = json.load(f)
    t1 = time.perf_counter()
    model = topo.normalize(topology, parties)
    emu, base, routing, ebgp = Emulator(), Base(), Routing(), Ebgp()
    base.createInternetExchange(100)
    systems = {}
    for system in model["autonomous_systems"]:
        systems[system["asn"]] = base.createAutonomousSystem(system["asn"])
        systems[system["asn"]].createNetwork("net0")
        systems[system["asn"]].createRouter("router0").joinNetwork("net0").joinNetwork("ix100")
        ebgp.addRsPeer(100, system["asn"])
    for g in topo.ghost_plan(model["parties"]):
        systems[g["asn"]].createHost(g["name"]).joinNetwork("net0")
    for layer in (base, routing, ebgp, EtcHosts(only_hosts=False)):
        emu.addLayer(layer)
    emu.render()
    emu.compile(Docker(internetMapEnabled=False), out, override=True)
    sys.stdout.write(json.dumps({"import": t1 - t0, "work": time.perf_counter() - t1}) + "\n")


def run(cmd, cwd, **env_extra):
    """Run a child; returns (wall s, CPU s of the child and its children, stdout)."""
    env = dict(os.environ, PYTHONPATH=COLLECTIONS, **env_extra)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit("%s failed: %s %s" % (cmd, proc.stdout.decode()[-2000:], proc.stderr.decode()[-2000:]))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, proc.stdout.decode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--plain-child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.plain_child:
        plain_child(*a.plain_child)
        return 0
    sys.path.insert(0, os.environ.get("SEEDEMU_PATH") or ".")
    try:
        import seedemu  # noqa: F401  pylint: disable=unused-import
    except ImportError as exc:
        print("seedemu not available (%s); set SEEDEMU_PATH" % exc)
        return 0
    worst = 0.0
    print("CPU seconds (user+sys, whole process tree; wall-clock in brackets), median of %d runs" % a.runs)
    print("%-22s %15s %15s %15s %15s %7s %6s" % ("lab", "plain seedemu", "module", "module again",
                                                "module, std stack", "ratio", "files"))
    for name, n_as in (("3 ASes x 12 reserved", 3), ("30 ASes x 12 reserved", 30)):
        topology, parties = lab(n_as)
        runs = {"plain": [], "first": [], "again": [], "std": []}
        files = 0
        for _ in range(a.runs):
            work = tempfile.mkdtemp(prefix="sfbench-")
            try:
                lab_file = os.path.join(work, "lab.json")
                with open(lab_file, "w") as f:
                    json.dump([topology, parties], f)
                wall, cpu, _out = run([sys.executable, os.path.abspath(__file__), "--plain-child", lab_file,
                                       os.path.join(work, "plain")], work)
                runs["plain"].append((cpu, wall))
                for key, dest, light, changed in (("first", "build", "1", True), ("again", "build", "1", False),
                                                  ("std", "build-std", "0", True)):
                    args_file = os.path.join(work, "args-%s.json" % key)
                    with open(args_file, "w") as f:
                        json.dump({"ANSIBLE_MODULE_ARGS": dict(
                            topology=topology, parties=parties, dest=os.path.join(work, dest), project="benchlab",
                            host_compat="auto", host_capabilities=CAPS,
                            seedemu_path=os.environ.get("SEEDEMU_PATH"))}, f)
                    cmd = [sys.executable, "-m", "ansible_collections.seed.fate.plugins.modules.seedemu_network",
                           args_file]
                    wall, cpu, out = run(cmd, work, SEEDFATE_LIGHT_STACK=light)
                    assert json.loads(out)["changed"] == changed, out[-500:]
                    runs[key].append((cpu, wall))
                files = sum(len(f) for _r, _d, f in os.walk(os.path.join(work, "build")))
            finally:
                shutil.rmtree(work)
        med = dict((k, (statistics.median(c for c, _w in v), statistics.median(w for _c, w in v)))
                   for k, v in runs.items())
        ratio = max(med["first"][0], med["again"][0]) / med["plain"][0]
        worst = max(worst, ratio)
        cell = lambda k: "%6.2f [%6.2f]" % med[k]  # noqa: E731
        print("%-22s %15s %15s %15s %15s %6.2fx %6d" % (name, cell("plain"), cell("first"), cell("again"), cell("std"),
                                                        ratio, files))
    print("ratio = module (worst of first/again) CPU / plain seedemu CPU; worst %.2fx (limit 1.50x) -> %s"
          % (worst, "OK" if worst < 1.5 else "TOO SLOW"))
    print("'module, std stack' = the module with SEEDFATE_LIGHT_STACK=0 (seedemu's inspect.stack() cost kept)")
    return 0 if worst < 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
