"""What the network benchmarks share: running a playbook and timing its stages, and cleaning up a lab.

Used by bench_network.py and bench_mini_internet.py. A stage is the summed wall-clock time of the
tasks whose name contains a given text, read from the task timings of the ansible.posix.json callback
(tasks skipped on some host do not count).
"""

import datetime
import json
import os
import shlex
import shutil
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(REPO, ".venv", "bin")
NETWORK_PLAYBOOK = os.path.join(REPO, "playbooks", "network.yml")
# The isolation guard writes its rules to both tables.
GUARD_TABLES = ("iptables", "ip6tables")


class PlaybookFailed(RuntimeError):
    """ansible-playbook exited non-zero; the message holds the tail of its output."""


def sh(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True)


def ts(text):
    """A timestamp of ansible.posix.json (UTC, up to microseconds; finer digits are cut)."""
    return datetime.datetime.strptime(text.rstrip("Z")[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)


def play(inventory, *extra, playbook=NETWORK_PLAYBOOK):
    """Run ``playbook`` on ``inventory`` with the JSON callback: (wall seconds, its JSON document).

    Raises PlaybookFailed when the run fails."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    start = time.time()
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", inventory] + list(extra) + [playbook],
                          cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.time() - start
    if proc.returncode:
        raise PlaybookFailed("playbook failed (rc %d):\n%s\n%s" % (proc.returncode, proc.stdout[-4000:],
                                                                   proc.stderr[-2000:]))
    return wall, json.loads(proc.stdout)


def stage_times(doc, steps):
    """({stage: seconds}, {stage: end of its last task}) of the first play of ``doc``.

    ``steps``: [(stage, text in its task names)]; a stage none of whose tasks ran takes 0 s and no end."""
    times = dict((k, 0.0) for k, _ in steps)
    ends = {}
    for task in doc["plays"][0]["tasks"]:
        name, dur = task["task"]["name"], task["task"]["duration"]
        if any(h.get("skipped") for h in task["hosts"].values()):
            continue
        for key, text in steps:
            if text in name:
                times[key] += (ts(dur["end"]) - ts(dur["start"])).total_seconds()
                ends[key] = ts(dur["end"])
    return times, ends


def image_refs():
    """Every repository:tag on the engine."""
    return set(sh("docker", "images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split())


def remove_lab(project, comment, images_before, root):
    """Take down compose ``project``, drop the guard rules carrying ``comment``, remove the project's images
    that were not there before (``images_before``, from :func:`image_refs`) and the folder ``root``."""
    sh("docker", "compose", "-p", project, "down", "--remove-orphans", "-t", "1")
    for tables in GUARD_TABLES:
        for rule in sh(tables, "-w", "-S", "DOCKER-USER").stdout.splitlines():
            if '--comment "%s"' % comment in rule:
                sh(tables, "-w", "-D", "DOCKER-USER", *shlex.split(rule)[2:])
    for ref in sorted(image_refs() - images_before):
        if ref.startswith(project + "-"):
            sh("docker", "rmi", ref)
    shutil.rmtree(root, ignore_errors=True)
