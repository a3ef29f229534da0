# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""isolation_guard: routes, the lab's matches, rule bookkeeping, and the module against a fake iptables.

Real packets through real rules are in tests/integration/test_isolation_guard.py (network namespaces).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import shlex

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.seed.fate.plugins.modules import isolation_guard as ig

OURS = "seed.fate lab isolation: lab1"
CI = "-A DOCKER-USER -o eth0 -m comment --comment \"seed.fate lab isolation (ci)\" -j DROP"
ROUTES4 = [
    {"dst": "default", "gateway": "192.0.2.1", "dev": "eth0", "metric": 100, "flags": []},
    {"dst": "default", "gateway": "198.51.100.1", "dev": "wlan0", "metric": 600, "flags": []},
    {"dst": "default", "metric": 900, "flags": [],
     "nexthops": [{"gateway": "192.0.2.1", "dev": "eth0"}, {"gateway": "203.0.113.1", "dev": "eth2"}]},
    {"dst": "default", "dev": "wg0", "table": "51820", "scope": "link", "flags": []},
    {"type": "blackhole", "dst": "default", "table": "66", "flags": []},
    {"dst": "10.0.0.0/8", "gateway": "192.0.2.9", "dev": "eth3", "flags": []},
    {"type": "local", "dst": "127.0.0.1", "dev": "lo", "table": "local", "flags": []},
]
ROUTES6 = [{"dst": "default", "gateway": "fe80::1", "dev": "eth0", "metric": 1024, "flags": []}]


class FakeHost(object):
    """iproute2, docker and the iptables/ip6tables filter table in memory, driven through the argv the module runs."""

    def __init__(self, rules=(), rules6=None, routes4=None, routes6=None, chain=True, chain6=True, networks=None):
        self.chains = {"iptables": {"DOCKER-USER": list(rules), "FORWARD": []},
                       "ip6tables": {"DOCKER-USER": list(rules6 or []), "FORWARD": []}}
        if not chain:
            del self.chains["iptables"]["DOCKER-USER"]
        if not chain6:
            del self.chains["ip6tables"]["DOCKER-USER"]
        self.routes = {"-4": ROUTES4[:1] if routes4 is None else routes4, "-6": ROUTES6 if routes6 is None else routes6}
        self.networks = networks or []
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        cmd = argv[0].rsplit("/", 1)[-1]
        if cmd == "ip":
            return 0, json.dumps(self.routes[argv[2]]), ""
        if cmd == "docker":
            if argv[2] == "ls":
                return 0, "".join(n["Id"] + "\n" for n in self.networks), ""
            return 0, json.dumps([n for n in self.networks if n["Id"] in argv[3:]]), ""
        table = self.chains[cmd]
        args = argv[2:]  # drop "-w"
        chain = args[1]
        if chain not in table:
            return 1, "", "iptables: No chain/target/match by that name.\n"
        if args[0] == "-S":
            return 0, "-N %s\n" % chain + "".join(r + "\n" for r in table[chain]), ""
        if args[0] == "-I":
            table[chain].insert(int(args[2]) - 1, ig.rule_text(chain, args[3:]))
            return 0, "", ""
        if args[0] == "-D":
            want = sorted(args[2:])
            for i, r in enumerate(table[chain]):
                if sorted(shlex.split(r)[2:]) == want:
                    del table[chain][i]
                    return 0, "", ""
            return 1, "", "iptables: Bad rule (does a matching rule exist in that chain?).\n"
        raise AssertionError(argv)

    def mutations(self):
        return [c for c in self.calls if len(c) > 2 and c[2] in ("-I", "-D", "-A")]


@pytest.fixture
def run(monkeypatch, capsys):
    def runner(fake, **args):
        args.setdefault("comment", OURS)
        monkeypatch.setattr(AnsibleModule, "run_command", lambda self, argv, **kwargs: fake(argv))
        monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: "/sbin/" + name)
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                ig.main()
        return json.loads(capsys.readouterr().out)
    return runner


