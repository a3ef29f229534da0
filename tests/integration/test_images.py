"""Role seed.fate.images through the real ansible-playbook CLI against the real Docker engine.

Builds (or finds up to date) the emulator node image and the FATE stand-ins, checks their labels,
that a second run changes nothing, and that containers from them work: the node image has bird and
iproute2, every stand-in answers on each of its ports inside a test network.

Cold (no image yet): about 2.5 minutes on 2 cores (node image ~1.5 min, stand-in base ~40 s). Warm: the
two playbook runs take about 12 s each.
"""

import json
import os
import re
import subprocess
import time
import uuid

import pytest

from ansible_collections.seed.fate.plugins.module_utils import seedemu_build

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(REPO, "playbooks", "images.yml")
ANSIBLE_PLAYBOOK = os.path.join(REPO, ".venv", "bin", "ansible-playbook")
NODE = "seedfate/seedemu-node:bookworm"
STANDINS = {
    "federation": ("1.3.0-release", [9394]),
    "proxy": ("1.3.0-release", [9370]),
    "fateboard": ("1.3.0-release", [8080]),
    "roll": ("1.3.0-release", [8011]),
    "egg": ("1.3.0-release", [7888, 7778]),
    "python": ("1.3.0-release", [9360, 9380]),
    "meta-service": ("1.3.0-release", [8590]),
    "serving-server": ("1.2.2-release", [8000]),
    "serving-proxy": ("1.2.2-release", [8059, 8869, 8879]),
    "mysql": ("8.0.28", [3306]),
    "redis": ("5.0.14", [6379]),
}
# seedemu's base software and bird2, then what its real-world routers and common services ask for, carried
# so that no node needs apt-get: the role's default (lookup seed.fate.node_software), in label order.
NODE_SOFTWARE = list(seedemu_build.NODE_SOFTWARE)

pytestmark = [pytest.mark.docker]


def standin(component):
    return "seedfate-standin/%s:%s" % (component, STANDINS[component][0])


def docker(*args, check=True, timeout=120):
    proc = subprocess.run(["docker"] + list(args), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode:
        raise AssertionError("docker %s failed: %s" % (" ".join(args), proc.stderr))
    return proc


def playbook(*extra):
    ansible = ANSIBLE_PLAYBOOK if os.path.exists(ANSIBLE_PLAYBOOK) else "ansible-playbook"
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run([ansible, PLAYBOOK, "-e", "images_build_standins=true"] + list(extra), cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout)
    assert recap, proc.stdout[-2000:]
    return {"ok": int(recap.group(1)), "changed": int(recap.group(2)), "failed": int(recap.group(4)),
            "stdout": proc.stdout}


def labels(image):
    return json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", image).stdout)


@pytest.fixture(scope="module")
def built():
    """Run the playbook twice: the first builds what is missing, the second must change nothing."""
    first = playbook()
    second = playbook()
    return first, second


def test_second_run_changes_nothing(built):
    _first, second = built
    assert second["failed"] == 0
    assert second["changed"] == 0, second["stdout"][-3000:]


def test_check_mode_reports_nothing_to_do(built):
    assert playbook("--check")["changed"] == 0


def test_images_exist_with_labels(built):
    node = labels(NODE)
    assert re.match(r"^[0-9a-f]{64}$", node["seed.fate/recipe-hash"])
    assert node["seed.fate/software"].split(",") == NODE_SOFTWARE
    for component in STANDINS:
        lab = labels(standin(component))
        assert lab["seed.fate/component"] == component
        assert lab["seed.fate/standin"] == "true"
        assert re.match(r"^[0-9a-f]{64}$", lab["seed.fate/recipe-hash"])
        env = docker("image", "inspect", "--format", "{{json .Config.Env}}", standin(component)).stdout
        assert "STANDIN_PORTS=%s" % ",".join(str(p) for p in STANDINS[component][1]) in json.loads(env)


def test_node_image_has_bird_and_iproute2(built):
    out = docker("run", "--rm", "--network", "none", NODE, "sh", "-c", "bird --version 2>&1; ip -V").stdout
    assert "BIRD version 2." in out
    assert "iproute2" in out


def test_node_image_has_what_real_world_routers_and_web_hosts_run(built):
    # seedemu's real-world router runs iptables (nat and mangle); WebService runs `service nginx start`.
    out = docker("run", "--rm", "--network", "none", NODE, "sh", "-c",
                 "iptables -V && command -v service && nginx -v 2>&1 && named -v").stdout
    assert "iptables v1." in out and "/service" in out and "nginx/1." in out and "BIND 9." in out


@pytest.fixture
def lab_network():
    name = "sftest-images-%s" % uuid.uuid4().hex[:8]
    docker("network", "create", "--internal", name)
    containers = []
    yield name, containers
    for container in containers:
        docker("rm", "--force", container, check=False)
    docker("network", "rm", name, check=False)


def test_every_standin_answers_on_its_ports(built, lab_network):
    network, containers = lab_network
    probes = []
    for component, (_tag, ports) in STANDINS.items():
        name = "%s-%s" % (network, component)
        args = ["run", "-d", "--name", name, "--network", network, "--network-alias", component]
        # compose gives redis a command line for the real server; the stand-in must shrug it off.
        cmd = ["redis-server", "--requirepass", "fate_dev"] if component == "redis" else []
        docker(*(args + [standin(component)] + cmd))
        containers.append(name)
        probes.extend("%s:%d" % (component, port) for port in ports)
    # One client container on the same (internal) network probes every component and port.
    script = ("for hp in %s; do h=${hp%%:*}; p=${hp#*:}; i=0; "
              "until r=$(curl -s --max-time 3 http://$h:$p/); do i=$((i+1)); [ $i -gt 20 ] && break; sleep 0.2; done; "
              "echo \"$hp => $r\"; done") % " ".join(probes)
    client = "%s-client" % network
    containers.append(client)
    out = docker("run", "--name", client, "--network", network, NODE, "sh", "-c", script, timeout=180).stdout
    for probe in probes:
        component, port = probe.split(":")
        assert "%s => seedfate-standin %s port %s (a stand-in for tests, not FATE)" % (probe, component, port) \
            in out, out
    # Each logs one line per listener, and `docker stop` (SIGTERM to PID 1) ends it at once, cleanly.
    logs = docker("logs", "%s-egg" % network).stdout
    assert "egg (stand-in, not FATE) listening on 0.0.0.0:7888" in logs
    assert "egg (stand-in, not FATE) listening on 0.0.0.0:7778" in logs
    start = time.monotonic()
    docker("stop", "--time", "10", "%s-python" % network)
    assert time.monotonic() - start < 5
    state = json.loads(docker("inspect", "--format", "{{json .State}}", "%s-python" % network).stdout)
    assert state["ExitCode"] == 0
