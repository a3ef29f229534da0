# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: fate_catalogue
short_description: What a FATE version is made of, from seed.fate's version catalogue
version_added: 0.2.0
author:
  - seed.fate contributors (!UNKNOWN)
description:
  - Returns the catalogue entry of each FATE version given (C(plugins/module_utils/fate_versions.py)) as
    plain data, so roles read one source for a version's components, ports, images, data folders, health
    checks and verify jobs.
  - An unknown version fails, listing the supported ones. With O(template_dir) the version's template
    folder is checked against its entry too (a component without templates, or templates of an unknown
    component, fail).
options:
  _terms:
    description: FATE versions (for example V(1.3.0), V(2.2.0)).
    required: true
  template_dir:
    description: The version's template folder (C(roles/fate_config/templates/<version>)) to check.
    type: path
  images:
    description:
      - Image settings (C(registry), C(prefix), C(tag), C(serving_tag), C(overrides)) merged over the entry's
        C(image_defaults) to compute C(image_refs).
    type: dict
notes:
  - "Keys: C(version), C(supported), C(templates), C(fate_home), C(entry), C(clusters) (per cluster
    C(components) in reservation order, C(empty_dirs), C(data_dirs)), C(cluster_names), C(directory),
    C(images), C(image_defaults), C(image_refs), C(secrets), C(ports), C(health) (per cluster, component to
    port), C(verify) (C(source), C(reachability), C(exchange_port), C(jobs) with C(min_parties)),
    C(data_dirs) (union over the clusters), C(settings) (version-specific)."
"""

EXAMPLES = r"""
- name: Components of a FATE 2.2.0 party, in reservation order
  ansible.builtin.debug:
    msg: "{{ lookup('seed.fate.fate_catalogue', '2.2.0').clusters.training.components }}"

- name: Folders a redeploy of FATE 1.3.0 must keep
  ansible.builtin.debug:
    msg: "{{ lookup('seed.fate.fate_catalogue', '1.3.0').data_dirs }}"
"""

RETURN = r"""
_raw:
  description: One catalogue entry (a dictionary) per version given.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.seed.fate.plugins.module_utils import fate_versions


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        template_dir = self.get_option("template_dir")
        images = self.get_option("images") or {}
        out = []
        for term in terms or [fate_versions.DEFAULT_VERSION]:
            try:
                fate_versions.load(str(term), template_dir)
                out.append(fate_versions.describe(str(term), images))
            except (fate_versions.UnsupportedVersion, fate_versions.CatalogueError) as exc:
                raise AnsibleLookupError(str(exc))
        return out
