#!/usr/bin/env python3
"""FATE 2.2.0 jobs across the emulated Internet against the same jobs on one flat Docker network.

A dedicated lab (IX 114, AS 211-213, compose project sftest-bench22, lab bench22, build and deploy folders
under build/bench22; the party layout of molecule/fate22: guest 9999 in AS212, host 10000 in AS211, arbiter
8888 in AS213; its inventory is written to build/bench22/inventory from molecule/fate22's), then:

1. emulated: playbooks/site.yml from zero with the images present (checked, not rebuilt), timed per phase
   (images, network, config, deploy, verify reachability, verify jobs) from its play and task headers; the
   toy and hetero-LR wall seconds and the LR's AUC from the lab's report (build/bench22/verify/report.json);
2. teardown: playbooks/teardown.yml -e teardown_network=true -e purge=true;
3. flat: one internal docker bridge network (sftest-bench22flat: no router, no BGP, no way out) whose subnet
   covers every party's reserved addresses; each party's same rendered bundle (build/bench22/bundles/
   confs-<id>.tar) unpacked afresh under build/bench22/flat and brought up as compose project
   sftest-bench22flat-<id>, with an override that maps the bundle's AS network to the flat one (same pods,
   same ipv4_address) and keeps the holders without the default route via the AS router; then the same toy,
   upload and hetero-LR jobs (same roles, same rendered pipeline) through seed.fate's fate_jobs (Lab, upload,
   run_job), and the ratio emulated/flat of each job's wall seconds;
4. memory: per party, during the jobs (from the toy job's start to the LR's end), the sum over the party's
   containers of the cgroup's peak (cgroup v1 memory.max_usage_in_bytes / v2 memory.peak, reset when the
   jobs start; page cache included) and the peak of the summed working set sampled every 2 s (usage minus
   inactive file cache, what `docker stats` shows), against the goal of 1.5 GB (10^9 bytes) per party;
5. context for the ratios: per job, the CPU the lab's containers used and the CPU everything else on the
   host used meanwhile ("other processes", in cores: anything beside the bench skews the comparison),
   and FATE's own elapsed seconds of the job and of each task at the guest (flow job/task query).

Figures go to build/bench/fate22_jobs.json (--out) and a table on stdout. Everything it made is removed at
the end, also after a failure or Ctrl-C: the flat projects and network, the lab (teardown.yml as above), the
lab's node images (sftest-bench22-*), its own guard rule, and build/bench22 (kept with --keep-build).

It takes 20-30 min and both cores of a 2-core machine: never beside another heavy Docker run, e.g.

    flock /tmp/seedfate-heavy.lock .venv/bin/python tests/bench/bench_fate22_jobs.py
    flock /tmp/seedfate-heavy.lock .venv/bin/python tests/bench/bench_fate22_jobs.py --keep-build --out /tmp/f.json

Needs seedemu, compose v2 and the images seedfate/fate-flow, fate-rabbitmq, fate-nginx (2.2.0) and
seedfate/seedemu-node:bookworm on the engine (nothing is pulled); says "skipped" without them. Party compose
projects are named after the party ids (confs-9999, confs-10000, confs-8888): it refuses to start while
another lab (molecule/fate22, the default lab) has containers in those projects.
"""

import argparse
import datetime
import ipaddress
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import jinja2
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(REPO, ".venv", "bin")
COLLECTION = os.path.join(REPO, "collections", "ansible_collections", "seed", "fate")
sys.path.insert(0, os.path.join(REPO, "collections"))

from ansible_collections.seed.fate.plugins.module_utils import fate_jobs  # noqa: E402
from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DockerCli  # noqa: E402
from ansible_collections.seed.fate.plugins.module_utils import fate_versions  # noqa: E402
from ansible_collections.seed.fate.plugins.module_utils import unpack  # noqa: E402

VERSION = "2.2.0"
LAB = "bench22"
PROJECT = "sftest-bench22"
FLAT = "sftest-bench22flat"
GUARD_COMMENT = "sftest-bench22 lab isolation"
IX = 114
# party -> AS, in layout order (= the verify jobs' roles: guest, host, arbiter).
PARTIES = [("9999", 212), ("10000", 211), ("8888", 213)]
BUILD = os.path.join(REPO, "build", LAB)
DEPLOY = os.path.join(BUILD, "deploy")
INVENTORY = os.path.join(BUILD, "inventory")
FLAT_DIR = os.path.join(BUILD, "flat")
REPORT = os.path.join(BUILD, "verify", "report.json")
SOURCE_INVENTORY = os.path.join(REPO, "molecule", "fate22", "inventory")
IMAGES = ["seedfate/fate-flow:2.2.0", "seedfate/fate-rabbitmq:2.2.0", "seedfate/fate-nginx:2.2.0",
          "seedfate/seedemu-node:bookworm"]
MEMORY_GOAL = 1.5e9
SAMPLE_SECONDS = 2.0
READY_TIMEOUT = 300

# site.yml's plays -> phases; within verify, the jobs start at the toy job.
PLAY_PHASES = {"Build seed.fate images": "images", "Emulated Internet": "network",
               "Read the parties the skeleton placed": "network", "Render FATE configuration bundles": "config",
               "Deploy FATE parties": "deploy", "Verify FATE parties": "verify reachability"}
JOBS_TASK = "Run the toy job"
FLOW_PORT = fate_versions.get(VERSION)["verify"]["jobs"]["toy_example"].get("http_port", 9380)


class BenchError(Exception):
    pass


def sh(argv, cwd=None, data=None, env=None):
    return subprocess.run(list(argv), cwd=cwd, input=data, env=env, capture_output=True, text=True)


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def gb(n):
    return "%.2f" % (n / 1e9) if n is not None else "-"


# ------------------------------------------------------------------------------------------ the lab
def ansible_env():
    return dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                ANSIBLE_FORCE_COLOR="0", PYTHONUNBUFFERED="1", SEEDFATE_REPO=REPO,
                PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))