def test_every_default_route_is_an_uplink():
    assert ig.route_devices(ROUTES4) == ["eth0", "wlan0", "eth2", "wg0"]
    assert ig.route_devices(ROUTES6) == ["eth0"]
    assert ig.route_devices([]) == []


def test_nexthop_groups_are_followed():
    objects = {"7": [{"id": 7, "group": [{"id": 1}, {"id": 2}]}], "1": [{"id": 1, "dev": "eth0"}],
               "2": [{"id": 2, "dev": "eth1"}]}

    def run(argv):
        return 0, json.dumps(objects[argv[-1]]), ""
    assert ig.route_devices([{"dst": "default", "nhid": 7, "flags": []}], run) == ["eth0", "eth1"]


def test_prefixes_are_normalised_and_refused_when_they_match_everything():
    assert ig.normalise_prefixes(["10.150.0.7/24", "fd5e:150:0::1/64", "10.150.0.0/24"], "sources") == {
        "ipv4": ["10.150.0.0/24"], "ipv6": ["fd5e:150::/64"]}
    with pytest.raises(ValueError, match="sources: 'ten' is not an IP prefix"):
        ig.normalise_prefixes(["ten"], "sources")
    with pytest.raises(ValueError, match="every address"):
        ig.normalise_prefixes(["0.0.0.0/0"], "sources")


def test_compose_subnets_and_docker_networks():
    text = ("name: lab1\nservices: {}\nnetworks:\n    net_150_net0:\n        driver_opts: {}\n        ipam:\n"
            "            config:\n                - subnet: 10.150.0.0/24\n    net_ix_ix100:\n        ipam:\n"
            "            config:\n                - subnet: 10.100.0.0/24\n    plain: {}\n")
    assert ig.compose_subnets(text) == ["10.150.0.0/24", "10.100.0.0/24"]
    nets = [{"Id": "3f2a1c9d0e11aaaa", "Driver": "bridge", "Options": {}, "IPAM": {"Config": [{"Subnet": "10.150.0.0/24"}]}},
            {"Id": "bbbb", "Driver": "bridge", "Options": {"com.docker.network.bridge.name": "sflab0"},
             "IPAM": {"Config": [{"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"}, {"Subnet": "fd00:1::/64"}]}},
            {"Id": "cccc", "Driver": "macvlan", "Options": {}, "IPAM": {"Config": [{"Subnet": "192.168.9.0/24"}]}}]
    assert ig.docker_network_facts(nets) == (["br-3f2a1c9d0e11", "sflab0"], ["10.150.0.0/24", "172.18.0.0/16", "fd00:1::/64"])


def test_rule_specs_one_per_match_and_uplink():
    specs = ig.rule_specs(["eth0", "wlan0"], ["10.150.0.0/24"], ["br-1"], OURS)
    assert [s[:4] for s in specs] == [["-s", "10.150.0.0/24", "-o", "eth0"], ["-i", "br-1", "-o", "eth0"],
                                      ["-s", "10.150.0.0/24", "-o", "wlan0"], ["-i", "br-1", "-o", "wlan0"]]
    assert all(s[-6:] == ["-m", "comment", "--comment", OURS, "-j", "DROP"] for s in specs)
    assert ig.rule_specs(["eth0"], ["10.150.0.0/24"], [], OURS, scope="all") == [
        ["-o", "eth0", "-m", "comment", "--comment", OURS, "-j", "DROP"]]


def test_guard_rules_match_the_exact_comment_only():
    listing = "-N DOCKER-USER\n%s\n-A DOCKER-USER -s 10.1.0.0/24 -o eth0 -m comment --comment \"%s\" -j DROP\n" \
              "-A DOCKER-USER -j RETURN\n" % (CI, OURS)
    assert ig.guard_rules(listing, "DOCKER-USER", OURS) == [
        ["-s", "10.1.0.0/24", "-o", "eth0", "-m", "comment", "--comment", OURS, "-j", "DROP"]]


