# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: target_environment
short_description: The environment of a party host's docker calls under the lab's deployment target
version_added: 0.4.0
author:
  - seed.fate contributors (!UNKNOWN)
description:
  - The C(party) operation of the deployment target (docs/multihost.md), answered on the controller without a task.
    Roles C(seed.fate.fate_deploy), C(seed.fate.fate_teardown) and C(seed.fate.fate_verify) give its answer to their
    tasks as C(environment), so that every docker and compose call for a party goes to the engine that runs it.
  - "C(local) (the lab's C(seedfate_target) unset or V(local)): C({}). Nothing is set: docker talks to the party
    host's own engine, exactly as before the target existed."
  - "C(swarm): C({DOCKER_HOST: <url>}), the C(seedfate_docker_host) of the party's Docker host (the host variable
    C(seedfate_docker_host_name) that the C(seed.fate.ghost_nodes) inventory plugin gives each party host from
    C(seedfate_placement))."
  - Fails naming what is missing (the plugin did not place the party, the Docker host is not in the inventory, or it
    has no C(seedfate_docker_host)) and on any other target name.
options:
  _terms:
    description: Not used.
    required: false
"""

EXAMPLES = r"""
- name: Start a party's training stack on the engine that runs it
  community.docker.docker_compose_v2:
    project_src: /data/projects/fate/confs-9999
  environment: "{{ lookup('seed.fate.target_environment') }}"
"""

RETURN = r"""
_raw:
  description: One dictionary, the environment variables to set (empty under C(local)).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.seed.fate.plugins.module_utils import target


def _value(templar, variables, name, default=None):
    if name not in variables:
        return default
    value = variables[name]
    return templar.template(value) if templar is not None else value


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        variables = variables or {}
        host = variables.get("inventory_hostname", "this host")
        try:
            kind = target.check_target(_value(self._templar, variables, "seedfate_target"))
        except target.PlacementError as exc:
            raise AnsibleLookupError("%s: %s" % (host, exc))
        if kind == target.LOCAL:
            return [target.docker_environment(None)]
        name = _value(self._templar, variables, "seedfate_docker_host_name")
        if not name:
            raise AnsibleLookupError(
                "%s has no seedfate_docker_host_name: the seed.fate.ghost_nodes inventory did not place it "
                "(seedfate_target is swarm here, but the plugin saw another target: set seedfate_target / "
                "seedfate_placement in group_vars/all beside the plugin's file, or its options target / placement)"
                % host)
        hostvars = variables.get("hostvars") or {}
        if name not in hostvars:
            raise AnsibleLookupError("%s is placed on %s, which is not an inventory host (add it to the group "
                                     "docker_hosts)" % (host, name))
        url = self._templar.template(hostvars[name].get("seedfate_docker_host"))
        if not url:
            raise AnsibleLookupError("Docker host %s (of %s) has no seedfate_docker_host (the DOCKER_HOST URL of "
                                     "its engine)" % (name, host))
        return [target.docker_environment(url)]
