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
  - This module seals exactly one lab. It keeps, at the top of Docker's C(DOCKER-USER) chain, one C(DROP)
    rule per lab match and uplink, for IPv4 (C(iptables)) and IPv6 (C(ip6tables)). A lab match is a source
    prefix of the lab (C(-s <prefix>), from O(sources), O(compose_file) or the networks of O(project)) or
    the bridge interface of one of the lab's docker networks (C(-i <bridge>), from O(bridges) or O(project));
    an uplink is the interface of B(every) default route (every routing table, every next hop of a multipath
    route or nexthop group, IPv4 and IPv6) unless O(uplinks) names them.
  - Containers that are not the lab's are not matched, so their egress is untouched. Traffic between the
    lab's networks, and from the lab to the host itself, never passes these rules.
  - Every rule carries O(comment); only rules with exactly that comment are ever changed or removed, so
    several guards (one per lab, the CI's own) live side by side. O(state=present) converges the rules to
    exactly the wanted set (a second run changes nothing); O(state=absent) removes exactly those rules.
  - IPv6 is guarded even when Docker's IPv6 is off. A lab node with C(NET_ADMIN) (seedemu routers are
    privileged) can give itself an IPv6 address and route through the host when the host forwards IPv6, so
    the bridge rules are installed in C(ip6tables) too. When Docker created no IPv6 C(DOCKER-USER) chain
    (its daemon option C(ip6tables) false), the IPv6 rules go to the top of C(FORWARD) instead.
  - The uplinks are those of the moment the module runs. An uplink that appears later (a VPN, a second
    interface coming up) is guarded the next time the module runs (the network role runs it on every
    C(up)).
extends_documentation_fragment:
  - seed.fate.attributes
  - seed.fate.docker_cli
attributes:
  check_mode:
    support: full
    details:
      - Reads routes, docker networks and the chains, and reports the iptables commands that would run.
  diff_mode:
    support: full
    details:
      - The diff lists this guard's rules (per family) before and after.
  idempotent:
    support: full
