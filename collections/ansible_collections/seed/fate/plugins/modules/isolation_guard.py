#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: isolation_guard
short_description: Keep an emulated Internet's containers from reaching the real one
version_added: 0.1.0
description:
  - Docker masquerades container traffic to any address no docker network holds and routes it out of the
    host. In an emulated Internet that means a mistyped or unrouted address leaks to the real Internet.
  - This module keeps one rule in Docker's C(DOCKER-USER) chain, C(-o <uplink> -j DROP), that drops
    container traffic leaving through the host's uplink (the interface of the default route). The rule
    carries a comment that identifies it, so only rules with exactly that comment are ever changed or
    removed; other rules (for example another guard with a different comment) are left alone.
  - IPv4 only (C(iptables)); Docker does not route container IPv6 to the outside unless configured to.
extends_documentation_fragment:
  - seed.fate.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff lists this guard's rules before and after.
  idempotent:
    support: full
options:
  state:
    description:
      - V(present) keeps exactly one guard rule, for the current uplink, at the top of the chain (rules with
        the same comment for another interface are removed).
      - V(absent) removes every rule with the guard's comment.
    type: str
    choices: [present, absent]
    default: present
  interface:
    description:
      - The uplink to guard. By default the interface of the IPv4 default route.
      - Without a default route and without this option there is nothing to guard; the module then reports
        no change and a warning.
    type: str
  comment:
    description:
      - Comment that marks the guard's rules (iptables comment match).
    type: str
    default: seed.fate lab isolation
  chain:
    description:
      - Chain to keep the rule in. Docker jumps to C(DOCKER-USER) before its own forwarding rules.
    type: str
    default: DOCKER-USER
  iptables:
    description:
      - The C(iptables) command (name on E(PATH) or path).
    type: str
    default: iptables
requirements:
  - iptables, iproute2 (C(ip)), root, and a Docker engine managing iptables (it creates C(DOCKER-USER)).
author:
  - seed.fate contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Seal the lab
  seed.fate.isolation_guard:

- name: Lift the seal
  seed.fate.isolation_guard:
    state: absent
"""

RETURN = r"""
uplink:
  description: The guarded interface (null when there is none).
  returned: always
  type: str
  sample: eth0
rule:
  description: The guard rule as iptables prints it (null with O(state=absent) or without uplink).
  returned: always
  type: str
  sample: -A DOCKER-USER -o eth0 -m comment --comment "seed.fate lab isolation" -j DROP
rules:
  description: The guard's rules in the chain after the run.
  returned: always
  type: list
  elements: str
commands:
  description: The iptables commands run (or, in check mode, that would run).
  returned: always
  type: list
  elements: list
"""

import shlex

from ansible.module_utils.basic import AnsibleModule


def default_route_interface(run, ip_cmd="ip"):
    """Interface of the IPv4 default route, or None."""
    rc, out, _err = run([ip_cmd, "-4", "route", "show", "default"])
    if rc != 0:
        return None
    for line in out.splitlines():
        words = line.split()
        if "dev" in words[:-1]:
            return words[words.index("dev") + 1]
    return None


def rule_spec(uplink, comment):
    return ["-o", uplink, "-m", "comment", "--comment", comment, "-j", "DROP"]


def rule_text(chain, spec):
    """A rule as ``iptables -S`` prints it."""
    return " ".join(["-A", chain] + ['"%s"' % w if " " in w else w for w in spec])


def same_rule(a, b):
    # iptables may print matches in another order than they were given.
    return sorted(a) == sorted(b)


def comment_of(words):
    if "--comment" in words[:-1]:
        return words[words.index("--comment") + 1]
    return None


def guard_rules(listing, chain, comment):
    """The rules of ``chain`` (``iptables -S chain`` output) whose comment is exactly ``comment``.

    Each is returned as its spec (the words after ``-A <chain>``).
    """
    found = []
    for line in listing.splitlines():
        words = shlex.split(line)
        if words[:2] != ["-A", chain]:
            continue
        if comment_of(words) == comment:
            found.append(words[2:])
    return found


def plan(current, state, chain, spec):
    """iptables argument lists (without the command) that take ``current`` guard rules to ``state``."""
    commands = []
    if state == "present" and spec is not None:
        wanted_seen = False
        for rule in current:
            if same_rule(rule, spec) and not wanted_seen:
                wanted_seen = True
                continue
            commands.append(["-D", chain] + rule)
        if not wanted_seen:
            # First in the chain: nothing Docker or a user put there may let the traffic through first.
            commands.insert(0, ["-I", chain, "1"] + spec)
    elif state == "absent":
        for rule in current:
            commands.append(["-D", chain] + rule)
    return commands


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            interface=dict(type="str"),
            comment=dict(type="str", default="seed.fate lab isolation"),
            chain=dict(type="str", default="DOCKER-USER"),
            iptables=dict(type="str", default="iptables"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not p["comment"].strip():
        module.fail_json(msg="comment must not be empty: it is what identifies the guard's rules")
    iptables = module.get_bin_path(p["iptables"], required=True)

    def run(argv):
        return module.run_command(argv)

    uplink = p["interface"]
    if p["state"] == "present" and not uplink:
        uplink = default_route_interface(run, module.get_bin_path("ip", required=True))
    spec = rule_spec(uplink, p["comment"]) if uplink else None

    rc, listing, err = run([iptables, "-w", "-S", p["chain"]])
    if rc != 0:
        if p["state"] == "absent":
            module.exit_json(changed=False, uplink=uplink, rule=None, rules=[], commands=[],
                             msg="chain %s does not exist; nothing to remove" % p["chain"])
        module.fail_json(msg="cannot read iptables chain %s (%s): is the Docker engine running with iptables "
                         "enabled? It creates that chain." % (p["chain"], (err or listing).strip()))
    current = guard_rules(listing, p["chain"], p["comment"])

    note = None
    if p["state"] == "present" and spec is None:
        note = "there is no IPv4 default route and no interface was given: nothing to isolate from"
        module.warn(note)

    commands = plan(current, p["state"], p["chain"], spec)
    for args in commands:
        if module.check_mode:
            break
        rc, out, err = run([iptables, "-w"] + args)
        if rc != 0:
            module.fail_json(msg="iptables %s failed: %s" % (" ".join(args), (err or out).strip()),
                             rc=rc, stdout=out, stderr=err, commands=commands)

    if p["state"] == "present" and spec is not None:
        after = [spec]
    elif p["state"] == "present":
        after = current
    else:
        after = []
    result = dict(
        changed=bool(commands),
        uplink=uplink,
        rule=rule_text(p["chain"], spec) if (spec is not None and p["state"] == "present") else None,
        rules=[rule_text(p["chain"], r) for r in after],
        commands=[[iptables, "-w"] + c for c in commands],
    )
    if note:
        result["msg"] = note
    if module._diff:
        result["diff"] = dict(
            before="\n".join(rule_text(p["chain"], r) for r in current) + ("\n" if current else ""),
            after="\n".join(result["rules"]) + ("\n" if after else ""),
            before_header="%s guard rules" % p["chain"], after_header="%s guard rules" % p["chain"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
