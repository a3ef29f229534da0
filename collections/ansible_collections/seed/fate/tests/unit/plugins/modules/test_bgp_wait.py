# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bgp_wait against a fake docker CLI."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.seed.fate.plugins.module_utils.docker_cli import unbounded
from ansible_collections.seed.fate.plugins.modules import bgp_wait

UP = "BIRD 2.0.12 ready.\nName Proto Table State Since Info\np_rs100 BGP --- up 18:07:28 Established\n"
DOWN = "BIRD 2.0.12 ready.\nName Proto Table State Since Info\np_rs100 BGP --- start 18:07:28 Active Socket: No route\n"


@pytest.fixture
def run(monkeypatch, capsys):
    def runner(ps, birdc, **args):
        calls, bounds = [], []
        runner.bounds = bounds

        def fake(self, argv, **kwargs):
            bounds.append(unbounded(argv)[0])
            argv = unbounded(argv)[1]
            calls.append(argv)
            if argv[1] == "ps":
                return 0, ps, ""
            return 0, birdc[argv[2]], ""
        monkeypatch.setattr(AnsibleModule, "run_command", fake)
        monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: "/usr/bin/" + name)
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                bgp_wait.main()
        return json.loads(capsys.readouterr().out), calls
    return runner


PS = "r150\trunning\tBorderRouter\nh150\trunning\tHost\nrs\trunning\tRoute Server\n"


def test_all_established(run):
    r, calls = run(PS, {"r150": UP, "rs": UP}, project="lab", timeout=5)
    assert not r["changed"] and r["containers"] == ["r150", "rs"] and len(r["sessions"]) == 2
    assert r["not_established"] == []
    assert not any(c[1] == "exec" and c[2] == "h150" for c in calls)


def test_timeout_names_the_sessions(run):
    r, _calls = run(PS, {"r150": UP, "rs": DOWN}, project="lab", timeout=0)
    assert r["failed"] and "rs/p_rs100 (start Active Socket: No route)" in r["msg"]
    assert "r150" not in r["msg"]


def test_stopped_router_fails_at_once(run):
    r, calls = run("r150\texited\tBorderRouter\n", {}, project="lab", timeout=100)
    assert r["failed"] and "r150 (container is exited)" in r["msg"]
    assert not any(c[1] == "exec" for c in calls)


def test_empty_project_fails(run):
    r, _calls = run("", {}, project="lab")
    assert r["failed"] and "lab" in r["msg"] and "is it up" in r["msg"]


def test_explicit_containers_without_project(run):
    r, calls = run("", {"x": UP}, containers=["x"], timeout=0)
    assert not r.get("failed") and r["containers"] == ["x"]
    assert not any(c[1] == "ps" for c in calls)


# --- Convergence: the routes, not only the sessions (issue 12 item 4) ---

ROUTES_FULL = ("default via 10.241.0.1 dev eth0\n10.241.0.0/24 dev net0 proto kernel scope link src 10.241.0.254\n"
               "10.243.0.0/24 via 10.124.0.240 dev ix124 proto bird metric 32\n")
ROUTES_LOCAL = "10.243.0.0/24 dev net0 proto kernel scope link src 10.243.0.254\n"


@pytest.fixture
def routed(monkeypatch, capsys):
    """A fake docker with seedemu's labels: ps answers per --format, exec birdc / ip route per container."""
    def runner(tables, **args):
        calls, bounds = [], []
        runner.bounds = bounds
        speakers = "r241\trunning\tBorderRouter\nr243\trunning\tBorderRouter\nrs\trunning\tRoute Server\n"
        routers = "r241\tBorderRouter\t241\nr243\tBorderRouter\t243\nrs\tRoute Server\t124\nh241\tHost\t241\n"

        def fake(self, argv, **kwargs):
            bounds.append(unbounded(argv)[0])
            argv = unbounded(argv)[1]
            calls.append(argv)
            if argv[1] == "ps":
                return 0, (routers if "meta.asn" in argv[-1] else speakers), ""
            if argv[3] == "ip":
                return 0, tables[argv[2]], ""
            return 0, UP, ""
        monkeypatch.setattr(AnsibleModule, "run_command", fake)
        monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: "/usr/bin/" + name)
        monkeypatch.setattr("time.sleep", lambda s: None)
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                bgp_wait.main()
        return json.loads(capsys.readouterr().out), calls
    return runner


