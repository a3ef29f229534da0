#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: target_projects
short_description: Split a lab's compiled emulated Internet into one compose project per Docker host (swarm target)
version_added: 0.2.0
description:
  - Reads the compose project the network stage compiled (C(<build_dir>/output/docker-compose.yml)) and the
    placement map, and writes for every Docker host that runs something a compose project
    C(<build_dir>/hosts/<docker host>/docker-compose.yml) holding the nodes of the ASes placed there, the route
    servers on the O(placement) C(ix) host, and the image-only helper services those nodes are built from.
  - Every IX network, and every AS network used from more than one Docker host (a party placed away from its
    AS), is an attachable overlay the target's C(networks) operation creates first; the projects refer to it as
    external. Every other AS network is a bridge in its AS's project. Every network keeps the Docker name it has
    with one engine (C(<project>_net_<asn>_<net>), C(<project>_net_ix_ix<N>)).
  - Build contexts point back at C(<build_dir>/output), so the one compile (and its record) stays the only
    source; the parties' addresses come from C(<build_dir>/ghost).
  - A host's file that is already right is not touched; the file of a Docker host that no longer runs anything
    is removed. The decisions are module_utils/target.py's (unit-tested with golden files).
extends_documentation_fragment:
  - seed.fate.attributes
attributes:
  check_mode:
    support: full
    details:
      - Computes everything and reports which files would be written or removed.
  diff_mode:
    support: full
    details:
      - The diff holds each changed file's text before and after.
  idempotent:
    support: full
options:
  build_dir:
    description:
      - The lab's build folder (C(output/docker-compose.yml), C(ghost/)); the projects go to C(hosts/) in it.
    type: path
    required: true
  project:
    description: Compose project of the emulated Internet (the prefix of every network name).
    type: str
    required: true
  placement:
    description:
      - Where each part of the lab runs; C(ix) (the Docker host of the route servers), C(ases) (every AS of the
        lab -> its Docker host), C(parties) (optional, party id -> Docker host; a party follows its AS
        otherwise). Unknown ASes, parties or Docker hosts and ASes left out fail, naming the field.
    type: dict
    required: true
  docker_hosts:
    description: The Docker hosts (inventory group C(docker_hosts)).
    type: list
    elements: str
    required: true
author:
  - seed.fate contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: One compose project per Docker host
  seed.fate.target_projects:
    build_dir: "{{ seedfate_build_dir }}"
    project: "{{ seedfate_network_project }}"
    placement: "{{ seedfate_placement }}"
    docker_hosts: "{{ groups['docker_hosts'] }}"
  register: projects

- name: Start each host's part
  community.docker.docker_compose_v2:
    project_src: "{{ item.value.project_dir }}"
    project_name: "{{ item.value.project }}"
    docker_host: "{{ hostvars[item.key].seedfate_docker_host }}"
  loop: "{{ projects.hosts | dict2items }}"
"""

RETURN = r"""
hosts:
  description:
    - Per Docker host that runs part of the lab, its compose project.
    - C(project_dir) (absolute), C(project) (the compose project name, from naming.py), C(services) (all of
      them), C(start) (those to start; not the image-only helpers), C(overlays) (names of the overlays its
      project refers to).
  returned: always
  type: dict
  sample: {"node1": {"project": "seedfate-node1", "project_dir": "/srv/lab/hosts/node1",
           "start": ["brdnode_150_router0", "rs_ix_ix100"], "overlays": ["seedfate_net_ix_ix100"]}}
