#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pod_health
short_description: Wait until a deployed FATE compose project sits on the emulated Internet
version_added: 0.1.0
description:
  - For a compose project deployed from a seed.fate bundle, waits until every component's network pod
    (service C(<component>-pod)) runs, holds the component's reserved address on the skeleton's docker
    network and routes by default through the AS router, and until the component's own container runs inside
    that pod's network namespace.
  - With O(project_src), every service of the compose project must also have a running container.
  - A component container left in an old namespace (its pod was restarted underneath it) is restarted when
    O(restart_stale=true); that is the only change this module makes.
  - Fails after O(timeout) seconds with one line per problem, naming the party and the component.
  - Reads containers with one C(docker ps) and one C(docker inspect) per round, and routes from
    C(/proc/<pid>/net/route) when the module runs on the Docker host (C(DOCKER_HOST) unset or a C(unix://)
    socket), else through C(docker exec ... ip route) (an engine at C(tcp://) or C(ssh://) has pids of its own).
author:
  - seed.fate contributors (!UNKNOWN)
extends_documentation_fragment:
  - seed.fate.attributes
  - seed.fate.docker_cli
  - seed.fate.docker_cli.engine
attributes:
  check_mode:
    support: full
    details:
      - In check mode the project is looked at once, without waiting; problems are returned and warned about,
        not failed on, since the containers may not exist yet.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  project:
    description:
      - Compose project name, for example C(confs-9999).
    type: str
    required: true
  party:
    description:
      - Party id, used in messages.
    type: str
  components:
    description:
      - The components placed in network pods, as the inventory's C(seedfate_clusters.<cluster>) gives them - a
        dictionary from component (compose service) name, for example C(proxy), to its placement.
      - Each placement needs C(address) (the reserved IPv4 address) and C(network) (the skeleton's docker network
        holding it); C(gateway) (the AS router, which the pod's default route must point at) is checked when set.
        Other keys are ignored.
    type: dict
    default: {}
  project_src:
    description:
      - Folder of the compose project. When set, every service it defines must have a running container.
    type: path
  timeout:
    description:
      - Seconds to wait for the project to become healthy.
    type: int
    default: 120
  interval:
    description:
      - Seconds between two looks.
    type: float
    default: 1.0
  restart_stale:
    description:
      - Restart component containers that run in a namespace their pod no longer has.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Wait for party 9999's training stack
  seed.fate.pod_health:
    project: confs-9999
    party: "9999"
    project_src: /data/projects/fate/confs-9999
    components:
      proxy:
        address: 10.152.0.72
        network: seedfate_net_152_net0
        gateway: 10.152.0.254
    timeout: 180
"""

RETURN = r"""
healthy:
  description: Whether every check passed.
  returned: always
  type: bool
  sample: true
problems:
  description: What is wrong, one entry per component (empty when healthy).
  returned: always
  type: list
  elements: dict
  sample: [{component: proxy, problem: "network pod confs-9999-proxy-pod-1 has address none on ..."}]
restarted:
  description: Component containers restarted because they ran in a stale namespace.
  returned: always
  type: list
  elements: str
  sample: []
rounds:
  description: How many times the project was looked at.
  returned: always
  type: int
  sample: 1
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DOCKER_CLI_SPEC, DockerCli, DockerError
from ansible_collections.seed.fate.plugins.module_utils.pods import (
    HostView,
    compose_services,
    wait_healthy,
)
from ansible_collections.seed.fate.plugins.module_utils.target import engine_is_local


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project=dict(type="str", required=True),
            party=dict(type="str"),
            components=dict(type="dict", default={}),
            project_src=dict(type="path"),
            timeout=dict(type="int", default=120),
            interval=dict(type="float", default=1.0),
            restart_stale=dict(type="bool", default=True),
            **DOCKER_CLI_SPEC
        ),
        supports_check_mode=True,
    )
    p = module.params
    components = []
    for name in sorted(p["components"]):
        place = p["components"][name]
        if not isinstance(place, dict) or not place.get("address") or not place.get("network"):
            module.fail_json(msg="components.%s: needs 'address' and 'network' (got %r)" % (name, place))
        components.append(dict(name=name, address=str(place["address"]), network=str(place["network"]),
                               gateway=str(place["gateway"]) if place.get("gateway") else None))
    docker = DockerCli.from_module(module)

    try:
        services = compose_services(docker, p["project_src"]) if p["project_src"] else None
        res = wait_healthy(
            docker, p["project"], components, HostView(docker, local=engine_is_local(os.environ.get("DOCKER_HOST"))), services,
            timeout=0 if module.check_mode else p["timeout"], interval=p["interval"],
            restart_stale=p["restart_stale"], check_mode=module.check_mode,
        )
    except DockerError as exc:
        module.fail_json(msg=str(exc))
    who = "party %s" % p["party"] if p["party"] else "project %s" % p["project"]
    problems = [dict(component=c, problem=t) for c, t in res["problems"]]
    result = dict(changed=bool(res["restarted"]), healthy=res["ok"], problems=problems,
                  restarted=res["restarted"], rounds=res["rounds"])
    if res["ok"]:
        module.exit_json(**result)
    lines = ["%s, component %s: %s" % (who, c, t) for c, t in res["problems"]]
    if module.check_mode:
        for line in lines:
            module.warn(line)
        module.exit_json(**result)
    module.fail_json(msg="%s (%s) is not healthy after %ss:\n%s" % (who, p["project"], p["timeout"], "\n".join(lines)),
                     **result)


if __name__ == "__main__":
    main()
