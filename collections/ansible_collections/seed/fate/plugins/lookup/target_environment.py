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
  - "With terms, the same answer for each named inventory host instead of the current one: a party host (the engine that
    runs that party) or a Docker host of the group C(docker_hosts) (its own engine). Role C(seed.fate.fate_verify) asks
    it that way for every party and Docker host, so that the FATE jobs reach each party's containers and each AS
    router on the engine that runs them."
  - With O(from_controller), the URL is the one the controller reaches the engine at (the Docker host's
    C(seedfate_docker_host_from_controller), else its C(seedfate_docker_host)), for tasks that run on the controller
    and reach several Docker hosts (the FATE jobs across hosts; the network stage reaches the engines the same way).
options:
  _terms:
    description: Inventory host names to answer for (party hosts or Docker hosts); none - the current host.
    required: false
  from_controller:
    description: Answer with the URL the controller reaches each engine at.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Start a party's training stack on the engine that runs it
  community.docker.docker_compose_v2:
    project_src: /data/projects/fate/confs-9999
  environment: "{{ lookup('seed.fate.target_environment') }}"

- name: The DOCKER_HOST of every party ('' for the local target)
  ansible.builtin.debug:
    msg: "{{ query('seed.fate.target_environment', *groups['fate_parties']) | map(attribute='DOCKER_HOST', default='') }}"
"""

RETURN = r"""
_raw:
  description: One dictionary per term (one without terms), the environment variables to set (empty under C(local)).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleLookupError
from ansible.module_utils.parsing.convert_bool import boolean
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
        unknown = sorted(set(kwargs) - {"from_controller"})
        if unknown:
            raise AnsibleLookupError("seed.fate.target_environment: unknown option %s" % ", ".join(unknown))
        from_controller = boolean(kwargs.get("from_controller", False), strict=False)
        if not terms:
            return [self._environment(variables.get("inventory_hostname", "this host"), variables, variables,
                                      from_controller)]
        hostvars = variables.get("hostvars") or {}
        out = []
        for term in terms:
            if term not in hostvars:
                raise AnsibleLookupError("seed.fate.target_environment: %s is not an inventory host" % term)
            out.append(self._environment(term, hostvars[term], variables, from_controller))
        return out

    def _environment(self, host, hv, variables, from_controller=False):
        """The environment of ``host`` (its variables ``hv``): a party host's engine, or a Docker host's own; with
        ``from_controller``, the URL the controller reaches that engine at."""
        try:
            kind = target.check_target(_value(self._templar, hv, "seedfate_target"))
        except target.PlacementError as exc:
            raise AnsibleLookupError("%s: %s" % (host, exc))
        if kind == target.LOCAL:
            return target.docker_environment(None)
        hostvars = variables.get("hostvars") or {}
        name = _value(self._templar, hv, "seedfate_docker_host_name")
        if not name and _value(self._templar, hv, "seedfate_docker_host"):
            name, hostvars = host, {host: hv}  # a Docker host itself
        if not name:
            raise AnsibleLookupError(
                "%s has no seedfate_docker_host_name: the seed.fate.ghost_nodes inventory did not place it "
                "(seedfate_target is swarm here, but the plugin saw another target: set seedfate_target / "
                "seedfate_placement in group_vars/all beside the plugin's file, or its options target / placement)"
                % host)
        if name not in hostvars:
            raise AnsibleLookupError("%s is placed on %s, which is not an inventory host (add it to the group "
                                     "docker_hosts)" % (host, name))
        url = _value(self._templar, hostvars[name], "seedfate_docker_host")
        if from_controller:
            url = _value(self._templar, hostvars[name], "seedfate_docker_host_from_controller") or url
        if not url:
            raise AnsibleLookupError("Docker host %s (of %s) has no seedfate_docker_host (the DOCKER_HOST URL of "
                                     "its engine)" % (name, host))
        return target.docker_environment(url)
