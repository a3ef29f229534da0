#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: fate_bundle
short_description: Render FATE configuration bundles (KubeFATE layout) for parties in an emulated Internet
version_added: 0.1.0
description:
  - Renders, in one call, every file of a FATE party's compose projects (C(confs-<id>) and, when the party
    has serving, C(serving-<id>)) from the templates of its FATE version, and packs each project as a
    deterministic plain tar (sorted entries, mtime 0, owner 0:0, modes 0644/0755, one top folder).
  - Each FATE service sits in a network pod at its reserved address on the skeleton's docker network, and
    carries label C(seed.fate/config-hash), the hash of the config files it mounts.
  - A tar is written (atomically, mode 0600 since it holds the party's passwords) only when its bytes
    differ, so a rerun with the same inputs reports no change.
  - Also renders the exchange bundle C(confs-exchange), the KubeFATE-style C(parties.conf), or only checks
    a whole lab (ids, components, addresses, published ports) before anything is written.
  - For a party, loads its passwords from O(secrets_file), generating missing ones on first run (file mode
    0600, folder 0700), and applies the user's O(secrets) on top.
author:
  - seed.fate contributors (!UNKNOWN)
extends_documentation_fragment:
  - seed.fate.attributes
  - seed.fate.fate_bundle
attributes:
  check_mode:
    support: full
    details: Renders and compares everything, writes nothing (neither bundles nor secrets).
  diff_mode:
    support: full
    details: Lists the member files of each archive whose content changed (never their content).
  idempotent:
    support: full
options:
  kind:
    description:
      - V(party) renders the bundles of O(party); it needs O(template_dir), O(dest), O(party) and O(secrets_file).
      - V(exchange) renders C(confs-exchange.tar) from O(exchange); it needs O(template_dir), O(dest) and
        O(exchange).
      - V(parties_conf) writes C(parties.conf); it needs O(template_dir) and O(dest).
      - V(lab) only checks O(parties), O(directory), O(exchange) and the published ports; it writes nothing.
    type: str
    choices: [party, exchange, parties_conf, lab]
    default: party
  template_dir:
    description:
      - Folder of the version's templates (the role passes C(<role_path>/templates/<fate_version>)).
      - Required unless O(kind=lab).
    type: path
  dest:
    description:
      - Folder the archives and C(parties.conf) are written to (C(<seedfate_build_dir>/bundles)).
      - Required unless O(kind=lab).
    type: path
  party:
    description:
      - The party to render (O(kind=party)), from its inventory host.
    type: dict
    suboptions:
      party_id:
        description: Party id (C(seedfate_party_id)).
        type: raw
        required: true
      index:
        description: Position of the party in the layout (C(seedfate_party_index)); offsets its published ports.
        type: int
        default: 0
      clusters:
        description:
          - C(seedfate_clusters) of the party host; C(training) (and C(serving)) map each component to its
            C(address), C(network) and C(gateway).
        type: dict
        required: true
      serving:
        description: Whether the party is meant to have serving; refused when it has no serving components.
        type: bool
      fateboard_port:
        description:
          - Host port of the party's FATEBoard; default O(fateboard_port_base) plus the party's C(index).
          - Where the whole lab is checked, two parties publishing one port on the same docker host are refused.
        type: int
      name:
        description: Inventory name of the party host, for messages (and the per-party result of M(seed.fate.fate_bundles)).
        type: str
      host:
        description: Docker host the party runs on; published ports only collide on the same host.
        type: str
  parties:
    description:
      - Every party of the lab (same keys as O(party)), for O(kind=lab).
    type: list
    elements: dict
  secrets:
    description:
      - The party's passwords given by the user (for example from vault); keys are the version
        catalogue's C(secrets) (1.3.0 V(mysql_root_password), V(mysql_password), V(redis_password); 2.2.0
        V(rabbitmq_admin_password)). They win over the stored ones and are never written to
        O(secrets_file).
    type: dict
    default: {}
  secrets_file:
    description:
      - Where the party's generated passwords are kept (C(<seedfate_build_dir>/secrets/<id>.yml)).
        Required for O(kind=party).
    type: path
