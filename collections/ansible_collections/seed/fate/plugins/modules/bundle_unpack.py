#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: bundle_unpack
short_description: Unpack a seed.fate bundle over a deployed party without touching its data
version_added: 0.1.0
description:
  - Unpacks a bundle written by the C(seed.fate.fate_config) role
    (a plain tar with one top folder named like the compose project, for example C(confs-9999/)) at
    O(dest)/<project>/ on the managed host.
  - The whole archive is checked before anything is written or removed; a refused bundle changes nothing.
  - Only files whose content or mode differ from the bundle are written, each one atomically (a temporary file
    in the same folder renamed over the target), so a second run reports no change and rewrites nothing.
  - Members are streamed and compared by digest, never held in memory. Plain, gzip, bzip2 and xz tars are
    read; their content may not exceed O(max_size); sparse members and oversized headers are refused.
  - Every path is reached one folder at a time without following links; a symbolic link on disk anywhere on
    the way (not only at the last component) is refused, naming it.
  - Modes are masked - files at most 0644 (a bundle's 0600 stays 0600), folders at most 0755, never setuid,
    setgid or sticky. The project folder is made 0700, its manifest 0600 - bundles carry the party's passwords.
  - Paths under O(preserve) hold the services' persistent data (MySQL data, egg data-dir, redis data,
    shared_dir contents). They are created when missing and never overwritten or removed.
  - With O(prune=true), a file is removed only when an earlier unpack wrote it (recorded in
    C(.seedfate-bundle.json) inside the project folder with its content digest, inode and modification time),
    it still is that very file, and the new bundle no longer has it. Nothing else is ever deleted; a file that
    was replaced or edited since is left and listed in RV(not_removed).
  - The manifest is written before the changes (what the run is about to write) and after them, so a run
    interrupted half-way is completed by the next one. A manifest with a path that is not clean (C(a//b),
    C(a/./b), C(..)) is refused, naming the path. A manifest of format 1 (older releases) proves no ownership,
    so nothing it lists is removed.
  - Links, devices, absolute names, C(..), empty or C(.) components and members outside the top folder are
    refused before anything is written, naming the archive and the member.
author:
  - seed.fate contributors (!UNKNOWN)
extends_documentation_fragment:
  - seed.fate.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff lists created (V(+)), updated (V(~)) and removed (V(-)) paths, not file contents.
  idempotent:
    support: full
options:
  src:
    description:
      - Path of the bundle archive on the managed host.
    type: path
    required: true
  dest:
    description:
      - Deploy folder; the bundle is unpacked at O(dest)/<project>/. Created when missing.
    type: path
    required: true
  project:
    description:
      - Name of the archive's top folder and of the folder created under O(dest).
      - Defaults to the archive's file name without C(.tar) (C(confs-9999.tar) gives C(confs-9999)).
    type: str
  preserve:
    description:
      - Folders, relative to the project folder, whose contents are persistent data.
      - The default is the default FATE version's (1.3.0) C(data_dirs) from the seed.fate version catalogue
        (training and serving stacks); role seed.fate.fate_deploy passes the deployed version's.
    type: list
    elements: str
    default:
      - confs/mysql/data
      - confs/egg/data-dir
      - confs/redis/data
      - shared_dir/examples
      - shared_dir/federatedml
      - confs/serving-server/.fate
  prune:
    description:
      - Remove files that an earlier unpack of this project wrote and the bundle no longer contains.
    type: bool
    default: true
  max_size:
    description:
      - Largest total size, in bytes, of the uncompressed content of the archive's members (headers are
        allowed on top). A real bundle is well under 1 MiB; the default, 64 MiB, leaves room.
    type: int
    default: 67108864
notes:
  - Ownership is not changed; files belong to the user the module runs as. Modes come from the archive,
    masked as described.
  - The containers read their bind-mounted 0600 files as root; on a host with user-namespace remapping
    they could not.
"""

EXAMPLES = r"""
- name: Unpack party 9999's training bundle
  seed.fate.bundle_unpack:
    src: /data/projects/fate/.bundles/confs-9999.tar
    dest: /data/projects/fate

- name: Unpack a serving bundle, keeping an extra folder of local data
  seed.fate.bundle_unpack:
    src: /data/projects/fate/.bundles/serving-9999.tar
    dest: /data/projects/fate
    preserve:
      - confs/redis/data
      - confs/serving-server/.fate
      - local
"""

RETURN = r"""
project:
  description: Name of the project folder.
  returned: success
  type: str
  sample: confs-9999
project_dir:
  description: Full path of the unpacked project.
  returned: success
  type: str
  sample: /data/projects/fate/confs-9999
created:
  description: Paths created (folders end with C(/)), relative to RV(project_dir).
  returned: success
  type: list
  elements: str
  sample: [docker-compose.yml, confs/proxy/conf/]
updated:
  description: Paths whose content or mode were changed (folders end with C(/)).
  returned: success
  type: list
  elements: str
  sample: [confs/proxy/conf/route_table.json]
removed:
  description: Paths an earlier bundle wrote and this one no longer has, removed.
  returned: success
  type: list
  elements: str
  sample: []
preserved:
  description: Bundle files under a preserved folder that differ on disk and were left as they are.
  returned: success
  type: list
  elements: str
  sample: []
not_removed:
  description:
    - Files an earlier unpack wrote and this bundle no longer has, left because they were replaced or edited
      since (no longer the unpack's own).
  returned: success
  type: list
  elements: str
  sample: []
files:
  description: Number of files in the bundle.
  returned: success
  type: int
  sample: 31
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.seed.fate.plugins.module_utils.unpack import DEFAULT_MAX_SIZE, DEFAULT_PRESERVE, BundleError, unpack


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path", required=True),
            dest=dict(type="path", required=True),
            project=dict(type="str"),
            preserve=dict(type="list", elements="str", default=list(DEFAULT_PRESERVE)),
            prune=dict(type="bool", default=True),
            max_size=dict(type="int", default=DEFAULT_MAX_SIZE),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        result = unpack(p["src"], p["dest"], p["project"], p["preserve"], p["prune"], module.check_mode,
                        max_size=p["max_size"])
    except BundleError as exc:
        module.fail_json(msg=str(exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg="unpacking %s into %s failed: %s" % (p["src"], p["dest"], exc))
    diff_text = result.pop("diff_text")
    if module._diff and result["changed"]:
        result["diff"] = {"prepared": diff_text}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
