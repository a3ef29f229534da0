#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: offline_image
short_description: Build a docker image from Debian packages or from a local image, without a registry
version_added: 0.1.0
description:
  - Builds image O(name) on the local Docker engine without pulling anything.
  - B(Debian mode) (default) runs C(mmdebstrap --format=tar) for O(suite) and pipes the root
    file system straight into C(docker import); O(packages) are installed by apt from the mirror,
    O(files) are copied in with their modes.
  - B(Derived mode) (O(base_image) set) starts from a local image and changes only its metadata
    (O(env), O(cmd), O(labels), ...) with C(docker create) + C(docker commit); the temporary
    container is always removed. This takes well under a second.
  - The image is labelled C(seed.fate/recipe-hash), the sha256 of everything that defines it (suite,
    variant, packages, mmdebstrap options, files' content and modes, the docker changes, and in derived
    mode the base image's id). An image whose label matches is not rebuilt and the module reports no
    change; O(force=true) rebuilds anyway. The mirror is not part of the hash.
  - A new image is created untagged and tagged only when every step succeeded, so a failed build never
    leaves a broken image under O(name).
author:
  - seed.fate contributors (!UNKNOWN)
extends_documentation_fragment:
  - seed.fate.attributes
  - seed.fate.docker_cli
  - seed.fate.docker_cli.engine
attributes:
  check_mode:
    support: full
    details: Reports whether the image would be built; nothing runs but C(docker image inspect).
  diff_mode:
    support: full
    details: Shows the image id and recipe hash before and the recipe hash after.
  idempotent:
    support: full
options:
  name:
    description:
      - Image name with tag, for example C(seedfate/seedemu-node:bookworm).
      - Required unless O(recipes) is given.
    type: str
  recipes:
    description:
      - Several images in one call, one after the other. Each item is a dictionary of the options of one
        image (O(name) required; O(base_image), O(suite), O(variant), O(mirror), O(packages),
        O(mmdebstrap_options), O(files), O(cmd), O(entrypoint), O(env), O(labels), O(workdir), O(user),
        O(expose), O(changes)), laid over the options given at the top level, which then serve as defaults.
      - The result lists each image in RV(images). In check mode this is one label check per image in a single
        module run, which is how role C(seed.fate.images) finds the images to build before it builds them in
        parallel.
      - Mutually exclusive with O(name).
    type: list
    elements: dict
  base_image:
    description:
      - Local image to derive from (derived mode). Must exist; it is never pulled.
      - Mutually exclusive with the Debian-mode options O(packages), O(files), O(mirror) and
        O(mmdebstrap_options).
    type: str
  suite:
    description:
      - Debian suite (or codename) for mmdebstrap. Debian mode only.
    type: str
    default: bookworm
  variant:
    description:
      - mmdebstrap package set to start from. C(apt) is Essential plus apt; C(minbase) adds the
        Priority:required packages.
    type: str
    default: apt
    choices: [essential, apt, minbase, required, important, standard]
  mirror:
    description:
      - Debian mirror URL or C(sources.list) line handed to mmdebstrap. Empty lets mmdebstrap choose
        (the machine's own apt sources).
    type: str
  packages:
    description:
      - Debian packages to install (mmdebstrap C(--include)). Order does not matter.
    type: list
    elements: str
    default: []
  mmdebstrap_options:
    description:
      - Extra mmdebstrap options, for example C(--dpkgopt=path-exclude=/usr/share/man/*). Part of the
        recipe hash.
    type: list
    elements: str
    default: []
  files:
    description:
      - Files to add to the image (Debian mode), owned by root.
    type: list
    elements: dict
    default: []
    suboptions:
      dest:
        description: Absolute path in the image. Missing parent folders are created.
        type: path
        required: true
      src:
        description: File on the controller to copy. Exactly one of O(files[].src) and O(files[].content).
        type: path
      content:
        description: Text to write.
        type: str
      mode:
        description: Octal file mode.
        type: raw
        default: '0644'
  cmd:
    description:
      - Image C(CMD) in exec form.
    type: list
    elements: str
  entrypoint:
    description:
      - Image C(ENTRYPOINT) in exec form.
    type: list
    elements: str
  env:
    description:
      - Environment variables baked into the image. Values are taken literally (no C($) expansion).
    type: dict
    default: {}
  labels:
    description:
      - Image labels. C(seed.fate/recipe-hash) is reserved for the module.
    type: dict
    default: {}
  workdir:
    description:
      - Image C(WORKDIR).
    type: str
  user:
    description:
      - Image C(USER).
    type: str
  expose:
    description:
      - Ports to declare with C(EXPOSE), like C(9370) or C(9370/tcp).
    type: list
    elements: str
    default: []
  changes:
    description:
      - Further Dockerfile instructions docker accepts on import/commit (C(CMD), C(ENTRYPOINT), C(ENV),
        C(EXPOSE), C(LABEL), C(ONBUILD), C(USER), C(VOLUME), C(WORKDIR)), applied after the options above.
    type: list
    elements: str
    default: []
  force:
    description:
      - Rebuild even when the image's recipe hash matches.
    type: bool
    default: false
  remove_replaced:
    description:
      - After a rebuild, remove the image that O(name) pointed to before, when it carries a
        C(seed.fate/recipe-hash) label and nothing else (a container, another tag, a child image) uses it.
    type: bool
    default: true
  mmdebstrap_cli:
    description:
      - Path of C(mmdebstrap), or its name on E(PATH). Debian mode only.
    type: path
    default: mmdebstrap
notes:
  - Debian mode runs mmdebstrap in its C(root) mode, so it needs root (or a working C(unshare) mode set
    through O(mmdebstrap_options), for example C(--mode=unshare)), plus C(bash) for the pipe.
  - Only Debian packages are used; no image registry is contacted.
  - When no O(mirror) is given and O(suite) is this machine's own Debian codename, package names are
    first checked with the local C(apt-cache policy), so a misspelt package fails at once instead of
    after mmdebstrap has installed the essential packages.
requirements:
  - mmdebstrap (Debian mode)
seealso:
  - name: mmdebstrap
    description: The tool that builds the root file system.
    link: https://manpages.debian.org/bookworm/mmdebstrap/mmdebstrap.1.en.html
"""

EXAMPLES = r"""
- name: Build the emulator node image from Debian packages
  seed.fate.offline_image:
    name: seedfate/seedemu-node:bookworm
    suite: bookworm
    packages: [iproute2, iputils-ping, bird2]
    cmd: [/bin/bash]
    labels:
      seed.fate/software: iproute2,iputils-ping,bird2

- name: Base image for the stand-ins, with a program copied in
  seed.fate.offline_image:
    name: seedfate-standin/base:bookworm
    packages: [python3-minimal]
    files:
      - src: files/seedfate-standin.py
        dest: /usr/local/bin/seedfate-standin
        mode: '0755'
    entrypoint: [python3, /usr/local/bin/seedfate-standin]

- name: A stand-in derived from it (metadata only, well under a second)
  seed.fate.offline_image:
    name: seedfate-standin/proxy:1.3.0-release
    base_image: seedfate-standin/base:bookworm
    env:
      STANDIN_NAME: proxy
      STANDIN_PORTS: "9370"
"""

RETURN = r"""
images:
  description: With O(recipes), the result of each image (the keys below), in the order of O(recipes).
  returned: when O(recipes) is given
  type: list
  elements: dict
image:
  description: The image name.
  returned: without O(recipes)
  type: str
  sample: seedfate/seedemu-node:bookworm
id:
  description: Image id after the run (before it, in check mode). Null when the image does not exist yet in check mode.
  returned: always
  type: str
  sample: sha256:7ed17193964ba55c5463e82c76cc7e68d48c85e32214389237ebc9702003706e
size:
  description: Image size in bytes as docker reports it.
  returned: always
  type: int
  sample: 176234112
recipe_hash:
  description:
    - sha256 of the recipe; the value of the image's C(seed.fate/recipe-hash) label.
    - Null in check mode when the base image of a derived image does not exist yet.
  returned: always
  type: str
recipe:
  description: The recipe that was hashed (file contents appear as their sha256).
  returned: always
  type: dict
built:
  description: Whether an image was built in this run.
  returned: always
  type: bool
build_seconds:
  description: Wall-clock seconds the build took (0 when nothing was built).
  returned: always
  type: float
  sample: 16.4
replaced_image_removed:
  description: Whether the image previously tagged O(name) was removed after a rebuild.
  returned: when an existing image was rebuilt
  type: bool
commands:
  description: Docker and mmdebstrap command lines that were run.
  returned: always
  type: list
  elements: list
"""

import copy

from ansible.module_utils.basic import AnsibleModule

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DOCKER_CLI_SPEC, DockerCli
from ansible_collections.seed.fate.plugins.module_utils.offline_image import (
    ImageError,
    OfflineImage,
    host_codename,
)

DEBIAN_ONLY = ("packages", "files", "mirror", "mmdebstrap_options")


# One image's options: the module's own, and each item of O(recipes) (where nothing has a default, so that an
# option left out of an item falls back to the module's).
IMAGE_OPTIONS = dict(
    name=dict(type="str"),
    base_image=dict(type="str"),
    suite=dict(type="str", default="bookworm"),
    variant=dict(type="str", default="apt",
                 choices=["essential", "apt", "minbase", "required", "important", "standard"]),
    mirror=dict(type="str"),
    packages=dict(type="list", elements="str", default=[]),
    mmdebstrap_options=dict(type="list", elements="str", default=[]),
    files=dict(type="list", elements="dict", default=[], options=dict(
        dest=dict(type="path", required=True),
        src=dict(type="path"),
        content=dict(type="str"),
        mode=dict(type="raw", default="0644"),
    ), mutually_exclusive=[("src", "content")], required_one_of=[("src", "content")]),
    cmd=dict(type="list", elements="str"),
    entrypoint=dict(type="list", elements="str"),
    env=dict(type="dict", default={}),
    labels=dict(type="dict", default={}),
    workdir=dict(type="str"),
    user=dict(type="str"),
    expose=dict(type="list", elements="str", default=[]),
    changes=dict(type="list", elements="str", default=[]),
)


def recipe_options():
    spec = copy.deepcopy(IMAGE_OPTIONS)
    for key, option in spec.items():
        option.pop("default", None)
    spec["name"]["required"] = True
    return spec


def recipe_params(module, index, recipe):
    """The module's parameters with item ``index`` of O(recipes) laid over them (validated like the options)."""
    checked = ArgumentSpecValidator(recipe_options()).validate(recipe)
    if checked.error_messages:
        module.fail_json(msg="recipes[%d]: %s" % (index, "; ".join(checked.error_messages)))
    params = dict(module.params, recipes=None)
    params.update((k, v) for k, v in checked.validated_parameters.items() if v is not None)
    return params


def ensure_image(module, p, docker):
    """Check (and unless in check mode build) one image; returns its result."""
    if p["base_image"]:
        given = [k for k in DEBIAN_ONLY if p[k]]
        if given:
            module.fail_json(msg="%s: only for images built from Debian, not with base_image" % ", ".join(given))
    mmdebstrap = p["mmdebstrap_cli"]
    if not p["base_image"]:
        mmdebstrap = module.get_bin_path(p["mmdebstrap_cli"])
        if not mmdebstrap:
            module.fail_json(msg="mmdebstrap (%s) is not installed; it builds images from Debian packages "
                                 "(apt-get install mmdebstrap)" % p["mmdebstrap_cli"])

    builder = OfflineImage(docker, p, mmdebstrap=mmdebstrap, tmpdir=module.tmpdir,
                           apt_cache=module.get_bin_path("apt-cache"), host_suite=host_codename())
    try:
        result = builder.ensure(check_mode=module.check_mode, force=p["force"])
    except ImageError as exc:
        details = dict(exc.details)
        details["commands"] = builder.docker.commands
        module.fail_json(msg=exc.msg, **details)
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    for warning in builder.warnings:
        module.warn(warning)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            recipes=dict(type="list", elements="dict"),
            force=dict(type="bool", default=False),
            remove_replaced=dict(type="bool", default=True),
            mmdebstrap_cli=dict(type="path", default="mmdebstrap"),
            **dict(IMAGE_OPTIONS, **DOCKER_CLI_SPEC)
        ),
        mutually_exclusive=[("name", "recipes")],
        required_one_of=[("name", "recipes")],
        supports_check_mode=True,
    )
    docker = DockerCli.from_module(module, record=True)
    if module.params["recipes"] is None:
        result = ensure_image(module, module.params, docker)
        result["commands"] = docker.commands
        module.exit_json(**result)
    # Every item is checked before the first image is looked at.
    recipes = [recipe_params(module, i, r) for i, r in enumerate(module.params["recipes"])]
    images = [ensure_image(module, p, docker) for p in recipes]
    module.exit_json(changed=any(r["changed"] for r in images), images=images, commands=docker.commands)


if __name__ == "__main__":
    main()
