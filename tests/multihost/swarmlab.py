#!/usr/bin/env python3
"""swarmlab: several Docker hosts on this one machine, for Swarm tests (issue 14).

Each host is a network namespace ``<name>-sw<i>`` with its own ``dockerd`` (own data root, exec root, socket,
pidfile, containerd namespaces, cgroup parent, key file and hostname). The namespaces hang off a bridge in a
hub namespace ``<name>-hub`` and hold one address each in a private /24 without a default route: nothing they
send leaves the machine. Images come from the machine's engine, since nothing can be pulled: by default
``docker save`` into node 1 (``docker load``), and the other nodes, before their daemons first start, get node
1's image store as hard links (data roots on the harness's tmpfs); with ``--link-images`` every node's data root
is on disk inside the machine engine's data root (a hard link cannot cross mounts) and the images' layers and
metadata are hard links of the machine engine's own: no save, no load, about a second for gigabytes of images.
Either way each node's image ids are then checked through its daemon. Node 1 initialises a swarm and the others
join it.

The machine's own engine is only read (``docker image inspect``/``docker save``, its layer files linked, never
written; with ``--link-images`` the harness keeps its data roots in ``<engine data root>/seedfate-swarmlab/``,
which the engine ignores and ``down`` removes). Everything created carries
the harness name as prefix, and ``down`` finds it again from the name alone, so it works twice in a row,
after a crash, or without the state file.

    python tests/multihost/swarmlab.py up --name swlab --nodes 3 --image seedfate/seedemu-node:bookworm
    python tests/multihost/swarmlab.py status --name swlab
    python tests/multihost/swarmlab.py stop-node --name swlab --node 3   (start-node likewise)
    python tests/multihost/swarmlab.py down --name swlab

``up`` prints, per node, the DOCKER_HOST to target it with (``docker -H``, community.docker's
``docker_host``). Needs root, iproute2, util-linux (unshare, setsid) and dockerd/containerd installed.
"""

import argparse
import hashlib
import ipaddress
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STATE_DIR = REPO / "build" / "swarmlab"
# Data roots hold the image layers (about 0.5 GB per node and image): by default on a tmpfs of the harness's own
# (loads twice as fast as this machine's disk, and down frees it at once); --on-disk keeps them on disk.
DATA_BASE = Path(os.environ.get("SWARMLAB_DATA", "/var/lib/seedfate-swarmlab"))
TMPFS_SIZE = os.environ.get("SWARMLAB_TMPFS_SIZE", "8g")
# Exec roots hold sockets: short paths (a unix socket path has at most 107 characters).
RUN_BASE = Path("/run/sfswarmlab")
# Link names are at most 15 characters: "<name>-h<i>" leaves 8 for the name (and up to 99 nodes).
NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,7}$")
DEFAULT_SUBNET = "192.168.255.0/24"
# Swarm's pool for overlays without an explicit subnet: away from the lab's 10.x prefixes and Docker's 172.17-18.
DEFAULT_ADDR_POOL = "172.30.0.0/16"
SWARM_PORT = 2377
MACHINE_ENGINE = "unix:///var/run/docker.sock"
# Programs a node's daemon runs: what leftovers() looks for (by their paths under the harness's roots).
DAEMON_PROGRAMS = ("dockerd", "containerd", "docker-proxy", "docker-init", "runc")


def run(cmd, check=True, timeout=120, **kw):
    """Run a command (a list); the CompletedProcess, text mode. Raises with stderr when check fails."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode:
        raise RuntimeError("%s failed (rc %d): %s" % (shlex.join(cmd), proc.returncode,
                                                       (proc.stderr or proc.stdout).strip()[-2000:]))
    return proc


def linked_data_base(name):
    """Data roots of a harness whose images are hard links of the machine engine's (``--link-images``): inside the
    machine engine's data root, whose mount they must share (a link cannot cross mounts, even of one file system).
    The engine ignores the folder; ``down`` removes it. None when the machine's engine does not answer."""
    out = run(["docker", "-H", MACHINE_ENGINE, "info", "--format", "{{.DockerRootDir}}"], check=False).stdout.strip()
    return Path(out) / "seedfate-swarmlab" / name if out else None


def _netns_names():
    out = run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _netns_inode(netns):
    try:
        st = os.stat("/run/netns/%s" % netns)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _pids_in_netns(netns):
    """PIDs of every process whose network namespace is ``netns`` (dockerd, containerd, shims)."""
    ident = _netns_inode(netns)
    if ident is None:
        return []
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            st = os.stat("/proc/%s/ns/net" % entry)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == ident:
            pids.append(int(entry))
    return pids


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _wait_gone(pids, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.1)
    return not any(_alive(p) for p in pids)


