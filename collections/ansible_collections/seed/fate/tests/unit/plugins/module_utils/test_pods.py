# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health of network pods, from docker inspect data (no engine needed)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.seed.fate.plugins.module_utils import pods as P
from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DockerCli

NET = "seedfate_net_152_net0"
COMP = [{"name": "proxy", "address": "10.152.0.72", "network": NET, "gateway": "10.152.0.254"}]


def container(name, cid, running=True, ip=None, mode="default", started="2024-01-01T00:00:01.5Z", service=None,
              pid=100):
    return {
        "Id": cid, "Name": "/" + name,
        "State": {"Running": running, "Status": "running" if running else "exited", "ExitCode": 0 if running else 137,
                  "Pid": pid if running else 0, "StartedAt": started},
        "NetworkSettings": {"Networks": {NET: {"IPAddress": ip}} if ip else {}},
        "HostConfig": {"NetworkMode": mode},
        "Config": {"Labels": {"com.docker.compose.service": service or name.split("-", 2)[-1][:-2]}},
    }


class View(object):
    def __init__(self, gw="10.152.0.254", ns=None):
        self.gw, self.ns = gw, ns or {}

    def default_gateway(self, c):
        return self.gw

    def netns(self, c):
        return self.ns.get(c["Id"])


def healthy():
    return {
        "confs-9999-proxy-pod-1": container("confs-9999-proxy-pod-1", "pod1", ip="10.152.0.72", service="proxy-pod"),
        "confs-9999-proxy-1": container("confs-9999-proxy-1", "svc1", mode="container:pod1", service="proxy",
                                        started="2024-01-01T00:00:02Z"),
    }


def test_healthy_project_has_no_problem():
    assert P.check_project(healthy(), "confs-9999", COMP, View(), ["proxy", "proxy-pod"]) == ([], [])


def test_wrong_address_wrong_route_and_stopped_container_are_named():
    c = healthy()
    c["confs-9999-proxy-pod-1"]["NetworkSettings"]["Networks"][NET]["IPAddress"] = "10.152.0.2"
    c["confs-9999-proxy-1"]["State"].update(Running=False, Status="exited", ExitCode=1)
    problems, stale = P.check_project(c, "confs-9999", COMP, View(gw="10.152.0.1"))
    text = "\n".join(t for _c, t in problems)
    assert "has address 10.152.0.2 on %s, reserved is 10.152.0.72" % NET in text
    assert "via 10.152.0.1, expected the AS router 10.152.0.254" in text
    assert "confs-9999-proxy-1 is exited (exit code 1)" in text
    assert all(comp == "proxy" for comp, _t in problems) and stale == []


def test_missing_pod_and_other_network():
    c = healthy()
    c["confs-9999-proxy-pod-1"]["NetworkSettings"]["Networks"] = {"bridge": {"IPAddress": "172.17.0.2"}}
    problems, _stale = P.check_project(c, "confs-9999", COMP, View())
    assert "is not on network %s (it is on: bridge)" % NET in problems[0][1]
    problems, _stale = P.check_project({}, "confs-9999", COMP, View())
    assert problems == [("proxy", "network pod confs-9999-proxy-pod-1 does not exist")]


def test_stale_namespace_by_netns_and_by_start_time():
    c = healthy()
    _p, stale = P.check_project(c, "confs-9999", COMP, View(ns={"pod1": "net:[1]", "svc1": "net:[2]"}))
    assert stale == ["confs-9999-proxy-1"]
    # Without /proc access: the pod started after the container it carries.
    c["confs-9999-proxy-pod-1"]["State"]["StartedAt"] = "2024-01-01T00:00:02.000000001Z"
    _p, stale = P.check_project(c, "confs-9999", COMP, View())
    assert stale == ["confs-9999-proxy-1"]


def test_other_services_must_run():
    c = healthy()
    c["confs-exchange-exchange-1"] = container("confs-exchange-exchange-1", "x", running=False, service="exchange")
    problems, _stale = P.check_project(c, "confs-9999", COMP, View(), ["proxy", "proxy-pod", "exchange", "redis"])
    assert [p[0] for p in problems] == ["exchange", "redis"]


