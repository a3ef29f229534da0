# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_capabilities: the probe's answer, through the module's own command runner."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.seed.fate.plugins.modules import host_capabilities


def test_reports_what_the_kernel_refuses(monkeypatch, capsys):
    calls = []

    def fake(self, argv, **kwargs):
        calls.append(argv)
        if "netem" in argv:
            return 2, "", "Error: Specified qdisc kind is unknown."
        return 0, "", ""
    monkeypatch.setattr(AnsibleModule, "run_command", fake)
    with patch_module_args({"_ansible_check_mode": True}):
        with pytest.raises(SystemExit):
            host_capabilities.main()
    r = json.loads(capsys.readouterr().out)
    assert not r["changed"] and r["dummy_link"] and not r["netem"]
    assert "netem" in r["summary"] and "qdisc kind is unknown" in " ".join(r["notes"])
    assert calls[0][:3] == ["ip", "netns", "add"] and calls[-1][:3] == ["ip", "netns", "del"]
