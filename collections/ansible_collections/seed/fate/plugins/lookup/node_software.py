# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: node_software
short_description: The software seed.fate's emulator node image carries by default
version_added: 0.2.0
author:
  - seed.fate contributors (!UNKNOWN)
description:
  - Returns the default software of the node image as one mapping, seedemu software name to Debian
    package, in the order of the image's C(seed.fate/software) label.
  - It is the default of the C(seed.fate.images) role's C(images_node_software), and what
    M(seed.fate.seedemu_network) assumes the node image carries when it cannot read that label (no image
    yet), one list for both (C(NODE_SOFTWARE) in C(plugins/module_utils/seedemu_build.py)).
options: {}
"""

EXAMPLES = r"""
- name: The node image's default software plus cowsay
  ansible.builtin.set_fact:
    images_node_software: "{{ lookup('seed.fate.node_software') | combine({'cowsay': 'cowsay'}) }}"
"""

RETURN = r"""
_raw:
  description: One mapping, seedemu software name to Debian package.
  type: list
  elements: dict
"""

from ansible.plugins.lookup import LookupBase

from ansible_collections.seed.fate.plugins.module_utils import seedemu_build


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [dict(seedemu_build.NODE_SOFTWARE)]
