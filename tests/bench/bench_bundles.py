#!/usr/bin/env python3
"""Benchmark of FATE bundle rendering (seed.fate.fate_config / fate_bundle) for 3, 30 and 300 parties.

For each lab size (tests/fixtures/make_lab.py, every party with training and serving) prints:

Per-party figures are CPU time of this process (the machine may be shared), except "write" and
"module wall" (wall clock).

- render ms: per party, checks + both bundles rendered (config hashes included) + both deterministic
  tars, in memory, templates already compiled; best of a few runs;
- write ms: the same plus writing both archives into an empty folder (atomic write with fsync);
- rerun ms: the same with identical archives on disk (read, compare, write nothing);
- 1st cold / 1st cached: the first party of a new process, templates compiled from scratch / loaded from
  jinja2's bytecode cache;
- peak MB: peak Python allocation over a whole lab (tracemalloc); tars MB: archives of the lab;
- compile: the one-off cost of loading the version's templates in a fresh process;
- module wall / cpu: the real module run as Ansible runs it (a new Python process per party: interpreter
  start, imports, templates from jinja2's bytecode cache, render, write), best of a few parties;
- role (``--role``): ansible-playbook playbooks/config.yml end to end, through the inventory plugin
  (first run into an empty build folder, then a rerun with nothing to do), next to the goals and to
  KubeFATE's generate_config.sh; "floor" is ``ansible-playbook --list-hosts`` of the same playbook and
  inventory (interpreter start, inventory parse, playbook load: what any play on that lab costs).

Goals: issue 5, under 0.025 s per party of bundle rendering; issue 13, config.yml end to end <= 2.0 s for
30 parties and <= 8 s for 300. KubeFATE v1.3.0's generate_config.sh, measured on this machine: 0.40 s for
3 parties, 3.53 s for 30 (0.12 s per party, so about 36 s for 300).

    .venv/bin/python tests/bench/bench_bundles.py [--sizes 3,30,300] [--runs 3] [--role]
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "collections"))
sys.path.insert(0, os.path.join(REPO, "tests", "golden"))

import lab_inputs as L  # noqa: E402
from ansible_collections.seed.fate.plugins.module_utils import bundle_render  # noqa: E402
from ansible_collections.seed.fate.plugins.module_utils import fate_bundle as fb  # noqa: E402
from ansible_collections.seed.fate.plugins.module_utils import fate_versions  # noqa: E402

TEMPLATES = os.path.join(L.TEMPLATES, "1.3.0")
MODULE = os.path.join(REPO, "collections", "ansible_collections", "seed", "fate", "plugins", "modules",
                      "fate_bundle.py")
CAT = fate_versions.get("1.3.0")


def render_lab(parties, directory, st, out_dir=None):
    """Every party's bundles; written (compare + atomic write) when ``out_dir`` is given."""
    renderer = fb.Renderer(TEMPLATES, "1.3.0")
    for party in parties:
        p = fb.normalize_party(party, CAT)
        for b in renderer.render_party(p, directory, st, L.fixed_secrets(p["party_id"])):
            data = fb.tar_bytes(b)
            if out_dir:
                fb.write_output(os.path.join(out_dir, b.archive), data, fb.TAR_MODE)


def bench_size(n, runs, tmp, module_parties):
    ghost = L.make_lab(os.path.join(tmp, "ghost-%d" % n), "--parties", str(n))
    hosts, _ = L.party_hostvars(ghost)
    raw_directory = hosts[0]["seedfate_party_directory"]
    directory = fb.normalize_directory(raw_directory)
    st = L.settings()
    parties = [L.module_party(hv) for hv in hosts]
    fb.check_lab(parties, raw_directory, None, "127.0.0.1", CAT)

    # First party of a new process: templates compiled from scratch (empty bytecode cache), then loaded
    # from jinja2's bytecode cache as every later module process does.
    first = parties[:1]
    real_cache = bundle_render.jinja2.FileSystemBytecodeCache
    cold_dir = tempfile.mkdtemp(dir=tmp)
    firsts = []
    try:
        bundle_render.jinja2.FileSystemBytecodeCache = lambda: real_cache(cold_dir)
        for _ in range(2):
            bundle_render._ENV_CACHE.clear()
            t0 = time.process_time()
            render_lab(first, directory, st)
            firsts.append(time.process_time() - t0)
    finally:
        bundle_render.jinja2.FileSystemBytecodeCache = real_cache
        bundle_render._ENV_CACHE.clear()
    render_lab(first, directory, st)

    render_times = []
    for _ in range(runs):
        t0 = time.process_time()
        render_lab(parties, directory, st)
        render_times.append(time.process_time() - t0)
    out = os.path.join(tmp, "out-%d" % n)
    os.makedirs(out)
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        render_lab(parties, directory, st, out)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    render_lab(parties, directory, st, out)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))

    # The module as Ansible runs it: one new process per party, args from a JSON file.
    module_times, module_cpu = [], []
    for hv in hosts[:module_parties]:
        args = {"ANSIBLE_MODULE_ARGS": {
            "kind": "party", "template_dir": TEMPLATES, "dest": os.path.join(tmp, "mod-%d" % n),
            "party": L.module_party(hv), "directory": raw_directory, "images": L.TEST_IMAGES,
            "secrets_file": os.path.join(tmp, "mod-%d" % n, "secrets", "%s.yml" % hv["seedfate_party_id"])}}
        path = os.path.join(tmp, "args.json")
        with open(path, "w") as f:
            json.dump(args, f)
        env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "collections"))
        t0, c0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run([sys.executable, MODULE, path], capture_output=True, text=True, env=env)
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        module_times.append(time.perf_counter() - t0)
        module_cpu.append(c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime)
        res = json.loads(r.stdout)
        assert not res.get("failed"), res
    first_run, best = times[0], min(times[1:] or times)
    rerun_cpu = []
    for _ in range(runs):
        t0 = time.process_time()
        render_lab(parties, directory, st, out)
        rerun_cpu.append(time.process_time() - t0)
    return {
        "parties": n, "render_per_party_ms": 1000 * min(render_times) / n, "first_run_per_party_ms": 1000 * first_run / n, "rerun_per_party_ms": 1000 * min(rerun_cpu) / n,
        "cold_first_ms": 1000 * firsts[0], "warm_first_ms": 1000 * firsts[1], "peak_alloc_mb": peak / 2.0 ** 20, "archives_mb": size / 2.0 ** 20,
        "module_process_per_party_ms": 1000 * min(module_times),
        "module_cpu_per_party_ms": 1000 * min(module_cpu),
    }


