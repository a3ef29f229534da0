#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: bgp_wait
short_description: Wait until an emulated Internet's BGP sessions are Established and its routes converged
version_added: 0.1.0
description:
  - Asks BIRD in each router and route-server container (C(birdc show protocols)) until every BGP
    session reports C(Established), or fails after O(timeout) seconds naming the sessions that are not up.
    One C(docker exec) of C(birdc) or C(ip) that does not end within 15 seconds is stopped and counts as a
    container that does not answer.
  - With O(routes), also waits until every router of the ASes O(route_asns) holds every one of those prefixes
    in its kernel routing table (C(ip -4 route show)), since sessions can all be up while routes do not cross an AS
    (for example a multi-router AS without iBGP). The failure names each router and the prefixes it lacks.
  - The containers are those of a seedemu compose project (found by the C(com.docker.compose.project)
    label and seedemu's node role label), or an explicit list.
  - Only reads state; it never changes anything.
extends_documentation_fragment:
  - seed.fate.attributes
  - seed.fate.docker_cli
  - seed.fate.docker_cli.engine
attributes:
  check_mode:
    support: full
    details:
      - The module only reads, so check mode asks BIRD exactly as a normal run does.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  project:
    description:
      - Compose project of the emulated Internet; its containers whose seedemu role is a router or a route
        server are asked.
      - At least one of O(project), O(engines) and O(containers) is required.
    type: str
  engines:
    description:
      - Several Docker engines (the C(swarm) deployment target), each with C(docker_host) (its DOCKER_HOST URL) and
        C(project) (the compose project of the lab's part on it); the routers and route servers of every one are
        asked, each through its own engine. O(containers) are asked through the default engine.
    type: list
    elements: dict
    default: []
  containers:
    description:
      - Containers to ask, in addition to those found through O(project).
    type: list
    elements: str
    default: []
  timeout:
    description:
      - Seconds to wait for every session to be Established.
    type: int
    default: 180
  interval:
    description:
      - Seconds between two polls.
    type: float
    default: 2.0
  birdc:
    description:
      - BIRD's control client inside the containers.
    type: str
    default: birdc
  routes:
    description:
      - Prefixes (for example the networks of the FATE parties) that must be in the routing table of every
        router of O(route_asns) before the wait succeeds.
      - Empty checks sessions only.
    type: list
    elements: str
    default: []
  route_asns:
    description:
      - ASes whose router containers (found through O(project) by seedemu's ASN label) must hold every prefix of
        O(routes). Empty means every router of O(project) and every container of O(containers).
    type: list
    elements: int
    default: []
  route_timeout:
    description:
      - Seconds the routes get to converge once every session is Established; routes still missing then fail
        the wait even when O(timeout) has not run out (they will not come by waiting).
    type: int
    default: 30
author:
  - seed.fate contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Wait for BGP in the default lab
  seed.fate.bgp_wait:
    project: seedfate
    timeout: 120

- name: Ask two routers of a hand-made lab
  seed.fate.bgp_wait:
    containers:
      - as150brd-router0-10.150.0.254
      - as100brd-ix100-10.100.0.100
"""

RETURN = r"""
sessions:
  description: Every BGP session seen in the last poll.
  returned: always
  type: list
  elements: dict
  sample:
    - container: as100brd-ix100-10.100.0.100
      name: p_as150
      state: up
      bgp_state: Established
      established: true
      info: Established
containers:
  description: The containers that were asked.
  returned: always
  type: list
  elements: str
  sample: [as100brd-ix100-10.100.0.100, as150brd-router0-10.150.0.254]
not_established:
  description: What was not up at the last poll (sessions and containers whose BIRD did not answer).
  returned: always
  type: list
  elements: str
  sample: ["as150brd-router0-10.150.0.254/p_rs100 (start Active Socket: Connection refused)"]
missing_routes:
  description: Routers that lacked prefixes of O(routes) at the last poll (empty when converged).
  returned: always
  type: list
  elements: dict
  sample:
    - container: as241brd-router0-10.241.0.254
      missing: [10.243.0.0/24]
route_targets:
  description: The router containers whose routing tables were checked for O(routes).
  returned: always
  type: list
  elements: str
  sample: [as241brd-router0-10.241.0.254, as243brd-router0-10.243.0.254]
elapsed:
  description: Seconds spent waiting.
  returned: always
  type: float
  sample: 4.2
"""

import ipaddress

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.seed.fate.plugins.module_utils import bird
from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DOCKER_CLI_SPEC, DockerCli


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project=dict(type="str"),
            containers=dict(type="list", elements="str", default=[]),
            engines=dict(type="list", elements="dict", default=[]),
            timeout=dict(type="int", default=180),
            interval=dict(type="float", default=2.0),
            birdc=dict(type="str", default="birdc"),
            routes=dict(type="list", elements="str", default=[]),
            route_asns=dict(type="list", elements="int", default=[]),
            route_timeout=dict(type="int", default=30),
            **DOCKER_CLI_SPEC
        ),
        required_one_of=[("project", "containers", "engines")],
        supports_check_mode=True,
    )
    params = module.params
    if params["timeout"] < 0:
        module.fail_json(msg="timeout must be 0 or more, not %d" % params["timeout"])
    if params["route_timeout"] < 0:
        module.fail_json(msg="route_timeout must be 0 or more, not %d" % params["route_timeout"])
    for prefix in params["routes"]:
        try:
            ipaddress.ip_network(prefix, strict=False)
        except ValueError as exc:
            module.fail_json(msg="routes: %s" % exc)
    if params["interval"] <= 0:
        module.fail_json(msg="interval must be more than 0, not %s" % params["interval"])
    docker = DockerCli.from_module(module)
    # (client, compose project) to discover: the one engine, or each engine of the swarm target.
    sources = [(docker, params["project"])] if params["project"] else []
    for engine in params["engines"]:
        if not engine.get("docker_host") or not engine.get("project"):
            module.fail_json(msg="engines: each needs docker_host and project, got %r" % (engine,))
        sources.append((docker.on_host(engine["docker_host"]), engine["project"]))
    if params["engines"]:
        docker = bird.Routed(docker)

    containers = list(params["containers"])
    route_targets = list(params["containers"]) if not params["route_asns"] else []
    stopped = []
    if params["routes"] and sources:
        routers = []
        for client, project in sources:
            try:
                found = bird.discover_routers(client, project)
            except RuntimeError as exc:
                module.fail_json(msg=str(exc))
            routers.extend(found)
            if params["engines"]:
                docker.add(client, (name for name, _asn in found))
        wanted = set(params["route_asns"])
        route_targets.extend(name for name, asn in routers
                             if (not wanted or asn in wanted) and name not in route_targets)
        absent = sorted(wanted - set(asn for name, asn in routers))
        if absent:
            module.fail_json(msg="route_asns: compose project %s has no router in AS%s"
                             % (", ".join(p for _c, p in sources), ", AS".join(str(a) for a in absent)),
                             containers=containers, sessions=[], not_established=[], missing_routes=[],
                             route_targets=route_targets, elapsed=0.0)
    for client, project in sources:
        try:
            speakers = bird.discover_speakers(client, project)
        except RuntimeError as exc:
            module.fail_json(msg=str(exc))
        if not speakers and not containers and not params["engines"]:
            module.fail_json(msg="compose project %s has no router or route-server containers: is it up?"
                             % project, containers=[], sessions=[], not_established=[], elapsed=0.0)
        if params["engines"]:
            docker.add(client, (name for name, _state in speakers))
        for name, state in speakers:
            if name not in containers:
                containers.append(name)
            if state != "running":
                stopped.append("%s (container is %s)" % (name, state))
    if params["engines"] and not containers:
        module.fail_json(msg="compose projects %s have no router or route-server containers: are they up?"
                         % ", ".join(p for _c, p in sources), containers=[], sessions=[], not_established=[],
                         elapsed=0.0)
    if stopped:
        # A stopped router will not come up by waiting.
        module.fail_json(msg="router containers are not running: %s" % ", ".join(stopped),
                         containers=containers, sessions=[], not_established=stopped, elapsed=0.0)

    ok, result, elapsed, what = bird.wait_converged(
        docker, containers, params["timeout"], params["interval"], params["birdc"],
        route_targets if params["routes"] else [], params["routes"], params["route_timeout"])
    out = dict(changed=False, containers=containers, sessions=result["sessions"],
               not_established=result["problems"], missing_routes=result["missing_routes"],
               route_targets=route_targets if params["routes"] else [], elapsed=round(elapsed, 1))
    if not ok and what == "routes":
        module.fail_json(msg="BGP sessions are Established but the routes did not converge within %d s of that: %s"
                         % (params["route_timeout"], bird.describe_missing(result["missing_routes"])), **out)
    if not ok:
        module.fail_json(msg="BGP sessions not Established after %d s: %s" % (
            params["timeout"], "; ".join(result["problems"])), **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