def _kill(pids, sig=signal.SIGKILL):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _under(path, base):
    return path == str(base) or path.startswith(str(base) + "/")


def _cgroup_mounts():
    """(fstype, mountpoint, options) of the machine's cgroup hierarchies, in /proc/mounts order."""
    found = []
    with open("/proc/self/mounts") as f:
        for line in f:
            _dev, point, fstype, opts = line.split()[:4]
            if fstype in ("cgroup", "cgroup2") and point.startswith("/sys/fs/cgroup"):
                found.append((fstype, point, opts))
    return found


def _cgroup_setup_script():
    """Shell lines that rebuild /sys/fs/cgroup inside the daemon's mount namespace.

    ``ip netns exec`` mounts a fresh /sys, which hides the cgroup hierarchies: dockerd then refuses to start
    ("Devices cgroup isn't mounted"). Mount them again, the same way the machine has them.
    """
    mounts = _cgroup_mounts()
    if any(point == "/sys/fs/cgroup" for _t, point, _o in mounts):  # cgroup v2 only
        return ["mount -t cgroup2 cgroup2 /sys/fs/cgroup"]
    lines = ["mount -t tmpfs -o mode=755 cgroup_root /sys/fs/cgroup"]
    for fstype, point, opts in mounts:
        lines.append("mkdir -p %s" % shlex.quote(point))
        lines.append("mount -t %s -o %s %s %s" % (fstype, shlex.quote(opts), fstype, shlex.quote(point)))
    return lines


