#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: fate_bundles
short_description: Render every party's FATE configuration bundles of a lab in one call, on the controller
version_added: 0.2.0
description:
  - Renders, in one call, the bundles of every party of a lab (C(confs-<id>.tar) and, when the party has
    serving, C(serving-<id>.tar)), C(parties.conf) and, when an exchange is configured,
    C(confs-exchange.tar), exactly as M(seed.fate.fate_bundle) renders them one by one (same templates,
    same deterministic tars, byte for byte).
  - An action plugin - it always runs on the controller, in Ansible's own process, with no module process
    and no connection - so a lab of N parties costs one task instead of N module runs. Run it once
    (C(run_once)); the role C(seed.fate.fate_config) does.
  - The whole lab is checked first (ids, components, addresses, published ports); then every party's
    passwords are resolved and every bundle is rendered in memory; only then is anything written. A bad lab
    or a failing template writes nothing.
  - Each party's passwords are kept in O(secrets_dir)C(/<id>.yml), generated on first run (file mode 0600,
    folder 0700), and O(secrets) applies the user's on top (never written there). Archives hold the
    passwords and are written atomically with mode 0600, each only when its bytes differ.
  - The result reports each party on its own - changed or not, which archive members changed, whether its
    secrets file was written - and so does the diff.
author:
  - seed.fate contributors (!UNKNOWN)
extends_documentation_fragment:
  - seed.fate.attributes
  - seed.fate.fate_bundle
  - ansible.builtin.action_common_attributes.flow
attributes:
  check_mode:
    support: full
    details: Checks, renders and compares everything, writes nothing (neither bundles nor secrets).
  diff_mode:
    support: full
    details: One entry per changed party (and one for C(parties.conf)/the exchange), listing the archive
      members whose content changed and a secrets file that was written - never their content.
  idempotent:
    support: full
  action:
    support: full
    details: Runs on the controller; C(delegate_to) and the party hosts' connections play no part.
  async:
    support: none
  bypass_host_loop:
    support: full
    details: The task runs once for the whole play (as with C(run_once)), under the first host's variables.
