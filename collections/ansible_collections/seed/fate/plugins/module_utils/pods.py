# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health of a deployed compose project whose FATE services live in network pods.

A component is healthy when its holder (``<component>-pod``) runs, holds the reserved address on the
skeleton's docker network, routes by default through the AS router, and the FATE container runs
inside that same network namespace. Everything is read with one ``docker ps`` + one ``docker inspect``
per round and, on the docker host itself, from ``/proc/<pid>/net/route`` (no ``docker exec``), so a
check of a whole party costs a fraction of a second. An engine elsewhere (``DOCKER_HOST`` tcp:// or ssh://,
``target.engine_is_local``) has pids that mean nothing here: its routes are read with ``docker exec``.

A FATE container keeps the namespace it joined at start: if its holder is restarted (killed, host
reboot), the container is left in an empty namespace while both look "running". Such containers
are reported as *stale*; restarting them re-joins the holder's current namespace.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import struct
import time

from ansible_collections.seed.fate.plugins.module_utils import naming
from ansible_collections.seed.fate.plugins.module_utils.docker_cli import SERVICE_LABEL, project_filter

# A ``docker exec`` that reads a pod's routes (when /proc is not at hand) is stopped after this many seconds.
EXEC_TIMEOUT = 15


def project_containers(docker, project):
    """{container name: docker inspect dict} of every container of compose project ``project``.

    ``docker``: a DockerCli. A container removed between ``ps`` and ``inspect`` is left out.
    """
    out = docker.check(["ps", "-aq", "--no-trunc", "--filter", project_filter(project)])
    ids = out.split()
    return dict((c["Name"].lstrip("/"), c) for c in docker.inspect(ids))


def compose_services(docker, project_src):
    """Service names of the compose project in ``project_src``."""
    out = docker.check(["compose", "--project-directory", project_src, "config", "--services"])
    return sorted(s for s in out.split() if s)


def parse_route_table(text):
    """Default gateway (dotted quad) from the text of /proc/net/route, or None."""
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) >= 8 and f[1] == "00000000" and f[7] == "00000000":
            return socket.inet_ntoa(struct.pack("<I", int(f[2], 16)))
    return None


def parse_ip_route(text):
    """Default gateway from ``ip -4 route show default`` output, or None."""
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 3 and f[0] == "default" and f[1] == "via":
            return f[2]
    return None


def _parse_time(value):
    """Docker's RFC 3339 nano time -> comparable tuple (fractions have varying width)."""
    value = (value or "").rstrip("Z")
    base, _sep, frac = value.partition(".")
    frac = "".join(ch for ch in frac if ch.isdigit())
    return (base, int((frac + "000000000")[:9]))


class HostView(object):
    """Reads a container's routes and namespace, from /proc when local, else via docker exec.

    ``local``: the engine runs on this machine (its containers' pids are this machine's); when false, /proc is
    never read: routes come from ``docker exec``, and a namespace is unknown (staleness is judged by start times).
    """

    def __init__(self, docker, proc="/proc", local=True):
        self.docker = docker
        self.proc = proc
        self.local = local

    def default_gateway(self, container):
        pid = container["State"].get("Pid") or 0
        if pid and self.local:
            try:
                with open(os.path.join(self.proc, str(pid), "net", "route")) as f:
                    return parse_route_table(f.read())
            except (IOError, OSError):
                pass
        rc, out, _err = self.docker.exec(container["Name"].lstrip("/"), ["ip", "-4", "route", "show", "default"],
                                         timeout=EXEC_TIMEOUT)
        return parse_ip_route(out) if rc == 0 else None

    def netns(self, container):
        pid = container["State"].get("Pid") or 0
        if not pid or not self.local:
            return None
        try:
            return os.readlink(os.path.join(self.proc, str(pid), "ns", "net"))
        except (IOError, OSError):
            return None


