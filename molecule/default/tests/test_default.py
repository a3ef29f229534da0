"""What molecule/default must show after converge: the parties really run on the (stand-in) AS networks.

Read the lab from the ghost files prepare wrote; look at the engine with the docker CLI; run the
repository's playbooks as a user would. Later tests change the lab (kill, stop, redeploy) and check
that it converges back, so the order of this file matters.
"""

import json
import os
import re
import subprocess
import sys
import time

import pytest

SCENARIO = os.environ.get("MOLECULE_SCENARIO_DIRECTORY", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPO = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.dirname(os.path.dirname(SCENARIO)))
BUILD = os.path.join(SCENARIO, "build")
DEPLOY = os.path.join(BUILD, "deploy")
FATEBOARD_BASE = 28180


def lab():
    with open(os.path.join(BUILD, "ghost", "GhostNodes.json")) as f:
        ghosts = dict((g["NodeId"], g) for g in json.load(f))
    with open(os.path.join(BUILD, "ghost", "pre_party_list.json")) as f:
        layout = json.load(f)
    parties = []
    for index, (pid, comps) in enumerate(layout["training"].items()):
        party = {"id": pid, "index": index, "projects": {}}
        for cluster, project in (("training", "confs-%s" % pid), ("serving", "serving-%s" % pid)):
            if pid not in layout.get(cluster, {}):
                continue
            placed = {}
            for comp, nodes in layout[cluster][pid].items():
                g = ghosts[nodes[0]]
                addr = g["Interfaces"][0]["Address"]
                placed[comp] = {"address": addr, "gateway": addr.rsplit(".", 1)[0] + ".254"}
            party["projects"][project] = placed
        parties.append(party)
    return parties


LAB = lab() if os.path.exists(os.path.join(BUILD, "ghost", "GhostNodes.json")) else []
PROJECTS = [(p, project, comps) for p in LAB for project, comps in p["projects"].items()]


def sh(*args):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=120)
    return r


def inspect(name):
    r = sh("docker", "inspect", name)
    assert r.returncode == 0, "%s does not exist: %s" % (name, r.stderr)
    return json.loads(r.stdout)[0]


def playbook(name, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), MOLECULE_SCENARIO_DIRECTORY=SCENARIO,
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    cmd = [exe, "-i", os.path.join(SCENARIO, "inventory"), os.path.join(REPO, "playbooks", name)] + list(extra)
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
    return r


def recap_changed(output):
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output.split("PLAY RECAP")[-1]))


def test_the_lab_was_read():
    assert len(LAB) == 3 and all(len(p["projects"]) == 2 for p in LAB)


@pytest.mark.parametrize("party, project, comps", PROJECTS, ids=[x[1] for x in PROJECTS])
def test_bundle_unpacked(party, project, comps):
    root = os.path.join(DEPLOY, project)
    with open(os.path.join(root, ".seedfate-bundle.json")) as f:
        manifest = json.load(f)
    assert "docker-compose.yml" in manifest["files"]
    for rel in manifest["files"]:
        assert os.path.isfile(os.path.join(root, rel)), rel
    assert os.path.isfile(os.path.join(DEPLOY, ".bundles", project + ".tar"))


@pytest.mark.parametrize("party, project, comps", PROJECTS, ids=[x[1] for x in PROJECTS])
def test_every_component_runs_in_its_pod(party, project, comps):
    for comp in comps:
        pod = inspect("%s-%s-pod-1" % (project, comp))
        svc = inspect("%s-%s-1" % (project, comp))
        assert pod["State"]["Running"] and svc["State"]["Running"], comp
        assert svc["HostConfig"]["NetworkMode"] == "container:" + pod["Id"], comp


@pytest.mark.parametrize("party, project, comps", PROJECTS, ids=[x[1] for x in PROJECTS])
def test_pod_address_route_and_hosts(party, project, comps):
    for comp, place in comps.items():
        pod = "%s-%s-pod-1" % (project, comp)
        addrs = sh("docker", "exec", pod, "ip", "-4", "-o", "addr", "show").stdout
        assert " %s/24 " % place["address"] in addrs, (comp, addrs)
        route = sh("docker", "exec", pod, "ip", "-4", "route", "show", "default").stdout
        assert route.split()[:3] == ["default", "via", place["gateway"]], (comp, route)
        # The FATE container shares the pod's /etc/hosts: component names resolve to reserved addresses.
        hosts = sh("docker", "exec", "%s-%s-1" % (project, comp), "cat", "/etc/hosts").stdout
        for other, oplace in comps.items():
            assert re.search(r"^%s\s+%s\s*$" % (re.escape(oplace["address"]), re.escape(other)), hosts, re.M), \
                (comp, other, hosts)


def test_published_ports_bind_localhost_only():
    published = []
    for party, project, comps in PROJECTS:
        for comp in comps:
            for name in ("%s-%s-pod-1" % (project, comp), "%s-%s-1" % (project, comp)):
                for port, binds in (inspect(name)["HostConfig"]["PortBindings"] or {}).items():
                    for b in binds:
                        published.append((name, port, b["HostIp"], b["HostPort"]))
    assert published, "fateboard should be published"
    assert all(ip == "127.0.0.1" for _n, _p, ip, _hp in published), published
    fateboards = sorted(int(hp) for n, p, ip, hp in published if "fateboard-pod" in n)
    assert fateboards == [FATEBOARD_BASE + p["index"] for p in LAB]


