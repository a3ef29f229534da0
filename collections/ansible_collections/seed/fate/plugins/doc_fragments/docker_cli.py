# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The docker_cli option (module_utils/docker_cli.py's DOCKER_CLI_SPEC), written once."""

    DOCUMENTATION = r"""
options:
  docker_cli:
    description:
      - Path of the C(docker) command line client, or its name on E(PATH).
      - Calls that must not hang (C(docker exec) probes and polls) run under coreutils C(timeout) when it is
        installed.
    type: path
    default: docker
"""

    # Modules that cannot work without the engine.
    ENGINE = r"""
options: {}
requirements:
  - A Docker engine reachable through the C(docker) CLI (and C(docker compose) v2 where compose is used).
"""