def test_route_parsers():
    table = ("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
             "eth0\t00000000\tFE9813AC\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
             "eth0\t009813AC\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n")
    assert P.parse_route_table(table) == "172.19.152.254"
    assert P.parse_route_table(table.splitlines()[0]) is None
    assert P.parse_ip_route("default via 10.152.0.254 dev eth0 \n") == "10.152.0.254"


class FakeDocker(object):
    """docker ps / inspect / restart over a mutable container dict."""

    def __init__(self, containers):
        self.containers = containers
        self.calls = []

    def __call__(self, args):
        self.calls.append(args)
        if args[1] == "ps":
            return 0, "\n".join(c["Id"] for c in self.containers.values()), ""
        if args[1] == "inspect":
            return 0, json.dumps([c for c in self.containers.values() if c["Id"] in args[2:]]), ""
        if args[1] == "restart":
            for name in args[2:]:
                self.containers[name]["State"]["StartedAt"] = "2024-01-01T00:00:09Z"
            return 0, "", ""
        return 1, "", "unexpected"


def test_wait_restarts_stale_container_once_then_reports_healthy():
    c = healthy()
    c["confs-9999-proxy-pod-1"]["State"]["StartedAt"] = "2024-01-01T00:00:05Z"
    docker = FakeDocker(c)
    r = P.wait_healthy(DockerCli(docker), "confs-9999", COMP, View(), timeout=5, sleep=lambda s: None)
    assert r["ok"] and r["restarted"] == ["confs-9999-proxy-1"]
    assert ["docker", "restart", "confs-9999-proxy-1"] in docker.calls


def test_wait_check_mode_restarts_nothing():
    c = healthy()
    c["confs-9999-proxy-pod-1"]["State"]["StartedAt"] = "2024-01-01T00:00:05Z"
    docker = FakeDocker(c)
    r = P.wait_healthy(DockerCli(docker), "confs-9999", COMP, View(), timeout=0, check_mode=True)
    assert r["restarted"] == ["confs-9999-proxy-1"] and r["ok"]
    assert not [a for a in docker.calls if a[1] == "restart"]


def test_wait_times_out_with_problems():
    now = [0.0]

    def clock():
        return now[0]

    def sleep(s):
        now[0] += s

    r = P.wait_healthy(DockerCli(FakeDocker({})), "confs-9999", COMP, View(), timeout=3, interval=1,
                       clock=clock, sleep=sleep)
    assert not r["ok"] and r["rounds"] == 4
    assert r["problems"][0][0] == "proxy"


def _proc_with_routes(tmp_path, pid, gateway_hex):
    """A fake /proc holding <pid>/net/route (default via gateway_hex) and <pid>/ns/net."""
    net = tmp_path / str(pid) / "net"
    net.mkdir(parents=True)
    (net / "route").write_text("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
                               "eth0\t00000000\t%s\t0003\t0\t0\t0\t00000000\n" % gateway_hex)
    (tmp_path / str(pid) / "ns").mkdir()
    (tmp_path / str(pid) / "ns" / "net").symlink_to("net:[4026531999]")
    return str(tmp_path)


class ExecDocker(object):
    """Answers `docker exec <c> ip -4 route show default` with a fixed gateway; records the calls."""

    def __init__(self, gateway):
        self.gateway, self.calls = gateway, []

    def __call__(self, args):
        self.calls.append(args)
        if args[1] == "exec":
            return 0, "default via %s dev eth0 \n" % self.gateway, ""
        return 1, "", "unexpected"


def test_host_view_reads_proc_only_for_a_local_engine(tmp_path):
    # /proc says 10.152.0.254 (FE00980A little-endian); docker exec says 10.9.9.9: which one answered shows the path.
    proc = _proc_with_routes(tmp_path, 100, "FE00980A")
    pod = healthy()["confs-9999-proxy-pod-1"]
    local_docker = ExecDocker("10.9.9.9")
    local = P.HostView(DockerCli(local_docker), proc=proc)
    assert local.default_gateway(pod) == "10.152.0.254"
    assert local.netns(pod) == "net:[4026531999]"
    assert local_docker.calls == []
    remote_docker = ExecDocker("10.9.9.9")
    remote = P.HostView(DockerCli(remote_docker), proc=proc, local=False)
    assert remote.default_gateway(pod) == "10.9.9.9"
    assert remote.netns(pod) is None
    assert remote_docker.calls == [["docker", "exec", "confs-9999-proxy-pod-1", "ip", "-4", "route", "show", "default"]]