def test_plan_chains():
    a = ig.rule_specs(["eth0"], ["10.1.0.0/24"], [], OURS)[0]
    b = ig.rule_specs(["eth1"], ["10.1.0.0/24"], [], OURS)[0]
    assert ig.plan_chains({"C": []}, "C", [a, b]) == [["-I", "C", "1"] + b, ["-I", "C", "1"] + a]
    assert ig.plan_chains({"C": [a, b]}, "C", [a, b]) == []
    # duplicates and stale rules go, rules in the other chain go, the wanted one stays
    assert ig.plan_chains({"C": [a, a], "FORWARD": [b]}, "C", [a]) == [["-D", "C"] + a, ["-D", "FORWARD"] + b]
    assert ig.plan_chains({"C": [a], "FORWARD": [b]}, None, []) == [["-D", "C"] + a, ["-D", "FORWARD"] + b]
    # the same rule printed with its matches in another order is still the same rule
    assert ig.plan_chains({"C": [a[2:4] + a[:2] + a[4:]]}, "C", [a]) == []


def test_present_check_apply_idempotent_absent(run):
    fake = FakeHost([CI], routes4=ROUTES4)
    r = run(fake, sources=["10.150.0.0/24"], bridges=["br-1"], _ansible_check_mode=True, _ansible_diff=True)
    assert r["changed"] and fake.mutations() == [] and fake.chains["iptables"]["DOCKER-USER"] == [CI]
    assert r["uplinks"] == {"ipv4": ["eth0", "wlan0", "eth2", "wg0"], "ipv6": ["eth0"]}
    assert len(r["rules"]["ipv4"]) == 8 and len(r["rules"]["ipv6"]) == 1  # IPv6: the bridge on eth0
    assert r["diff"]["before"] == "" and r["diff"]["after"].count("\n") == 9
    announced = r["commands"]

    r = run(fake, sources=["10.150.0.0/24"], bridges=["br-1"])
    assert r["changed"] and r["commands"] == announced
    assert fake.chains["iptables"]["DOCKER-USER"][:8] == r["rules"]["ipv4"]
    assert fake.chains["iptables"]["DOCKER-USER"][8:] == [CI]
    assert fake.chains["ip6tables"]["DOCKER-USER"] == r["rules"]["ipv6"]

    fake.calls = []
    r = run(fake, sources=["10.150.0.0/24"], bridges=["br-1"])
    assert not r["changed"] and fake.mutations() == []

    r = run(fake, state="absent")
    assert r["changed"] and fake.chains["iptables"]["DOCKER-USER"] == [CI] and fake.chains["ip6tables"]["DOCKER-USER"] == []
    r = run(fake, state="absent")
    assert not r["changed"]


def test_compose_file_and_project(run, tmp_path):
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("networks:\n  net_150_net0:\n    ipam:\n      config:\n        - subnet: 10.150.0.0/24\n")
    fake = FakeHost(networks=[{"Id": "0123456789abcdef", "Driver": "bridge", "Options": {},
                               "IPAM": {"Config": [{"Subnet": "10.150.0.0/24"}, {"Subnet": "172.20.0.0/16"}]}}])
    r = run(fake, compose_file=str(compose), project="lab1")
    assert r["sources"] == ["10.150.0.0/24", "172.20.0.0/16"] and r["bridges"] == ["br-0123456789ab"]
    assert ["/sbin/docker", "network", "ls", "-q", "--filter", "label=com.docker.compose.project=lab1"] in fake.calls
    # before compose up there are no networks yet: the compose file's prefixes alone
    r = run(FakeHost(), compose_file=str(compose), project="lab1")
    assert r["sources"] == ["10.150.0.0/24"] and r["bridges"] == [] and r["rules"]["ipv6"] == []


