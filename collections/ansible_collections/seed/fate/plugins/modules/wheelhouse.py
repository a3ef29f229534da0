#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: wheelhouse
short_description: Stage the wheels of a pinned lock file from a host-side wheel cache
version_added: 0.2.0
description:
  - Reads a lock file of exact pins (C(name==version) per line, as C(pip freeze) writes) and makes
    sure the wheel of every pin is in the cache folder O(cache). Only the pins without a compatible
    wheel there are handed to C(pip wheel --no-deps) (which downloads a wheel or builds one from an
    sdist), so a second run downloads nothing.
  - Then makes O(path) hold exactly the locked wheels (hard links into the cache, or copies across
    file systems) and the lock itself as C(requirements.lock). An image build copies that folder in and
    installs it with C(pip install --no-index --no-deps --find-links <folder> -r <folder>/requirements.lock).
  - Everything runs on the host, never inside a container, so it is not affected by an isolation guard
    (CI's drops every container's egress) and uses the host's pip configuration plus O(index_url), O(extra_index_urls), O(find_links).
author:
  - seed.fate contributors (!UNKNOWN)
extends_documentation_fragment:
  - seed.fate.attributes
attributes:
  check_mode:
    support: full
    details: Reports the pins that would be downloaded and the files that would be staged; nothing is written.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  lock:
    description: Path of the lock file on the host.
    type: path
    required: true
  cache:
    description: Long-lived wheel cache folder; created when missing. Wheels are only ever added to it.
    type: path
    required: true
  path:
    description: The wheelhouse folder to stage; files in it that are not part of the lock are removed.
    type: path
    required: true
  python:
    description:
      - Interpreter that runs C(pip wheel). Its version and machine must match O(python_version) and
        O(machine), since it builds the wheels that have no binary release.
    type: str
    default: python3
  python_version:
    description: C(major.minor) of the image's Python the wheels must install on.
    type: str
    default: "3.11"
  machine:
    description: CPU architecture of the image (C(platform.machine()) spelling).
    type: str
    default: x86_64
  index_url:
    description: C(pip --index-url); empty uses pip's own configuration.
    type: str
  extra_index_urls:
    description: C(pip --extra-index-url) values, e.g. C(https://download.pytorch.org/whl/cpu) for torch's CPU build.
    type: list
    elements: str
    default: []
  find_links:
    description: C(pip --find-links) folders or URLs.
    type: list
    elements: str
    default: []
  pip_args:
    description: More arguments for C(pip wheel).
    type: list
    elements: str
    default: []
notes:
  - Only the pins missing from the cache make pip contact an index.
"""

EXAMPLES = r"""
- name: Wheels of FATE 2.2, cached under ~/.cache/seedfate/wheels
  seed.fate.wheelhouse:
    lock: "{{ role_path }}/files/fate22/requirements.lock"
    cache: ~/.cache/seedfate/wheels
    path: ~/.cache/seedfate/wheelhouse-fate22
    extra_index_urls:
      - https://download.pytorch.org/whl/cpu
  register: wheels
"""

RETURN = r"""
path:
  description: The staged wheelhouse folder (absolute).
  returned: always
  type: str
  sample: /root/.cache/seedfate/wheelhouse-fate22
cache:
  description: The wheel cache folder (absolute).
  returned: always
  type: str
pins:
  description: Number of pins in the lock.
  returned: always
  type: int
  sample: 83
cached:
  description: Number of pins whose wheel was found in the cache (after downloading, when not in check mode).
  returned: always
  type: int
downloaded:
  description: Pins that pip fetched or built in this run.
  returned: always
  type: list
  elements: str
missing:
  description: Pins that would be downloaded (check mode only).
  returned: in check mode when some are missing
  type: list
  elements: str
staged:
  description: File names added to or replaced in O(path).
  returned: always
  type: list
  elements: str
removed:
  description: File names removed from O(path) because the lock no longer names them.
  returned: always
  type: list
  elements: str
wheels:
  description: The wheel file names of the lock, in lock order.
  returned: unless check mode stopped before staging
  type: list
  elements: str
lock_sha256:
  description: sha256 of the lock file's content.
  returned: unless check mode stopped before staging
  type: str
commands:
  description: Command lines that were run.
  returned: always
  type: list
  elements: list
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.seed.fate.plugins.module_utils.wheelhouse import Wheelhouse, WheelhouseError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            lock=dict(type="path", required=True),
            cache=dict(type="path", required=True),
            path=dict(type="path", required=True),
            python=dict(type="str", default="python3"),
            python_version=dict(type="str", default="3.11"),
            machine=dict(type="str", default="x86_64"),
            index_url=dict(type="str"),
            extra_index_urls=dict(type="list", elements="str", default=[]),
            find_links=dict(type="list", elements="str", default=[]),
            pip_args=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        with open(p["lock"]) as f:
            lock_text = f.read()
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot read the lock file %s: %s" % (p["lock"], exc))
    python = module.get_bin_path(p["python"]) or p["python"]

    def runner(args):
        return module.run_command(args)

    house = Wheelhouse(runner, lock_text, os.path.abspath(p["cache"]), os.path.abspath(p["path"]), python=python,
                       python_version=p["python_version"], machine=p["machine"], index_url=p["index_url"] or None,
                       extra_index_urls=p["extra_index_urls"], find_links=p["find_links"], pip_args=p["pip_args"],
                       tmpdir=module.tmpdir)
    try:
        result = house.ensure(check_mode=module.check_mode)
    except WheelhouseError as exc:
        module.fail_json(msg=exc.msg, commands=house.commands, **exc.details)
    result["commands"] = house.commands
    module.exit_json(**result)


if __name__ == "__main__":
    main()
