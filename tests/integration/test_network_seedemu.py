# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/network.yml for real: seedemu -> compose build/up -> BGP -> ping across ASes -> down.

The default topology (IX100, AS150/151/152, route server peering, the three parties) plus one ordinary
host in AS150 and one in AS152, under a unique compose project and build folder. Checked: the first
run brings every BGP session to Established; the AS150 host pings the AS152 host through the routers
(two router hops); a second run reports changed=0 and restarts no container; `network_state=absent`
removes every container and network of the project and nothing else, twice without change the second
time.

Everything this test makes is removed at the end: the project's containers, networks and images, its
isolation-guard rule (own comment), and the emulator node image when this test had to build it.
"""

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import uuid

import pytest
import yaml

from ansible_collections.seed.fate.plugins.module_utils import bird

pytestmark = [pytest.mark.seedemu, pytest.mark.docker, pytest.mark.slow]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(REPO, ".venv", "bin")
DEFAULT_TOPOLOGY = os.path.join(REPO, "inventories", "default", "group_vars", "all", "topology.yml")
NODE_IMAGE = "seedfate/seedemu-node:bookworm"
PROJECT_LABEL = "com.docker.compose.project"


def sh(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True)


def project_containers(project):
    out = sh("docker", "ps", "-aq", "--filter", "label=%s=%s" % (PROJECT_LABEL, project)).stdout
    return out.split()


def project_networks(project):
    out = sh("docker", "network", "ls", "-q", "--filter", "label=%s=%s" % (PROJECT_LABEL, project)).stdout
    return out.split()


def image_exists(name):
    return sh("docker", "image", "inspect", name).returncode == 0


class Lab(object):
    """A private inventory for playbooks/network.yml: the default lab with probes, or ``lab`` (group vars)."""

    def __init__(self, root, lab=None, name="sftest-network"):
        self.project = "%s-%s" % (name, uuid.uuid4().hex[:6])
        self.comment = "%s lab %s" % (name, self.project)
        self.root = root
        self.build = os.path.join(root, "build")
        inv = os.path.join(root, "inventory")
        os.makedirs(os.path.join(inv, "group_vars", "all"))
        if lab is None:
            with open(DEFAULT_TOPOLOGY) as f:
                lab = yaml.safe_load(f)
            systems = lab["seedfate_topology"]["autonomous_systems"]
            systems[150]["hosts"] = ["probe"]
            systems[152]["hosts"] = ["probe"]
        lab.update({
            "seedfate_lab_name": self.project,
            "seedfate_build_dir": self.build,
            "seedfate_network_project": self.project,
            "seedfate_isolation_guard": True,
            # The seed's lab: FATE 1.3.0 parties with serving (inventories/default's lab.yml derives it from
            # fate_version; this inventory has only the topology).
            "seedfate_lab_serving": True,
            "network_isolation_guard_comment": self.comment,
        })
        with open(os.path.join(inv, "group_vars", "all", "lab.yml"), "w") as f:
            yaml.safe_dump(lab, f)
        with open(os.path.join(inv, "hosts.yml"), "w") as f:
            f.write("seedfate_controller:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                    "      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n")
        self.inventory = inv

    def play(self, *extra, **kwargs):
        """Run playbooks/network.yml (or ``playbook=``); ``fail=True`` expects it to fail and returns (doc, [(task, msg)] of the failures)."""
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
                   ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
        env.update(kwargs.get("env") or {})
        cmd = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", self.inventory,
               os.path.join(REPO, "playbooks", kwargs.get("playbook", "network.yml"))] + list(extra)
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
        try:
            doc = json.loads(proc.stdout)
        except ValueError:
            raise AssertionError("ansible-playbook gave no JSON (rc %d): %s" % (proc.returncode, proc.stderr[-3000:]))
        failed = [(t["task"]["name"], h.get("msg")) for t in doc["plays"][0]["tasks"]
                  for h in t["hosts"].values() if h.get("failed") and not h.get("ignore_errors")]
        if kwargs.get("fail"):
            assert proc.returncode != 0 and failed, "the playbook was expected to fail"
            return doc, failed
        assert proc.returncode == 0, "playbook failed: %s\n%s" % (failed, proc.stderr[-2000:])
        return doc

    def container(self, asn, name):
        out = sh("docker", "ps", "--filter", "label=%s=%s" % (PROJECT_LABEL, self.project),
                 "--filter", "label=org.seedsecuritylabs.seedemu.meta.asn=%s" % asn,
                 "--filter", "label=org.seedsecuritylabs.seedemu.meta.nodename=%s" % name,
                 "--format", "{{.Names}}").stdout.split()
        assert len(out) == 1, "expected one container for AS%s %s, got %s" % (asn, name, out)
        return out[0]

    def address(self, container):
        label = "org.seedsecuritylabs.seedemu.meta.net.0.address"
        out = sh("docker", "inspect", "--format", '{{index .Config.Labels "%s"}}' % label, container).stdout
        return out.strip().split("/")[0]

    def started(self):
        ids = project_containers(self.project)
        out = sh("docker", "inspect", "--format", "{{.Name}} {{.Id}} {{.State.StartedAt}}", *ids).stdout
        return sorted(out.splitlines())


def busy_subnets(wanted):
    """Docker networks that already hold one of ``wanted`` (another lab is up: docker refuses overlaps)."""
    busy = []
    for net in sh("docker", "network", "ls", "-q").stdout.split():
        out = sh("docker", "network", "inspect", "--format",
                 "{{.Name}}{{range .IPAM.Config}} {{.Subnet}}{{end}}", net).stdout.split()
        busy.extend("%s (%s)" % (out[0], subnet) for subnet in out[1:] if subnet in wanted)
    return busy


def stats(doc):
    return doc["stats"]["localhost"]


@pytest.fixture
def lab(tmp_path):
    busy = busy_subnets({"10.100.0.0/24", "10.150.0.0/24", "10.151.0.0/24", "10.152.0.0/24"})
    if busy:
        pytest.skip("the default lab's subnets are in use by other docker networks (%s): take that lab down "
                    "first (playbooks/network.yml -e network_state=absent)" % ", ".join(busy))
    with cleaned_up(Lab(str(tmp_path)), tmp_path) as made:
        yield made


@contextlib.contextmanager
def cleaned_up(lab, tmp_path):
    """Yield ``lab``; then remove its containers, networks, guard rules (by comment) and the images it built."""
    had_node_image = image_exists(NODE_IMAGE)
    had_images = set(sh("docker", "images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split())
    try:
        yield lab
    finally:
        if project_containers(lab.project) or project_networks(lab.project):
            subprocess.run(["docker", "compose", "-p", lab.project, "down", "--remove-orphans", "-t", "1"],
                           cwd=str(tmp_path), capture_output=True)
        for tables in ("iptables", "ip6tables"):
            for rule in sh(tables, "-w", "-S", "DOCKER-USER").stdout.splitlines():
                if '--comment "%s"' % lab.comment in rule:
                    sh(tables, "-w", "-D", "DOCKER-USER", *shlex.split(rule)[2:])
        # Images this test built: the project's own, and base tags that did not exist before.
        now = set(sh("docker", "images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split())
        for ref in sorted(now - had_images):
            if ref.startswith(lab.project + "-") or (ref == NODE_IMAGE and not had_node_image) or \
                    (len(ref.split(":")[0]) == 32 and all(c in "0123456789abcdef" for c in ref.split(":")[0])):
                sh("docker", "rmi", ref)
        shutil.rmtree(lab.build, ignore_errors=True)


def bgp_wait(capsys, **args):
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.seed.fate.plugins.modules import bgp_wait as module
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def test_bring_up_bgp_ping_idempotent_down(lab, capsys):
    first = lab.play()
    assert stats(first)["changed"] > 0

    # BGP: ask the route server ourselves, not only the role.
    rs = lab.container(100, "ix100")
    out = sh("docker", "exec", rs, "birdc", "show", "protocols").stdout
    sessions = bird.bgp_sessions(out)
    assert sorted(s["name"] for s in sessions) == ["p_as150", "p_as151", "p_as152"]
    assert all(s["established"] for s in sessions), out

    # An ordinary host in AS150 reaches one in AS152 through AS150's router, the IX and AS152's router.
    src, dst = lab.container(150, "probe"), lab.container(152, "probe")
    target = lab.address(dst)
    assert target.startswith("10.152.0.")
    ping = sh("docker", "exec", src, "ping", "-c", "3", "-W", "2", target)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert "ttl=62" in ping.stdout, "expected two router hops: " + ping.stdout

    # The guard rule of this lab is in place.
    assert lab.comment in sh("iptables", "-w", "-S", "DOCKER-USER").stdout

    before = lab.started()
    second = lab.play()
    assert stats(second)["changed"] == 0, [t["task"]["name"] for t in second["plays"][0]["tasks"]
                                           if any(h.get("changed") for h in t["hosts"].values())]
    assert lab.started() == before, "a second run must not restart any container"

    # A session taken down is named in the timeout error; back up, the wait succeeds again.
    assert sh("docker", "exec", rs, "birdc", "disable", "p_as151").returncode == 0
    try:
        r = bgp_wait(capsys, project=lab.project, timeout=3, interval=1)
        assert r["failed"] and "%s/p_as151 (down" % rs in r["msg"] and "p_as150" not in r["msg"], r["msg"]
    finally:
        sh("docker", "exec", rs, "birdc", "enable", "p_as151")
    r = bgp_wait(capsys, project=lab.project, timeout=60, interval=1)
    assert not r.get("failed") and len(r["sessions"]) == 6, r

    # A network named like the project's but not made by compose: "nothing else" includes it.
    sentinel = lab.project + "_sentinel"
    assert sh("docker", "network", "create", sentinel).returncode == 0
    try:
        down = lab.play("-e", "network_state=absent")
        assert stats(down)["changed"] > 0
        assert project_containers(lab.project) == [] and project_networks(lab.project) == []
        assert sh("docker", "network", "inspect", sentinel).returncode == 0, "down removed a network not its own"
    finally:
        sh("docker", "network", "rm", sentinel)
    again = lab.play("-e", "network_state=absent")
    assert stats(again)["changed"] == 0
