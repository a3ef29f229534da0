# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""seed.fate.isolation_guard proven with real packets, in network namespaces of the test's own.

Nothing here touches the real host's network or firewall: every namespace is created by the test
(``sftest-seal-<role>-<id>``) and removed in its teardown, the module and every iptables/ip6tables command run
inside the fake host namespace (``ip netns exec``), and every address the packets go to lives in one of those
namespaces. The fake host looks like a Docker host with a lab and a foreign container::

    lab   (10.150.0.71, fd5e:150::71) ── labbr ┐                ┌ up1 ── world1 198.18.1.2   default metric 100
    other (172.30.0.2,  fd5e:172::2)  ── othbr ┤   fake host    ├ up2 ── world2 198.18.2.2   default metric 200
                                               │ (DOCKER-USER)  ├ up3 ── world3 198.18.3.2   only a multipath next hop
                                               └                └ up6 ── world6 fd5e:6::2    IPv6 default route

Every world namespace also holds the "Internet" addresses 198.51.100.1 and 2001:db8::1 behind the default
routes, and runs a TCP server; a connection that gets an answer is traffic that left through that uplink.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = pytest.mark.netns

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(REPO, "collections")
MODULE = os.path.join(COLLECTIONS, "ansible_collections", "seed", "fate", "plugins", "modules", "isolation_guard.py")
PORT = 7070
COMMENT = "sftest-seal lab"
CI_RULE = ["-o", "up1", "-m", "comment", "--comment", "seed.fate lab isolation (ci) sftest", "-j", "ACCEPT"]

SERVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", %d)); s.listen(64)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    try:
        c.sendall(b"ok")
    finally:
        c.close()
""" % PORT

CLIENT = r"""
import json, socket, sys, threading
res = {}
def probe(addr):
    try:
        c = socket.create_connection((addr, %d), timeout=1.5)
        res[addr] = c.recv(2) == b"ok"
        c.close()
    except OSError:
        res[addr] = False
