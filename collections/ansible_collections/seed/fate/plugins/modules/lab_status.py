#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: lab_status
short_description: Status of an emulated Internet and its FATE parties, and a picture of the lab
version_added: 0.1.0
description:
  - Reads the lab's shape from its build folder only (C(output/docker-compose.yml) with seedemu's labels, each
    router's BIRD configuration, and the ghost files), so it works for the declarative topology and for a
    user's own seedemu program alike. Internet exchanges, ASes with their networks, routers and hosts,
    route-server and private peerings (with the relationship - provider/customer, peer, unfiltered - read
    from the community each session's import filter adds) and iBGP, and the parties placed in their ASes.
  - Asks Docker for the state (one C(docker inspect) for every router, route server and party component
    container; C(birdc show protocols) in every running router and route server) and joins it in, per AS its
    routers and their BGP sessions, per party its components with address, container state, health and
    restart count. A lab that is not running (or O(docker=false)) is reported from its files, every item down.
  - Writes, into O(dest), C(lab.dot) (Graphviz text, deterministic), the picture rendered from it by
    Graphviz C(dot) in each of O(formats) (C(lab.svg), C(lab.png)) and C(status.json). Every file is written
    atomically and only when its content changes; the pictures are rendered only when C(lab.dot) changed
    or a picture is missing, so a second run over the same lab in the same state changes nothing.
  - Otherwise read-only; it never changes the lab.
extends_documentation_fragment:
  - seed.fate.attributes
  - seed.fate.docker_cli
  - seed.fate.docker_cli.engine
attributes:
  check_mode:
    support: full
    details:
      - Reads the files and asks Docker as a normal run does, reports whether the status files would change
        and writes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  build_dir:
    description:
      - The lab's build folder, holding C(output/) (the compiled compose project) and C(ghost/).
    type: path
    required: true
  dest:
    description:
      - Folder the status files are written to. Defaults to O(build_dir)/status.
    type: path
  project:
    description:
      - Compose project of the emulated Internet. Defaults to C(compose_project) of C(ghost/lab.json), else
        the compose file's C(name).
    type: str
  lab_name:
    description:
      - Name of the lab in the picture's title and the table. Defaults to the name of O(build_dir).
    type: str
  docker:
    description:
      - Ask Docker for the state. V(false) reports every item down and only draws the picture from the files
        (no Docker needed, for example to render documentation).
    type: bool
    default: true
  formats:
    description:
      - Picture formats Graphviz renders C(lab.dot) into. Empty writes C(lab.dot) and C(status.json) only
        (no Graphviz needed).
    type: list
    elements: str
    choices: [svg, png]
    default: [svg, png]
  dot_cli:
    description: Graphviz's C(dot) program.
    type: path
    default: dot
  birdc:
    description: BIRD's control client inside the router containers.
    type: str
    default: birdc
requirements:
  - Graphviz (C(dot); Debian package C(graphviz)) unless O(formats) is empty.
  - PyYAML (it comes with Ansible).
author:
  - seed.fate contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Status of the default lab, and its picture in build/default/status
  seed.fate.lab_status:
    build_dir: "{{ seedfate_build_dir }}"
  register: lab

- name: Print it
  ansible.builtin.debug:
    msg: "{{ lab.table }}"

- name: Only the picture, from the files (no Docker)
  seed.fate.lab_status:
    build_dir: build/default
    dest: docs
    docker: false
"""

RETURN = r"""
table:
  description: The status as text lines (per AS its routers and sessions, per IX its route server, per party its components).
  returned: always
  type: list
  elements: str
  sample:
    - "lab default (compose project seedfate): network up, routers 4/4 up, BGP sessions 6/6 Established, ..."
    - "AS150  net0 10.150.0.0/24"
    - "  router router0  as150brd-router0-10.150.0.254  running  restarts 0"
    - "      p_rs100  route server ix100  Established"
status:
  description:
    - What C(status.json) holds - C(project), C(fate_version), C(summary) (counts and C(network) up, degraded
      or down), C(exchanges) (with the route server and its sessions), C(systems) (networks, routers with
      C(state), C(health), C(restarts), C(status) and C(sessions), hosts), C(parties) (components with
      C(address), C(container), C(state), C(health), C(restarts), C(pod_state), C(status)) and C(peerings).
  returned: always
  type: dict
summary:
  description: Counts of routers, sessions, parties and components, and up of each; C(network) is up, degraded or down.
  returned: always
  type: dict
  sample: {network: up, routers: 4, routers_up: 4, sessions: 6, sessions_up: 6, parties: 3, parties_up: 3,
           components: 9, components_up: 9}
files:
  description: The files of O(dest) this module writes.
  returned: always
  type: list
  elements: str
  sample: [build/default/status/lab.dot, build/default/status/status.json, build/default/status/lab.svg,
           build/default/status/lab.png]
changed_files:
  description: Those of RV(files) that were (or, in check mode, would be) written.
  returned: always
  type: list
  elements: str
dot:
  description: The Graphviz text of the picture.
  returned: always
  type: str
"""

import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.seed.fate.plugins.module_utils import fileio
from ansible_collections.seed.fate.plugins.module_utils import lab_status as ls
from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DOCKER_CLI_SPEC, DockerCli


def render(module, dot_cli, dot_text, fmt):
    """The picture as bytes, from Graphviz."""
    tmp = tempfile.mkdtemp(prefix="seedfate-status-")
    try:
        src, out = os.path.join(tmp, "lab.dot"), os.path.join(tmp, "lab." + fmt)
        with open(src, "w") as f:
            f.write(dot_text)
        rc, stdout, stderr = module.run_command([dot_cli, "-T" + fmt, "-o", out, src])
        if rc != 0:
            module.fail_json(msg="Graphviz could not render the picture as %s: %s" % (fmt, (stderr or stdout).strip()))
        with open(out, "rb") as f:
            return f.read()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            build_dir=dict(type="path", required=True),
            dest=dict(type="path"),
            project=dict(type="str"),
            lab_name=dict(type="str"),
            docker=dict(type="bool", default=True),
            formats=dict(type="list", elements="str", choices=["svg", "png"], default=["svg", "png"]),
            dot_cli=dict(type="path", default="dot"),
            birdc=dict(type="str", default="birdc"),
            **DOCKER_CLI_SPEC
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not ls.HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    build_dir = os.path.abspath(p["build_dir"])
    dest = os.path.abspath(p["dest"] or os.path.join(build_dir, "status"))
    lab_name = p["lab_name"] or os.path.basename(build_dir.rstrip("/"))
    formats = sorted(set(p["formats"]), key=["svg", "png"].index)
    dot_cli = module.get_bin_path(p["dot_cli"]) if formats else None
    if formats and not dot_cli:
        module.fail_json(msg="Graphviz's %s is not installed (Debian: apt-get install graphviz); it renders the "
                             "picture as %s. formats: [] writes lab.dot and status.json only."
                         % (p["dot_cli"], ", ".join(formats)))
    try:
        lab = ls.read_lab(build_dir, p["project"])
    except ls.LabFilesError as exc:
        module.fail_json(msg=str(exc))

    docker = None
    warnings = []
    if p["docker"]:
        docker = DockerCli.from_module(module, required=False)
        if docker is None:
            warnings.append("%s is not installed: every item is reported down" % p["docker_cli"])
    status, more = ls.collect_state(lab, docker, p["birdc"])
    warnings.extend(more)
    status["lab"] = lab_name
    dot_text = ls.to_dot(lab, "seed.fate lab %s (compose project %s)" % (lab_name, lab["project"]))
    table = ls.table_lines(status, lab_name)

    files, changed_files = [], []
    dot_path = os.path.join(dest, "lab.dot")
    dot_changed = fileio.read_bytes(dot_path) != dot_text.encode("utf-8")
    plan = [(dot_path, dot_text.encode("utf-8")), (os.path.join(dest, "status.json"), ls.status_json(status).encode("utf-8"))]
    for path, data in plan:
        files.append(path)
        if fileio.write_if_changed(path, data, 0o644, module.check_mode):
            changed_files.append(path)
    for fmt in formats:
        path = os.path.join(dest, "lab." + fmt)
        files.append(path)
        if dot_changed or not os.path.isfile(path):
            if module.check_mode:
                changed_files.append(path)
            elif fileio.write_if_changed(path, render(module, dot_cli, dot_text, fmt), 0o644):
                changed_files.append(path)
    for w in warnings:
        module.warn(w)
    module.exit_json(changed=bool(changed_files), table=table, status=status, summary=status["summary"],
                     files=files, changed_files=changed_files, dot=dot_text)


if __name__ == "__main__":
    main()
