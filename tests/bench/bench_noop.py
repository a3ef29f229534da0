#!/usr/bin/env python3
"""No-op rerun benchmark (issue 13, item 2): `ansible-playbook playbooks/site.yml` on the built-in lab when there
is nothing to do, goal <= 15 s on 2 cores with 0 changed.

The lab must be up already (`make lab`); nothing is changed by this benchmark. Side by side, with the same playbook
and lab, in alternating order (so that a busy machine hurts every column alike):

  - seed.fate now: collection modules of controller-local tasks run in the worker process
    (plugin_utils/inprocess.py), modules piped to the interpreter (ansible.cfg `pipelining`);
  - module processes: SEEDFATE_INPROCESS_MODULES=0 (every module a new Python unpacking its AnsiballZ payload);
  - plain Ansible defaults: module processes and no pipelining (a temporary folder, copy, chmod and clean-up per
    module run), what a playbook without these two settings pays.

Each run prints wall time, the CPU time of ansible-playbook and its children, and the recap's changed count;
the summary gives the median per column next to the goal.

    .venv/bin/python tests/bench/bench_noop.py          # 3 rounds
    .venv/bin/python tests/bench/bench_noop.py 5        # 5 rounds
"""

import os
import re
import resource
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
GOAL_S = 15.0

COLUMNS = (
    ("seed.fate now", {}),
    ("module processes", {"SEEDFATE_INPROCESS_MODULES": "0"}),
    ("plain Ansible defaults", {"SEEDFATE_INPROCESS_MODULES": "0", "ANSIBLE_PIPELINING": "False"}),
)


def run_once(extra_env):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env.update(extra_env)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "playbooks/site.yml"], cwd=REPO, env=env,
                          capture_output=True, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.exit("site.yml failed (is the lab up? `make lab`):\n%s" % (proc.stdout[-4000:] + proc.stderr[-2000:]))
    recap = proc.stdout.split("PLAY RECAP")[-1]
    changed = sum(int(n) for n in re.findall(r"changed=(\d+)", recap))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, changed


def main(argv):
    rounds = int(argv[1]) if len(argv) > 1 else 3
    # One warm-up run: the first run after a change of the collection may recompile (the compile record's
    # inputs include the collection's code) and fills the AnsiballZ cache.
    run_once({})
    figures = dict((name, []) for name, _env in COLUMNS)
    print("%-24s %5s %9s %9s %8s" % ("column", "round", "wall s", "CPU s", "changed"))
    for r in range(rounds):
        order = COLUMNS if r % 2 == 0 else tuple(reversed(COLUMNS))
        for name, env in order:
            wall, cpu, changed = run_once(env)
            figures[name].append((wall, cpu, changed))
            print("%-24s %5d %9.1f %9.1f %8d" % (name, r + 1, wall, cpu, changed), flush=True)
    print()
    print("no-op rerun of playbooks/site.yml, median of %d (goal <= %.0f s, 0 changed)" % (rounds, GOAL_S))
    print("%-24s %9s %9s %8s %6s" % ("column", "wall s", "CPU s", "changed", "goal"))
    for name, _env in COLUMNS:
        rows = figures[name]
        wall = statistics.median(w for w, _c, _n in rows)
        cpu = statistics.median(c for _w, c, _n in rows)
        changed = max(n for _w, _c, n in rows)
        verdict = ("met" if wall <= GOAL_S and changed == 0 else "missed") if name == COLUMNS[0][0] else ""
        print("%-24s %9.1f %9.1f %8d %6s" % (name, wall, cpu, changed, verdict))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