ts = [threading.Thread(target=probe, args=(a,)) for a in sys.argv[1:]]
[t.start() for t in ts]; [t.join() for t in ts]
print(json.dumps(res))
""" % PORT

# destination -> the uplink the fake host sends it through
V4_DESTINATIONS = {"198.18.1.2": "up1", "198.18.2.2": "up2", "198.18.3.2": "up3", "198.51.100.1": "default route"}
V6_DESTINATIONS = {"fd5e:6::2": "up6", "2001:db8::1": "IPv6 default route"}


def sh(*argv, check=True):
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError("%s: rc %d: %s" % (" ".join(map(str, argv)), r.returncode, r.stderr.strip()))
    return r


class Lab(object):
    """The namespaces of one test, and helpers that only ever run inside them."""

    def __init__(self):
        self.id = uuid.uuid4().hex[:6]
        self.ns = dict((role, "sftest-seal-%s-%s" % (role, self.id))
                       for role in ("host", "lab", "other", "world1", "world2", "world3", "world6"))
        self.servers = []

    # -- plumbing
    def x(self, role, *argv, check=True):
        return sh("ip", "netns", "exec", self.ns[role], *argv, check=check)

    def veth(self, a, a_if, b, b_if):
        sh("ip", "link", "add", a_if, "netns", self.ns[a], "type", "veth", "peer", "name", b_if, "netns", self.ns[b])
        self.x(a, "ip", "link", "set", a_if, "up")
        self.x(b, "ip", "link", "set", b_if, "up")

    def build(self):
        for name in self.ns.values():
            sh("ip", "netns", "add", name)
            sh("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        h = "host"
        self.x(h, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.x(h, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        # two "docker networks": the lab's and another project's
        for br, cont, port, v4, v6 in (("labbr", "lab", "lab0", "10.150.0", "fd5e:150:"),
                                       ("othbr", "other", "oth0", "172.30.0", "fd5e:172:")):
            self.x(h, "ip", "link", "add", br, "type", "bridge")
            self.x(h, "ip", "link", "set", br, "up")
            self.x(h, "ip", "addr", "add", v4 + ".254/24", "dev", br)
            self.x(h, "ip", "addr", "add", v6 + ":254/64", "dev", br, "nodad")
            self.veth(h, port, cont, "eth0")
            self.x(h, "ip", "link", "set", port, "master", br)
            last = "71" if cont == "lab" else "2"
            self.x(cont, "ip", "addr", "add", "%s.%s/24" % (v4, last), "dev", "eth0")
            self.x(cont, "ip", "addr", "add", "%s:%s/64" % (v6, last), "dev", "eth0", "nodad")
            self.x(cont, "ip", "route", "add", "default", "via", v4 + ".254")
            self.x(cont, "ip", "-6", "route", "add", "default", "via", v6 + ":254")
        # uplinks
        for k, world in (("1", "world1"), ("2", "world2"), ("3", "world3"), ("6", "world6")):
            self.veth(h, "up" + k, world, "eth0")
            if k != "6":
                self.x(h, "ip", "addr", "add", "198.18.%s.1/24" % k, "dev", "up" + k)
                self.x(world, "ip", "addr", "add", "198.18.%s.2/24" % k, "dev", "eth0")
                for back in ("10.150.0.0/24", "172.30.0.0/24"):
                    self.x(world, "ip", "route", "add", back, "via", "198.18.%s.1" % k)
            self.x(h, "ip", "addr", "add", "fd5e:%s::1/64" % k, "dev", "up" + k, "nodad")
            self.x(world, "ip", "addr", "add", "fd5e:%s::2/64" % k, "dev", "eth0", "nodad")
            for back in ("fd5e:150::/64", "fd5e:172::/64"):
                self.x(world, "ip", "-6", "route", "add", back, "via", "fd5e:%s::1" % k)
            self.x(world, "ip", "addr", "add", "198.51.100.1/32", "dev", "lo")
            self.x(world, "ip", "addr", "add", "2001:db8::1/128", "dev", "lo", "nodad")
            self.servers.append(subprocess.Popen(["ip", "netns", "exec", self.ns[world], sys.executable, "-c", SERVER],
                                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        self.x(h, "ip", "route", "add", "default", "via", "198.18.1.2", "dev", "up1", "metric", "100")
        self.x(h, "ip", "route", "add", "default", "via", "198.18.2.2", "dev", "up2", "metric", "200")
        self.x(h, "ip", "route", "add", "default", "metric", "300",
               "nexthop", "via", "198.18.1.2", "dev", "up1", "nexthop", "via", "198.18.3.2", "dev", "up3")
        self.x(h, "ip", "-6", "route", "add", "default", "via", "fd5e:6::2", "dev", "up6")
        # what Docker sets up: DOCKER-USER first in FORWARD, for both families
        for cmd in ("iptables", "ip6tables"):
            self.x(h, cmd, "-w", "-N", "DOCKER-USER")
            self.x(h, cmd, "-w", "-A", "DOCKER-USER", "-j", "RETURN")
            self.x(h, cmd, "-w", "-I", "FORWARD", "1", "-j", "DOCKER-USER")
        for srv in self.servers:
            assert srv.stdout.readline().strip() == "ready", srv.stderr.read()
        # Neighbour discovery and bridge ports take a moment: wait until every path answers once.
        deadline = time.time() + 20
        while self.reach_all() != {"lab": everything(True), "other": everything(True)} and time.time() < deadline:
            time.sleep(0.5)

    def destroy(self):
        for srv in self.servers:
            srv.kill()
            srv.wait()
        for name in self.ns.values():
            sh("ip", "netns", "del", name, check=False)

    # -- what the tests look at
    def reach(self, role, destinations):
        """{destination: answered} for TCP connections from the ``role`` namespace (all at once)."""
        r = self.x(role, sys.executable, "-c", CLIENT, *destinations)
        return json.loads(r.stdout)

    def reach_all(self):
        dests = list(V4_DESTINATIONS) + list(V6_DESTINATIONS)
        return {"lab": self.reach("lab", dests), "other": self.reach("other", dests)}

    def rules(self, cmd="iptables", chain="DOCKER-USER"):
        return [ln for ln in self.x("host", cmd, "-w", "-S", chain).stdout.splitlines() if ln.startswith("-A ")]

    def guard(self, tmp_path, check=False, diff=False, **args):
        """Run the module as Ansible would (a child process with an args file), inside the fake host."""
        args.setdefault("comment", COMMENT)
        args["_ansible_check_mode"] = check
        args["_ansible_diff"] = diff
        path = tmp_path / ("args-%s.json" % uuid.uuid4().hex[:6])
        path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        env = dict(os.environ, PYTHONPATH=COLLECTIONS,
                   PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        r = subprocess.run(["ip", "netns", "exec", self.ns["host"], sys.executable, MODULE, str(path)],
                           capture_output=True, text=True, env=env)
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise AssertionError("module output is not JSON (rc %d): %s %s" % (r.returncode, r.stdout, r.stderr))


@pytest.fixture
def lab():
    # conftest.py skips netns tests without root/ip/iptables (and fails them in CI)
    lab = Lab()
    try:
        lab.build()
        yield lab
    finally:
        lab.destroy()
    left = sh("ip", "netns", "list").stdout
    assert lab.id not in left, "namespaces left behind: %s" % left


def everything(value):
    return dict((d, value) for d in list(V4_DESTINATIONS) + list(V6_DESTINATIONS))


def blocked(result):
    return sorted(d for d, ok in result.items() if not ok)


LAB_BY_PREFIX = dict(sources=["10.150.0.0/24", "fd5e:150::/64"])
LAB_BY_BRIDGE = dict(bridges=["labbr"])


@pytest.mark.parametrize("match", [LAB_BY_PREFIX, LAB_BY_BRIDGE], ids=["by-prefix", "by-bridge"])
def test_seal_drops_the_labs_traffic_on_every_uplink_and_nothing_else(lab, tmp_path, match):
    # Without the guard both containers reach every uplink (so a drop below is the guard's doing).
    assert lab.reach_all() == {"lab": everything(True), "other": everything(True)}
    # A rule of someone else (as the CI's guard) that must come out exactly as it went in.
    lab.x("host", "iptables", "-w", "-I", "DOCKER-USER", "1", *CI_RULE)
    foreign = lab.rules()

    r = lab.guard(tmp_path, **match)
    assert r["changed"] and not r.get("failed"), r
    # every default route: two in main, a multipath next hop (up3), and the IPv6 one
    assert sorted(r["uplinks"]["ipv4"]) == ["up1", "up2", "up3"], r
    assert r["uplinks"]["ipv6"] == ["up6"], r
    assert r["chains"] == {"ipv4": "DOCKER-USER", "ipv6": "DOCKER-USER"}
    # one rule per lab match and uplink: 1 match x 3 IPv4 uplinks, 1 x 1 IPv6 uplink
    assert len(r["rules"]["ipv4"]) == 3 and len(r["rules"]["ipv6"]) == 1, r["rules"]

    seen = lab.reach_all()
    assert blocked(seen["lab"]) == sorted(everything(True)), "lab traffic must be dropped on every uplink: %s" % seen
    assert seen["other"] == everything(True), "traffic that is not the lab's must pass: %s" % seen
    # the rules are the guard's (exact comment), and the foreign rule is still there
    mine = [x for x in lab.rules() if '"%s"' % COMMENT in x]
    assert sorted(mine) == sorted(r["rules"]["ipv4"])
    assert [x for x in lab.rules() if x not in mine] == foreign

    # idempotent: a second run changes nothing
    again = lab.guard(tmp_path, **match)
    assert not again["changed"] and again["commands"] == [], again
    # teardown removes exactly its rules, and the lab's traffic flows again
    gone = lab.guard(tmp_path, state="absent")
    assert gone["changed"], gone
    assert lab.rules() == foreign and not [x for x in lab.rules("ip6tables") if COMMENT in x]
    assert lab.reach_all() == {"lab": everything(True), "other": everything(True)}
    assert not lab.guard(tmp_path, state="absent")["changed"]


def test_check_mode_is_honest_and_touches_nothing(lab, tmp_path):
    before = (lab.rules(), lab.rules("ip6tables"))
    r = lab.guard(tmp_path, check=True, diff=True, bridges=["labbr"], sources=["10.150.0.0/24"])
    assert r["changed"] and len(r["commands"]) == 3 * 2 + 1, r
    assert (lab.rules(), lab.rules("ip6tables")) == before, "check mode must not change the chains"
    assert lab.reach("lab", ["198.18.2.2"]) == {"198.18.2.2": True}
    assert r["diff"]["before"] == "" and r["diff"]["after"].count("\n") == 7
    # the real run does what check mode announced
    real = lab.guard(tmp_path, diff=True, bridges=["labbr"], sources=["10.150.0.0/24"])
    assert real["commands"] == r["commands"] and real["rules"] == r["rules"]
    # and check mode of an applied guard reports nothing to do
    assert not lab.guard(tmp_path, check=True, bridges=["labbr"], sources=["10.150.0.0/24"])["changed"]
    # check mode of absent announces the removal and removes nothing
    r = lab.guard(tmp_path, check=True, state="absent")
    assert r["changed"] and len(r["commands"]) == 7 and len(lab.rules()) == len(before[0]) + 6


def test_uplink_change_converges(lab, tmp_path):
    """The second default route goes away and a new one appears: rules follow, nothing else moves."""
    lab.guard(tmp_path, sources=["10.150.0.0/24"], ipv6=False)
    lab.x("host", "ip", "route", "del", "default", "via", "198.18.2.2", "dev", "up2", "metric", "200")
    r = lab.guard(tmp_path, sources=["10.150.0.0/24"], ipv6=False)
    assert r["changed"] and sorted(r["uplinks"]["ipv4"]) == ["up1", "up3"]
    assert [c[2] for c in r["commands"]] == ["-D"], r["commands"]
    assert lab.reach("lab", ["198.18.2.2", "198.18.3.2"]) == {"198.18.2.2": True, "198.18.3.2": False}
    # a default route in another routing table (policy routing, as wg-quick does) is an uplink too
    lab.x("host", "ip", "route", "add", "default", "via", "198.18.2.2", "dev", "up2", "table", "51820")
    r = lab.guard(tmp_path, sources=["10.150.0.0/24"], ipv6=False)
    assert sorted(r["uplinks"]["ipv4"]) == ["up1", "up2", "up3"] and r["changed"]
    assert lab.reach("lab", ["198.18.2.2"]) == {"198.18.2.2": False}
    lab.guard(tmp_path, state="absent")


def test_ipv6_without_dockers_ip6tables_chain_goes_to_forward(lab, tmp_path):
    """Docker's IPv6 off (no ip6tables DOCKER-USER): lab nodes that give themselves IPv6 are still sealed."""
    lab.x("host", "ip6tables", "-w", "-D", "FORWARD", "-j", "DOCKER-USER")
    lab.x("host", "ip6tables", "-w", "-F", "DOCKER-USER")
    lab.x("host", "ip6tables", "-w", "-X", "DOCKER-USER")
    r = lab.guard(tmp_path, bridges=["labbr"])
    assert r["chains"] == {"ipv4": "DOCKER-USER", "ipv6": "FORWARD"}, r
    seen = lab.reach_all()
    assert blocked(seen["lab"]) == sorted(everything(True)) and seen["other"] == everything(True), seen
    assert not lab.guard(tmp_path, bridges=["labbr"])["changed"]
    lab.guard(tmp_path, state="absent")
    assert not [x for x in lab.rules("ip6tables", "FORWARD") if COMMENT in x]
    assert lab.reach("lab", ["fd5e:6::2"]) == {"fd5e:6::2": True}


