"""Each FATE party on its own Docker host: ``seedfate_target: swarm`` (issue 14, the party side).

Three Docker hosts on this machine (tests/multihost/swarmlab.py, harness ``swpty``), one AS and one FATE 1.3.0
party per host (ASes 253-255, parties 25300, 25299, 25298), the FATE *stand-ins* (seedfate-standin/*, not FATE).
The test stands in for the network stage: on each host the AS's network is a bridge named as the lab names it
(``swpty_net_<asn>_net0``, 10.<asn>.0.0/24) with a router container at .254, and the three routers meet on an
attachable overlay ``swpty_net_ix_ix141`` (10.141.0.0/24) with static routes to the other ASes, so that a party's
traffic to another really crosses hosts (VXLAN).

Then the playbooks users run, with the inventory a user with three machines writes (docker_hosts + placement):
config, deploy, verify; each party's containers are on its own host only, nothing on the machine's engine; an
unchanged rerun changes nothing; host 3's daemon stopped and started again, a rerun of deploy converges with the
party's bundle manifest and data unchanged; teardown (purge) leaves the hosts clean. The harness goes down in a
finalizer. Not in ``make test``: ``make swarm-tier``.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "multihost"))
import swarmlab  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = [pytest.mark.docker, pytest.mark.swarm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
NAME = "swpty"
SUBNET = "192.168.252.0/24"
PROJECT = "swpty"
ASNS = (253, 254, 255)
FIRST_PARTY = 25300
PARTIES = tuple(FIRST_PARTY - i for i in range(len(ASNS)))
IX = 141
IX_NET = "%s_net_ix_ix%d" % (PROJECT, IX)
NODE_IMAGE = "seedfate/seedemu-node:bookworm"
BUILD = REPO / "build" / "swarm-parties"
DEPLOY = BUILD / "deploy"
FIGURES = {}


def as_net(asn):
    return "%s_net_%d_net0" % (PROJECT, asn)


def router(asn):
    return "%s-router-%d" % (PROJECT, asn)


def ix_address(asn):
    """The router's address on the IX overlay (10.141.0.255 would be the broadcast address)."""
    return "10.%d.0.%d" % (IX, asn - 240)


def standin_images():
    out = subprocess.run(["docker", "-H", swarmlab.MACHINE_ENGINE, "images", "--format", "{{.Repository}}:{{.Tag}}",
                          "seedfate-standin/*"], capture_output=True, text=True, check=True).stdout.split()
    return sorted(i for i in out if not i.startswith("seedfate-standin/base:"))


def stand_in_for_the_network(lab):
    """Per host: the AS bridge and its router; the IX overlay joining the routers, with static routes."""
    lab.docker(1, "network", "create", "-d", "overlay", "--attachable", "--subnet", "10.%d.0.0/24" % IX, IX_NET)
    for i, asn in enumerate(ASNS, start=1):
        lab.docker(i, "network", "create", "-d", "bridge", "--subnet", "10.%d.0.0/24" % asn, as_net(asn))
        routes = "; ".join("until ip route replace 10.%d.0.0/24 via %s 2>/dev/null; do sleep 0.3; done"
                           % (other, ix_address(other)) for other in ASNS if other != asn)
        lab.docker(i, "run", "-d", "--init", "--restart", "always", "--name", router(asn), "--cap-add", "NET_ADMIN",
                   "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "net.ipv4.conf.all.rp_filter=0",
                   "--network", as_net(asn), "--ip", "10.%d.0.254" % asn, NODE_IMAGE,
                   "sh", "-c", routes + "; exec sleep infinity")
        lab.docker(i, "network", "connect", "--ip", ix_address(asn), IX_NET, router(asn))