seealso:
  - module: seed.fate.fate_bundles
    description: Every party of a lab in one call on the controller (what the fate_config role runs).
  - name: docs/contracts.md
    description: Bundles, Images and Inventory sections of the seed.fate contracts.
    link: https://example.invalid/seed-fate/docs
"""

EXAMPLES = r"""
- name: Render the bundles of this party
  seed.fate.fate_bundle:
    kind: party
    fate_version: "{{ fate_version }}"
    template_dir: "{{ role_path }}/templates/{{ fate_version }}"
    dest: "{{ seedfate_build_dir }}/bundles"
    party:
      party_id: "{{ seedfate_party_id }}"
      index: "{{ seedfate_party_index }}"
      clusters: "{{ seedfate_clusters }}"
    directory: "{{ seedfate_party_directory }}"
    secrets_file: "{{ seedfate_build_dir }}/secrets/{{ seedfate_party_id }}.yml"
  delegate_to: localhost
  no_log: true

- name: Render the exchange
  seed.fate.fate_bundle:
    kind: exchange
    template_dir: "{{ role_path }}/templates/1.3.0"
    dest: "{{ seedfate_build_dir }}/bundles"
    directory: "{{ seedfate_party_directory }}"
    exchange: {address: 10.150.0.90, network: seedfate_net_150_net0, gateway: 10.150.0.254}
  run_once: true
"""

RETURN = r"""
bundles:
  description: One entry per archive (or C(parties.conf)) considered.
  returned: unless O(kind=lab)
  type: list
  elements: dict
  contains:
    project:
      description: Compose project (archive folder) name, or C(parties.conf).
      type: str
      sample: confs-9999
    path:
      description: Where it is (or would be) written.
      type: str
      sample: /work/build/default/bundles/confs-9999.tar
    sha256:
      description: SHA-256 of the archive bytes.
      type: str
    changed:
      description: Whether the file was (or in check mode would be) written.
      type: bool
    files_changed:
      description: Archive members whose content changed, appeared or vanished.
      type: list
      elements: str
catalogue:
  description:
    - The version catalogue entry of O(fate_version) as plain data (what the C(seed.fate.fate_catalogue)
      lookup returns), for roles that go on from here; C(image_refs) are the image references in effect.
  returned: always
  type: dict
  contains:
    version:
      description: The FATE version.
      type: str
    clusters:
      description: Per cluster its C(components) (reservation order), C(empty_dirs), C(data_dirs).
      type: dict
    data_dirs:
      description: Persistent data folders of every cluster (relative to a project folder).
      type: list
      elements: str
    image_refs:
      description: Image key to image reference.
      type: dict
secrets_changed:
  description: Whether the party's secrets file was (or would be) written.
  returned: when O(kind=party)
  type: bool
parties:
  description: Ids of the parties checked.
  returned: when O(kind=lab)
  type: list
  elements: str
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.seed.fate.plugins.module_utils import fate_bundle as fb
from ansible_collections.seed.fate.plugins.module_utils import fate_versions


# What each kind needs besides directory (lab: nothing more; its parties may be empty).
REQUIRED_IF = [
    ("kind", "party", ("template_dir", "dest", "party", "secrets_file")),
    ("kind", "exchange", ("template_dir", "dest", "exchange")),
    ("kind", "parties_conf", ("template_dir", "dest")),
]


def argument_spec():
    return fb.argument_spec(
        kind=dict(type="str", default="party", choices=["party", "exchange", "parties_conf", "lab"]),
        template_dir=dict(type="path"),
        dest=dict(type="path"),
        party=dict(type="dict", options=fb.PARTY_OPTIONS),
        parties=dict(type="list", elements="dict"),
        secrets=dict(type="dict", default={}, no_log=True),
        secrets_file=dict(type="path"),
    )