def check_project(containers, project, components, view, services=None):
    """Return (problems, stale).

    ``components``: [{name, address, network, gateway}]; ``services``: every service of the project
    (each must have a running container). ``problems`` is a list of (component, text); ``stale`` the
    names of FATE containers running in a namespace their holder no longer has.
    """
    problems, stale = [], []
    for comp in components:
        name = comp["name"]
        pod_name = naming.container_name(project, naming.pod_service(name))
        svc_name = naming.container_name(project, name)
        pod = containers.get(pod_name)
        if pod is None:
            problems.append((name, "network pod %s does not exist" % pod_name))
            continue
        if not pod["State"].get("Running"):
            problems.append((name, "network pod %s is %s" % (pod_name, pod["State"].get("Status"))))
            continue
        nets = pod.get("NetworkSettings", {}).get("Networks") or {}
        net = nets.get(comp["network"])
        if net is None:
            problems.append((name, "network pod %s is not on network %s (it is on: %s)"
                             % (pod_name, comp["network"], ", ".join(sorted(nets)) or "none")))
        elif net.get("IPAddress") != comp["address"]:
            problems.append((name, "network pod %s has address %s on %s, reserved is %s"
                             % (pod_name, net.get("IPAddress") or "none", comp["network"], comp["address"])))
        if comp.get("gateway"):
            gw = view.default_gateway(pod)
            if gw != comp["gateway"]:
                problems.append((name, "network pod %s routes by default via %s, expected the AS router %s"
                                 % (pod_name, gw or "nothing", comp["gateway"])))
        svc = containers.get(svc_name)
        if svc is None:
            problems.append((name, "container %s does not exist" % svc_name))
            continue
        if not svc["State"].get("Running"):
            problems.append((name, "container %s is %s (exit code %s)"
                             % (svc_name, svc["State"].get("Status"), svc["State"].get("ExitCode"))))
            continue
        mode = svc.get("HostConfig", {}).get("NetworkMode", "")
        if mode != "container:%s" % pod["Id"]:
            problems.append((name, "container %s does not share the network of %s (network_mode %s)"
                             % (svc_name, pod_name, mode)))
            continue
        a, b = view.netns(svc), view.netns(pod)
        if a and b:
            is_stale = a != b
        else:
            is_stale = _parse_time(svc["State"].get("StartedAt")) < _parse_time(pod["State"].get("StartedAt"))
        if is_stale:
            stale.append(svc_name)
            problems.append((name, "container %s runs in an old network namespace of %s" % (svc_name, pod_name)))
    if services:
        by_service = {}
        for cname, c in containers.items():
            svc = (c.get("Config", {}).get("Labels") or {}).get(SERVICE_LABEL)
            if svc:
                by_service.setdefault(svc, []).append(c)
        known = set(n["name"] for n in components) | set(naming.pod_service(n["name"]) for n in components)
        for svc in services:
            if svc in known:
                continue  # already judged above, with a better message
            running = [c for c in by_service.get(svc, []) if c["State"].get("Running")]
            if not running:
                problems.append((svc, "service %s of %s has no running container" % (svc, project)))
    return problems, stale


def wait_healthy(docker, project, components, view, services=None, timeout=120, interval=1.0,
                 restart_stale=True, check_mode=False, clock=time.time, sleep=time.sleep):
    """Poll until the project is healthy or ``timeout`` passes.

    Returns a dict: ok, problems, restarted (stale containers restarted, or that would be in check
    mode), rounds.
    """
    deadline = clock() + timeout
    restarted = []
    rounds = 0
    while True:
        rounds += 1
        containers = project_containers(docker, project)
        problems, stale = check_project(containers, project, components, view, services)
        todo = [s for s in stale if s not in restarted]
        if todo and restart_stale:
            restarted.extend(todo)
            if check_mode:
                problems = [p for p in problems if not any(p[1].startswith("container %s runs" % s) for s in todo)]
            else:
                docker.check(["restart"] + todo)
                continue
        if not problems or clock() >= deadline:
            return {"ok": not problems, "problems": problems, "restarted": restarted, "rounds": rounds}
        sleep(interval)