def write_inventory(lab):
    """The inventory of a three-machine lab, as docs/multihost.md shows it (here every host is this machine)."""
    inv = BUILD / "inventory"
    (inv / "group_vars").mkdir(parents=True, exist_ok=True)
    hosts = {"docker_hosts": {"hosts": {}}}
    for node in lab.nodes():
        hosts["docker_hosts"]["hosts"][node["hostname"]] = {
            "ansible_connection": "local", "seedfate_docker_host": node["docker_host"],
            "seedfate_swarm_role": "manager" if node["index"] == 1 else "worker", "seedfate_swarm_addr": node["addr"]}
    (inv / "00-hosts.yml").write_text(json.dumps(hosts, indent=2) + "\n")
    all_vars = {
        "seedfate_target": "swarm",
        "seedfate_placement": {"ix": lab.node(1)["hostname"],
                               "ases": dict((str(asn), lab.node(i)["hostname"]) for i, asn in enumerate(ASNS, 1)),
                               "parties": {}},
        "seedfate_build_dir": str(BUILD),
        "seedfate_deploy_dir": str(DEPLOY),
        "ansible_python_interpreter": sys.executable,
        "fate_version": "1.3.0",
        "fate_config_holder_image": NODE_IMAGE,
        "fate_deploy_health_timeout": 120,
    }
    (inv / "group_vars" / "all.yml").write_text(json.dumps(all_vars, indent=2) + "\n")
    (inv / "lab.seedfate.yml").write_text("plugin: seed.fate.ghost_nodes\nghost_dir: ../ghost\n")
    return inv


def playbook(inv, *names, extra=()):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env.pop("DOCKER_HOST", None)
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inv),
            "-e", "@" + str(REPO / "playbooks" / "vars" / "fate-standins.yml")] + list(extra)
    argv += [str(REPO / "playbooks" / n) for n in names]
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=str(REPO), env=env, capture_output=True, text=True, timeout=1500)
    return proc, time.monotonic() - start