# Issue 13: config.yml end to end; KubeFATE v1.3.0 generate_config.sh on this machine (300: 0.12 s/party).
ROLE_GOALS = {30: 2.0, 300: 8.0}
KUBEFATE = {3: "0.40 s", 30: "3.53 s", 300: "~36 s (est.)"}


def bench_role(n, tmp):
    ghost = L.make_lab(os.path.join(tmp, "role-ghost-%d" % n), "--parties", str(n))
    inv = os.path.join(tmp, "role-inv-%d" % n)
    os.makedirs(os.path.join(inv, "group_vars", "all"))
    with open(os.path.join(inv, "lab.seedfate.yml"), "w") as f:
        f.write("plugin: seed.fate.ghost_nodes\nghost_dir: %s\n" % ghost)
    with open(os.path.join(inv, "group_vars", "all", "lab.yml"), "w") as f:
        json.dump({"seedfate_build_dir": os.path.join(tmp, "role-build-%d" % n),
                   "ansible_python_interpreter": "{{ ansible_playbook_python }}"}, f)
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inv,
           os.path.join(REPO, "playbooks", "config.yml")]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    out = []
    for label, extra in (("floor", ["--list-hosts"]), ("first", []), ("rerun", [])):
        t0 = time.perf_counter()
        r = subprocess.run(cmd + extra, cwd=REPO, env=env, capture_output=True, text=True)
        out.append((label, time.perf_counter() - t0, r.returncode))
        if r.returncode:
            sys.stderr.write(r.stdout[-2000:] + r.stderr[-2000:])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="3,30,300")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--module-parties", type=int, default=3)
    ap.add_argument("--role", action="store_true", help="also time ansible-playbook playbooks/config.yml")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="sftest-bench-bundles-")
    try:
        print("%8s %10s %10s %10s %11s %11s %8s %8s %12s %11s" % (
            "parties", "render ms", "write ms", "rerun ms", "1st cold", "1st cached", "peak MB", "tars MB",
            "module wall", "module cpu"))
        for n in [int(x) for x in a.sizes.split(",")]:
            r = bench_size(n, a.runs, tmp, a.module_parties)
            print("%8d %10.2f %10.2f %10.2f %9.1fms %9.1fms %8.1f %8.1f %10.0fms %9.0fms" % (
                r["parties"], r["render_per_party_ms"], r["first_run_per_party_ms"], r["rerun_per_party_ms"],
                r["cold_first_ms"], r["warm_first_ms"], r["peak_alloc_mb"], r["archives_mb"], r["module_process_per_party_ms"],
                r["module_cpu_per_party_ms"]))
            sys.stdout.flush()
        print("process peak RSS: %.0f MB" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))
        if a.role:
            print("\nconfig.yml end to end (load average at start: %s)" % " ".join(
                "%.2f" % x for x in os.getloadavg()))
            print("%8s %8s %8s %8s %8s %14s" % ("parties", "floor", "first", "rerun", "goal", "generate_config"))
            for n in [int(x) for x in a.sizes.split(",")]:
                got = dict((label, (secs, rc)) for label, secs, rc in bench_role(n, tmp))
                goal = ROLE_GOALS.get(n)
                verdict = ""
                if goal:
                    verdict = " met" if max(got["first"][0], got["rerun"][0]) <= goal else " MISSED"
                print("%8d %7.2fs %7.2fs %7.2fs %8s %14s%s%s" % (
                    n, got["floor"][0], got["first"][0], got["rerun"][0], ("<= %.1f s" % goal) if goal else "-",
                    KUBEFATE.get(n, "-"), verdict,
                    "" if all(rc == 0 for _s, rc in got.values()) else "  (a run FAILED)"))
                sys.stdout.flush()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