def _diff(results):
    before, after = [], []
    for r in results:
        for name in r.get("files_changed", []):
            before.append("%s: %s" % (r["project"], name))
            after.append("%s: %s (changed)" % (r["project"], name))
    return {"before_header": "bundles", "after_header": "bundles",
            "before": "\n".join(before) + ("\n" if before else ""),
            "after": "\n".join(after) + ("\n" if after else "")}


def run(module):
    p = module.params
    kind = p["kind"]
    catalogue = fate_versions.get(p["fate_version"])
    settings = {
        "deploy_dir": p["deploy_dir"], "publish_address": p["publish_address"],
        "fateboard_port_base": p["fateboard_port_base"], "grpc_timeout_ms": p["grpc_timeout_ms"],
        "user": p["user"],
    }
    for warning in fb.check_settings(settings):
        module.warn(warning)
    directory = fb.normalize_directory(p["directory"], catalogue=catalogue)
    settings["exchange"] = fb.normalize_exchange(p["exchange"])

    images = fb.images_with_defaults(p["images"], catalogue)
    described = fate_versions.describe(catalogue["version"], images)
    if kind == "lab":
        checked, _dir, _ex = fb.check_lab(p["parties"] or [], p["directory"], p["exchange"], p["publish_address"],
                                          catalogue, fateboard_port_base=p["fateboard_port_base"])
        return dict(changed=False, parties=[c["party_id"] for c in checked], catalogue=described)

    settings["images"], settings["holder_image"] = fb.normalize_images(images, catalogue)
    renderer = fb.Renderer(p["template_dir"], p["fate_version"])
    dest = p["dest"]
    check = module.check_mode
    result = dict(changed=False, bundles=[], catalogue=described)

    if kind == "party":
        party = fb.normalize_party(p["party"], catalogue, p["party"].get("name") or "party",
                                   fateboard_port_base=p["fateboard_port_base"])
        # Everything is rendered before anything (secrets included) is written.
        secrets, secrets_data = fb.resolve_secrets(p["secrets_file"], party["party_id"], p["secrets"],
                                                   keys=catalogue["secrets"])
        tars = [(b, fb.tar_bytes(b)) for b in renderer.render_party(party, directory, settings, secrets)]
        secrets_changed = secrets_data is not None
        if secrets_changed and not check:
            fb.store_secrets(p["secrets_file"], secrets_data)
        result["secrets_changed"] = secrets_changed
        for b, data in tars:
            r = fb.write_output("%s/%s" % (dest, b.archive), data, fb.TAR_MODE, check_mode=check)
            r["project"] = b.project
            result["bundles"].append(r)
        result["changed"] = secrets_changed or any(r["changed"] for r in result["bundles"])
    elif kind == "exchange":
        b = renderer.render_exchange(directory, settings)
        r = fb.write_output("%s/%s" % (dest, b.archive), fb.tar_bytes(b), fb.TAR_MODE, check_mode=check)
        r["project"] = b.project
        result["bundles"].append(r)
        result["changed"] = r["changed"]
    else:
        data = renderer.render_parties_conf(directory, settings)
        r = fb.write_output("%s/parties.conf" % dest, data, 0o644, check_mode=check, members=False)
        r["project"] = "parties.conf"
        r["files_changed"] = ["parties.conf"] if r["changed"] else []
        result["bundles"].append(r)
        result["changed"] = r["changed"]
    if module._diff:
        result["diff"] = _diff(result["bundles"])
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), required_if=REQUIRED_IF, supports_check_mode=True)
    if not fb.HAS_JINJA2:
        module.fail_json(msg=missing_required_lib("jinja2"), exception=str(fb.JINJA2_IMPORT_ERROR))
    if not fb.HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=str(fb.YAML_IMPORT_ERROR))
    try:
        result = run(module)
    except (fb.BundleError, fate_versions.UnsupportedVersion, fate_versions.CatalogueError) as exc:
        module.fail_json(msg=str(exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot write bundles: %s" % exc, exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