def recap(out):
    """{host: changed count} of the last PLAY RECAP in ``out``."""
    tail = out[out.rindex("PLAY RECAP"):]
    return dict((m.group(1), int(m.group(2))) for m in re.finditer(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", tail, re.M))


def projects_on(lab_or_none, i, party):
    """Containers of party ``party``'s compose projects on host i (0: the machine's engine)."""
    host = swarmlab.MACHINE_ENGINE if i == 0 else lab_or_none.node(i)["docker_host"]
    names = []
    for project in ("confs-%d" % party, "serving-%d" % party):
        names += subprocess.run(["docker", "-H", host, "ps", "-a", "--format", "{{.Names}}", "--filter",
                                 "label=com.docker.compose.project=%s" % project],
                                capture_output=True, text=True, check=True).stdout.split()
    return sorted(names)


def tree_digest(folder):
    """sha256 over every file's relative path and content under ``folder``."""
    h = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


@pytest.fixture(scope="module")
def lab(request):
    lab = swarmlab.Lab(NAME, 3, subnet=SUBNET)
    request.addfinalizer(lab.down)
    lab.down()  # whatever an interrupted run left
    subprocess.run(["rm", "-rf", str(BUILD)], check=True)
    start = time.monotonic()
    times = lab.up([])
    t = time.monotonic()
    lab.copy_images([NODE_IMAGE] + standin_images())
    FIGURES["images_copied_s"] = time.monotonic() - t
    stand_in_for_the_network(lab)
    FIGURES["harness_up_s"] = time.monotonic() - start
    FIGURES.update({"harness_%s_s" % k: v for k, v in times.items() if k != "images_copied"})
    subprocess.run([sys.executable, str(REPO / "tests" / "fixtures" / "make_lab.py"), str(BUILD / "ghost"),
                    "--parties", str(len(ASNS)), "--asn-base", str(ASNS[0]), "--first-party", str(FIRST_PARTY),
                    "--project", PROJECT], check=True)
    lab.inventory = write_inventory(lab)
    return lab


def test_routers_reach_each_other_across_hosts(lab):  # pylint: disable=redefined-outer-name
    for i, asn in enumerate(ASNS, start=1):
        for other in ASNS:
            if other != asn:
                proc = lab.docker(i, "exec", router(asn), "ping", "-c", "1", "-W", "2", "10.%d.0.254" % other,
                                  check=False)
                assert proc.returncode == 0, proc.stdout + proc.stderr


def test_deploy_puts_each_party_on_its_own_host(lab):  # pylint: disable=redefined-outer-name
    before_machine = [projects_on(None, 0, p) for p in PARTIES]
    proc, took = playbook(lab.inventory, "config.yml", "deploy.yml", "verify.yml")
    FIGURES["config_deploy_verify_s"] = took
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    for i, party in enumerate(PARTIES, start=1):
        on_own = projects_on(lab, i, party)
        assert len(on_own) >= 20, (party, on_own)           # 12 components (training + serving) and their pods
        for j in (1, 2, 3):
            if j != i:
                assert projects_on(lab, j, party) == [], (party, j)
    # Nothing of the parties on the machine's own engine.
    assert [projects_on(None, 0, p) for p in PARTIES] == before_machine == [[], [], []]
    # verify probed every other party's proxy and serving-proxy across the hosts.
    assert "Probe the other parties across the emulated network" in proc.stdout
    FIGURES["memory_mib_with_one_party_per_host"] = {n["hostname"]: lab.memory(n["index"]) for n in lab.nodes()}


def test_component_hosts_reach_their_engine(lab):  # pylint: disable=redefined-outer-name
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env.pop("DOCKER_HOST", None)
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible"), "-i", str(lab.inventory),
                           "hnode_255_proxy", "-m", "ansible.builtin.raw", "-a", "hostname"],
                          cwd=str(REPO), env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "CHANGED" in proc.stdout or "SUCCESS" in proc.stdout, proc.stdout


def test_rerun_changes_nothing(lab):  # pylint: disable=redefined-outer-name
    proc, took = playbook(lab.inventory, "deploy.yml", "verify.yml")
    FIGURES["rerun_deploy_verify_s"] = took
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    changed = recap(proc.stdout)
    assert changed and not any(changed.values()), changed


def test_host_stopped_and_back_converges_with_data_kept(lab):  # pylint: disable=redefined-outer-name
    party = PARTIES[2]
    project = DEPLOY / ("confs-%d" % party)
    manifest = project / ".seedfate-bundle.json"
    marker_dirs = [d for d in (project / "confs" / "mysql" / "data", project / "shared_dir", project / "confs" /
                               "redis" / "data") if d.is_dir()]
    assert marker_dirs, sorted(str(p) for p in project.iterdir())
    for d in marker_dirs:
        (d / "swpty-marker").write_text("kept %s\n" % d.name)
    before = {"manifest": manifest.read_bytes(), "data": [tree_digest(d) for d in marker_dirs]}
    host3 = lab.node(3)["hostname"]
    assert lab.stop_node(3)
    FIGURES["host3_marked_down_s"] = _wait(lambda: lab.swarm_nodes()[host3][0] == "down", 90)
    assert lab.start_node(3)
    FIGURES["host3_ready_s"] = _wait(lambda: lab.swarm_nodes()[host3][0] == "ready", 90)
    proc, took = playbook(lab.inventory, "deploy.yml")
    FIGURES["deploy_after_host3_back_s"] = took
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert manifest.read_bytes() == before["manifest"]
    assert [tree_digest(d) for d in marker_dirs] == before["data"]
    for d in marker_dirs:
        assert (d / "swpty-marker").read_text() == "kept %s\n" % d.name
    # The lab works again across the hosts, and the next run changes nothing.
    proc, _took = playbook(lab.inventory, "verify.yml")
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    proc, _took = playbook(lab.inventory, "deploy.yml")
    assert proc.returncode == 0 and not any(recap(proc.stdout).values()), proc.stdout[-4000:]


def test_teardown_leaves_the_hosts_clean(lab):  # pylint: disable=redefined-outer-name
    proc, took = playbook(lab.inventory, "teardown.yml", extra=["-e", "purge=true"])
    FIGURES["teardown_s"] = took
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    for i in (1, 2, 3):
        left = lab.docker(i, "ps", "-a", "--format", "{{.Names}}").stdout.split()
        assert left == [router(ASNS[i - 1])], (i, left)
        volumes = lab.docker(i, "volume", "ls", "-q").stdout.split()
        assert volumes == [], (i, volumes)
    assert not DEPLOY.exists()
    figures = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in FIGURES.items()}
    swarmlab.STATE_DIR.mkdir(parents=True, exist_ok=True)
    (swarmlab.STATE_DIR / ("figures-%s.json" % NAME)).write_text(json.dumps(figures, indent=2) + "\n")
    print("\nswarm parties figures: " + json.dumps(figures, indent=2))


def _wait(probe, timeout, step=0.5):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if probe():
            return time.monotonic() - start
        time.sleep(step)
    pytest.fail("not within %ds" % timeout)
