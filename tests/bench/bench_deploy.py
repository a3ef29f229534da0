#!/usr/bin/env python3
"""Deploy benchmark on the real Docker engine, with the molecule/default stand-in lab (no seedemu).

For each party count: prepare the stand-in skeleton (ghost files, AS networks, router; images built
by seed.fate.images), then time
  - converge: playbooks/config.yml + playbooks/deploy.yml on a fresh lab,
  - rerun:    the same again (must report 0 changed),
and print the figures; the lab is torn down with purge and the stand-ins removed afterwards.

    .venv/bin/python tests/bench/bench_deploy.py            # 3 and 10 parties
    .venv/bin/python tests/bench/bench_deploy.py 3 5        # other counts

Uses the molecule/default inventory and its address range (AS 180 + i, 10.180+i.0.0/24); do not run
it while `molecule test -s default` runs on the same engine.
"""

import os
import re
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIO = os.path.join(REPO, "molecule", "default")
BIN = os.path.dirname(sys.executable)


def play(playbooks, parties, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), MOLECULE_SCENARIO_DIRECTORY=SCENARIO,
               MOLECULE_PROJECT_DIRECTORY=REPO, SEEDFATE_REPO=REPO, ANSIBLE_NOCOLOR="1",
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    out, changed = [], 0
    start = time.monotonic()
    for pb in playbooks:
        cmd = [os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(SCENARIO, "inventory"),
               "-e", "sftest_mol_parties=%d" % parties, pb] + list(extra)
        r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
        if r.returncode:
            sys.exit("%s failed:\n%s" % (pb, r.stdout[-4000:] + r.stderr[-2000:]))
        changed += sum(int(n) for n in re.findall(r"changed=(\d+)", r.stdout.split("PLAY RECAP")[-1]))
        out.append(r.stdout)
    return time.monotonic() - start, changed


def main():
    counts = [int(a) for a in sys.argv[1:]] or [3, 10]
    deploy = [os.path.join(REPO, "playbooks", "config.yml"), os.path.join(REPO, "playbooks", "deploy.yml")]
    rows = []
    for n in counts:
        play([os.path.join(SCENARIO, "cleanup.yml"), os.path.join(SCENARIO, "destroy.yml")], n)
        t_prep, _ = play([os.path.join(SCENARIO, "prepare.yml")], n)
        t_conv, c_conv = play(deploy, n)
        t_rerun, c_rerun = play(deploy, n)
        t_dep, c_dep = play(deploy[1:], n)
        t_check, c_check = play(deploy[1:], n, "--check")
        t_down, _ = play([os.path.join(SCENARIO, "cleanup.yml"), os.path.join(SCENARIO, "destroy.yml")], n)
        rows.append((n, n * 24, t_prep, t_conv, c_conv, t_rerun, c_rerun, t_dep, c_dep, t_check, c_check, t_down))
        print("parties=%d containers=%d prepare=%.1fs converge=%.1fs (changed=%d) rerun=%.1fs (changed=%d) "
              "deploy-only rerun=%.1fs (changed=%d) check=%.1fs (changed=%d) teardown+destroy=%.1fs" % rows[-1],
              flush=True)
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        print("converge grows %.2fx for %.2fx parties (%.1fs -> %.1fs, %.2fs -> %.2fs per party)"
              % (b[3] / a[3], b[0] / float(a[0]), a[3], b[3], a[3] / a[0], b[3] / b[0]))


if __name__ == "__main__":
    main()
