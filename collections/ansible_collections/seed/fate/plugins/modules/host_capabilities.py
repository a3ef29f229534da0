#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: host_capabilities
short_description: Tell what this host offers the SEED Emulator's containers
version_added: 0.1.0
description:
  - Probes, in a throwaway network namespace that is always removed again, whether the kernel offers the
    C(dummy) link type and the C(netem) qdisc, and whether the Docker daemon's capability bounding set lets
    privileged containers start.
  - These are what seed.fate.seedemu_network adapts a compiled project for (its option C(host_compat=auto)); this module
    only reports, for diagnosis or to pass as its O(seed.fate.seedemu_network#module:host_capabilities).
extends_documentation_fragment:
  - seed.fate.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
options: {}
requirements:
  - root and iproute2 (C(ip), C(tc)) on the Docker host; without them dummy links and netem are reported missing.
author:
  - seed.fate contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: What does this host lack?
  seed.fate.host_capabilities:
  register: caps

- name: Say it
  ansible.builtin.debug:
    msg: "{{ caps.summary }}"
"""

RETURN = r"""
privileged:
  description: Whether privileged containers can start.
  returned: always
  type: bool
dummy_link:
  description: Whether the kernel offers the dummy link type.
  returned: always
  type: bool
netem:
  description: Whether the kernel offers the netem qdisc (latency and loss emulation).
  returned: always
  type: bool
missing_capabilities:
  description: Capabilities the Docker daemon's bounding set lacks.
  returned: always
  type: list
  elements: str
  sample: [SYS_RESOURCE]
notes:
  description: Why something is reported missing.
  returned: always
  type: list
  elements: str
summary:
  description: One line.
  returned: always
  type: str
  sample: "host lacks: privileged containers, dummy links, netem"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.seed.fate.plugins.module_utils import host_compat
from ansible_collections.seed.fate.plugins.module_utils.docker_cli import module_runner


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    caps = host_compat.probe_host(run=module_runner(module))
    module.exit_json(changed=False, summary=host_compat.describe(caps), **caps)


if __name__ == "__main__":
    main()
