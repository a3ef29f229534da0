#!/usr/bin/env python3
"""Bring-up benchmark of the emulated Internet (role seed.fate.network) on the real Docker engine.

Runs playbooks/network.yml on the default topology (IX100, AS150/151/152, route server) under a
unique compose project and a temporary build folder, then prints per step (wall clock, from the task
timings of ansible.posix.json):

- guard: isolation guard rule; image: role seed.fate.images (0 s when the node image is up to date);
- compile: seed.fate.seedemu_network (seedemu render + compile + ghost export + host adaptation);
- build: DOCKER_BUILDKIT=0 docker compose build of the nodes' images (a new project: cold);
- up: docker_compose_v2 up; bgp: until every BGP session is Established;
- total: the whole first run; rerun: the second run (0 changed); down: network_state=absent.

Needs SEEDEMU_PATH and a Docker engine; the default lab's subnets must be free. Everything it makes is
removed at the end (containers, networks, the project's images, its guard rule).

    SEEDEMU_PATH=/opt/seedemu .venv/bin/python tests/bench/bench_network.py [--runs 1]
"""

import argparse
import os
import sys
import tempfile
import uuid

import yaml

from benchlib import REPO, PlaybookFailed, image_refs, remove_lab, sh, stage_times
import benchlib

TOPOLOGY = os.path.join(REPO, "inventories", "default", "group_vars", "all", "topology.yml")

STEPS = [
    ("guard", "Keep lab traffic from leaving"),
    ("image", "seed.fate.images :"),
    ("compile", "Compile the emulated Internet"),
    ("build", "Build the node images"),
    ("up", "Start the emulated Internet"),
    ("bgp", "Wait until every BGP session"),
]


def play(inventory, *extra):
    """(wall seconds, {stage: seconds}, changed) of one run of network.yml; a failed run ends the bench."""
    try:
        wall, doc = benchlib.play(inventory, *extra)
    except PlaybookFailed as exc:
        sys.exit(str(exc))
    steps, _ends = stage_times(doc, STEPS)
    return wall, steps, doc["stats"]["localhost"]["changed"]


def missing_prerequisite():
    path = os.environ.get("SEEDEMU_PATH")
    if not path or not os.path.isdir(os.path.join(path, "seedemu")):
        return "SEEDEMU_PATH does not point at a seed-emulator checkout"
    if sh("docker", "info").returncode:
        return "no Docker engine answers"
    wanted = {"10.100.0.0/24", "10.150.0.0/24", "10.151.0.0/24", "10.152.0.0/24"}
    for net in sh("docker", "network", "ls", "-q").stdout.split():
        subnets = sh("docker", "network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}",
                     net).stdout.split()
        if wanted & set(subnets):
            return "the default lab's subnets are in use (take that lab down first)"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    reason = missing_prerequisite()
    if reason:
        print("bench_network: skipped: %s" % reason)
        return
    print("%-5s %6s %6s %8s %6s %6s %6s %7s %7s %6s" % ("run", "guard", "image", "compile", "build", "up", "bgp",
                                                      "total", "rerun", "down"))
    for run in range(args.runs):
        root = tempfile.mkdtemp(prefix="sftest-network-bench-")
        project = "sftest-network-bench-%s" % uuid.uuid4().hex[:6]
        comment = "sftest-network bench %s" % project
        inv = os.path.join(root, "inventory")
        os.makedirs(os.path.join(inv, "group_vars", "all"))
        with open(TOPOLOGY) as f:
            lab = yaml.safe_load(f)
        lab.update(seedfate_lab_name=project, seedfate_build_dir=os.path.join(root, "build"),
                   seedfate_network_project=project, seedfate_isolation_guard=True,
                   network_isolation_guard_comment=comment)
        with open(os.path.join(inv, "group_vars", "all", "lab.yml"), "w") as f:
            yaml.safe_dump(lab, f)
        with open(os.path.join(inv, "hosts.yml"), "w") as f:
            f.write("seedfate_controller:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                    "      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n")
        before = image_refs()
        try:
            total, steps, changed = play(inv)
            rerun, _s, rerun_changed = play(inv)
            if rerun_changed:
                print("WARNING: the second run reported %d changed" % rerun_changed)
            down, _s, _c = play(inv, "-e", "network_state=absent")
            print("%-5d %6.1f %6.1f %8.1f %6.1f %6.1f %6.1f %7.1f %7.1f %6.1f" % (
                run + 1, steps["guard"], steps["image"], steps["compile"], steps["build"], steps["up"],
                steps["bgp"], total, rerun, down))
        finally:
            remove_lab(project, comment, before, root)
    print("seconds, wall clock; node image %s" % sh("docker", "image", "inspect", "--format", "{{.Size}}",
                                                      "seedfate/seedemu-node:bookworm").stdout.strip())


if __name__ == "__main__":
    main()
