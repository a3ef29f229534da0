#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: bgp_wait
short_description: Wait until every BGP session of an emulated Internet is Established
version_added: 0.1.0
description:
  - Asks BIRD in each router and route-server container (C(birdc show protocols)) until every BGP
    session reports C(Established), or fails after O(timeout) seconds naming the sessions that are not up.
  - The containers are those of a seedemu compose project (found by the C(com.docker.compose.project)
    label and seedemu's node role label), or an explicit list.
  - Only reads state; it never changes anything.
extends_documentation_fragment:
  - seed.fate.attributes
  - seed.fate.attributes.docker
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
      - At least one of O(project) and O(containers) is required.
    type: str
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
elapsed:
  description: Seconds spent waiting.
  returned: always
  type: float
  sample: 4.2
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.seed.fate.plugins.module_utils import bird


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project=dict(type="str"),
            containers=dict(type="list", elements="str", default=[]),
            timeout=dict(type="int", default=180),
            interval=dict(type="float", default=2.0),
            birdc=dict(type="str", default="birdc"),
            docker_cli=dict(type="path", default="docker"),
        ),
        required_one_of=[("project", "containers")],
        supports_check_mode=True,
    )
    params = module.params
    if params["timeout"] < 0:
        module.fail_json(msg="timeout must be 0 or more, not %d" % params["timeout"])
    if params["interval"] <= 0:
        module.fail_json(msg="interval must be more than 0, not %s" % params["interval"])
    docker_cli = module.get_bin_path(params["docker_cli"], required=True)

    def run(argv):
        return module.run_command(argv)

    containers = list(params["containers"])
    stopped = []
    if params["project"]:
        try:
            speakers = bird.discover_speakers(run, docker_cli, params["project"])
        except RuntimeError as exc:
            module.fail_json(msg=str(exc))
        if not speakers and not containers:
            module.fail_json(msg="compose project %s has no router or route-server containers: is it up?"
                             % params["project"], containers=[], sessions=[], not_established=[], elapsed=0.0)
        for name, state in speakers:
            if name not in containers:
                containers.append(name)
            if state != "running":
                stopped.append("%s (container is %s)" % (name, state))
    if stopped:
        # A stopped router will not come up by waiting.
        module.fail_json(msg="router containers are not running: %s" % ", ".join(stopped),
                         containers=containers, sessions=[], not_established=stopped, elapsed=0.0)

    ok, result, elapsed = bird.wait_established(run, docker_cli, containers, params["timeout"],
                                                params["interval"], params["birdc"])
    out = dict(changed=False, containers=containers, sessions=result["sessions"],
               not_established=result["problems"], elapsed=round(elapsed, 1))
    if not ok:
        module.fail_json(msg="BGP sessions not Established after %d s: %s" % (
            params["timeout"], "; ".join(result["problems"])), **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
