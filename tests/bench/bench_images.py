#!/usr/bin/env python3
"""Benchmark of role seed.fate.images: cold and warm (no-op) builds, and image sizes.

Runs playbooks/images.yml through the real ansible-playbook CLI under bench-only image names
(sftest-bench-images/...), so the lab's own images are neither used nor disturbed:

  1. cold:  no image exists yet (everything is built from Debian packages)
  2. warm:  the same run again (every recipe hash matches: nothing is built)
  3. check: the same in --check mode

Prints wall-clock times, per-image build seconds and sizes, then removes the bench images (unless
--keep). Needs root, mmdebstrap, docker and a reachable Debian mirror. Takes about 3 minutes cold.

  .venv/bin/python tests/bench/bench_images.py [--no-standins] [--keep]
"""

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = "sftest-bench-images"


def ansible_playbook():
    venv = os.path.join(REPO, ".venv", "bin", "ansible-playbook")
    return venv if os.path.exists(venv) else "ansible-playbook"


def run(standins, check=False):
    extra = {
        "images_node_image": "%s/seedemu-node:bookworm" % PREFIX,
        "images_standin_prefix": "%s-standin" % PREFIX,
        "images_build_standins": standins,
    }
    cmd = [ansible_playbook(), os.path.join(REPO, "playbooks", "images.yml"), "-e", json.dumps(extra)]
    if check:
        cmd.append("--check")
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_NOCOLOR="1")
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    if proc.returncode:
        sys.exit("ansible-playbook failed (rc=%d):\n%s\n%s" % (proc.returncode, proc.stdout[-3000:], proc.stderr[-2000:]))
    report = json.loads(proc.stdout[proc.stdout.index("{"):])
    items = []
    for play in report["plays"]:
        for task in play["tasks"]:
            for host in task["hosts"].values():
                for item in host.get("results", []):
                    if "recipe_hash" in item:
                        items.append(item)
    changed = sum(1 for item in items if item.get("changed"))
    return seconds, items, changed


def mb(size):
    return "%.0f MB" % (size / 1e6) if size else "-"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-standins", action="store_true", help="only the emulator node image")
    parser.add_argument("--keep", action="store_true", help="keep the bench images afterwards")
    args = parser.parse_args()
    standins = not args.no_standins

    existing = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                              text=True, check=True).stdout.split()
    leftovers = [i for i in existing if i.startswith(PREFIX)]
    if leftovers:
        subprocess.run(["docker", "image", "rm"] + leftovers, capture_output=True, check=False)

    created = []
    try:
        cold, items, changed = run(standins)
        created = [item["image"] for item in items]
        print("cold build: %6.1f s wall, %d image(s) built" % (cold, changed))
        for item in items:
            print("  %-52s %7.2f s  %s" % (item["image"], item.get("build_seconds") or 0, mb(item.get("size"))))
        warm, items, changed = run(standins)
        print("warm run:   %6.1f s wall, %d image(s) changed (expected 0)" % (warm, changed))
        check, items, changed = run(standins, check=True)
        print("check run:  %6.1f s wall, %d image(s) would change (expected 0)" % (check, changed))
        sizes = subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}"] + created[:2],
                               capture_output=True, text=True, check=True).stdout.split()
        print("sizes: node %s%s (derived stand-ins add 0 B: metadata only)" % (
            mb(int(sizes[0])), ", stand-in base %s" % mb(int(sizes[1])) if standins else ""))
    finally:
        if created and not args.keep:
            # Children first: a derived image holds its base.
            subprocess.run(["docker", "image", "rm"] + list(reversed(created)), capture_output=True, check=False)


if __name__ == "__main__":
    main()