def write_inventory():
    """molecule/fate22's inventory, made this lab's: its numbers, names and folders; the rest mirrored."""
    os.makedirs(os.path.join(INVENTORY, "group_vars"), exist_ok=True)
    shutil.copy(os.path.join(SOURCE_INVENTORY, "00-controller.yml"), INVENTORY)
    with open(os.path.join(SOURCE_INVENTORY, "lab.seedfate.yml")) as f:
        plugin = yaml.safe_load(f)
    plugin["ghost_dir"] = os.path.join(BUILD, "ghost")
    with open(os.path.join(INVENTORY, "lab.seedfate.yml"), "w") as f:
        yaml.safe_dump(plugin, f, sort_keys=False)
    with open(os.path.join(SOURCE_INVENTORY, "group_vars", "all.yml")) as f:
        lab = yaml.safe_load(f)
    lab.pop("seedfate_scenario_dir", None)
    ix = "ix%d" % IX
    lab.update({
        "seedfate_lab_name": LAB, "seedfate_build_dir": BUILD, "seedfate_deploy_dir": DEPLOY,
        "seedfate_network_project": PROJECT, "seedfate_isolation_guard": True,
        "network_isolation_guard_comment": GUARD_COMMENT, "fate_version": VERSION,
        "seedfate_topology": {
            "internet_exchanges": [IX],
            "autonomous_systems": dict((asn, {"networks": ["net0"], "routers": {"router0": ["net0", ix]}})
                                       for asn in sorted(a for _p, a in PARTIES)),
            "peerings": [{"ix": IX, "route_server": sorted(a for _p, a in PARTIES)}],
        },
        # Insertion order is the layout order: guest, host, arbiter.
        "seedfate_parties": dict((int(p), {"asn": a, "network": "net0", "serving": False}) for p, a in PARTIES),
    })
    with open(os.path.join(INVENTORY, "group_vars", "all.yml"), "w") as f:
        f.write("# Written by tests/bench/bench_fate22_jobs.py from molecule/fate22/inventory.\n")
        yaml.safe_dump(lab, f, sort_keys=False, default_flow_style=False)