def test_cross_as_traffic_goes_through_the_router():
    a, b = LAB[0], LAB[1]
    src = "confs-%s-proxy-pod-1" % a["id"]
    dst = b["projects"]["confs-%s" % b["id"]]["proxy"]["address"]
    r = sh("docker", "exec", src, "ping", "-c", "1", "-W", "2", "-t", "1", dst)
    # With TTL 1 the router (the only path between the AS networks) answers "Time to live exceeded".
    assert "exceeded" in r.stdout.lower() or "exceeded" in r.stderr.lower(), r.stdout + r.stderr
    r = sh("docker", "exec", src, "nc", "-z", "-w", "3", dst, "9370")
    assert r.returncode == 0


def test_exchange_runs_in_its_pod_published_on_localhost():
    pod, svc = inspect("confs-exchange-exchange-pod-1"), inspect("confs-exchange-exchange-1")
    assert pod["State"]["Running"] and svc["State"]["Running"]
    assert svc["HostConfig"]["NetworkMode"] == "container:" + pod["Id"]
    assert pod["NetworkSettings"]["Networks"]["sftest-mol_net_180_net0"]["IPAddress"] == "10.180.0.90"
    binds = [b for bs in pod["HostConfig"]["PortBindings"].values() for b in bs]
    assert binds == [{"HostIp": "127.0.0.1", "HostPort": "29371"}], binds
    # The first party (20000) is the exchange's host (the first party): its bundle was shipped there.
    assert os.path.isfile(os.path.join(DEPLOY, ".bundles", "confs-exchange.tar"))


def test_verify_play_passes():
    r = playbook("verify.yml")
    assert r.returncode == 0, r.stdout[-3000:]
    assert recap_changed(r.stdout) == 0


def test_second_deploy_changes_nothing_and_restarts_nothing():
    names = ["%s-%s%s-1" % (project, comp, suffix) for _p, project, comps in PROJECTS for comp in comps
             for suffix in ("", "-pod")]
    before = dict((n, inspect(n)["State"]["StartedAt"]) for n in names)
    r = playbook("deploy.yml")
    assert r.returncode == 0, r.stdout[-3000:]
    assert recap_changed(r.stdout) == 0, r.stdout[-3000:]
    assert dict((n, inspect(n)["State"]["StartedAt"]) for n in names) == before
    # Every project runs as stamped by the converge: unpack, compose and the waits are not even loaded.
    assert "TASK [seed.fate.fate_deploy : Find the projects that run exactly as they were deployed]" in r.stdout
    for title in ("Unpack the bundles, keeping persistent data", "Start the projects with compose",
                  "Wait until every pod holds its address and route and every container runs"):
        assert "TASK [seed.fate.fate_deploy : %s]" % title not in r.stdout, r.stdout[-3000:]


def test_check_mode_reports_no_change():
    r = playbook("deploy.yml", "--check")
    assert r.returncode == 0, r.stdout[-3000:]
    assert recap_changed(r.stdout) == 0, r.stdout[-3000:]


def test_verify_names_an_unreachable_party_then_deploy_converges():
    victim = LAB[-1]
    sh("docker", "stop", "-t", "1", "confs-%s-proxy-1" % victim["id"])
    start = time.monotonic()
    r = playbook("verify.yml", "-e", "fate_verify_reachability_timeout=5")
    took = time.monotonic() - start
    assert r.returncode != 0
    # Its pod still answers, nothing listens: refused, named by every other party, within the deadline.
    assert "party %s proxy" % victim["id"] in r.stdout, r.stdout[-3000:]
    assert "connection refused" in r.stdout, r.stdout[-3000:]
    assert took < 60, took
    r = playbook("deploy.yml")
    assert r.returncode == 0 and recap_changed(r.stdout) > 0, r.stdout[-3000:]
    assert playbook("verify.yml").returncode == 0


def test_killed_pod_converges_and_its_component_rejoins():
    party = LAB[0]
    project = "confs-%s" % party["id"]
    sh("docker", "kill", "%s-python-pod-1" % project)
    r = playbook("deploy.yml", "--limit", "party-%s" % party["id"])
    assert r.returncode == 0 and recap_changed(r.stdout) > 0, r.stdout[-3000:]
    # The component was restarted into the new namespace: it has the pod's address again.
    route = sh("docker", "exec", "%s-python-1" % project, "cat", "/proc/net/route").stdout
    assert len(route.strip().splitlines()) > 1, route


def test_data_survives_a_redeploy():
    party = LAB[1]
    root = os.path.join(DEPLOY, "confs-%s" % party["id"])
    markers = [os.path.join(root, "confs", "mysql", "data", "sftest-marker"),
               os.path.join(root, "shared_dir", "examples", "sftest-marker"),
               os.path.join(DEPLOY, "serving-%s" % party["id"], "confs", "redis", "data", "sftest-marker")]
    for m in markers:
        os.makedirs(os.path.dirname(m), exist_ok=True)
        with open(m, "w") as f:
            f.write("kept\n")
    r = playbook("teardown.yml", "--limit", "party-%s" % party["id"])
    assert r.returncode == 0, r.stdout[-3000:]
    assert sh("docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=confs-%s" % party["id"]).stdout == ""
    r = playbook("deploy.yml", "--limit", "party-%s" % party["id"])
    assert r.returncode == 0, r.stdout[-3000:]
    for m in markers:
        with open(m) as f:
            assert f.read() == "kept\n", m
    assert playbook("verify.yml").returncode == 0