def test_lab_scope_needs_a_match(run, tmp_path):
    r = run(FakeHost())
    assert r["failed"] and "nothing identifies the lab" in r["msg"]
    r = run(FakeHost(), compose_file=str(tmp_path / "missing.yml"))
    assert r["failed"] and "missing.yml" in r["msg"]
    r = run(FakeHost(), sources=["10.1.0.0/33"])
    assert r["failed"] and "10.1.0.0/33" in r["msg"]


def test_uplink_change_moves_the_rules(run):
    old = ig.rule_text("DOCKER-USER", ig.rule_specs(["eth1"], ["10.1.0.0/24"], [], OURS)[0])
    fake = FakeHost([old, CI], routes6=[])
    r = run(fake, sources=["10.1.0.0/24"])
    assert r["changed"]
    assert fake.chains["iptables"]["DOCKER-USER"] == [
        ig.rule_text("DOCKER-USER", ig.rule_specs(["eth0"], ["10.1.0.0/24"], [], OURS)[0]), CI]


def test_ipv6_chain_missing_uses_forward(run):
    fake = FakeHost(chain6=False)
    r = run(fake, bridges=["br-1"])
    assert r["chains"] == {"ipv4": "DOCKER-USER", "ipv6": "FORWARD"}
    assert fake.chains["ip6tables"]["FORWARD"] == r["rules"]["ipv6"] != []
    run(fake, state="absent")
    assert fake.chains["ip6tables"]["FORWARD"] == []


def test_ipv6_off(run):
    fake = FakeHost()
    r = run(fake, bridges=["br-1"], ipv6=False)
    assert r["rules"]["ipv6"] == [] and not any(c[0].endswith("ip6tables") for c in fake.calls)


def test_explicit_uplinks_and_scope_all(run):
    fake = FakeHost()
    r = run(fake, scope="all", uplinks=["eth5"])
    assert r["rules"]["ipv4"] == ['-A DOCKER-USER -o eth5 -m comment --comment "%s" -j DROP' % OURS]
    assert r["sources"] == [] and r["bridges"] == []
    r = run(fake, scope="all", interface="eth5")  # the first version's option name
    assert not r["changed"]


def test_no_default_route_warns_and_changes_nothing(run):
    r = run(FakeHost(routes4=[], routes6=[]), sources=["10.1.0.0/24"])
    assert not r["changed"] and "nothing to isolate" in r["msg"]


def test_missing_chain(run):
    r = run(FakeHost(chain=False), sources=["10.1.0.0/24"])
    assert r["failed"] and "DOCKER-USER" in r["msg"] and "iptables" in r["msg"]
    r = run(FakeHost(chain=False, chain6=False), state="absent")
    assert not r["changed"] and not r.get("failed")


def test_empty_comment_refused(run):
    r = run(FakeHost(), comment=" ", sources=["10.1.0.0/24"])
    assert r["failed"] and "comment" in r["msg"]


def test_rules_of_an_earlier_comment_are_removed_with_the_seal(run):
    old = '-A DOCKER-USER -o eth0 -m comment --comment "seed.fate lab isolation" -j DROP'
    fake = FakeHost([old, CI], routes4=ROUTES4[:1])
    r = run(fake, sources=["10.150.0.0/24"], remove_comments=["seed.fate lab isolation", OURS], _ansible_check_mode=True)
    assert r["changed"] and fake.mutations() == []
    r = run(fake, sources=["10.150.0.0/24"], remove_comments=["seed.fate lab isolation", OURS])
    assert r["changed"] and old not in fake.chains["iptables"]["DOCKER-USER"] and CI in fake.chains["iptables"]["DOCKER-USER"]
    # Its own comment is never removed that way, and a second run changes nothing.
    assert fake.chains["iptables"]["DOCKER-USER"][:-1] == r["rules"]["ipv4"]
    r = run(fake, sources=["10.150.0.0/24"], remove_comments=["seed.fate lab isolation", OURS])
    assert not r["changed"]
