# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action of seed.fate.reachability: the module, run in the controller's worker process when its host is the controller
(plugin_utils/inprocess.py says when and why); the documentation is in plugins/modules/reachability.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.seed.fate.plugins.plugin_utils.inprocess import action_for

ActionModule = action_for("reachability")