overlays:
  description:
    - The overlays to create before any project starts, each with C(name), C(subnet) (seedemu's prefix),
      C(ip_range) (the block Swarm's own addresses come from, clear of every fixed address) and C(labels)
      (seedemu's and C(seed.fate/lab)).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "seedfate_net_ix_ix100", "subnet": "10.100.0.0/24", "ip_range": "10.100.0.240/29"}]
networks:
  description: Every network of the lab with its C(name), C(kind) (C(bridge) or C(overlay)), C(scope), C(subnet),
    C(owner) and C(hosts) (the Docker hosts that use it).
  returned: always
  type: dict
prefixes:
  description: Every network prefix of the lab (what the isolation guard seals on each Docker host).
  returned: always
  type: list
  elements: str
placement:
  description: The placement map as checked (ASNs as numbers, party ids as strings).
  returned: always
  type: dict
files:
  description: The compose files written (or, in check mode, that would be) and removed.
  returned: always
  type: dict
  sample: {"written": ["/srv/lab/hosts/node3/docker-compose.yml"], "removed": []}
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.seed.fate.plugins.module_utils import fileio, naming, target

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML comes with Ansible
    HAS_YAML = False

COMPOSE_FILE = "docker-compose.yml"


def ghost_facts(build_dir):
    """({party id: (asn, network)}, [reserved addresses]) from the compiled ghost files (empty when absent)."""
    ghost = os.path.join(build_dir, "ghost")
    try:
        with open(os.path.join(ghost, naming.GHOST_NODES_FILE)) as f:
            nodes = json.load(f)
    except (IOError, OSError, ValueError):
        return {}, []
    try:
        with open(os.path.join(ghost, naming.PARTY_LAYOUT_FILE)) as f:
            layout = json.load(f)
    except (IOError, OSError, ValueError):
        layout = {}
    by_id = dict((n.get("NodeId"), n) for n in nodes if isinstance(n, dict))
    reserved = []
    for node in by_id.values():
        reserved.extend(i.get("Address") for i in node.get("Interfaces") or [] if i.get("Address"))
    parties = {}
    for cluster in (layout or {}).values():
        for party_id, components in (cluster or {}).items():
            for ids in (components or {}).values():
                for node_id in ids or []:
                    node = by_id.get(node_id) or {}
                    for iface in node.get("Interfaces") or []:
                        if node.get("Autonomous_Systems") is not None and iface.get("Connected_to"):
                            parties.setdefault(str(party_id), (int(node["Autonomous_Systems"]), iface["Connected_to"]))
    return parties, reserved


def main():
    module = AnsibleModule(
        argument_spec=dict(
            build_dir=dict(type="path", required=True),
            project=dict(type="str", required=True),
            placement=dict(type="dict", required=True),
            docker_hosts=dict(type="list", elements="str", required=True),
        ),
        supports_check_mode=True,
    )
    if not HAS_YAML:
        module.fail_json(msg="PyYAML is required")
    p = module.params
    build_dir = os.path.abspath(p["build_dir"])
    source = os.path.join(build_dir, "output", COMPOSE_FILE)
    try:
        with open(source) as f:
            compose = yaml.safe_load(f) or {}
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot read the compiled project %s (compile it first): %s" % (source, exc))
    except yaml.YAMLError as exc:
        module.fail_json(msg="%s is not a compose file: %s" % (source, exc))
    parties, reserved = ghost_facts(build_dir)
    try:
        placement = target.validate_placement(p["placement"], p["docker_hosts"], target.lab_asns(compose),
                                              target.lab_has_ix(compose), list(parties) if parties else None,
                                              field="placement")
        plan = target.split_compose(compose, p["project"], placement, parties, reserved,
                                    swarm_nodes=len(p["docker_hosts"]))
    except target.PlacementError as exc:
        module.fail_json(msg=str(exc))

    written, removed, before, after = [], [], [], []
    for host, part in sorted(plan["hosts"].items()):
        path = os.path.join(build_dir, part["dir"], COMPOSE_FILE)
        text = target.render_compose(part["compose"])
        old = fileio.read_bytes(path)
        if fileio.write_if_changed(path, text, check_mode=module.check_mode):
            written.append(path)
            before.append("# %s\n%s" % (path, (old or b"").decode("utf-8", "replace")))
            after.append("# %s\n%s" % (path, text))
    hosts_root = os.path.join(build_dir, naming.TARGET_HOSTS_DIR)
    wanted = set(part["dir"].split("/")[-1] for part in plan["hosts"].values())
    if os.path.isdir(hosts_root):
        for name in sorted(os.listdir(hosts_root)):
            path = os.path.join(hosts_root, name, COMPOSE_FILE)
            if name not in wanted and os.path.isfile(path):
                removed.append(path)
                before.append("# %s\n%s" % (path, (fileio.read_bytes(path) or b"").decode("utf-8", "replace")))
                after.append("# %s (removed)\n" % path)
                if not module.check_mode:
                    os.unlink(path)

    summary = target.plan_summary(plan)
    hosts = {}
    for host, part in summary["hosts"].items():
        hosts[host] = dict(part, project_dir=os.path.join(build_dir, part["dir"]))
    prefixes = sorted(set(n["subnet"] for n in plan["networks"].values() if n["subnet"]))
    result = dict(changed=bool(written or removed), hosts=hosts, overlays=summary["overlays"],
                  networks=summary["networks"], prefixes=prefixes,
                  placement=dict(placement, ases=dict((str(k), v) for k, v in placement["ases"].items())),
                  files={"written": written, "removed": removed})
    if module._diff and (written or removed):
        result["diff"] = {"before": "\n".join(before), "after": "\n".join(after)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