options:
  state:
    description:
      - V(present) keeps exactly the wanted rules with O(comment) (others with that comment are removed).
      - V(absent) removes every rule with O(comment), from O(chain) and from C(FORWARD), for IPv4 and IPv6.
    type: str
    choices: [present, absent]
    default: present
  scope:
    description:
      - V(lab) matches only the lab's traffic (O(sources), O(bridges), O(compose_file), O(project)); at least
        one of them must yield a match.
      - V(all) drops the egress of B(every) container on the host (C(-o <uplink>) without a source match), as
        a CI machine that runs nothing else may want. O(sources) and friends are then ignored.
    type: str
    choices: [lab, all]
    default: lab
  sources:
    description:
      - The lab's address prefixes, IPv4 or IPv6 (host bits are cleared).
    type: list
    elements: str
    default: []
  bridges:
    description:
      - Bridge interfaces of the lab's networks (matched with C(-i)). Catches lab traffic whatever its source
        address, for example a privileged node that spoofs one, and IPv6 the lab was not given.
    type: list
    elements: str
    default: []
  compose_file:
    description:
      - A compiled compose file (seedemu's C(output/docker-compose.yml)); the C(ipam) subnets of its
        top-level networks are added to O(sources). This is known before any container starts.
      - A missing file is an error.
    type: path
  project:
    description:
      - A compose project name. Its existing docker networks (label C(com.docker.compose.project)) add their
        bridge interface to O(bridges) and their subnets to O(sources); networks not created yet add
        nothing (run the module again after C(up)). They are read with O(docker_cli).
    type: str
  uplinks:
    description:
      - The uplinks to guard, for both families. By default the interfaces of every IPv4 and every IPv6
        default route (all routing tables, all next hops).
      - Without any uplink there is nothing to guard; the module then reports a warning.
    type: list
    elements: str
    aliases: [interface]
  ipv6:
    description:
      - Also guard IPv6 (C(ip6tables)). Without an C(ip6tables) command the module warns and guards IPv4 only.
    type: bool
    default: true
  comment:
    description:
      - Comment that marks the guard's rules (iptables comment match). One per lab.
    type: str
    default: seed.fate lab isolation
  remove_comments:
    description:
      - Rules (in the chains this module reads) whose comment is exactly one of these are removed, whatever
        O(state) - for example the rules of an earlier guard that used another comment. O(comment) itself is
        ignored here.
    type: list
    elements: str
    default: []
  chain:
    description:
      - Chain to keep the rules in. Docker jumps to C(DOCKER-USER) before its own forwarding rules.
      - It must exist for IPv4 (Docker creates it). For IPv6, C(FORWARD) is used when it does not.
    type: str
    default: DOCKER-USER
  iptables:
    description: The C(iptables) command (name on E(PATH) or path).
    type: str
    default: iptables
  ip6tables:
    description: The C(ip6tables) command (name on E(PATH) or path).
    type: str
    default: ip6tables
requirements:
  - iptables and ip6tables (with the C(comment) match), iproute2 (C(ip) with JSON output), root, and a
    Docker engine managing iptables (it creates C(DOCKER-USER)).
notes:
  - Rules are C(-s <prefix> -o <uplink> -j DROP) and C(-i <bridge> -o <uplink> -j DROP), each with
    C(-m comment --comment <comment>), one per match and uplink; with O(scope=all), C(-o <uplink> -j DROP).
  - What the seal protects and what it does not is written down in the collection's C(docs/threat-model.md).
author:
  - seed.fate contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Seal the lab before it starts (its prefixes, on every uplink)
  seed.fate.isolation_guard:
    compose_file: /srv/lab/output/docker-compose.yml
    project: seedfate
    comment: "seed.fate lab isolation: seedfate"

- name: After compose up, the same call adds the lab's bridges
  seed.fate.isolation_guard:
    compose_file: /srv/lab/output/docker-compose.yml
    project: seedfate
    comment: "seed.fate lab isolation: seedfate"

- name: Seal given prefixes and a bridge on named uplinks only
  seed.fate.isolation_guard:
    sources: [10.150.0.0/24, 10.100.0.0/24]
    bridges: [br-3f2a1c9d0e11]
    uplinks: [eth0, wg0]
    comment: my lab

- name: Lift the seal
  seed.fate.isolation_guard:
    state: absent
    comment: "seed.fate lab isolation: seedfate"
"""

RETURN = r"""
uplinks:
  description: The guarded interfaces per family.
  returned: always
  type: dict
  sample: {"ipv4": ["eth0", "wlan0"], "ipv6": ["eth0"]}
sources:
  description: The lab's prefixes that are matched (empty with O(scope=all)).
  returned: always
  type: list
  elements: str
  sample: [10.100.0.0/24, 10.150.0.0/24]
bridges:
  description: The lab's bridge interfaces that are matched (empty with O(scope=all)).
  returned: always
  type: list
  elements: str
  sample: [br-3f2a1c9d0e11]
chains:
  description: The chain holding the rules, per family (C(FORWARD) for IPv6 without Docker's chain).
  returned: always
  type: dict
  sample: {"ipv4": "DOCKER-USER", "ipv6": "DOCKER-USER"}
rules:
  description: The guard's rules after the run, per family, as C(iptables -S) prints them.
  returned: always
  type: dict
  sample: {"ipv4": ["-A DOCKER-USER -s 10.150.0.0/24 -o eth0 -m comment --comment \"seed.fate lab isolation: seedfate\" -j DROP"], "ipv6": []}
commands:
  description: The iptables/ip6tables commands run (or, in check mode, that would run).
  returned: always
  type: list
  elements: list
"""

import ipaddress
import json
import shlex

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DOCKER_CLI_SPEC, DockerCli, project_filter

FAMILIES = ("ipv4", "ipv6")
NOT_FORWARDING = ("blackhole", "unreachable", "prohibit", "throw")


# ------------------------------------------------------------------ uplinks
def _nexthop_devices(run, ip_cmd, nhid, seen=None):
    """Devices of a nexthop object (``ip nexthop``), following groups."""
    seen = set() if seen is None else seen
    if nhid in seen:
        return []
    seen.add(nhid)
    rc, out, _err = run([ip_cmd, "-j", "nexthop", "show", "id", str(nhid)])
    if rc != 0:
        return []
    try:
        doc = json.loads(out or "[]")
    except ValueError:
        return []
    devs = []
    for nh in doc if isinstance(doc, list) else [doc]:
        if nh.get("dev"):
            devs.append(nh["dev"])
        for member in nh.get("group") or []:
            devs += _nexthop_devices(run, ip_cmd, member.get("id"), seen)
    return devs


def route_devices(routes, run=None, ip_cmd="ip"):
    """Interfaces of the default routes in ``ip -j route show table all`` output (a parsed list)."""
    devs = []
    for r in routes:
        if r.get("dst") != "default" or r.get("type") in NOT_FORWARDING or r.get("table") == "local":
            continue
        if r.get("dev"):
            devs.append(r["dev"])
        for nh in r.get("nexthops") or []:
            if nh.get("dev"):
                devs.append(nh["dev"])
        if r.get("nhid") is not None and run is not None and not r.get("dev") and not r.get("nexthops"):
            devs += _nexthop_devices(run, ip_cmd, r["nhid"])
    out = []
    for d in devs:
        if d not in out and d != "lo":
            out.append(d)
    return out


def default_route_interfaces(run, ip_cmd, family):
    """Interfaces of every default route of ``family`` (all tables, all next hops)."""
    rc, out, _err = run([ip_cmd, "-j", "-4" if family == "ipv4" else "-6", "route", "show", "table", "all"])
    if rc != 0:
        return []
    try:
        routes = json.loads(out or "[]")
    except ValueError:
        return []
    return route_devices(routes, run, ip_cmd)


# ------------------------------------------------------------------ the lab
def normalise_prefixes(values, field):
    """{'ipv4': [...], 'ipv6': [...]} of prefixes as iptables prints them; ValueError names the bad one."""
    out = {"ipv4": [], "ipv6": []}
    for v in values:
        try:
            net = ipaddress.ip_network(str(v).strip(), strict=False)
        except ValueError as exc:
            raise ValueError("%s: %r is not an IP prefix (%s)" % (field, v, exc))
        fam = "ipv4" if net.version == 4 else "ipv6"
        if net.prefixlen == 0:
            raise ValueError("%s: %s would match every address, not the lab's" % (field, net))
        if str(net) not in out[fam]:
            out[fam].append(str(net))
    return out


def compose_subnets(text):
    """ipam subnets of a compose file's top-level networks."""
    import yaml  # ansible-core depends on PyYAML
    doc = yaml.safe_load(text) or {}
    subnets = []
    networks = doc.get("networks") if isinstance(doc, dict) else None
    for body in (networks or {}).values():
        ipam = (body or {}).get("ipam") if isinstance(body, dict) else None
        for conf in (ipam or {}).get("config") or []:
            if isinstance(conf, dict) and conf.get("subnet"):
                subnets.append(str(conf["subnet"]))
    return subnets


def docker_network_facts(inspected):
    """(bridges, subnets) of ``docker network inspect`` documents (bridge driver only)."""
    bridges, subnets = [], []
    for net in inspected:
        if net.get("Driver") != "bridge":
            continue
        name = (net.get("Options") or {}).get("com.docker.network.bridge.name") or "br-" + net["Id"][:12]
        bridges.append(name)
        for conf in (net.get("IPAM") or {}).get("Config") or []:
            if conf.get("Subnet"):
                subnets.append(conf["Subnet"])
    return bridges, subnets


# ------------------------------------------------------------------ rules
def rule_specs(uplinks, sources, bridges, comment, scope="lab"):
    """The wanted rules of one family, as argument lists after ``-A <chain>``."""
    tail = ["-m", "comment", "--comment", comment, "-j", "DROP"]
    specs = []
    for up in uplinks:
        if scope == "all":
            specs.append(["-o", up] + tail)
            continue
        for src in sources:
            specs.append(["-s", src, "-o", up] + tail)
        for br in bridges:
            if br != up:
                specs.append(["-i", br, "-o", up] + tail)
    return specs


def rule_text(chain, spec):
    """A rule as ``iptables -S`` prints it."""
    return " ".join(["-A", chain] + ['"%s"' % w if " " in w else w for w in spec])


def _key(spec):
    # iptables may print matches in another order than they were given.
    return tuple(sorted(spec))


def same_rule(a, b):
    return _key(a) == _key(b)


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


def plan_chains(current, target_chain, wanted):
    """Argument lists that take ``current`` ({chain: [spec]}) to exactly ``wanted`` in ``target_chain``.

    ``target_chain`` None removes everything. Deletions first, then inserts at the top (in order).
    """
    deletes, kept = [], set()
    for chain, rules in current.items():
        for rule in rules:
            k = _key(rule)
            if chain == target_chain and k in [_key(w) for w in wanted] and k not in kept:
                kept.add(k)
                continue
            deletes.append(["-D", chain] + rule)
    inserts = []
    if target_chain is not None:
        missing = [w for w in wanted if _key(w) not in kept]
        seen = set()
        for w in reversed(missing):
            if _key(w) in seen:
                continue
            seen.add(_key(w))
            inserts.append(["-I", target_chain, "1"] + w)
    return deletes + inserts


# ------------------------------------------------------------------ module
class Guard(object):
    def __init__(self, module):
        self.m = module
        self.p = module.params
        self.commands = []
        self.warnings = []

    def run(self, argv):
        return self.m.run_command(argv)

    def lab(self):
        """(sources per family, bridges) that identify the lab's traffic."""
        p = self.p
        try:
            sources = normalise_prefixes(p["sources"], "sources")
        except ValueError as exc:
            self.m.fail_json(msg=str(exc))
        bridges = [b for b in p["bridges"] if b]
        extra = []
        if p["compose_file"]:
            try:
                with open(p["compose_file"], "rb") as f:
                    text = f.read().decode("utf-8")
                extra += [(s, "compose_file %s" % p["compose_file"]) for s in compose_subnets(text)]
            except (IOError, OSError) as exc:
                self.m.fail_json(msg="cannot read compose_file %s: %s" % (p["compose_file"], exc))
            except Exception as exc:  # yaml errors
                self.m.fail_json(msg="compose_file %s is not a compose file: %s" % (p["compose_file"], exc))
        if p["project"]:
            docker = DockerCli.from_module(self.m)
            rc, out, err = docker.run(["network", "ls", "-q", "--filter", project_filter(p["project"])])
            if rc != 0:
                self.m.fail_json(msg="cannot list the docker networks of project %s: %s" % (p["project"], (err or out).strip()))
            ids = out.split()
            if ids:
                rc, out, err = docker.run(["network", "inspect"] + ids)
                if rc != 0:
                    self.m.fail_json(msg="cannot inspect the networks of project %s: %s" % (p["project"], (err or out).strip()))
                more_bridges, subnets = docker_network_facts(json.loads(out or "[]"))
                bridges += [b for b in more_bridges if b not in bridges]
                extra += [(s, "docker networks of project %s" % p["project"]) for s in subnets]
        for subnet, where in extra:
            try:
                fam = normalise_prefixes([subnet], where)
            except ValueError as exc:
                self.m.fail_json(msg=str(exc))
            for f in FAMILIES:
                sources[f] += [s for s in fam[f] if s not in sources[f]]
        for f in FAMILIES:
            sources[f].sort(key=ipaddress.ip_network)
        return sources, sorted(set(bridges))

    def listing(self, cmd, chain):
        rc, out, err = self.run([cmd, "-w", "-S", chain])
        return (out if rc == 0 else None), (err or out).strip()

    def main(self):
        p = self.p
        if not p["comment"].strip():
            self.m.fail_json(msg="comment must not be empty: it is what identifies the guard's rules")
        present = p["state"] == "present"
        cmds = {"ipv4": self.m.get_bin_path(p["iptables"], required=True)}
        if p["ipv6"] or not present:
            cmds["ipv6"] = self.m.get_bin_path(p["ip6tables"], required=False)
            if not cmds["ipv6"]:
                del cmds["ipv6"]
                if p["ipv6"]:
                    self.warnings.append("no %s command: IPv6 is not guarded" % p["ip6tables"])

        sources, bridges = ({"ipv4": [], "ipv6": []}, [])
        if present and p["scope"] == "lab":
            sources, bridges = self.lab()
            if not (sources["ipv4"] or sources["ipv6"] or bridges):
                self.m.fail_json(msg="nothing identifies the lab's traffic: give sources, bridges, a compose_file "
                                     "with ipam subnets or a project with networks (or scope=all to drop the "
                                     "egress of every container)")

        uplinks = {"ipv4": [], "ipv6": []}
        if present:
            if p["uplinks"]:
                for f in FAMILIES:
                    uplinks[f] = [u for u in p["uplinks"] if u]
            else:
                ip_cmd = self.m.get_bin_path("ip", required=True)
                for f in cmds:
                    uplinks[f] = default_route_interfaces(self.run, ip_cmd, f)
            if not any(uplinks[f] for f in cmds):
                self.warnings.append("there is no default route and no uplink was given: nothing to isolate from")

        chains, before, after, plans = {}, {}, {}, {}
        for f, cmd in cmds.items():
            scan = [p["chain"]] + (["FORWARD"] if p["chain"] != "FORWARD" else [])
            current, retired = {}, []
            for chain in scan:
                listing, err = self.listing(cmd, chain)
                if listing is None:
                    if f == "ipv4" and chain == p["chain"] and present:
                        self.m.fail_json(msg="cannot read iptables chain %s (%s): is the Docker engine running with "
                                             "iptables enabled? It creates that chain." % (chain, err))
                    continue
                current[chain] = guard_rules(listing, chain, p["comment"])
                for old in p["remove_comments"]:
                    if old and old != p["comment"]:
                        retired += [["-D", chain] + rule for rule in guard_rules(listing, chain, old)]
            target = None
            if present:
                target = p["chain"] if p["chain"] in current else ("FORWARD" if "FORWARD" in current else None)
                if target is None:
                    self.warnings.append("%s: neither %s nor FORWARD can be read: IPv6 is not guarded" % (cmd, p["chain"]))
            wanted = rule_specs(uplinks[f], sources[f], bridges,
                                p["comment"], p["scope"]) if target else []
            chains[f] = target
            plans[f] = [[cmd, "-w"] + c for c in retired + plan_chains(current, target, wanted)]
            before[f] = [rule_text(c, r) for c, rules in current.items() for r in rules] + \
                [rule_text(r[1], r[2:]) for r in retired]
            after[f] = [rule_text(target, w) for w in wanted] if target else []
        for f in FAMILIES:
            chains.setdefault(f, None)
            before.setdefault(f, [])
            after.setdefault(f, [])

        commands = plans.get("ipv4", []) + plans.get("ipv6", [])
        if not self.m.check_mode:
            for argv in commands:
                rc, out, err = self.run(argv)
                if rc != 0:
                    self.m.fail_json(msg="%s failed: %s" % (" ".join(argv), (err or out).strip()),
                                     rc=rc, stdout=out, stderr=err, commands=commands)
        for w in self.warnings:
            self.m.warn(w)
        result = dict(changed=bool(commands), uplinks=uplinks, sources=sources["ipv4"] + sources["ipv6"],
                      bridges=bridges, chains=chains, rules=after, commands=commands)
        if self.warnings:
            result["msg"] = "; ".join(self.warnings)
        if self.m._diff:
            def text(d):
                return "".join("%s: %s\n" % (f, r) for f in FAMILIES for r in d[f])
            result["diff"] = dict(before=text(before), after=text(after),
                                  before_header="guard rules (%s)" % p["comment"],
                                  after_header="guard rules (%s)" % p["comment"])
        self.m.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            scope=dict(type="str", choices=["lab", "all"], default="lab"),
            sources=dict(type="list", elements="str", default=[]),
            bridges=dict(type="list", elements="str", default=[]),
            compose_file=dict(type="path"),
            project=dict(type="str"),
            uplinks=dict(type="list", elements="str", aliases=["interface"]),
            ipv6=dict(type="bool", default=True),
            comment=dict(type="str", default="seed.fate lab isolation"),
            remove_comments=dict(type="list", elements="str", default=[]),
            chain=dict(type="str", default="DOCKER-USER"),
            iptables=dict(type="str", default="iptables"),
            ip6tables=dict(type="str", default="ip6tables"),
            **DOCKER_CLI_SPEC
        ),
        supports_check_mode=True,
    )
    Guard(module).main()


if __name__ == "__main__":
    main()
