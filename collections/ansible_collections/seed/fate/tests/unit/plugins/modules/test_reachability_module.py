# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""seed.fate.reachability against a fake docker CLI: its verdict, message and argument checks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.seed.fate.plugins.module_utils.docker_cli import unbounded
from ansible_collections.seed.fate.plugins.modules import reachability


@pytest.fixture
def run(monkeypatch, capsys):
    def runner(answers, **args):
        """answers: {address: (rc, nc message)}; the fake docker answers each probe of a round."""
        calls, bounds = [], []
        runner.bounds = bounds

        def fake(self, argv, **kwargs):
            bounds.append(unbounded(argv)[0])
            argv = unbounded(argv)[1]
            calls.append(argv)
            lines = []
            for address, index in re.findall(r"nc -n -z -v -w \d+ (\S+) \d+ 2>&1 </dev/null\); rc=\$\?; "
                                             r"printf 'seedfate-probe (\d+) ", argv[-1]):
                rc, msg = answers[address]
                lines.append("seedfate-probe %s %d %s" % (index, rc, msg))
            return 0, "\n".join(lines) + "\n", ""
        monkeypatch.setattr(AnsibleModule, "run_command", fake)
        monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: "/usr/bin/" + name)
        monkeypatch.setattr("time.sleep", lambda s: None)
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                reachability.main()
        return json.loads(capsys.readouterr().out), calls
    return runner


OK = (0, "Connection to x port [tcp/*] succeeded!")
REFUSED = (1, "nc: connect to 10.67.0.72 port 9370 (tcp) failed: Connection refused")
NOROUTE = (1, "nc: connect to 10.99.0.72 port 9370 (tcp) failed: Network is unreachable")

TARGETS = [{"party": "1002", "what": "proxy", "address": "10.67.0.72", "port": 9370},
           {"party": "1003", "what": "proxy", "address": "10.68.0.72", "port": "9370"},
           {"party": "1099", "what": "serving-proxy", "address": "10.99.0.72", "port": 8869}]


def test_all_reachable(run):
    r, calls = run({"10.67.0.72": OK, "10.68.0.72": OK, "10.99.0.72": OK}, container="pod", party="1001",
                   targets=TARGETS)
    assert not r.get("failed") and not r["changed"] and r["rounds"] == 1 and len(r["reachable"]) == 3
    assert r["reachable"][1]["port"] == 9370 and "party 1001 reaches 3 endpoints" in r["msg"]
    assert len(calls) == 1 and calls[0][:5] == ["/usr/bin/docker", "exec", "pod", "sh", "-c"]


def test_failures_named_with_kind(run):
    r, _calls = run({"10.67.0.72": REFUSED, "10.68.0.72": OK, "10.99.0.72": NOROUTE}, container="pod", party="1001",
                    targets=TARGETS, timeout=1, probe_timeout=1)
    assert r["failed"]
    assert "party 1001 (pod) cannot reach 2 of 3 endpoints within 1 s" in r["msg"]
    assert "party 1002 proxy 10.67.0.72:9370 connection refused" in r["msg"]
    assert "party 1099 serving-proxy 10.99.0.72:8869 unreachable: no route" in r["msg"]
    assert "1003" not in r["msg"]
    assert [(u["party"], u["kind"]) for u in r["unreachable"]] == [("1002", "refused"), ("1099", "unreachable")]


def test_bad_target_refused_before_probing(run):
    r, calls = run({}, container="pod", targets=[{"party": "1", "address": "not-an-ip", "port": 1}])
    assert r["failed"] and "targets[0]" in r["msg"] and calls == []
    r, calls = run({}, container="pod", targets=[{"address": "10.66.0.1", "port": 70000}])
    assert r["failed"] and "targets[0]" in r["msg"] and calls == []


def test_no_targets_is_no_probe(run):
    r, calls = run({}, container="pod", targets=[])
    assert not r.get("failed") and r["rounds"] == 0 and calls == []


def test_a_round_is_bounded_a_few_seconds_past_the_probe_timeout(run):
    # A hung docker exec must not hang the module: each round runs under coreutils timeout.
    r, calls = run({"10.67.0.72": OK, "10.68.0.72": OK, "10.99.0.72": OK}, container="pod", targets=TARGETS,
                   probe_timeout=3)
    assert not r.get("failed") and len(calls) == 1
    assert run.bounds == [3 + 10]
