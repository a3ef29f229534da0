#!/usr/bin/env python3
"""Benchmark of the seed.fate.ghost_nodes inventory on a large generated lab.

Writes a lab of N parties x 12 ghosts (tests/fixtures/make_lab.py, default 300 -> 3,600 nodes) into
a temporary folder and prints:

- the model's parse (module_utils/ghost_model.load_lab) and the plugin's whole parse into a real
  InventoryManager (what `ansible-inventory` spends in the plugin), best of a few runs, with the
  peak Python allocation (tracemalloc) of each;
- `ansible-inventory --list`, `--list --export` and `--graph` end to end through the real CLI
  (best of a few runs), with the child's peak RSS and the output size.

Goals (issue 4): --list end to end < 3 s, the plugin's parse < 0.5 s.

    .venv/bin/python tests/bench/bench_inventory.py [--parties 300] [--runs 3]
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, "collections")
VENV_BIN = os.path.dirname(sys.executable)


def best_of(runs, fn):
    """(best wall, median wall, best CPU) seconds of ``runs`` calls. CPU time is reported too because
    wall time on a shared 2-core machine depends on what else runs."""
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(times), sorted(times)[len(times) // 2], min(cpu)


def peak_alloc(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def in_process(ghost_dir, cfg, runs):
    sys.path.insert(0, COLLECTIONS)
    os.chdir(REPO)  # the repository's ansible.cfg (collections_path)
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader([COLLECTIONS])
    from ansible.inventory.manager import InventoryManager
    from ansible.plugins.loader import inventory_loader
    from ansible_collections.seed.fate.plugins.module_utils import ghost_model

    def model():
        return ghost_model.load_lab(os.path.join(ghost_dir, "GhostNodes.json"),
                                    os.path.join(ghost_dir, "pre_party_list.json"),
                                    os.path.join(ghost_dir, "AutonomousSystems.json"))

    def plugin():
        # A real InventoryManager parsing the source with only this plugin enabled.
        from ansible import constants as C
        saved = C.INVENTORY_ENABLED
        C.INVENTORY_ENABLED = ["seed.fate.ghost_nodes"]
        try:
            inv = InventoryManager(DataLoader(), sources=[cfg])
        finally:
            C.INVENTORY_ENABLED = saved
        assert len(inv.hosts) > 0, "plugin produced no hosts"
        return inv

    assert inventory_loader.get("seed.fate.ghost_nodes") is not None
    lab = model()
    n_hosts = len(lab.parties) + sum(1 for _ in lab.components())
    m_best, m_med, m_cpu = best_of(runs, model)
    p_best, p_med, p_cpu = best_of(runs, plugin)
    return {
        "hosts": n_hosts,
        "model_best": m_best, "model_median": m_med, "model_cpu": m_cpu, "model_peak": peak_alloc(model),
        "plugin_best": p_best, "plugin_median": p_med, "plugin_cpu": p_cpu, "plugin_peak": peak_alloc(plugin),
    }


def cli(cfg, args, runs):
    exe = os.path.join(VENV_BIN, "ansible-inventory")
    times, cpu, size = [], [], 0
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    for _ in range(runs):
        u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run([exe, "-i", cfg] + args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - t0)
        u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((u1.ru_utime - u0.ru_utime) + (u1.ru_stime - u0.ru_stime))
        if r.returncode:
            raise SystemExit("ansible-inventory %s failed: %s" % (" ".join(args), r.stderr.decode()))
        size = len(r.stdout)
    # ru_maxrss of children is the largest child so far (KiB on Linux).
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return min(times), sorted(times)[len(times) // 2], min(cpu), size, rss


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parties", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the generated lab folder")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="sftest-inventory-bench-")
    try:
        ghost_dir = os.path.join(tmp, "ghost")
        subprocess.run([sys.executable, os.path.join(REPO, "tests", "fixtures", "make_lab.py"), ghost_dir,
                        "--parties", str(a.parties)], check=True)
        cfg = os.path.join(tmp, "bench.seedfate.yml")
        with open(cfg, "w") as f:
            f.write("plugin: seed.fate.ghost_nodes\nghost_dir: ghost\n")
        size = sum(os.path.getsize(os.path.join(ghost_dir, n)) for n in os.listdir(ghost_dir))
        print("lab: %d parties, ghost files %.1f MB (%s)" % (a.parties, size / 1e6, ghost_dir))

        # CLI first: the in-process part imports ansible and would not change the children's figures.
        rows = []
        for label, args in (("--graph", ["--graph"]), ("--list --export", ["--list", "--export"]),
                            ("--list", ["--list"])):
            rows.append((label,) + cli(cfg, args, a.runs))
        r = in_process(ghost_dir, cfg, a.runs)
        print("load average: %s" % " ".join("%.2f" % x for x in os.getloadavg()))
        print("hosts: %d" % r["hosts"])
        print("model parse (ghost_model.load_lab): best %.3f s (CPU %.3f s), median %.3f s, peak alloc %.1f MB"
              % (r["model_best"], r["model_cpu"], r["model_median"], r["model_peak"] / 1e6))
        print("plugin parse (InventoryManager, only this source): best %.3f s (CPU %.3f s), median %.3f s, "
              "peak alloc %.1f MB  [goal < 0.5 s]"
              % (r["plugin_best"], r["plugin_cpu"], r["plugin_median"], r["plugin_peak"] / 1e6))
        for label, best, med, cpu, out, rss in rows:
            goal = "  [goal < 3 s]" if label == "--list" else ""
            print("ansible-inventory %-16s best %.2f s (CPU %.2f s), median %.2f s, output %.1f MB, "
                  "peak RSS so far %.0f MB%s" % (label, best, cpu, med, out / 1e6, rss / 1024.0, goal))
    finally:
        if a.keep:
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