class Lab:
    """N Docker hosts named ``<name>-sw1..N`` on one machine; see the module docstring."""

    def __init__(self, name="swlab", nodes=3, subnet=DEFAULT_SUBNET, addr_pool=DEFAULT_ADDR_POOL, tmpfs=True,
                 link_images=False):
        if not NAME_RE.match(name):
            raise ValueError("harness name %r: 1-8 characters, lower-case letters and digits, a letter first" % name)
        net = ipaddress.ip_network(subnet)
        if not 1 <= nodes < min(99, net.num_addresses - 2):
            raise ValueError("nodes must be between 1 and %d" % min(98, net.num_addresses - 3))
        self.name = name
        self.count = nodes
        self.subnet = net
        self.addr_pool = addr_pool
        self.tmpfs = tmpfs
        self.hub = "%s-hub" % name
        self.bridge = "%s-br" % name
        self.state_file = STATE_DIR / ("%s.json" % name)
        self.data_base = DATA_BASE / name
        self.run_base = RUN_BASE / name
        if link_images:
            # Data roots on disk inside the machine engine's own mount, so images can be hard links of its layers.
            self.tmpfs, self.data_base = False, linked_data_base(name)
        elif self.state_file.exists():  # a harness that is up: where its data roots are
            try:
                state = json.loads(self.state_file.read_text())
                self.data_base, self.tmpfs = Path(state.get("data_base", self.data_base)), state.get("tmpfs", self.tmpfs)
            except (OSError, ValueError):
                pass

    # ----- names and paths: all derived from the harness name -----
    def node(self, i):
        """Everything about node ``i`` (1-based): names, address, paths, DOCKER_HOST."""
        host = "%s-sw%d" % (self.name, i)
        data_root = self.data_base / host
        exec_root = self.run_base / host
        sock = exec_root / "docker.sock"
        return {
            "index": i,
            "hostname": host,
            "netns": host,
            "veth": "%s-v%d" % (self.name, i),
            "hub_veth": "%s-h%d" % (self.name, i),
            "addr": str(self.subnet.network_address + i),
            "data_root": str(data_root),
            "exec_root": str(exec_root),
            "socket": str(sock),
            "docker_host": "unix://%s" % sock,
            "pidfile": str(exec_root / "dockerd.pid"),
            "config": str(data_root / "daemon.json"),
            "log": str(self.data_base / ("%s.log" % host)),
            "cgroup_parent": "/%s" % host,
            "containerd_namespace": host,
        }

    def nodes(self):
        return [self.node(i) for i in range(1, self.count + 1)]

    def docker(self, i, *args, check=True, timeout=120, **kw):
        """The docker CLI against node ``i``."""
        return run(["docker", "-H", self.node(i)["docker_host"]] + list(args), check=check, timeout=timeout, **kw)

    def answers(self, i):
        try:
            return self.docker(i, "version", "--format", "{{.Server.Version}}", check=False, timeout=10).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def dockerd_pid(self, i):
        """The PID of node ``i``'s dockerd, checked against its command line (a stale pidfile is ignored)."""
        node = self.node(i)
        try:
            pid = int(Path(node["pidfile"]).read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) and node["exec_root"] in _cmdline(pid) else None

    # ----- up -----
    def up(self, images=(), swarm=True):
        """Create what is missing (idempotent); the timings in seconds."""
        for tool in ("ip", "unshare", "setsid", "dockerd", "docker"):
            if not shutil.which(tool):
                raise RuntimeError("swarmlab needs %s on PATH" % tool)
        if os.geteuid() != 0:
            raise RuntimeError("swarmlab needs root (network namespaces, dockerd)")
        times = {}
        t = time.monotonic()
        self._storage()
        self._network()
        times["network"] = time.monotonic() - t
        t = time.monotonic()
        fresh = [i for i in range(1, self.count + 1)
                 if images and not self.answers(i) and not os.path.exists(os.path.join(self.node(i)["data_root"], "image"))]
        # Data roots on the machine engine's file system: every fresh node gets the images' layers and metadata as
        # hard links of the machine's own before its daemon first starts (no docker save or load at all).
        linked = len(fresh) if fresh and self._link_images_from_machine(fresh, images) else 0
        # Else nodes never started yet get node 1's image store as hard links (see _clone_store) once node 1 has the
        # images: one docker load instead of one per node. They start after that.
        cloned = [] if linked else [i for i in fresh if i != 1]
        first = [i for i in range(1, self.count + 1) if i not in cloned]
        for i in first:
            self.start_node(i, wait=False)
        for i in first:
            self._wait_daemon(i)
        times["daemons"] = time.monotonic() - t
        t = time.monotonic()
        copied = self.copy_images(images, only=[1] if cloned else None)
        if cloned:
            for i in cloned:
                self._clone_store(1, i)
                self.start_node(i, wait=False)
            for i in cloned:
                self._wait_daemon(i)
            copied += len(cloned) * len(images)
            # Checks every node's image ids against the machine's (0 copies when the clones are right).
            copied += self.copy_images(images)
        times["images_copied"] = copied
        times["images_cloned_into"] = len(cloned)
        times["images_linked_into"] = linked
        times["images"] = time.monotonic() - t
        if swarm:
            t = time.monotonic()
            self.form_swarm()
            times["swarm"] = time.monotonic() - t
        self._write_state()
        return times

    def _storage(self):
        os.makedirs(self.data_base, mode=0o700, exist_ok=True)
        if self.tmpfs and not os.path.ismount(self.data_base):
            run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=700" % TMPFS_SIZE, "sfswarmlab-" + self.name,
                 str(self.data_base)])

    def _network(self):
        existing = set(_netns_names())
        if self.hub not in existing:
            run(["ip", "netns", "add", self.hub])
        run(["ip", "-n", self.hub, "link", "set", "lo", "up"])
        if run(["ip", "-n", self.hub, "link", "show", self.bridge], check=False).returncode:
            run(["ip", "-n", self.hub, "link", "add", self.bridge, "type", "bridge"])
        run(["ip", "-n", self.hub, "link", "set", self.bridge, "up"])
        for node in self.nodes():
            ns = node["netns"]
            if ns not in existing:
                run(["ip", "netns", "add", ns])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            if run(["ip", "-n", ns, "link", "show", node["veth"]], check=False).returncode:
                # Both ends are created straight in their namespaces: nothing appears in the machine's.
                run(["ip", "link", "add", node["veth"], "netns", ns, "type", "veth",
                     "peer", "name", node["hub_veth"], "netns", self.hub])
            run(["ip", "-n", self.hub, "link", "set", node["hub_veth"], "master", self.bridge, "up"])
            cidr = "%s/%d" % (node["addr"], self.subnet.prefixlen)
            if cidr not in run(["ip", "-n", ns, "-o", "addr", "show", "dev", node["veth"]]).stdout:
                run(["ip", "-n", ns, "addr", "add", cidr, "dev", node["veth"]])
            run(["ip", "-n", ns, "link", "set", node["veth"], "up"])

    def start_node(self, i, wait=True):
        """Start node ``i``'s dockerd in its namespace unless it answers already."""
        node = self.node(i)
        if self.answers(i):
            return False
        for path in (node["data_root"], node["exec_root"]):
            os.makedirs(path, mode=0o700, exist_ok=True)
        # deprecated-key-path is config-file only; without it every daemon shares /etc/docker/key.json.
        Path(node["config"]).write_text(json.dumps({
            "deprecated-key-path": os.path.join(node["data_root"], "key.json"),
        }, indent=2) + "\n")
        dockerd = [
            "dockerd", "--config-file", node["config"],
            "-H", node["docker_host"],
            "--data-root", node["data_root"],
            "--exec-root", node["exec_root"],
            "--pidfile", node["pidfile"],
            "--containerd-namespace", node["containerd_namespace"],
            "--containerd-plugins-namespace", node["containerd_namespace"] + "-plugins",
            "--cgroup-parent", node["cgroup_parent"],
        ]
        script = ["set -e", "hostname %s" % shlex.quote(node["hostname"])] + _cgroup_setup_script()
        script.append("exec " + shlex.join(dockerd))
        os.makedirs(os.path.dirname(node["log"]), exist_ok=True)
        with open(node["log"], "ab") as log:
            # setsid -f: the daemon belongs to no caller (no zombie, no hang-up); ip netns exec gives it a mount
            # namespace of its own, unshare --uts a hostname of its own.
            subprocess.run(["setsid", "-f", "ip", "netns", "exec", node["netns"], "unshare", "--uts", "--",
                            "sh", "-c", "\n".join(script)],
                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, check=True)
        if wait:
            self._wait_daemon(i)
        return True

    def _wait_daemon(self, i, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.answers(i) and self.dockerd_pid(i):
                return
            time.sleep(0.2)
        tail = ""
        try:
            tail = Path(self.node(i)["log"]).read_text(errors="replace")[-3000:]
        except OSError:
            pass
        raise RuntimeError("dockerd of %s does not answer after %ds; log tail:\n%s"
                           % (self.node(i)["hostname"], timeout, tail))

    def stop_node(self, i, timeout=30):
        """Stop node ``i``'s dockerd by its PID (as a host going away); containers stop with it."""
        pid = self.dockerd_pid(i)
        if pid is None:
            return False
        _kill([pid], signal.SIGTERM)
        if not _wait_gone([pid], timeout):
            _kill([pid])
            _wait_gone([pid], 5)
        return True

    def _link_images_from_machine(self, nodes, images):
        """Before the daemons of ``nodes`` first start: give each node's data root ``images`` as hard links of the
        machine engine's own layers and metadata (overlay2 only, and only within the engine's mount: the data roots
        of ``--link-images``). Returns False, having linked nothing, when that is not possible.

        What the daemon needs of an image: its config (``image/overlay2/imagedb/content``), each layer's entry in
        ``layerdb`` (keyed by chain id: sha256 of "<parent chain id> <diff id>"), each layer's folder under
        ``overlay2/`` (found by the entry's ``cache-id``) with its short link under ``overlay2/l/``, and the tag in
        ``repositories.json``. Safe as with _clone_store: no daemon writes into an image layer's files. The ids are
        checked afterwards through each node's daemon (copy_images finds nothing missing when the links are right).
        """
        info = run(["docker", "-H", MACHINE_ENGINE, "info", "--format", "{{.DockerRootDir}} {{.Driver}}"],
                   check=False).stdout.split()
        if len(info) != 2 or info[1] != "overlay2":
            return False
        root = Path(info[0])
        src_db = root / "image" / "overlay2"
        probe = Path(self.node(nodes[0])["data_root"]) / ".link-probe"
        os.makedirs(probe.parent, mode=0o700, exist_ok=True)
        try:
            probe.unlink(missing_ok=True)
            os.link(src_db / "repositories.json", probe)  # fails across mounts (EXDEV)
            probe.unlink()
        except OSError:
            return False
        docs = json.loads(run(["docker", "-H", MACHINE_ENGINE, "image", "inspect"] + list(images)).stdout)
        repos, layers = {}, []  # layers: (chain id hex, cache id, short link name) of every image, in order
        for image, doc in zip(images, docs):
            chain = None
            for diff in doc["RootFS"]["Layers"]:
                chain = diff if chain is None else "sha256:" + hashlib.sha256(("%s %s" % (chain, diff)).encode()).hexdigest()
                entry = chain.split(":", 1)[1]
                cache = (src_db / "layerdb" / "sha256" / entry / "cache-id").read_text().strip()
                layers.append((entry, cache, (root / "overlay2" / cache / "link").read_text().strip()))
            name = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
            ref = image if ":" in image.rsplit("/", 1)[-1] else image + ":latest"
            repos.setdefault(name, {})[ref] = doc["Id"]
        for i in nodes:
            dst = Path(self.node(i)["data_root"])
            dst_db = dst / "image" / "overlay2"
            for sub in ("imagedb/content/sha256", "imagedb/metadata/sha256", "layerdb/sha256"):
                os.makedirs(dst_db / sub, mode=0o700, exist_ok=True)
            os.makedirs(dst / "overlay2" / "l", mode=0o700, exist_ok=True)
            for doc in docs:
                hexid = doc["Id"].split(":", 1)[1]
                if not (dst_db / "imagedb" / "content" / "sha256" / hexid).exists():
                    os.link(src_db / "imagedb" / "content" / "sha256" / hexid, dst_db / "imagedb" / "content" / "sha256" / hexid)
            for entry, cache, short in layers:
                if not (dst_db / "layerdb" / "sha256" / entry).exists():
                    run(["cp", "-al", str(src_db / "layerdb" / "sha256" / entry), str(dst_db / "layerdb" / "sha256" / entry)])
                if not (dst / "overlay2" / cache).exists():
                    run(["cp", "-al", str(root / "overlay2" / cache), str(dst / "overlay2" / cache)], timeout=600)
                if not (dst / "overlay2" / "l" / short).is_symlink():
                    os.symlink("../%s/diff" % cache, dst / "overlay2" / "l" / short)
            path = dst_db / "repositories.json"
            old = json.loads(path.read_text()).get("Repositories", {}) if path.exists() else {}
            for name, refs in repos.items():
                old.setdefault(name, {}).update(refs)
            path.write_text(json.dumps({"Repositories": old}))
        return True

    def _clone_store(self, src, dst):
        """Give node ``dst`` (never started) node ``src``'s image store as hard links: ``image/`` (image and layer
        metadata) and ``overlay2/`` (the layers), nothing else (no key, network, swarm or container state).

        Safe for image layers: the daemon never writes into a layer's files (a container's changes go to its own
        upper directory) and rewrites metadata by rename, which leaves the other node's link alone. The data roots
        share one file system (the harness's tmpfs, or DATA_BASE on disk), so the clone takes no space and seconds.
        """
        a, b = self.node(src)["data_root"], self.node(dst)["data_root"]
        os.makedirs(b, mode=0o700, exist_ok=True)
        for part in ("image", "overlay2"):
            if os.path.exists(os.path.join(a, part)) and not os.path.exists(os.path.join(b, part)):
                run(["cp", "-al", os.path.join(a, part), os.path.join(b, part)], timeout=600)

    def copy_images(self, images, only=None):
        """docker save from the machine's engine, docker load into each node (of ``only``, default all) lacking an
        image's id.

        One ``docker save`` of every image some node lacks (images built on one base share its layers), loaded
        into those nodes in parallel (streamed, without an archive file, when one node loads). Returns the number
        of (image, node) copies made.
        """
        missing = {}  # node index -> images it lacks
        for image in images:
            image_id = run(["docker", "-H", MACHINE_ENGINE, "image", "inspect", "--format", "{{.Id}}",
                            image]).stdout.strip()
            for i in (only or range(1, self.count + 1)):
                if self.docker(i, "image", "inspect", "--format", "{{.Id}}", image,
                               check=False).stdout.strip() != image_id:
                    missing.setdefault(i, []).append(image)
        if not missing:
            return 0
        wanted = [image for image in images if any(image in lacks for lacks in missing.values())]
        if len(missing) == 1:
            (i,) = missing
            save = subprocess.Popen(["docker", "-H", MACHINE_ENGINE, "save"] + wanted, stdout=subprocess.PIPE)
            load = subprocess.run(["docker", "-H", self.node(i)["docker_host"], "load", "-q"], stdin=save.stdout,
                                  capture_output=True, text=True, timeout=900)
            save.stdout.close()
            if save.wait(timeout=60) or load.returncode:
                raise RuntimeError("docker save | docker load of %s into %s failed: %s"
                                   % (", ".join(wanted), self.node(i)["hostname"], load.stderr.strip()))
            return len(missing[i])
        tar = self.data_base / ("images-%d.tar" % os.getpid())
        try:
            with open(tar, "wb") as out:
                subprocess.run(["docker", "-H", MACHINE_ENGINE, "save"] + wanted, stdout=out, check=True,
                               timeout=900)
            loads = []
            for i in sorted(missing):  # in parallel: each load reads the same file
                with open(tar, "rb") as src:
                    loads.append((i, subprocess.Popen(["docker", "-H", self.node(i)["docker_host"], "load", "-q"],
                                                      stdin=src, stdout=subprocess.PIPE,
                                                      stderr=subprocess.PIPE, text=True)))
            for i, proc in loads:
                _out, err = proc.communicate(timeout=900)
                if proc.returncode:
                    raise RuntimeError("docker load of %s into %s failed: %s"
                                       % (", ".join(wanted), self.node(i)["hostname"], err.strip()))
        finally:
            tar.unlink(missing_ok=True)
        return sum(len(lacks) for lacks in missing.values())

    def swarm_state(self, i):
        return self.docker(i, "info", "--format", "{{.Swarm.LocalNodeState}}", check=False).stdout.strip()

    def form_swarm(self):
        """Node 1 initialises (advertise, listen and data path on its address), the others join as workers."""
        first = self.node(1)
        if self.swarm_state(1) != "active":
            self.docker(1, "swarm", "init", "--advertise-addr", first["addr"],
                        "--listen-addr", "%s:%d" % (first["addr"], SWARM_PORT),
                        "--data-path-addr", first["addr"],
                        "--default-addr-pool", self.addr_pool, "--default-addr-pool-mask-length", "24")
        token = self.docker(1, "swarm", "join-token", "-q", "worker").stdout.strip()
        for node in self.nodes()[1:]:
            if self.swarm_state(node["index"]) == "active":
                continue
            self.docker(node["index"], "swarm", "join", "--token", token,
                        "--advertise-addr", node["addr"], "--listen-addr", "%s:%d" % (node["addr"], SWARM_PORT),
                        "--data-path-addr", node["addr"], "%s:%d" % (first["addr"], SWARM_PORT))

    def swarm_nodes(self):
        """{hostname: (status, availability)} as the manager (node 1) sees them."""
        out = self.docker(1, "node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.Availability}}").stdout
        return {h: (s.lower(), a.lower()) for h, s, a in (line.split() for line in out.splitlines() if line)}

    # ----- figures -----
    def memory(self, i):
        """Node ``i``'s memory in MiB: the daemons' RSS (dockerd, containerd, shims) and its containers'."""
        node = self.node(i)
        rss_kb = 0
        for pid in _pids_in_netns(node["netns"]):
            try:
                with open("/proc/%d/status" % pid) as f:
                    rss_kb += sum(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            except OSError:
                pass
        containers = 0
        for fstype, point, _opts in _cgroup_mounts():
            stat = os.path.join(point, node["cgroup_parent"].lstrip("/"), "memory.stat")
            if fstype == "cgroup" and os.path.exists(stat):
                with open(stat) as f:
                    for line in f:
                        key, value = line.split()
                        if key in ("total_rss", "total_mapped_file"):
                            containers += int(value)
        return {"daemons_mib": round(rss_kb / 1024, 1), "containers_mib": round(containers / 2 ** 20, 1)}

    def storage_mib(self):
        """MiB used by the data roots (on the tmpfs: RAM as well)."""
        if self.tmpfs and os.path.ismount(self.data_base):
            st = os.statvfs(self.data_base)
            return round((st.f_blocks - st.f_bfree) * st.f_frsize / 2 ** 20, 1)
        total, seen = 0, set()
        for root, _dirs, files in os.walk(self.data_base):
            for name in files:
                try:
                    st = os.lstat(os.path.join(root, name))
                except OSError:
                    continue
                if (st.st_dev, st.st_ino) not in seen:  # a hard-linked layer file counts once
                    seen.add((st.st_dev, st.st_ino))
                    total += st.st_size
        return round(total / 2 ** 20, 1)

    def veth_bytes(self, i):
        """(rx, tx) bytes on node ``i``'s link to the hub: every byte between hosts passes there."""
        data = json.loads(run(["ip", "-n", self.node(i)["netns"], "-s", "-j", "link", "show",
                               self.node(i)["veth"]]).stdout)[0]["stats64"]
        return data["rx"]["bytes"], data["tx"]["bytes"]

    def count_vxlan(self, i, tag):
        """Start counting the VXLAN packets (UDP 4789) arriving at node ``i``: a rule in its own namespace's INPUT
        chain, with comment ``tag`` (the machine's iptables are not touched)."""
        run(["ip", "netns", "exec", self.node(i)["netns"], "iptables", "-w", "-I", "INPUT", "-p", "udp",
             "--dport", "4789", "-m", "comment", "--comment", tag])

    def vxlan_packets(self, i, tag):
        """Packets counted so far by node ``i``'s rule ``tag`` (see count_vxlan)."""
        out = run(["ip", "netns", "exec", self.node(i)["netns"], "iptables", "-w", "-L", "INPUT", "-v", "-x",
                   "-n"]).stdout
        for line in out.splitlines():
            if tag in line:
                return int(line.split()[0])
        raise AssertionError("no VXLAN counting rule %s in %s:\n%s" % (tag, self.node(i)["netns"], out))

    # ----- status -----
    def status(self):
        existing = set(_netns_names())
        rows = []
        states = {}
        if self.count and self.answers(1) and self.swarm_state(1) == "active":
            try:
                states = self.swarm_nodes()
            except RuntimeError:
                states = {}
        for node in self.nodes():
            i = node["index"]
            up = self.answers(i)
            rows.append({
                "node": node["hostname"], "addr": node["addr"], "docker_host": node["docker_host"],
                "netns": node["netns"] in existing, "dockerd_pid": self.dockerd_pid(i), "answers": up,
                "swarm": self.swarm_state(i) if up else None,
                "manager_view": " ".join(states.get(node["hostname"], ())) or None,
            })
        return {"name": self.name, "hub": self.hub in existing, "nodes": rows}

    def _write_state(self):
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        state = {"name": self.name, "count": self.count, "subnet": str(self.subnet), "addr_pool": self.addr_pool,
                 "hub": self.hub, "bridge": self.bridge, "data_base": str(self.data_base), "tmpfs": self.tmpfs,
                 "nodes": [dict(n, dockerd_pid=self.dockerd_pid(n["index"])) for n in self.nodes()]}
        self.state_file.write_text(json.dumps(state, indent=2) + "\n")

    # ----- down -----
    def _found_nodes(self):
        """Indexes of this harness's nodes found on the machine (namespaces, data or exec roots)."""
        pattern = re.compile(r"^%s-sw(\d+)$" % re.escape(self.name))
        found = set(range(1, self.count + 1))
        names = list(_netns_names())
        for base in (self.data_base, self.run_base):
            if base.is_dir():
                names += os.listdir(base)
        for name in names:
            m = pattern.match(name)
            if m:
                found.add(int(m.group(1)))
        return sorted(found)

    def _cgroup_dirs(self, i):
        """This node's cgroup-parent directory in each hierarchy where it exists."""
        rel = self.node(i)["cgroup_parent"].lstrip("/")
        return [os.path.join(point, rel) for _t, point, _o in _cgroup_mounts()
                if os.path.isdir(os.path.join(point, rel))]

    def _cgroup_pids(self, i):
        pids = set()
        for top in self._cgroup_dirs(i):
            for root, _dirs, files in os.walk(top):
                if "cgroup.procs" in files:
                    try:
                        with open(os.path.join(root, "cgroup.procs")) as f:
                            pids.update(int(p) for p in f.read().split())
                    except OSError:
                        pass
        return sorted(pids)

    def down(self):
        """Remove everything of this harness (safe to run twice, after a crash, without the state file)."""
        indexes = self._found_nodes()
        count, self.count = self.count, max(indexes + [0])
        try:
            # Workers first, then the manager: leave the swarm and remove containers while daemons answer.
            for i in reversed(indexes):
                if self.answers(i):
                    ids = self.docker(i, "ps", "-aq", check=False).stdout.split()
                    if ids:
                        self.docker(i, "rm", "-f", *ids, check=False, timeout=180)
                    self.docker(i, "swarm", "leave", "--force", check=False, timeout=60)
            for i in indexes:
                self.stop_node(i)
            for i in indexes:
                node = self.node(i)
                # Whatever is left in the node's namespace or its cgroups (containerd, shims, containers), by PID.
                leftovers = [p for p in _pids_in_netns(node["netns"]) + self._cgroup_pids(i) if p != os.getpid()]
                _kill(leftovers)
                _wait_gone(leftovers, 10)
                for top in self._cgroup_dirs(i):
                    for root, _dirs, _files in sorted(os.walk(top), key=lambda w: -len(w[0])):
                        try:
                            os.rmdir(root)
                        except OSError:
                            pass
            names = set(_netns_names())
            for i in indexes:
                if self.node(i)["netns"] in names:
                    run(["ip", "netns", "del", self.node(i)["netns"]], check=False)
            if self.hub in names:
                run(["ip", "netns", "del", self.hub], check=False)
            # Only if a crash left one half-made in the machine's namespace (up never creates them there).
            for link in self._machine_links():
                run(["ip", "link", "del", link], check=False)
            for base in [self.run_base] + self._data_bases():
                self._unmount_under(base)
                shutil.rmtree(base, ignore_errors=True)
            for base in [RUN_BASE] + [b.parent for b in self._data_bases()]:
                try:
                    base.rmdir()  # only when no other harness uses it
                except OSError:
                    pass
            self.state_file.unlink(missing_ok=True)
        finally:
            self.count = count

    def _data_bases(self):
        """Where this harness's data roots are or may be (the tmpfs / disk default, and under the machine's engine)."""
        out = [self.data_base, DATA_BASE / self.name]
        linked = linked_data_base(self.name)
        if linked is not None:
            out.append(linked)
        return list(dict.fromkeys(out))

    def _machine_links(self):
        out = run(["ip", "-o", "link", "show"], check=False).stdout
        pattern = re.compile(r"^%s-(v|h)\d+$|^%s$" % (re.escape(self.name), re.escape(self.bridge)))
        names = [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line]
        return [n for n in names if pattern.match(n)]

    @staticmethod
    def _unmount_under(base):
        with open("/proc/self/mounts") as f:
            points = [line.split()[1] for line in f if _under(line.split()[1], base)]
        for point in sorted(points, key=len, reverse=True):
            run(["umount", "-l", point], check=False)

    def leftovers(self):
        """What of this harness is still on the machine (empty after a clean ``down``)."""
        found = []
        pattern = re.compile(r"^%s-(hub|sw\d+)$" % re.escape(self.name))
        found += ["netns %s" % n for n in _netns_names() if pattern.match(n)]
        found += ["link %s" % n for n in self._machine_links()]
        for base in self._data_bases() + [self.run_base]:
            if base.exists():
                found.append("directory %s" % base)
        for i in self._found_nodes():
            found += ["cgroup %s" % d for d in self._cgroup_dirs(i)]
        marks = (str(self.data_base), str(self.run_base))
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != os.getpid():
                cmd = _cmdline(int(entry))
                # The daemons and what they start; a shell that merely names a path is none of ours.
                program = os.path.basename(cmd.split(" ", 1)[0])
                if program.startswith(DAEMON_PROGRAMS) and any(m + "/" in cmd for m in marks):
                    found.append("process %s: %s" % (entry, cmd[:120]))
        with open("/proc/self/mounts") as f:
            found += ["mount %s" % line.split()[1] for line in f
                      if any(_under(line.split()[1], base) for base in marks)]
        if self.state_file.exists():
            found.append("state file %s" % self.state_file)
        return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["up", "down", "status", "stop-node", "start-node", "leftovers"])
    parser.add_argument("--name", default="swlab", help="harness name, the prefix of all it creates (<= 8 chars)")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--subnet", default=DEFAULT_SUBNET, help="the hosts' /24 (nothing routes out of it)")
    parser.add_argument("--addr-pool", default=DEFAULT_ADDR_POOL, help="swarm's default-addr-pool")
    parser.add_argument("--image", action="append", default=[], help="image to copy from the machine's engine")
    parser.add_argument("--no-swarm", action="store_true", help="daemons only, no swarm")
    parser.add_argument("--on-disk", action="store_true", help="data roots on disk rather than a tmpfs")
    parser.add_argument("--link-images", action="store_true",
                        help="data roots on disk inside the machine engine's data root, the images as hard links of "
                             "its layers (no docker save/load; for images of gigabytes)")
    parser.add_argument("--node", type=int, help="node index for stop-node/start-node")
    args = parser.parse_args(argv)
    lab = Lab(args.name, args.nodes, args.subnet, args.addr_pool, tmpfs=not args.on_disk,
              link_images=args.link_images and args.action == "up")
    if args.action == "up":
        times = lab.up(args.image, swarm=not args.no_swarm)
        print(json.dumps({"times_s": {k: round(v, 2) for k, v in times.items()},
                          "docker_hosts": {n["hostname"]: n["docker_host"] for n in lab.nodes()},
                          "state": str(lab.state_file)}, indent=2))
    elif args.action == "down":
        lab.down()
        left = lab.leftovers()
        print("\n".join(left) if left else "clean")
        return 1 if left else 0
    elif args.action == "status":
        print(json.dumps(lab.status(), indent=2))
    elif args.action == "leftovers":
        left = lab.leftovers()
        print("\n".join(left) if left else "clean")
        return 1 if left else 0
    else:
        if not args.node:
            parser.error("--node is required")
        changed = lab.stop_node(args.node) if args.action == "stop-node" else lab.start_node(args.node)
        print("changed" if changed else "ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