def test_routes_converged(routed):
    routes = {"r241": ROUTES_FULL, "r243": "10.241.0.0/24 via 10.125.0.240 dev ix125\n" + ROUTES_LOCAL}
    r, calls = routed(routes, project="lab", routes=["10.241.0.0/24", "10.243.0.0/24"], route_asns=[241, 243])
    assert not r.get("failed"), r
    assert r["route_targets"] == ["r241", "r243"] and r["missing_routes"] == []
    # Route servers forward nothing: their tables are not asked.
    assert not any(c[1] == "exec" and c[2] == "rs" and c[3] == "ip" for c in calls)


def test_missing_routes_are_named_per_router(routed):
    routes = {"r241": ROUTES_FULL, "r243": ROUTES_LOCAL}
    r, _calls = routed(routes, project="lab", routes=["10.241.0.0/24", "10.243.0.0/24"], route_asns=[241, 243],
                       route_timeout=0, timeout=60)
    assert r["failed"]
    assert "routes did not converge" in r["msg"] and "r243 lacks 10.241.0.0/24" in r["msg"]
    assert "r241" not in r["msg"]
    assert r["missing_routes"] == [{"container": "r243", "missing": ["10.241.0.0/24"]}]
    assert r["not_established"] == []


def test_route_asns_without_a_router_fail_at_once(routed):
    r, calls = routed({}, project="lab", routes=["10.241.0.0/24"], route_asns=[241, 250])
    assert r["failed"] and "no router in AS250" in r["msg"]
    assert not any(c[1] == "exec" for c in calls)


def test_bad_route_prefix_is_refused(routed):
    r, _calls = routed({}, project="lab", routes=["10.241.0.0/33"])
    assert r["failed"] and r["msg"].startswith("routes: ")


def test_no_routes_means_sessions_only(routed):
    r, calls = routed({}, project="lab")
    assert not r.get("failed") and r["route_targets"] == []
    assert not any(c[1] == "exec" and c[3] == "ip" for c in calls)


def test_every_birdc_and_route_poll_is_bounded(routed):
    r, calls = routed({"r241": ROUTES_FULL, "r243": ROUTES_FULL}, project="lab", routes=["10.243.0.0/24"],
                      route_asns=[241], timeout=5)
    assert not r.get("failed")
    execs = [b for b, c in zip(routed.bounds, calls) if c[1] == "exec"]
    assert execs and all(b == 15 for b in execs)


# --- Several engines (the swarm target): each host's routers asked through its own engine ---

def test_engines_each_through_its_own_host(monkeypatch, capsys):
    calls = []
    ps = {"unix:///a.sock": "r150\trunning\tBorderRouter\t150\nrs\trunning\tRoute Server\t100\n",
          "unix:///b.sock": "r151\trunning\tBorderRouter\t151\n"}
    owner = {"r150": "unix:///a.sock", "rs": "unix:///a.sock", "r151": "unix:///b.sock"}

    def fake(self, argv, **kwargs):
        argv = unbounded(argv)[1]
        calls.append(argv)
        assert argv[1] == "-H", argv
        host, rest = argv[2], argv[3:]
        if rest[0] == "ps":
            assert "label=com.docker.compose.project=%s" % ("lab-a" if host.endswith("a.sock") else "lab-b") in rest
            rows = [line.split("\t") for line in ps[host].splitlines()]
            if "{{.State}}" in rest[-1]:  # speakers: name, state, role
                return 0, "".join("%s\t%s\t%s\n" % (n, s, role) for n, s, role, _asn in rows), ""
            return 0, "".join("%s\t%s\t%s\n" % (n, role, asn) for n, _s, role, asn in rows), ""
        assert owner[rest[1]] == host, "%s asked through %s" % (rest[1], host)
        if rest[2] == "ip":
            return 0, "10.151.0.0/24 via 10.100.0.151 dev ix100\n10.150.0.0/24 dev net0\n", ""
        return 0, UP, ""
    monkeypatch.setattr(AnsibleModule, "run_command", fake)
    monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: "/usr/bin/" + name)
    engines = [{"docker_host": "unix:///a.sock", "project": "lab-a"}, {"docker_host": "unix:///b.sock", "project": "lab-b"}]
    with patch_module_args({"engines": engines, "timeout": 5, "routes": ["10.151.0.0/24"], "route_asns": [150]}):
        with pytest.raises(SystemExit):
            bgp_wait.main()
    r = json.loads(capsys.readouterr().out)
    assert not r.get("failed"), r
    assert sorted(r["containers"]) == ["r150", "r151", "rs"] and len(r["sessions"]) == 3
    assert r["route_targets"] == ["r150"]
    assert any(c[3:5] == ["exec", "r151"] for c in calls)
