# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fork-style seedemu program with a real-world router and a web host, through `network_script`.

tests/fixtures/seedemu_programs/fork_realworld_web.py is written the way SeedFATE users write theirs
(ghost hosts, GhostPrinter, a real-world router peering as a provider at the exchange, a WebService
host). Checked, for real:

* a node asking for a package the offline node image does not carry stops the module in seconds,
  naming the node, the package and the variable that adds it, with nothing written;
* `playbooks/network.yml -e network_script=...` brings the program's Internet up with the offline image
  (no apt-get anywhere), every BGP session Established, the web page served across the exchange, the
  real-world router running and reported as sealed, and the isolation guard still in place;
* a second run changes nothing and restarts nothing; `network_state=absent` removes the project.

No test here sends anything outside the lab's own networks.
"""

import json
import os
import shlex
import subprocess
import time
import uuid

import pytest
import yaml

pytestmark = [pytest.mark.seedemu, pytest.mark.docker, pytest.mark.slow]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(REPO, ".venv", "bin")
PROGRAM = os.path.join(REPO, "tests", "fixtures", "seedemu_programs", "fork_realworld_web.py")
NODE_IMAGE = "seedfate/seedemu-node:bookworm"
PARTIES = {1: {"asn": 190, "serving": True}, 2: {"asn": 191}, 3: {"asn": 192}}
SUBNETS = {"10.119.0.0/24", "10.190.0.0/24", "10.191.0.0/24", "10.192.0.0/24", "192.168.66.0/24"}


def sh(*argv, **kw):
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=kw.get("timeout", 120))


def run_module(capsys, **args):
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.seed.fate.plugins.modules import seedemu_network as module
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def test_a_package_the_image_lacks_stops_the_run_in_seconds(tmp_path, capsys, monkeypatch, offline_images):
    monkeypatch.setenv("SEEDFATE_TEST_EXTRA_SOFTWARE", "cowsay")
    dest = tmp_path / "b"
    started = time.time()
    r = run_module(capsys, script=PROGRAM, parties=PARTIES, dest=str(dest), project="sftest-forkpkg",
                   images="offline", offline_image=NODE_IMAGE, host_compat="off")
    took = time.time() - started
    assert r.get("failed"), r
    assert took < 10, "the missing package was reported after %.1f s" % took
    assert "hnode_190_web: cowsay" in r["msg"] and "images_node_software" in r["msg"], r["msg"]
    # What the image carries (read from its label) is not reported: nginx-light and iptables are in it.
    assert r["missing_software"] == {"hnode_190_web": ["cowsay"]}
    assert not dest.exists()


def busy_subnets():
    busy = []
    for net in sh("docker", "network", "ls", "-q").stdout.split():
        out = sh("docker", "network", "inspect", "--format", "{{.Name}}{{range .IPAM.Config}} {{.Subnet}}{{end}}",
                 net).stdout.split()
        busy.extend("%s (%s)" % (out[0], s) for s in out[1:] if s in SUBNETS)
    return busy


class Lab(object):
    def __init__(self, root):
        self.project = "sftest-fork-%s" % uuid.uuid4().hex[:6]
        self.comment = "sftest-fork lab %s" % self.project
        self.build = os.path.join(root, "build")
        self.inventory = os.path.join(root, "inventory")
        os.makedirs(os.path.join(self.inventory, "group_vars", "all"))
        lab = {
            "seedfate_lab_name": self.project,
            "seedfate_build_dir": self.build,
            "seedfate_network_project": self.project,
            "seedfate_isolation_guard": True,
            "seedfate_parties": PARTIES,
            "network_script": PROGRAM,
            "network_isolation_guard_comment": self.comment,
        }
        with open(os.path.join(self.inventory, "group_vars", "all", "lab.yml"), "w") as f:
            yaml.safe_dump(lab, f)
        with open(os.path.join(self.inventory, "hosts.yml"), "w") as f:
            f.write("seedfate_controller:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                    "      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n")

    def play(self, *extra):
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
        cmd = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", self.inventory,
               os.path.join(REPO, "playbooks", "network.yml")] + list(extra)
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
        assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
        return proc

    def containers(self):
        out = sh("docker", "ps", "-a", "--filter", "label=com.docker.compose.project=%s" % self.project,
                 "--format", '{{.Names}}\t{{.State}}\t{{.Label "org.seedsecuritylabs.seedemu.meta.nodename"}}'
                 '\t{{.Label "org.seedsecuritylabs.seedemu.meta.asn"}}').stdout
        return [line.split("\t") for line in out.splitlines() if line.strip()]

    def container(self, asn, name):
        found = [c[0] for c in self.containers() if c[2] == name and c[3] == str(asn)]
        assert len(found) == 1, "expected one container for AS%s %s: %s" % (asn, name, self.containers())
        return found[0]

    def started(self):
        names = [c[0] for c in self.containers()]
        return sorted(sh("docker", "inspect", "--format", "{{.Name}} {{.State.StartedAt}}", *names).stdout.splitlines())


def recap(stdout):
    import re
    m = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", stdout)
    assert m, stdout[-2000:]
    return int(m.group(2))


@pytest.fixture
def lab(tmp_path, offline_images):
    busy = busy_subnets()
    assert not busy, "another lab holds this test's subnets: %s" % ", ".join(busy)
    lab = Lab(str(tmp_path))
    try:
        yield lab
    finally:
        sh("docker", "compose", "-p", lab.project, "down", "--remove-orphans", "-t", "1", timeout=300)
        for rule in sh("iptables", "-w", "-S", "DOCKER-USER").stdout.splitlines():
            if '--comment "%s"' % lab.comment in rule:
                sh("iptables", "-w", "-D", "DOCKER-USER", *shlex.split(rule)[2:])
        for ref in sh("docker", "images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split():
            if ref.startswith(lab.project + "-"):
                sh("docker", "rmi", ref)


def test_fork_program_with_real_world_router_and_web_host_comes_up(lab):
    first = lab.play()
    text = first.stdout + first.stderr
    # The run names the real-world router and says the lab stays sealed.
    assert "real-world router brdnode_65190_rw-real-world" in " ".join(text.split()), text[-4000:]
    assert "reaches nothing outside" in " ".join(text.split())
    # Offline image everywhere, no apt-get in any node.
    output = os.path.join(lab.build, "output")
    for node in os.listdir(output):
        dockerfile = os.path.join(output, node, "Dockerfile")
        if os.path.isfile(dockerfile):
            assert "apt-get" not in open(dockerfile).read(), node

    states = dict((c[0], c[1]) for c in lab.containers())
    assert states and set(states.values()) == {"running"}, states
    rw = lab.container(65190, "rw-real-world")
    assert rw in states
    # The guard is still there after the real-world router came up.
    guard = sh("iptables", "-w", "-S", "DOCKER-USER").stdout
    assert '--comment "%s"' % lab.comment in guard

    # The web host in AS190 serves seedemu's page to AS191 across the exchange (two router hops).
    client = lab.container(191, "router0")
    deadline, page = time.time() + 60, None
    while time.time() < deadline:
        page = sh("docker", "exec", client, "curl", "-s", "-m", "3", "http://10.190.0.83/")
        if page.returncode == 0 and "web" in page.stdout:
            break
        time.sleep(2)
    assert page.returncode == 0 and "web" in page.stdout, (page.stdout, page.stderr)

    # AS192 learns the real-world prefixes from its provider, AS65190, inside the lab.
    routes = sh("docker", "exec", lab.container(192, "router0"), "birdc", "show", "route", "for", "128.0.0.1")
    assert "10.119.0.99" in routes.stdout, routes.stdout

    before = lab.started()
    second = lab.play()
    assert recap(second.stdout) == 0, second.stdout[-3000:]
    assert lab.started() == before

    lab.play("-e", "network_state=absent")
    assert lab.containers() == []
