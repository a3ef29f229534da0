#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: deploy_stamp
short_description: Tell which deployed FATE compose projects are exactly as they were deployed
version_added: 0.3.0
description:
  - A I(stamp) records a compose project right after C(seed.fate.fate_deploy) deployed it and found it healthy
    and ready - the sha256 of the bundle archive it was unpacked from and the id and start time of each of
    its containers. It is the file C(<bundle_dir>/<project>.deployed.json), mode 0600.
  - O(state=check) compares each project's stamp with the archive in O(bundle_dir) and with the project's
    containers as they are now. A project is I(current) when the archive has the stamped sha256 and the
    containers are the stamped ones (same ids, same start times), all running and none unhealthy; any other
    project is I(stale), with the reason. Nothing is changed.
  - O(state=present) writes the stamp of each project as it runs now (only when it differs).
  - The deploy stage checks first and does its full work (unpack, compose, health and readiness waits)
    only for stale projects, so an unchanged rerun costs one C(docker ps) and one C(docker inspect) per party.
author:
  - seed.fate contributors (!UNKNOWN)
extends_documentation_fragment:
  - seed.fate.attributes
  - seed.fate.docker_cli
  - seed.fate.docker_cli.engine
attributes:
  check_mode:
    support: full
    details: O(state=check) changes nothing; O(state=present) reports which stamps it would write.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  state:
    description:
      - C(check) reports current and stale projects; C(present) records the projects as they run now.
    type: str
    choices: [check, present]
    default: check
  bundle_dir:
    description:
      - The folder on the party host holding the shipped bundle archives C(<project>.tar) (the deploy
        stage's C(<deploy_dir>/.bundles)) and their stamps.
    type: path
    required: true
  projects:
    description:
      - Compose project names, for example C(confs-9999).
    type: list
    elements: str
    required: true
  expected:
    description:
      - With O(state=check), the sha256 of each project's bundle as rendered now (on the controller; lookup
        C(seed.fate.file_sha256)). A project whose deployed bundle is another one is stale, so the bundle need not
        be shipped first to find out. An empty value is ignored.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Find the projects that are deployed as rendered
  seed.fate.deploy_stamp:
    bundle_dir: /data/projects/fate/.bundles
    projects: [confs-9999]
    expected:
      confs-9999: "{{ lookup('seed.fate.file_sha256', 'build/default/bundles/confs-9999.tar') }}"
  register: stamps

- name: Record a project after it was found healthy and ready
  seed.fate.deploy_stamp:
    state: present
    bundle_dir: /data/projects/fate/.bundles
    projects: "{{ stamps.stale.keys() | list }}"
"""

RETURN = r"""
current:
  description: The projects that run exactly as stamped (O(state=check)).
  returned: always
  type: list
  elements: str
  sample: [confs-9999]
stale:
  description: Every other project, with the reason (O(state=check)).
  returned: always
  type: dict
  sample: {confs-10000: container confs-10000-fateflow-1 was restarted}
recorded:
  description: The projects whose stamp was (or, in check mode, would be) written (O(state=present)).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.seed.fate.plugins.module_utils import deploy_stamp
from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DOCKER_CLI_SPEC, DockerCli


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["check", "present"], default="check"),
            bundle_dir=dict(type="path", required=True),
            projects=dict(type="list", elements="str", required=True),
            expected=dict(type="dict", default={}),
            **DOCKER_CLI_SPEC
        ),
        supports_check_mode=True,
    )
    p = module.params
    docker = DockerCli.from_module(module)
    projects = list(dict.fromkeys(p["projects"]))
    try:
        if p["state"] == "check":
            current, stale = deploy_stamp.check(docker, p["bundle_dir"], projects,
                                                dict((k, str(v)) for k, v in p["expected"].items() if v))
            module.exit_json(changed=False, current=current, stale=stale, recorded=[])
        recorded = deploy_stamp.record(docker, p["bundle_dir"], projects, check_mode=module.check_mode)
    except (RuntimeError, OSError, ValueError) as exc:
        module.fail_json(msg="deploy stamp in %s: %s" % (p["bundle_dir"], exc))
    module.exit_json(changed=bool(recorded), current=[], stale={}, recorded=recorded)


if __name__ == "__main__":
    main()