options:
  template_dir:
    description: Folder of the version's templates (the role passes C(<role_path>/templates/<fate_version>)).
    type: path
    required: true
  dest:
    description: Folder the archives and C(parties.conf) are written to (C(<seedfate_build_dir>/bundles)).
    type: path
    required: true
  parties:
    description:
      - The parties to render, each with the keys of O(seed.fate.fate_bundle#module:party) of
        M(seed.fate.fate_bundle) (C(party_id), C(index), C(clusters), C(serving), C(fateboard_port), C(name),
        C(host)), checked the same way. Party order is the result's order.
      - Exactly one of O(parties) and O(party_hosts) is required.
    type: list
    elements: dict
  party_hosts:
    description:
      - The parties to render as inventory host names of the C(seed.fate.ghost_nodes) inventory (for example
        C(ansible_play_hosts)), each read from its host variables - C(seedfate_party_id),
        C(seedfate_party_index), C(seedfate_clusters), C(fate_config_fateboard_port) if set, C(ansible_host)
        and C(ansible_connection) (the docker host of a party that is not local), and C(serving) of its entry
        in C(seedfate_parties). One read of each host's variables, templated as the host sees them.
      - Exactly one of O(parties) and O(party_hosts) is required.
    type: list
    elements: str
  secrets:
    description:
      - Passwords per party id given by the user (for example from vault), keys the version catalogue's
        C(secrets) (1.3.0 V(mysql_root_password), V(mysql_password), V(redis_password); 2.2.0
        V(rabbitmq_admin_password)). Party ids may be integers or strings. They win over the stored ones
        and are never written to O(secrets_dir).
      - No password, given or stored, is ever part of the result.
    type: dict
    default: {}
  secrets_dir:
    description:
      - Folder of the parties' generated passwords, one C(<id>.yml) per party (C(<seedfate_build_dir>/secrets)),
        mode 0700, files 0600.
    type: path
    required: true
  parties_conf:
    description: Whether to write C(parties.conf) (KubeFATE's format) too.
    type: bool
    default: true
  workers:
    description:
      - Processes rendering the parties; V(0) means one per CPU this controller process may use, at most 4.
        Helper processes are forked from this one (templates already compiled) and only render; every file
        is written by this process. V(1) renders everything here. The output is the same bytes either way.
      - Helpers are only used for labs of at least 12 parties per process.
    type: int
    default: 0
notes:
  - M(seed.fate.fate_bundle) renders one party per call (as a module process) and stays available for that.
seealso:
  - module: seed.fate.fate_bundle
  - name: docs/contracts.md
    description: Bundles, Images and Inventory sections of the seed.fate contracts.
    link: https://example.invalid/seed-fate/docs
"""

EXAMPLES = r"""
- name: Render every party's bundles, parties.conf and the exchange (once, on the controller)
  seed.fate.fate_bundles:
    fate_version: "{{ fate_version }}"
    template_dir: "{{ role_path }}/templates/{{ fate_version }}"
    dest: "{{ seedfate_build_dir }}/bundles"
    secrets_dir: "{{ seedfate_build_dir }}/secrets"
    party_hosts: "{{ ansible_play_hosts }}"
    directory: "{{ seedfate_party_directory }}"
    exchange: {address: 10.150.0.90, network: seedfate_net_150_net0, gateway: 10.150.0.254}
    secrets:
      9999: {mysql_password: "{{ vault_mysql_password_9999 }}"}
  run_once: true
  register: rendered

- name: Two parties given by hand (no inventory)
  seed.fate.fate_bundles:
    template_dir: /opt/seed.fate/roles/fate_config/templates/1.3.0
    dest: /tmp/lab/bundles
    secrets_dir: /tmp/lab/secrets
    parties:
      - {party_id: 10000, index: 0, clusters: "{{ clusters_10000 }}"}
      - {party_id: 9999, index: 1, clusters: "{{ clusters_9999 }}"}
    directory: "{{ party_directory }}"

- name: Say which parties changed
  ansible.builtin.debug:
    msg: "{{ rendered.summary }}"
  run_once: true
"""

RETURN = r"""
msg:
  description: How many parties changed, and which.
  returned: always
  type: str
  sample: "1 of 3 parties changed: party-9999"
parties:
  description: One entry per party of O(parties), in that order.
  returned: always
  type: list
  elements: dict
  contains:
    party_id:
      description: The party id.
      type: str
      sample: "9999"
    name:
      description: The party's name (its inventory host).
      type: str
      sample: party-9999
    changed:
      description: Whether any of its archives or its secrets file was (or in check mode would be) written.
      type: bool
    secrets_changed:
      description: Whether its secrets file was (or would be) written.
      type: bool
    secrets_file:
      description: Where its generated passwords are kept.
      type: str
    bundles:
      description: Its archives, as M(seed.fate.fate_bundle) returns them.
      type: list
      elements: dict
      contains:
        project:
          description: Compose project (archive folder) name.
          type: str
          sample: confs-9999
        path:
          description: Where it is (or would be) written.
          type: str
        sha256:
          description: SHA-256 of the archive bytes.
          type: str
        changed:
          description: Whether the archive was (or in check mode would be) written.
          type: bool
        created:
          description: Whether the archive did not exist before.
          type: bool
        files_changed:
          description: Archive members whose content changed, appeared or vanished.
          type: list
          elements: str
bundles:
  description: The lab-wide files, C(parties.conf) and C(confs-exchange.tar), in the form of RV(parties[].bundles).
  returned: always
  type: list
  elements: dict
summary:
  description: One line per party and per lab-wide file saying which archives changed and which of their members.
  returned: always
  type: list
  elements: str
  sample:
    - "party-9999: confs-9999.tar changed (docker-compose.yml); serving-9999.tar unchanged"
    - "lab: parties.conf unchanged"
catalogue:
  description: The version catalogue entry of O(fate_version) as plain data, as M(seed.fate.fate_bundle) returns it.
  returned: always
  type: dict
"""