def play(playbook, *extra, log=None, on_line=None):
    """ansible-playbook on the bench inventory, streamed (on_line(line, t) per line); (rc, seconds, tail)."""
    cmd = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", INVENTORY, os.path.join(REPO, "playbooks", playbook)]
    cmd += list(extra)
    start = time.monotonic()
    tail = []
    out = open(log, "a") if log else None
    proc = subprocess.Popen(cmd, cwd=REPO, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    try:
        for line in proc.stdout:
            t = time.monotonic() - start
            if out:
                out.write(line)
                out.flush()
            tail = (tail + [line])[-80:]
            if on_line:
                on_line(line, t)
        rc = proc.wait()
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if out:
            out.close()
    return rc, time.monotonic() - start, "".join(tail)


class Phases(object):
    """Seconds per phase of one playbook run, from its PLAY [..] and TASK [..] headers as they stream."""

    def __init__(self, on_task=None):
        self.current, self.since, self.seconds = "startup", 0.0, {}
        # Task name part -> callback, each called once, when the first task of that name starts.
        self.on_task = dict(on_task or {})
        self.jobs_started = False

    def _switch(self, phase, t):
        self.seconds[self.current] = self.seconds.get(self.current, 0.0) + t - self.since
        self.current, self.since = phase, t

    def line(self, line, t):
        if line.startswith("PLAY [") and "RECAP" not in line:
            name = line[len("PLAY ["):line.rfind("]")]
            self._switch(PLAY_PHASES.get(name, name), t)
        elif line.startswith("PLAY RECAP"):
            self._switch("recap", t)
        elif line.startswith("TASK ["):
            if JOBS_TASK in line and not self.jobs_started:
                self.jobs_started = True
                self._switch("verify jobs", t)
            for part in [p for p in self.on_task if p in line]:
                try:
                    self.on_task.pop(part)()
                except Exception as exc:  # the figures of the run matter more than a watch
                    print("WARNING: at task %r: %s" % (part, exc), file=sys.stderr)

    def close(self, t):
        self._switch("end", t)
        return dict((k, round(v, 1)) for k, v in self.seconds.items() if k != "end")


def party_hosts():
    """The parties as the lab's inventory sees them (what jobs.yml builds its parties from)."""
    r = sh([os.path.join(VENV_BIN, "ansible-inventory"), "-i", INVENTORY, "--list"], cwd=REPO, env=ansible_env())
    if r.returncode:
        raise BenchError("ansible-inventory failed: %s" % r.stderr[-2000:])
    # Strings from the inventory plugin come wrapped as {"__ansible_unsafe": "..."}.
    inv = json.loads(r.stdout, object_hook=lambda o: o["__ansible_unsafe"] if list(o) == ["__ansible_unsafe"] else o)
    hostvars = inv.get("_meta", {}).get("hostvars", {})

    def members(group, seen=()):
        g = inv.get(group) or {}
        hosts = list(g.get("hosts") or [])
        for child in g.get("children") or []:
            if child not in seen:
                hosts += members(child, seen + (group,))
        return hosts

    out = {}
    for h in dict.fromkeys(members("fate_parties")):
        hv = hostvars[h]
        t = hv["seedfate_clusters"]["training"]
        out[str(hv["seedfate_party_id"])] = {
            "asn": str(hv.get("seedfate_asn", t["fateflow"].get("asn"))), "flow_address": t["fateflow"]["address"],
            "network_prefix": t["fateflow"].get("prefix"),
            "addresses": dict((c, v["address"]) for c, v in t.items())}
    missing = [p for p, _a in PARTIES if p not in out]
    if missing:
        raise BenchError("the inventory has no party %s (ghost files in %s?)" % (", ".join(missing), BUILD))
    return out


def job_parties(hosts, project_of, flow_port):
    """fate_jobs' parties list, as jobs.yml builds it (containers of compose project project_of(id))."""
    out = []
    for pid, _asn in PARTIES:
        h, project = hosts[pid], project_of(pid)
        out.append({"party_id": pid, "asn": h["asn"], "flow_container": project + "-fateflow-1",
                    "flow_address": h["flow_address"], "flow_port": flow_port,
                    "rabbitmq_container": project + "-rabbitmq-1", "nginx_container": project + "-nginx-1",
                    "network_prefix": h["network_prefix"]})
    return out


# ------------------------------------------------------------------------------------------- memory
def _container_cgroup(cid, pid):
    """(kind, folder) of a container's memory cgroup: v1 (memory controller) or v2 (unified)."""
    cands = []
    try:
        with open("/proc/%d/cgroup" % pid) as f:
            for line in f.read().splitlines():
                hid, ctrls, path = line.split(":", 2)
                if "memory" in ctrls.split(","):
                    cands.append(("v1", "/sys/fs/cgroup/memory" + path))
                elif hid == "0" and not ctrls:
                    cands += [("v2", "/sys/fs/cgroup" + path), ("v2", "/sys/fs/cgroup/unified" + path)]
    except (OSError, ValueError):
        pass
    cands += [("v2", "/sys/fs/cgroup/system.slice/docker-%s.scope" % cid), ("v2", "/sys/fs/cgroup/docker/%s" % cid),
              ("v1", "/sys/fs/cgroup/memory/docker/%s" % cid),
              ("v1", "/sys/fs/cgroup/memory/system.slice/docker-%s.scope" % cid)]
    for kind, d in cands:
        if os.path.isfile(os.path.join(d, "memory.usage_in_bytes" if kind == "v1" else "memory.current")):
            return kind, d
    return None, None


def _read_int(path):
    with open(path) as f:
        return int(f.read().split()[0])


def _stat(path, key):
    with open(path) as f:
        for line in f:
            k, v = line.split()
            if k == key:
                return int(v)
    return 0


def _docker_stats_bytes(value):
    """'123.4MiB / 23.5GiB' -> bytes of the first figure."""
    num = value.split("/")[0].strip()
    units = [("KiB", 1024), ("MiB", 1024 ** 2), ("GiB", 1024 ** 3), ("TiB", 1024 ** 4), ("kB", 1e3), ("MB", 1e6),
             ("GB", 1e9), ("B", 1)]
    for u, m in units:
        if num.endswith(u):
            return int(float(num[:-len(u)]) * m)
    return 0


class MemWatch(object):
    """Peak memory of each party's containers (compose projects) from start() to stop()."""

    def __init__(self, projects):
        self.projects = projects  # party id -> compose project
        self.containers = {}  # party -> [{name, id, kind, dir, peak_file}]
        self.ws_max = {}
        self.stop_event = threading.Event()
        self.thread = None
        self.notes = set()

    def start(self):
        for party, project in self.projects.items():
            found = []
            for name, cid, pid in project_containers(project):
                kind, d = _container_cgroup(cid, pid)
                rec = {"name": name, "id": cid, "kind": kind, "dir": d, "peak_file": None, "reset": False}
                if kind:
                    self._reset(rec)
                found.append(rec)
            self.containers[party] = found
            self.ws_max[party] = 0
        self.thread = threading.Thread(target=self._loop, name="memwatch", daemon=True)
        self.thread.start()

    def _reset(self, rec):
        if rec["kind"] == "v1":
            path = os.path.join(rec["dir"], "memory.max_usage_in_bytes")
            try:
                with open(path, "w") as f:
                    f.write("0\n")
                rec["reset"] = True
            except OSError:
                self.notes.add("cgroup v1 peak not resettable: peak since container start")
        else:
            path = os.path.join(rec["dir"], "memory.peak")
            if not os.path.isfile(path):
                return
            # v2 (Linux >= 6.12): a write resets the peak seen through this same open file.
            try:
                f = open(path, "r+")
                f.write("reset\n")
                f.flush()
                rec["peak_file"], rec["reset"] = f, True
            except OSError:
                self.notes.add("cgroup v2 memory.peak not resettable: peak since container start")

    def _peak(self, rec):
        try:
            if rec["kind"] == "v1":
                return _read_int(os.path.join(rec["dir"], "memory.max_usage_in_bytes"))
            if rec["peak_file"] is not None:
                rec["peak_file"].seek(0)
                return int(rec["peak_file"].read().split()[0])
            return _read_int(os.path.join(rec["dir"], "memory.peak"))
        except (OSError, ValueError, IndexError):
            return None

    def _working_set(self, rec):
        try:
            if rec["kind"] == "v1":
                usage, inactive = "memory.usage_in_bytes", "total_inactive_file"
            else:
                usage, inactive = "memory.current", "inactive_file"
            stat = os.path.join(rec["dir"], "memory.stat")
            return _read_int(os.path.join(rec["dir"], usage)) - _stat(stat, inactive)
        except (OSError, ValueError):
            return None

    def _sample(self):
        stats = None
        for party, recs in self.containers.items():
            total = 0
            for rec in recs:
                ws = self._working_set(rec) if rec["kind"] else None
                if ws is None:
                    if stats is None:
                        self.notes.add("some containers sampled with docker stats")
                        r = sh(["docker", "stats", "--no-stream", "--format", "{{.ID}} {{.MemUsage}}"])
                        stats = dict(ln.split(" ", 1) for ln in r.stdout.splitlines() if " " in ln)
                    ws = next((_docker_stats_bytes(v) for k, v in stats.items() if rec["id"].startswith(k)), 0)
                total += ws
            self.ws_max[party] = max(self.ws_max[party], total)

    def _loop(self):
        while not self.stop_event.is_set():
            self._sample()
            self.stop_event.wait(SAMPLE_SECONDS)

    def stop(self):
        if self.thread is None:
            return {}
        self.stop_event.set()
        self.thread.join()
        self._sample()
        out = {}
        for party, recs in self.containers.items():
            peaks = dict((r["name"], self._peak(r) if r["kind"] else None) for r in recs)
            known = [v for v in peaks.values() if v is not None]
            out[party] = {
                "peak_bytes": sum(known) if known and len(known) == len(peaks) else None,
                "working_set_peak_bytes": self.ws_max[party],
                "containers": peaks,
                "cgroup": sorted(set(r["kind"] or "docker stats" for r in recs)),
                "peak_reset_at_jobs_start": all(r["reset"] for r in recs) if recs else False,
            }
            for r in recs:
                if r["peak_file"] is not None:
                    r["peak_file"].close()
        if self.notes:
            out["_notes"] = sorted(self.notes)
        self.thread = None
        return out


def project_containers(project):
    """[(name, id, pid)] of a compose project's running containers."""
    ids = sh(["docker", "ps", "-q", "--filter", "label=com.docker.compose.project=%s" % project]).stdout.split()
    if not ids:
        return []
    return [(c["Name"].lstrip("/"), c["Id"], c["State"].get("Pid") or 0)
            for c in json.loads(sh(["docker", "inspect"] + ids).stdout or "[]")]


def host_busy_seconds():
    """CPU seconds the whole host spent busy (all cores; /proc/stat user..steal less idle and iowait)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / float(os.sysconf("SC_CLK_TCK"))


def _cpu_cgroup(cid, pid):
    """(kind, file) of a container's CPU time: v1 cpuacct.usage (ns) or v2 cpu.stat (usage_usec)."""
    cands = []
    try:
        with open("/proc/%d/cgroup" % pid) as f:
            for line in f.read().splitlines():
                hid, ctrls, path = line.split(":", 2)
                if "cpuacct" in ctrls.split(","):
                    cands += [("v1", "/sys/fs/cgroup/%s%s/cpuacct.usage" % (m, path))
                              for m in ("cpuacct", "cpu,cpuacct", "cpuacct,cpu")]
                elif hid == "0" and not ctrls:
                    cands.append(("v2", "/sys/fs/cgroup%s/cpu.stat" % path))
    except (OSError, ValueError):
        pass
    cands += [("v2", "/sys/fs/cgroup/system.slice/docker-%s.scope/cpu.stat" % cid),
              ("v2", "/sys/fs/cgroup/docker/%s/cpu.stat" % cid),
              ("v1", "/sys/fs/cgroup/cpuacct/docker/%s/cpuacct.usage" % cid),
              ("v1", "/sys/fs/cgroup/cpu,cpuacct/docker/%s/cpuacct.usage" % cid)]
    return next(((k, f) for k, f in cands if os.path.isfile(f)), (None, None))


class CpuWatch(object):
    """CPU seconds of the lab's containers and of everything else on the host, per interval between marks.

    The jobs compete for the two cores with whatever else runs: "other" (host busy time less the lab's
    containers, docker exec'd processes included in theirs) says how much of the machine was not the lab's.
    """

    def __init__(self, projects):
        self.projects = projects
        self.files = []
        self.last = {}
        self.marks = []
        self.notes = set()

    def _lab_seconds(self):
        total = 0.0
        for name, kind, path in self.files:
            try:
                value = _read_int(path) / 1e9 if kind == "v1" else _stat(path, "usage_usec") / 1e6
                self.last[name] = value
            except (OSError, ValueError):
                value = self.last.get(name, 0.0)
            total += value
        return total

    def start(self, label):
        for project in self.projects:
            for name, cid, pid in project_containers(project):
                kind, path = _cpu_cgroup(cid, pid)
                if kind:
                    self.files.append((name, kind, path))
                else:
                    self.notes.add("no CPU accounting for %s" % name)
        self.mark(label)

    def mark(self, label):
        self.marks.append((label, time.monotonic(), host_busy_seconds(), self._lab_seconds()))

    def stop(self):
        if not self.marks:
            return {}
        self.mark(None)
        out = {}
        for (label, t0, h0, l0), (_n, t1, h1, l1) in zip(self.marks, self.marks[1:]):
            wall, lab = t1 - t0, l1 - l0
            other = max(0.0, (h1 - h0) - lab)
            out[label] = {"wall_seconds": round(wall, 1), "lab_cpu_seconds": round(lab, 1),
                          "other_cpu_seconds": round(other, 1),
                          "other_cores": round(other / wall, 2) if wall > 0 else None,
                          "lab_cores": round(lab / wall, 2) if wall > 0 else None}
        if self.notes:
            out["_notes"] = sorted(self.notes)
        self.marks = []
        return out


def fate_timing(parties, job_id, guest_id):
    """FATE's own view of a job at the guest: the job's elapsed seconds and each task's."""
    lab = fate_jobs.Lab(DockerCli(docker_run))
    guest = [p for p in parties if p["party_id"] == str(guest_id)][0]
    out = {"job_elapsed_seconds": None, "tasks": {}}
    if not job_id:
        return out
    args = ["-j", job_id, "-r", "guest", "-p", str(guest_id)]

    def records(what):
        resp = lab.flow_json(guest["flow_container"], [what, "query"] + args)
        data = resp.get("data") if isinstance(resp, dict) else None
        data = [data] if isinstance(data, dict) else data or []
        return [r for r in data if isinstance(r, dict) and isinstance(r.get("elapsed"), (int, float))]

    for rec in records("job"):
        out["job_elapsed_seconds"] = round(rec["elapsed"] / 1000.0, 1)
    for rec in records("task"):
        if rec.get("task_name"):
            out["tasks"][rec["task_name"]] = round(rec["elapsed"] / 1000.0, 1)
    return out


# ---------------------------------------------------------------------------------------- the jobs
def verify_defaults():
    with open(os.path.join(COLLECTION, "roles", "fate_verify", "defaults", "main.yml")) as f:
        return yaml.safe_load(f)


def lr_script(d, guest, roles, http_port):
    """roles/fate_verify/templates/hetero_lr.py.j2 rendered with the role's defaults, as jobs.yml does."""
    with open(os.path.join(COLLECTION, "roles", "fate_verify", "templates", "hetero_lr.py.j2")) as f:
        source = f.read()
    env = jinja2.Environment(keep_trailing_newline=True)
    env.filters["tojson"] = lambda value: json.dumps(value)
    template = env.from_string(source)
    return template.render(
        fate_verify__guest=guest, fate_verify_lr_job={"http_port": http_port},
        fate_verify_lr_guest=roles["guest"], fate_verify_lr_host=roles["host"], fate_verify_lr_arbiter=roles["arbiter"],
        **dict((k, d[k]) for k in ("fate_verify_lr_namespace", "fate_verify_lr_guest_table",
                                   "fate_verify_lr_host_table", "fate_verify_lr_epochs", "fate_verify_lr_batch_size",
                                   "fate_verify_lr_learning_rate", "fate_verify_lr_alpha")))


def docker_run(argv, data=None):
    r = subprocess.run(argv, input=data, capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"))
    return r.returncode, r.stdout, r.stderr


def run_jobs(parties, toy_roles, lr_roles, router_project, mark=lambda label: None):
    """The toy job, the breast uploads and the hetero LR, as roles/fate_verify/tasks/jobs.yml runs them."""
    d = verify_defaults()
    lab = fate_jobs.Lab(DockerCli(docker_run))
    by_id = dict((p["party_id"], p) for p in parties)
    out = {}
    try:
        out["toy_example"] = fate_jobs.run_job(lab, {
            "name": "toy_example", "kind": "toy", "roles": toy_roles, "parties": parties,
            "router_project": router_project, "stdin": None, "metric_task": None, "auc_floor": None,
            "guest_command": "flow test toy -gid %s -hid %s -t %d" % (
                shlex.quote(toy_roles["guest"]), shlex.quote(toy_roles["host"]), int(d["fate_verify_toy_timeout"]))})
    except fate_jobs.JobError as exc:
        out["toy_example"] = dict(exc.result, status=exc.result.get("status", "failed"), error=str(exc))
    mark("hetero_lr_data")
    data_dir = d["fate_verify_lr_data_dir"]
    generate = "seedfate-breast-data %s" % shlex.quote(data_dir)
    try:
        out["hetero_lr_data"] = {"status": "success", "uploads": [
            fate_jobs.upload(lab, by_id[lr_roles["guest"]], data_dir + "/breast_hetero_guest.csv",
                             d["fate_verify_lr_namespace"], d["fate_verify_lr_guest_table"],
                             {"delimiter": ",", "label_name": "y", "match_id_name": "id"}, generate=generate),
            fate_jobs.upload(lab, by_id[lr_roles["host"]], data_dir + "/breast_hetero_host.csv",
                             d["fate_verify_lr_namespace"], d["fate_verify_lr_host_table"],
                             {"delimiter": ",", "match_id_name": "id"}, generate=generate)]}
    except fate_jobs.JobError as exc:
        out["hetero_lr_data"] = {"status": "failed", "error": str(exc)}
        return out
    guest = by_id[lr_roles["guest"]]
    mark("hetero_lr")
    try:
        out["hetero_lr"] = fate_jobs.run_job(lab, {
            "name": "hetero_lr", "kind": "pipeline", "roles": lr_roles, "parties": parties,
            "router_project": router_project, "guest_command": "timeout %d python -" % int(d["fate_verify_lr_timeout"]),
            "stdin": lr_script(d, guest, lr_roles, guest["flow_port"]), "metric_task": "evaluation_0",
            "auc_floor": float(d["fate_verify_auc_floor"])})
    except fate_jobs.JobError as exc:
        out["hetero_lr"] = dict(exc.result, status=exc.result.get("status", "failed"), error=str(exc))
    return out


def job_summary(job):
    job = job or {}
    return {"status": job.get("status"), "job_id": job.get("job_id"), "wall_seconds": job.get("wall_seconds"),
            "auc": (job.get("metrics") or {}).get("auc"), "error": job.get("error"),
            "peers": job.get("peers"), "routers": job.get("routers")}


# ----------------------------------------------------------------------------------- the flat network
def flat_project(pid):
    return "%s-%s" % (FLAT, pid)


def supernet(prefixes):
    nets = [ipaddress.ip_network(p, strict=False) for p in prefixes]
    net = nets[0]
    while not all(n.subnet_of(net) for n in nets):
        net = net.supernet()
    return net


def ready_script(catalogue, addresses):
    """roles/fate_deploy's readiness probe (catalogue ready probes of the training cluster), as a sh script."""
    lines = []
    for comp, probe in catalogue["ready"]["training"].items():
        addr = addresses[comp]
        if probe["probe"] == "http":
            url = "http://%s:%s%s" % (addr, probe["port"], probe.get("path", ""))
            test = "curl -fsS -o /dev/null -m 5 %s 2>/dev/null" % url
        elif probe["probe"] == "amqp":
            test = ("printf 'AMQP\\000\\000\\011\\001' | timeout 6 nc -w 3 %s %s 2>/dev/null"
                    " | head -c 1024 | grep -aq PLAIN" % (addr, probe["port"]))
        else:
            test = "nc -z -w 3 %s %s 2>/dev/null" % (addr, probe["port"])
        lines.append('if %s; then echo "ok %s"; else echo "FAIL %s"; fi' % (test, comp, comp))
    return "; ".join(lines)


def flat_up(hosts):
    """Unpack each party's bundle afresh, create the flat network, start the projects; wait until ready."""
    catalogue = fate_versions.get(VERSION)
    preserve = fate_versions.data_dirs(catalogue)
    plans, addresses = {}, []
    for pid, _asn in PARTIES:
        archive = os.path.join(BUILD, "bundles", "confs-%s.tar" % pid)
        res = unpack.unpack(archive, FLAT_DIR, project="confs-%s" % pid, preserve=preserve)
        project_dir = res["project_dir"]
        with open(os.path.join(project_dir, "docker-compose.yml")) as f:
            compose = yaml.safe_load(f)
        pods = {}
        for name, svc in compose["services"].items():
            for net, conf in (svc.get("networks") or {}).items():
                pods[name] = (net, (conf or {}).get("ipv4_address"))
                if (conf or {}).get("ipv4_address"):
                    addresses.append(conf["ipv4_address"])
        if not pods:
            raise BenchError("%s/docker-compose.yml attaches no service to a network" % project_dir)
        plans[pid] = (project_dir, compose, pods)
    net = supernet([hosts[p]["network_prefix"] or hosts[p]["flow_address"] + "/24" for p, _a in PARTIES])
    gateway = next(str(a) for a in net.hosts() if str(a) not in addresses)
    r = sh(["docker", "network", "create", "--driver", "bridge", "--internal", "--subnet", str(net), "--gateway",
            gateway, "--label", "seed.fate/test-lab=%s" % LAB, FLAT])
    if r.returncode:
        raise BenchError("docker network create %s (%s) failed: %s" % (FLAT, net, r.stderr.strip()))
    start = time.monotonic()
    for pid, (project_dir, compose, pods) in plans.items():
        override = {
            # The holder's own command routes by default through the AS router (pod_script): no router here,
            # and an internal network has no way out; the holder only keeps the pod's address.
            "services": dict((name, {"command": ["/bin/sh", "-c", "trap 'exit 0' TERM INT; sleep infinity & wait $$!"]})
                             for name in pods),
            # Same network key, same ipv4_address in every pod: only the network behind the key changes.
            "networks": dict((key, {"name": FLAT, "external": True}) for key in compose.get("networks") or {}),
        }
        with open(os.path.join(project_dir, "docker-compose.flat.yml"), "w") as f:
            f.write("# Written by tests/bench/bench_fate22_jobs.py: the party on one flat network.\n")
            yaml.safe_dump(override, f, sort_keys=False)
        r = sh(["docker", "compose", "-p", flat_project(pid), "-f", "docker-compose.yml",
                "-f", "docker-compose.flat.yml", "up", "-d", "--pull", "never"], cwd=project_dir)
        if r.returncode:
            raise BenchError("compose up of %s failed: %s" % (flat_project(pid), (r.stdout + r.stderr)[-3000:]))
    deadline = time.monotonic() + READY_TIMEOUT
    pending = [p for p, _a in PARTIES]
    first = list(catalogue["ready"]["training"])[0]
    last = {}
    while pending and time.monotonic() < deadline:
        for pid in list(pending):
            r = sh(["docker", "exec", "%s-%s-pod-1" % (flat_project(pid), first), "sh", "-c",
                    ready_script(catalogue, hosts[pid]["addresses"])])
            last[pid] = (r.stdout + r.stderr).strip()
            if r.returncode == 0 and "FAIL" not in r.stdout:
                pending.remove(pid)
        if pending:
            time.sleep(3)
    if pending:
        raise BenchError("flat parties not ready after %ds: %s" % (READY_TIMEOUT, "; ".join(
            "%s: %s" % (p, last.get(p, "")) for p in pending)))
    return {"network": FLAT, "subnet": str(net), "gateway": gateway, "internal": True,
            "up_seconds": round(time.monotonic() - start, 1)}


# ------------------------------------------------------------------------------------------ cleanup
def ours(project):
    """Containers of a party project that this bench's deploy folder made (never another lab's)."""
    r = sh(["docker", "ps", "-a", "--filter", "label=com.docker.compose.project=%s" % project, "--format",
            '{{.ID}} {{.Label "com.docker.compose.project.working_dir"}}'])
    mine, others = [], []
    for line in r.stdout.splitlines():
        cid, _s, wd = line.partition(" ")
        (mine if wd.startswith(BUILD + os.sep) else others).append(cid)
    return mine, others


def leftovers():
    left = []
    for pid, _a in PARTIES:
        left += ["container %s" % c for c in ours("confs-%s" % pid)[0]]
    r = sh(["docker", "ps", "-a", "--format", '{{.Names}} {{.Label "com.docker.compose.project"}}'])
    for line in r.stdout.splitlines():
        name, _s, project = line.partition(" ")
        if project == PROJECT or project.startswith(FLAT) or name.startswith(PROJECT):
            left.append("container %s" % name)
    for name in sh(["docker", "network", "ls", "--format", "{{.Name}}"]).stdout.split():
        if name == FLAT or name.startswith(PROJECT + "_"):
            left.append("network %s" % name)
    return left


def flat_down():
    empty = tempfile.mkdtemp(prefix="sftest-bench22-down-")
    try:
        for pid, _a in PARTIES:
            sh(["docker", "compose", "-p", flat_project(pid), "down", "-v", "--remove-orphans", "-t", "5"], cwd=empty)
    finally:
        os.rmdir(empty)
    if FLAT in sh(["docker", "network", "ls", "--format", "{{.Name}}"]).stdout.split():
        r = sh(["docker", "network", "rm", FLAT])
        if r.returncode:
            print("WARNING: docker network rm %s: %s" % (FLAT, r.stderr.strip()), file=sys.stderr)


def lab_down(log):
    """teardown.yml (parties, purge, and the emulated Internet); by container id and project name otherwise.

    The parties' compose projects are named after the party ids (confs-<id>) whatever the lab, and
    seed.fate.fate_teardown removes every container of such a project: with another lab's confs-<id> up,
    teardown.yml would take that lab down too, so then only this lab's containers are removed, by id.
    """
    others = [c for pid, _a in PARTIES for c in ours("confs-%s" % pid)[1]]
    rc, secs = None, 0.0
    if others:
        print("WARNING: another lab has containers in confs-%s: teardown.yml not run (it would remove them too)"
              % "/".join(p for p, _a in PARTIES), file=sys.stderr)
    else:
        if not os.path.isdir(INVENTORY):
            write_inventory()
        rc, secs, tail = play("teardown.yml", "-e", "teardown_network=true", "-e", "purge=true", log=log)
        if rc:
            print("WARNING: teardown.yml failed (rc %d), taking the projects down by id and name:\n%s"
                  % (rc, tail[-2000:]), file=sys.stderr)
    # Without ghost files (an earlier run stopped early) the inventory has no party to tear down.
    mine = [c for pid, _a in PARTIES for c in ours("confs-%s" % pid)[0]]
    if mine:
        sh(["docker", "rm", "-f"] + mine)
    if rc != 0:
        empty = tempfile.mkdtemp(prefix="sftest-bench22-down-")
        try:
            sh(["docker", "compose", "-p", PROJECT, "down", "--remove-orphans", "-t", "2"], cwd=empty)
        finally:
            os.rmdir(empty)
    return rc, round(secs, 1)


def cleanup(log, keep_build):
    flat_down()
    lab_down(log)
    images = sorted(set(sh(["docker", "images", "-q", "--filter", "reference=%s-*" % PROJECT]).stdout.split()))
    if images:
        sh(["docker", "rmi", "-f"] + images)
    for rule in sh(["iptables", "-w", "-S", "DOCKER-USER"]).stdout.splitlines():
        if '--comment "%s"' % GUARD_COMMENT in rule:
            sh(["iptables", "-w", "-D", "DOCKER-USER"] + shlex.split(rule)[2:])
    if not keep_build:
        shutil.rmtree(BUILD, ignore_errors=True)
    left = leftovers()
    if left:
        print("WARNING: left behind: %s" % ", ".join(left), file=sys.stderr)
    return left


# --------------------------------------------------------------------------------------------- main
def missing_prerequisite():
    if sh(["docker", "info"]).returncode:
        return "no Docker engine answers"
    if sh(["docker", "compose", "version"]).returncode:
        return "no docker compose v2"
    env = dict(os.environ, PYTHONPATH=os.environ.get("SEEDEMU_PATH", ""))
    if sh([os.path.join(VENV_BIN, "python"), "-c", "import seedemu"], env=env).returncode:
        return "seedemu is not importable (make venv, or SEEDEMU_PATH)"
    absent = [i for i in IMAGES if sh(["docker", "image", "inspect", i]).returncode]
    if absent:
        return "images missing on the engine (never pulled): %s" % ", ".join(absent)
    return None


def conflicts():
    """Another lab's party projects, or networks of another lab in this lab's address ranges."""
    found = []
    for pid, _a in PARTIES:
        others = ours("confs-%s" % pid)[1]
        if others:
            found.append("compose project confs-%s has %d containers of another lab" % (pid, len(others)))
    wanted = [ipaddress.ip_network("10.%d.0.0/24" % n) for n in [IX] + [a for _p, a in PARTIES]]
    wanted.append(supernet([str(n) for n in wanted[1:]]))
    for name in sh(["docker", "network", "ls", "--format", "{{.Name}}"]).stdout.split():
        if name == FLAT or name.startswith(PROJECT + "_"):
            continue
        r = sh(["docker", "network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", name])
        for s in r.stdout.split():
            try:
                n = ipaddress.ip_network(s, strict=False)
            except ValueError:
                continue
            if n.version == 4 and any(n.overlaps(w) for w in wanted):
                found.append("network %s (%s) overlaps this lab's addresses" % (name, s))
    return found


def print_table(res):
    print()
    print("FATE %s, lab %s (%s), %s" % (VERSION, LAB, PROJECT, res["finished"]))
    lab = res.get("emulated", {})
    phases = lab.get("phases") or {}
    if phases:
        print("%-22s %8s" % ("site.yml phase", "seconds"))
        for k, v in phases.items():
            print("%-22s %8.1f" % (k, v))
        print("%-22s %8.1f" % ("site.yml total", lab.get("site_seconds", 0)))
    if lab.get("teardown_seconds") is not None:
        print("%-22s %8.1f" % ("teardown (purge, net)", lab["teardown_seconds"]))
    flat = res.get("flat", {})
    if flat.get("up_seconds") is not None:
        print("%-22s %8.1f  (%s %s, internal)"
              % ("flat up + ready", flat["up_seconds"], flat["network"], flat["subnet"]))
    print()
    print("%-11s %10s %10s %7s %8s %8s" % ("job", "emulated s", "flat s", "ratio", "AUC emu", "AUC flat"))
    for job in ("toy_example", "hetero_lr"):
        e = (lab.get("jobs") or {}).get(job) or {}
        f = (flat.get("jobs") or {}).get(job) or {}
        ratio = res.get("ratio_emulated_over_flat", {}).get(job)
        print("%-11s %10s %10s %7s %8s %8s" % (
            job, e.get("wall_seconds", "-"), f.get("wall_seconds", "-"), "%.2f" % ratio if ratio else "-",
            "%.4f" % e["auc"] if e.get("auc") is not None else "-",
            "%.4f" % f["auc"] if f.get("auc") is not None else "-"))
        for where, j in (("emulated", e), ("flat", f)):
            cpu = (res.get(where, {}).get("cpu") or {}).get(job) or {}
            fate = j.get("fate") or {}
            if cpu or fate.get("job_elapsed_seconds") is not None:
                print("  %-8s FATE job elapsed %s s; CPU lab %s cores, other processes %s cores; tasks %s" % (
                    where, fate.get("job_elapsed_seconds", "-"), cpu.get("lab_cores", "-"), cpu.get("other_cores", "-"),
                    ", ".join("%s %s" % kv for kv in sorted((fate.get("tasks") or {}).items())) or "-"))
            if j.get("status") not in (None, "success"):
                print("  %s %s: %s %s" % (job, where, j.get("status"), (j.get("error") or "")[:300]))
    print()
    print("peak memory per party during the jobs, GB (goal <= %.2f): cgroup peak (incl. page cache) / working set"
          % (MEMORY_GOAL / 1e9))
    print("%-7s %-22s %-22s" % ("party", "emulated", "flat"))
    for pid, _a in PARTIES:
        cells = []
        for where in ("emulated", "flat"):
            m = (res.get(where, {}).get("memory") or {}).get(pid) or {}
            if not m:
                cells.append("-")
                continue
            verdict = "ok" if max(m.get("peak_bytes") or 0, m.get("working_set_peak_bytes") or 0) <= MEMORY_GOAL else (
                "ok (ws)" if (m.get("working_set_peak_bytes") or 0) <= MEMORY_GOAL else "OVER")
            cells.append("%s / %s %s" % (gb(m.get("peak_bytes")), gb(m.get("working_set_peak_bytes")), verdict))
        print("%-7s %-22s %-22s" % (pid, cells[0], cells[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(REPO, "build", "bench", "fate22_jobs.json"))
    ap.add_argument("--keep-build", action="store_true", help="keep build/bench22 (inventory, bundles, logs)")
    args = ap.parse_args()
    reason = missing_prerequisite()
    if reason:
        print("bench_fate22_jobs: skipped: %s" % reason)
        return 0
    found = conflicts()
    if found:
        print("bench_fate22_jobs: refused: %s" % "; ".join(found), file=sys.stderr)
        return 2

    # Ctrl-C and SIGTERM both reach the finally below.
    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(143))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    log = os.path.abspath(args.out)[:-len(".json")] + ".log" if args.out.endswith(".json") else args.out + ".log"
    open(log, "w").close()
    res = {"bench": "bench_fate22_jobs", "fate_version": VERSION, "lab": LAB, "network_project": PROJECT,
           "started": now(), "host": {"cpus": os.cpu_count()}, "memory_goal_bytes": MEMORY_GOAL,
           "parties": dict((p, {"asn": a}) for p, a in PARTIES), "emulated": {}, "flat": {}, "log": log}
    rc = 1
    try:
        if leftovers() or os.path.isdir(BUILD):
            print("== removing what an earlier run of this bench left", flush=True)
            cleanup(log, keep_build=False)
        write_inventory()

        # 1-2. The lab from zero: site.yml, phases from its headers; memory and CPU from the toy job's start.
        print("== emulated: playbooks/site.yml from zero (log %s)" % log, flush=True)
        emu_watch = MemWatch(dict((p, "confs-%s" % p) for p, _a in PARTIES))
        emu_cpu = CpuWatch(["confs-%s" % p for p, _a in PARTIES] + [PROJECT])
        phases = Phases(on_task={
            JOBS_TASK: lambda: (emu_watch.start(), emu_cpu.start("toy_example")),
            "Generate the breast data": lambda: emu_cpu.mark("hetero_lr_data"),
            "Run the hetero logistic regression": lambda: emu_cpu.mark("hetero_lr"),
            "Collect the report": lambda: emu_cpu.mark("report")})
        try:
            site_rc, site_secs, tail = play("site.yml", log=log, on_line=phases.line)
        finally:
            res["emulated"]["memory"] = emu_watch.stop()
            res["emulated"]["cpu"] = emu_cpu.stop()
            res["emulated"]["cpu"].pop("report", None)
        res["emulated"]["phases"] = phases.close(site_secs)
        res["emulated"]["site_seconds"] = round(site_secs, 1)
        res["emulated"]["site_rc"] = site_rc
        report = {}
        if os.path.isfile(REPORT):
            with open(REPORT) as f:
                report = json.load(f)
        res["emulated"]["report"] = REPORT
        res["emulated"]["jobs"] = dict((k, job_summary(v)) for k, v in (report.get("jobs") or {}).items()
                                       if k in ("toy_example", "hetero_lr"))
        if site_rc:
            raise BenchError("site.yml failed (rc %d):\n%s" % (site_rc, tail[-4000:]))
        hosts = party_hosts()
        res["parties"] = dict((p, {"asn": hosts[p]["asn"], "addresses": hosts[p]["addresses"],
                                   "network_prefix": hosts[p]["network_prefix"]}) for p, _a in PARTIES)
        toy_roles = report["jobs"]["toy_example"]["parties"]
        lr_roles = report["jobs"]["hetero_lr"]["parties"]
        emu_parties = job_parties(hosts, lambda p: "confs-%s" % p, FLOW_PORT)
        for k, roles in (("toy_example", toy_roles), ("hetero_lr", lr_roles)):
            res["emulated"]["jobs"][k]["fate"] = fate_timing(emu_parties, res["emulated"]["jobs"][k]["job_id"],
                                                             roles["guest"])

        # The emulated Internet and the parties go (data purged); the rendered bundles stay in build/bench22.
        print("== teardown of the lab (purge, network)", flush=True)
        down_rc, res["emulated"]["teardown_seconds"] = lab_down(log)
        if down_rc != 0:
            raise BenchError("teardown.yml %s, see %s" % ("failed (rc %d)" % down_rc if down_rc else "not run", log))

        # 3. The same bundles on one flat network; the same jobs through fate_jobs.
        print("== flat: the same bundles on %s" % FLAT, flush=True)
        res["flat"].update(flat_up(hosts))
        parties = job_parties(hosts, flat_project, FLOW_PORT)
        flat_watch = MemWatch(dict((p, flat_project(p)) for p, _a in PARTIES))
        flat_cpu = CpuWatch([flat_project(p) for p, _a in PARTIES])
        flat_watch.start()
        flat_cpu.start("toy_example")
        print("== flat: toy, uploads, hetero LR", flush=True)
        try:
            jobs = run_jobs(parties, toy_roles, lr_roles, router_project="%s-norouters" % FLAT, mark=flat_cpu.mark)
        finally:
            res["flat"]["memory"] = flat_watch.stop()
            res["flat"]["cpu"] = flat_cpu.stop()
        res["flat"]["jobs"] = dict((k, job_summary(jobs.get(k))) for k in ("toy_example", "hetero_lr"))
        for k, roles in (("toy_example", toy_roles), ("hetero_lr", lr_roles)):
            res["flat"]["jobs"][k]["fate"] = fate_timing(parties, res["flat"]["jobs"][k]["job_id"], roles["guest"])
        res["flat"]["uploads"] = jobs.get("hetero_lr_data")
        res["ratio_emulated_over_flat"] = {}
        for k in ("toy_example", "hetero_lr"):
            e, f = res["emulated"]["jobs"].get(k, {}), res["flat"]["jobs"].get(k, {})
            if e.get("status") == "success" and f.get("status") == "success" and f.get("wall_seconds"):
                res["ratio_emulated_over_flat"][k] = round(e["wall_seconds"] / f["wall_seconds"], 2)
        rc = 0 if all(res["flat"]["jobs"][k]["status"] == "success" for k in ("toy_example", "hetero_lr")) else 1
    except BenchError as exc:
        res["error"] = str(exc)
        print("bench_fate22_jobs: %s" % exc, file=sys.stderr)
    finally:
        print("== cleanup", flush=True)
        res["left_behind"] = cleanup(log, args.keep_build)
        res["finished"] = now()
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1, sort_keys=False)
            f.write("\n")
    print_table(res)
    print("\nfigures: %s" % args.out)
    return rc


if __name__ == "__main__":
    sys.exit(main())
