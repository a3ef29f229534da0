# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""seed.fate.isolation_guard on the real iptables of this host.

Each test uses its own comment (``sftest-network guard <random>``), so it manages only its own rule: rules
with other comments, such as the CI's own guard ``seed.fate lab isolation (ci)``, must come out of every
run exactly as they went in. Nothing here sends traffic anywhere.
"""

import json
import os
import shlex
import shutil
import subprocess
import uuid

import pytest

pytestmark = pytest.mark.docker

CHAIN = "DOCKER-USER"


def iptables(*args):
    return subprocess.run(["iptables", "-w"] + list(args), capture_output=True, text=True)


def chain_rules():
    r = iptables("-S", CHAIN)
    assert r.returncode == 0, r.stderr
    return [ln for ln in r.stdout.splitlines() if ln.startswith("-A ")]


@pytest.fixture
def comment():
    if os.geteuid() != 0 or not shutil.which("iptables"):
        pytest.skip("needs root and iptables")
    if iptables("-S", CHAIN).returncode != 0:
        pytest.skip("no %s chain: the Docker engine does not manage iptables here" % CHAIN)
    mine = "sftest-network guard %s" % uuid.uuid4().hex[:8]
    others = chain_rules()
    yield mine
    # Remove whatever this test left, by its own comment only.
    for rule in chain_rules():
        if '--comment "%s"' % mine in rule:
            iptables("-D", CHAIN, *_spec(rule))
    assert [r for r in chain_rules() if mine not in r] == others, "rules of others changed"


def _spec(rule):
    return shlex.split(rule)[2:]


def guard(capsys, check=False, **args):
    """Run the module in this process (it drives the real iptables) and return its result."""
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.seed.fate.plugins.modules import isolation_guard
    if check:
        args["_ansible_check_mode"] = True
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            isolation_guard.main()
    return json.loads(capsys.readouterr().out)


def test_present_absent_idempotent_and_others_untouched(capsys, comment):
    before = chain_rules()

    r = guard(capsys, check=True, comment=comment)
    assert r["changed"] and chain_rules() == before, "check mode must not touch iptables"

    r = guard(capsys, comment=comment)
    assert r["changed"] and not r.get("failed"), r
    rules = chain_rules()
    assert rules[0] == r["rule"] and ("-o %s " % r["uplink"]) in r["rule"] and r["rule"].endswith("-j DROP")
    assert rules[1:] == before, "the guard goes first and every other rule stays"

    r = guard(capsys, comment=comment)
    assert not r["changed"] and chain_rules() == rules

    r = guard(capsys, state="absent", comment=comment)
    assert r["changed"] and chain_rules() == before
    r = guard(capsys, state="absent", comment=comment)
    assert not r["changed"] and chain_rules() == before


def test_rule_follows_the_interface(capsys, comment):
    before = chain_rules()
    # An interface name that exists nowhere: the rule can never match a packet.
    r = guard(capsys, comment=comment, interface="sftestnet0")
    assert r["changed"] and chain_rules()[0] == r["rule"] and "-o sftestnet0 " in r["rule"]
    r = guard(capsys, comment=comment, interface="sftestnet1")
    assert r["changed"]
    mine = [x for x in chain_rules() if comment in x]
    assert mine == [r["rule"]] and "-o sftestnet1 " in mine[0]
    guard(capsys, state="absent", comment=comment)
    assert chain_rules() == before


def test_ci_guard_comment_is_never_ours(capsys, comment):
    """A rule with the same match but another comment (as the CI's) survives state=absent."""
    ci_like = comment + " (ci)"
    uplink = guard(capsys, comment=comment, interface="sftestnet2")["uplink"]
    iptables("-I", CHAIN, "1", "-o", uplink, "-m", "comment", "--comment", ci_like, "-j", "DROP")
    try:
        r = guard(capsys, state="absent", comment=comment)
        assert r["changed"]
        assert any(ci_like in x for x in chain_rules())
        assert not any(('"%s"' % comment) in x for x in chain_rules())
    finally:
        iptables("-D", CHAIN, "-o", uplink, "-m", "comment", "--comment", ci_like, "-j", "DROP")
