# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: file_sha256
short_description: The sha256 of files on the controller, binary files included
version_added: 0.3.0
author:
  - seed.fate contributors (!UNKNOWN)
description:
  - Returns the hex sha256 of each file given, read on the controller in binary (a bundle archive, for example).
    A file that does not exist gives an empty string, so a caller can tell it apart from any digest.
  - Role C(seed.fate.fate_deploy) compares the digest of each rendered bundle with the one a party last deployed
    (C(seed.fate.deploy_stamp)) without shipping the bundle again.
options:
  _terms:
    description: Paths of files on the controller.
    required: true
"""

EXAMPLES = r"""
- name: Digest of a rendered bundle
  ansible.builtin.debug:
    msg: "{{ lookup('seed.fate.file_sha256', 'build/default/bundles/confs-9999.tar') }}"
"""

RETURN = r"""
_raw:
  description: One hex sha256 (or an empty string for a missing file) per path given.
  type: list
  elements: str
"""

import os

from ansible.plugins.lookup import LookupBase

from ansible_collections.seed.fate.plugins.module_utils import fileio


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [fileio.sha256_file(str(t)) if os.path.isfile(str(t)) else "" for t in terms]
