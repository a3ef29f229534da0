#!/usr/bin/env python3
"""Cross-host FATE 2.2 job and probe times against the same lab on one Docker host (issue 14, figure 5).

The lab of molecule/swarm (IX142, AS236-238, parties 23600/23700/23800, FATE 2.2.0 for real, target swarm) on
the harness swmol (tests/multihost/swarmlab.py: three dockerd in network namespaces of this machine), brought up
twice with the same playbooks, images and harness, only the placement differing:

  one host     every AS, the route server and every party on swmol-sw1 (the IX is a bridge there);
  three hosts  molecule/swarm's placement: AS236 + route server on sw1, AS237 on sw2, AS238 on sw3 (the IX is
               a Swarm overlay, VXLAN between the hosts).

For each: `playbooks/site.yml` from zero (bring-up, with the toy job 23600 -> 23800 once), then ROUNDS reruns of
the toy job alone (`playbooks/verify.yml -e fate_verify_jobs_rerun=true`, its wall seconds from the lab's report),
and 20 pings from party 23600's nginx pod to party 23800's nginx (round-trip average), then the teardown
(`teardown.yml -e purge=true -e teardown_network=true`). The harness is taken down at the end, also on failure.

Refuses to run while the harness swmol is up (molecule swarm uses it). Needs root, seedemu in the venv and the
images seedfate/seedemu-node:bookworm and seedfate/fate-*:2.2.0 on this machine's engine (nothing is pulled).
Takes about 15 minutes on 2 cores; never beside another heavy Docker run.

    .venv/bin/python tests/bench/bench_swarm_jobs.py            # 3 toy reruns per layout
    .venv/bin/python tests/bench/bench_swarm_jobs.py 5
"""

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
SCENARIO = os.path.join(REPO, "molecule", "swarm")
WORK = os.path.join(REPO, "build", "bench-swarm")
sys.path.insert(0, os.path.join(REPO, "tests", "multihost"))
sys.path.insert(0, os.path.join(REPO, "collections"))
import swarmlab  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.seed.fate.plugins.module_utils import fate_versions  # noqa: E402

NAME, SUBNET = "swmol", "192.168.250.0/24"
LAYOUTS = (
    ("one host", {"ix": "swmol-sw1", "ases": {236: "swmol-sw1", 237: "swmol-sw1", 238: "swmol-sw1"}, "parties": {}}),
    ("three hosts", None),  # molecule/swarm's own placement
)


def env_for(scenario_dir):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), MOLECULE_SCENARIO_DIRECTORY=scenario_dir,
               MOLECULE_PROJECT_DIRECTORY=REPO, ANSIBLE_NOCOLOR="1", PATH=BIN + os.pathsep + os.environ["PATH"],
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "collections"))
    env.pop("DOCKER_HOST", None)
    return env


def playbook(scenario_dir, name, *extra):
    inv = os.path.join(scenario_dir, "inventory")
    start = time.monotonic()
    r = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", inv, os.path.join(REPO, "playbooks", name)]
                       + list(extra), capture_output=True, text=True, cwd=REPO, env=env_for(scenario_dir))
    wall = time.monotonic() - start
    if r.returncode:
        raise RuntimeError("%s failed:\n%s\n%s" % (name, r.stdout[-4000:], r.stderr[-2000:]))
    return wall


def make_scenario(label, placement):
    """A copy of molecule/swarm's inventory under build/bench-swarm/<label>, with ``placement`` when given."""
    d = os.path.join(WORK, label.replace(" ", "-"))
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(os.path.join(SCENARIO, "inventory"), os.path.join(d, "inventory"))
    gv = os.path.join(d, "inventory", "group_vars", "all.yml")
    with open(gv) as f:
        data = yaml.safe_load(f)
    if placement is not None:
        data["seedfate_placement"] = placement
    data["seedfate_lab_name"] = "bench-swarm"
    with open(gv, "w") as f:
        yaml.safe_dump(data, f, sort_keys=False)
    return d


def toy_seconds(scenario_dir):
    with open(os.path.join(scenario_dir, "build", "verify", "report.json")) as f:
        toy = json.load(f)["jobs"]["toy_example"]
    if toy["status"] != "success":
        raise RuntimeError("toy job %s is %s" % (toy.get("job_id"), toy["status"]))
    return toy["wall_seconds"]


def ping_ms(lab, scenario_dir):
    inv = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", os.path.join(scenario_dir, "inventory"),
                          "--host", "party-23800"], capture_output=True, text=True, cwd=REPO,
                         env=env_for(scenario_dir), check=True)
    dst = json.loads(inv.stdout)["seedfate_clusters"]["training"]["nginx"]["address"]
    r = lab.docker(1, "exec", "confs-23600-nginx-pod-1", "ping", "-n", "-q", "-c", "20", "-i", "0.2", dst, timeout=60)
    m = re.search(r"= [\d.]+/([\d.]+)/", r.stdout)
    return float(m.group(1)) if m else None


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    if os.geteuid() != 0:
        print("skipped: needs root (the harness runs dockerd in network namespaces)")
        return 0
    lab = swarmlab.Lab(NAME, 3, subnet=SUBNET)
    if lab.answers(1):
        print("refused: the harness %s is up (molecule swarm?); run this alone" % NAME)
        return 1
    images = ["seedfate/seedemu-node:bookworm"] + sorted(fate_versions.describe("2.2.0")["image_refs"].values())
    results = []
    try:
        t = time.monotonic()
        lab.up(images, swarm=False)
        print("harness up with the images: %.0f s" % (time.monotonic() - t), flush=True)
        for label, placement in LAYOUTS:
            d = make_scenario(label, placement)
            row = {"layout": label}
            try:
                row["bring_up_s"] = round(playbook(d, "site.yml"), 1)
                row["toy_first_s"] = toy_seconds(d)
                toys = []
                for _ in range(rounds):
                    playbook(d, "verify.yml", "-e", "fate_verify_jobs_rerun=true")
                    toys.append(toy_seconds(d))
                row["toy_s"] = toys
                row["toy_median_s"] = statistics.median(toys)
                row["ping_avg_ms"] = ping_ms(lab, d)
                print(json.dumps(row), flush=True)
            finally:
                t = time.monotonic()
                playbook(d, "teardown.yml", "-e", "purge=true", "-e", "teardown_network=true")
                row["teardown_s"] = round(time.monotonic() - t, 1)
            results.append(row)
    finally:
        lab.down()
    os.makedirs(os.path.join(REPO, "build", "bench"), exist_ok=True)
    with open(os.path.join(REPO, "build", "bench", "swarm_jobs.json"), "w") as f:
        json.dump(results, f, indent=2)
    print("\n%-12s %12s %14s %16s %12s" % ("layout", "bring-up s", "toy median s", "toy runs s", "ping ms"))
    for r in results:
        print("%-12s %12s %14s %16s %12s" % (r["layout"], r["bring_up_s"], r["toy_median_s"],
                                             "/".join(str(x) for x in r["toy_s"]), r["ping_avg_ms"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