def test_two_labs_side_by_side(lab, tmp_path):
    """Each lab's guard has its own comment: removing one lab's seal leaves the other's."""
    lab.guard(tmp_path, sources=["10.150.0.0/24"], comment=COMMENT + " a")
    lab.guard(tmp_path, sources=["172.30.0.0/24"], comment=COMMENT + " b")
    assert blocked(lab.reach("other", ["198.18.1.2"])) == ["198.18.1.2"]
    lab.guard(tmp_path, state="absent", comment=COMMENT + " b")
    assert lab.reach("other", ["198.18.1.2"]) == {"198.18.1.2": True}
    assert lab.reach("lab", ["198.18.1.2"]) == {"198.18.1.2": False}
    lab.guard(tmp_path, state="absent", comment=COMMENT + " a")


def test_scope_all_is_the_broad_guard(lab, tmp_path):
    r = lab.guard(tmp_path, scope="all")
    assert len(r["rules"]["ipv4"]) == 3 and len(r["rules"]["ipv6"]) == 1
    seen = lab.reach_all()
    assert blocked(seen["lab"]) == blocked(seen["other"]) == sorted(everything(True)), seen
    lab.guard(tmp_path, state="absent")


def test_ci_guard_is_host_wide_on_every_uplink_and_removes_only_its_own(lab, tmp_path):
    """.ci/guard (what .ci/run installs before any test container starts), run inside the fake host."""
    script = os.path.join(REPO, ".ci", "guard")
    state = tmp_path / "guard.added"
    # a rule with the CI's comment that was there before (another run's): neither recorded nor removed
    earlier = ["-o", "up1", "-m", "comment", "--comment", "seed.fate lab isolation (ci)", "-j", "DROP"]
    lab.x("host", "iptables", "-w", "-I", "DOCKER-USER", "1", *earlier)
    before = (lab.rules(), lab.rules("ip6tables"))
    out = lab.x("host", "bash", script, "on", str(state)).stdout
    assert sorted(state.read_text().split("\n")[:-1]) == [
        "ip6tables DOCKER-USER up6", "iptables DOCKER-USER up2", "iptables DOCKER-USER up3"], out
    seen = lab.reach_all()
    assert blocked(seen["lab"]) == blocked(seen["other"]) == sorted(everything(True)), seen
    lab.x("host", "bash", script, "on", str(tmp_path / "again"))  # a second run adds nothing
    assert (tmp_path / "again").read_text() == ""
    lab.x("host", "bash", script, "off", str(state))
    assert (lab.rules(), lab.rules("ip6tables")) == before and not state.exists()
    lab.x("host", "iptables", "-w", "-D", "DOCKER-USER", *earlier)
    assert lab.reach_all() == {"lab": everything(True), "other": everything(True)}
