# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""isolation_guard: rule bookkeeping, and the module against a fake iptables."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import shlex

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.seed.fate.plugins.modules import isolation_guard as ig

OURS = "seed.fate lab isolation"
CI = "-A DOCKER-USER -o eth0 -m comment --comment \"seed.fate lab isolation (ci)\" -j DROP"


class FakeIptables(object):
    """A DOCKER-USER chain in memory, driven through the argv the module runs."""

    def __init__(self, rules, route="default via 192.0.2.1 dev eth0 proto static\n", chain=True):
        self.rules = list(rules)
        self.route = route
        self.chain = chain
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        if argv[0].endswith("ip"):
            return 0, self.route, ""
        args = argv[2:]  # drop "iptables -w"
        if not self.chain:
            return 1, "", "iptables: No chain/target/match by that name.\n"
        if args[0] == "-S":
            return 0, "-N DOCKER-USER\n" + "".join(r + "\n" for r in self.rules) + "-A DOCKER-USER -j RETURN\n", ""
        if args[0] == "-I":
            self.rules.insert(int(args[2]) - 1, ig.rule_text(args[1], args[3:]))
            return 0, "", ""
        if args[0] == "-D":
            want = sorted(args[2:])
            for i, r in enumerate(self.rules):
                if sorted(shlex.split(r)[2:]) == want:
                    del self.rules[i]
                    return 0, "", ""
            return 1, "", "iptables: Bad rule (does a matching rule exist in that chain?).\n"
        raise AssertionError(argv)


@pytest.fixture
def run(monkeypatch, capsys):
    def runner(fake, **args):
        monkeypatch.setattr(AnsibleModule, "run_command", lambda self, argv, **kwargs: fake(argv))
        monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: "/sbin/" + name)
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                ig.main()
        return json.loads(capsys.readouterr().out)
    return runner


def mutations(fake):
    return [c for c in fake.calls if len(c) > 2 and c[2] in ("-I", "-D", "-A")]


def test_guard_rules_match_the_exact_comment_only():
    listing = "-N DOCKER-USER\n%s\n-A DOCKER-USER -o eth0 -m comment --comment \"%s\" -j DROP\n-A DOCKER-USER -j RETURN\n" % (CI, OURS)
    assert ig.guard_rules(listing, "DOCKER-USER", OURS) == [
        ["-o", "eth0", "-m", "comment", "--comment", OURS, "-j", "DROP"]]


def test_plan():
    spec = ig.rule_spec("eth0", OURS)
    assert ig.plan([], "present", "C", spec) == [["-I", "C", "1"] + spec]
    assert ig.plan([spec], "present", "C", spec) == []
    old = ig.rule_spec("eth1", OURS)
    assert ig.plan([old, spec, spec], "present", "C", spec) == [["-D", "C"] + old, ["-D", "C"] + spec]
    assert ig.plan([old, spec], "absent", "C", None) == [["-D", "C"] + old, ["-D", "C"] + spec]
    # Same rule printed with its matches in another order is still the same rule.
    reordered = ["-m", "comment", "--comment", OURS, "-o", "eth0", "-j", "DROP"]
    assert ig.plan([reordered], "present", "C", spec) == []


def test_uplink_from_default_route():
    assert ig.default_route_interface(lambda a: (0, "default via 10.0.0.1 dev ens3 proto dhcp metric 100\n", "")) == "ens3"
    assert ig.default_route_interface(lambda a: (0, "", "")) is None


def test_present_check_apply_idempotent_absent(run):
    fake = FakeIptables([CI])
    r = run(fake, _ansible_check_mode=True, _ansible_diff=True)
    assert r["changed"] and mutations(fake) == [] and fake.rules == [CI]
    assert r["diff"]["after"].strip() == "-A DOCKER-USER -o eth0 -m comment --comment \"%s\" -j DROP" % OURS

    r = run(fake)
    assert r["changed"] and r["uplink"] == "eth0"
    assert fake.rules[0] == r["rule"] and fake.rules[1] == CI

    fake.calls = []
    r = run(fake)
    assert not r["changed"] and mutations(fake) == []

    r = run(fake, state="absent")
    assert r["changed"] and fake.rules == [CI]
    r = run(fake, state="absent")
    assert not r["changed"] and fake.rules == [CI]


def test_uplink_change_moves_the_rule(run):
    fake = FakeIptables([ig.rule_text("DOCKER-USER", ig.rule_spec("eth1", OURS)), CI])
    r = run(fake)
    assert r["changed"] and fake.rules == [ig.rule_text("DOCKER-USER", ig.rule_spec("eth0", OURS)), CI]


def test_no_default_route_warns_and_changes_nothing(run):
    fake = FakeIptables([], route="")
    r = run(fake)
    assert not r["changed"] and r["uplink"] is None and "nothing to isolate" in r["msg"]


def test_missing_chain(run):
    r = run(FakeIptables([], chain=False))
    assert r["failed"] and "DOCKER-USER" in r["msg"] and "iptables" in r["msg"]
    r = run(FakeIptables([], chain=False), state="absent")
    assert not r["changed"] and not r.get("failed")


def test_empty_comment_refused(run):
    r = run(FakeIptables([]), comment=" ")
    assert r["failed"] and "comment" in r["msg"]
