#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: reachability
short_description: Probe TCP endpoints from inside a container, all at once, within one deadline
version_added: 0.1.0
description:
  - From inside O(container) (C(docker exec ... sh -c)), opens a TCP connection to every one of O(targets) at
    the same time with C(nc -n -z -v -w <probe_timeout>), in rounds; targets that failed are probed again in the next
    round until they answer or O(timeout) is near. The module returns within O(timeout) seconds (plus one
    C(docker exec)), however many targets fail and however they fail. A round's C(docker exec) that has not
    ended 10 seconds after O(probe_timeout) (a hung engine or container) is stopped; its targets are then
    C(error)s of that round.
  - Each endpoint still failing at the deadline is named with its party, component, address and port and the kind
    of failure, from nc's message - C(refused) (the address answers, nothing listens on the port - the component
    is down or still starting), C(timeout) (no answer within O(probe_timeout)), C(unreachable) (no route to host,
    network unreachable) or C(error) (nc missing, the container not running).
  - The container needs only C(sh) and OpenBSD C(nc) (the seed.fate holder image of the network pods has both).
  - Only reads; it never changes anything.
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
      - The module only connects, so check mode probes exactly as a normal run does.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  container:
    description:
      - Container the probes run in, for example C(confs-9999-proxy-pod-1).
    type: str
    required: true
  party:
    description:
      - Party id of the source, used in messages.
    type: str
  targets:
    description:
      - The endpoints to reach. Each needs C(address) (IPv4 or IPv6 address) and C(port); C(party) and C(what)
        (the component) name it in messages; other keys are returned unchanged.
    type: list
    elements: dict
    required: true
  timeout:
    description:
      - Overall deadline in seconds. The module fails when an endpoint still does not answer by then.
    type: int
    default: 30
  probe_timeout:
    description:
      - Seconds one TCP connection attempt may take (C(nc -w)).
    type: int
    default: 2
  interval:
    description:
      - Seconds between two rounds.
    type: float
    default: 1.0
"""

EXAMPLES = r"""
- name: Reach party 10000's proxy and serving-proxy from party 9999's proxy pod
  seed.fate.reachability:
    container: confs-9999-proxy-pod-1
    party: "9999"
    targets:
      - {party: "10000", what: proxy, address: 10.151.0.72, port: 9370}
      - {party: "10000", what: serving-proxy, address: 10.151.0.75, port: 8869}
    timeout: 30
"""

RETURN = r"""
reachable:
  description: The targets that answered.
  returned: always
  type: list
  elements: dict
  sample: [{party: "10000", what: proxy, address: 10.151.0.72, port: 9370, kind: ok, attempts: 1}]
unreachable:
  description:
    - The targets that did not answer by the deadline, each with C(kind) (C(refused), C(timeout), C(unreachable),
      C(error)), nc's C(message) and the number of C(attempts).
  returned: always
  type: list
  elements: dict
  sample: [{party: "10000", what: proxy, address: 10.151.0.72, port: 9370, kind: refused, attempts: 28,
            message: "nc: connect to 10.151.0.72 port 9370 (tcp) failed: Connection refused"}]
rounds:
  description: How many rounds of parallel probes ran.
  returned: always
  type: int
  sample: 1
elapsed:
  description: Seconds the probes took.
  returned: always
  type: float
  sample: 0.4
"""

import ipaddress

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DOCKER_CLI_SPEC, DockerCli
from ansible_collections.seed.fate.plugins.module_utils.reachability import OK, describe, probe


def main():
    module = AnsibleModule(
        argument_spec=dict(
            container=dict(type="str", required=True),
            party=dict(type="str"),
            targets=dict(type="list", elements="dict", required=True),
            timeout=dict(type="int", default=30),
            probe_timeout=dict(type="int", default=2),
            interval=dict(type="float", default=1.0),
            **DOCKER_CLI_SPEC
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["timeout"] < 1 or p["probe_timeout"] < 1 or p["interval"] < 0:
        module.fail_json(msg="timeout and probe_timeout must be at least 1 and interval not negative")
    targets = []
    for n, t in enumerate(p["targets"]):
        try:
            address = to_text(ipaddress.ip_address(to_text(t.get("address"))))
            port = int(t.get("port"))
            if not 0 < port < 65536:
                raise ValueError("port out of range")
        except (TypeError, ValueError) as exc:
            module.fail_json(msg="targets[%d]: needs an IP 'address' and a 'port' 1-65535 (%s; got %r)" % (n, exc, t))
        targets.append(dict(t, address=address, port=port))
    if not targets:
        module.exit_json(changed=False, reachable=[], unreachable=[], rounds=0, elapsed=0.0)
    docker = DockerCli.from_module(module)

    # The source's probe timeout never exceeds the deadline.
    probe_timeout = min(p["probe_timeout"], p["timeout"])
    res = probe(docker, p["container"], targets, timeout=p["timeout"], probe_timeout=probe_timeout,
                interval=p["interval"])
    reachable = [r for r in res["results"] if r["kind"] == OK]
    failed = [r for r in res["results"] if r["kind"] != OK]
    result = dict(changed=False, reachable=reachable, unreachable=failed, rounds=res["rounds"], elapsed=res["elapsed"])
    who = "party %s" % p["party"] if p["party"] else "container"
    if not failed:
        module.exit_json(msg="%s reaches %d endpoints of the other parties (%s s)" % (who, len(targets), res["elapsed"]),
                         **result)
    module.fail_json(
        msg="%s (%s) cannot reach %d of %d endpoints within %d s (%d rounds of parallel probes, %d s each):\n%s"
            % (who, p["container"], len(failed), len(targets), p["timeout"], res["rounds"], probe_timeout,
               "\n".join(describe(r, probe_timeout) for r in failed)),
        **result)


if __name__ == "__main__":
    main()
