# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded reachability probes: the round's sh script (run for real by sh, with an nc that answers like
OpenBSD nc), the classification of nc's messages, and the deadline of the rounds."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import subprocess
import time

import pytest

from ansible_collections.seed.fate.plugins.module_utils import reachability as R
from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DockerCli

# Messages of OpenBSD nc 1.219 (Debian bookworm, the holder image), as printed with -v.
MESSAGES = {
    "ok": "Connection to 10.151.0.72 9370 port [tcp/*] succeeded!",
    "refused": "nc: connect to 10.151.0.72 port 9370 (tcp) failed: Connection refused",
    "timeout": "nc: connect to 10.151.0.99 port 9370 (tcp) timed out: Operation now in progress",
    "noroute": "nc: connect to 10.151.0.99 port 9370 (tcp) failed: No route to host",
    "netunreach": "nc: connect to 10.99.0.1 port 9370 (tcp) failed: Network is unreachable",
}


@pytest.mark.parametrize("rc, message, kind", [
    (0, MESSAGES["ok"], R.OK),
    (1, MESSAGES["refused"], R.REFUSED),
    (1, MESSAGES["timeout"], R.TIMEOUT),
    (1, MESSAGES["noroute"], R.UNREACHABLE),
    (1, MESSAGES["netunreach"], R.UNREACHABLE),
    (127, "sh: 1: nc: not found", R.ERROR),
    (1, "", R.ERROR),
])
def test_classify_nc_messages(rc, message, kind):
    assert R.classify(rc, message)[0] == kind


def test_parse_ignores_other_lines():
    out = "junk\nseedfate-probe 3 1 nc: connect to 10.0.0.1 port 1 (tcp) failed: Connection refused \n" \
          "seedfate-probe 0 0 Connection to 10.0.0.2 1 port [tcp/*] succeeded! \nseedfate-probe x 1 y\n"
    assert R.parse(out) == {3: (1, "nc: connect to 10.0.0.1 port 1 (tcp) failed: Connection refused"),
                            0: (0, "Connection to 10.0.0.2 1 port [tcp/*] succeeded!")}


# An nc that answers like OpenBSD nc after a delay chosen by the address's last byte (tenths of a second):
# .1x succeed, .2x refused, .3x time out after -w, .4x no route; a line on stdout too, as nc -v does not.
FAKE_NC = r"""#!/bin/sh
w=1; while [ $# -gt 2 ]; do case "$1" in -w) w=$2; shift;; esac; shift; done
addr=$1; port=$2; last=${addr##*.}
echo "$addr $port" >> "$NC_LOG"
case $last in
  1?) sleep 0.$((last % 10)); echo "Connection to $addr $port port [tcp/*] succeeded!" >&2; exit 0;;
  2?) sleep 0.$((last % 10)); echo "nc: connect to $addr port $port (tcp) failed: Connection refused" >&2; exit 1;;
  3?) sleep "$w"; echo "nc: connect to $addr port $port (tcp) timed out: Operation now in progress" >&2; exit 1;;
  4?) echo "nc: connect to $addr port $port (tcp) failed: No route to host" >&2
      echo "second line" >&2; exit 1;;
esac
exit 2
"""


@pytest.fixture
def local_sh(tmp_path):
    """run(argv) that runs the round's ``sh -c`` here instead of in a container, with the fake nc first on PATH."""
    nc = tmp_path / "nc"
    nc.write_text(FAKE_NC)
    nc.chmod(nc.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "nc.log"
    env = dict(os.environ, PATH="%s:%s" % (tmp_path, os.environ["PATH"]), NC_LOG=str(log))
    calls = []

    def run(argv):
        assert argv[:3] == ["docker", "exec", "pod"] and argv[3:5] == ["sh", "-c"]
        calls.append(argv)
        p = subprocess.run(argv[3:], capture_output=True, text=True, env=env, check=False)
        return p.returncode, p.stdout, p.stderr
    run.calls = calls
    run.log = log
    return run


def targets(*last_bytes):
    return [{"party": str(1000 + n), "what": "proxy", "address": "10.66.0.%d" % b, "port": 9370}
            for n, b in enumerate(last_bytes)]


def test_all_reachable_in_one_parallel_round(local_sh):
    # Ten endpoints that each take 0.5 s: in parallel the round takes about 0.5 s, not 5 s.
    start = time.monotonic()
    res = R.probe(DockerCli(local_sh), "pod", targets(*[15] * 10), timeout=30, probe_timeout=2, interval=0.1)
    took = time.monotonic() - start
    assert res["rounds"] == 1 and [r["kind"] for r in res["results"]] == [R.OK] * 10
    assert took < 3, "the probes ran one after the other (%.1f s)" % took
    assert len(local_sh.log.read_text().splitlines()) == 10


def test_failures_are_classified_retried_and_bounded(local_sh):
    # ok, refused, timed out, no route: the broken ones are probed again until the deadline.
    start = time.monotonic()
    res = R.probe(DockerCli(local_sh), "pod", targets(11, 21, 31, 41), timeout=5, probe_timeout=1, interval=0.2)
    took = time.monotonic() - start
    kinds = [r["kind"] for r in res["results"]]
    assert kinds == [R.OK, R.REFUSED, R.TIMEOUT, R.UNREACHABLE], res
    assert took <= 5.5, took
    assert res["rounds"] >= 3, res
    # The endpoint that answered is not probed again; the others are, every round.
    assert [r["attempts"] for r in res["results"]] == [1] + [res["rounds"]] * 3
    assert all("10.66.0.11" not in c[-1] for c in local_sh.calls[1:])
    # nc's two lines became one message.
    assert res["results"][3]["message"] == "nc: connect to 10.66.0.41 port 9370 (tcp) failed: No route to host second line"


def test_round_that_cannot_end_before_the_deadline_is_not_started():
    clock = [0.0]
    calls = []

    def run(argv):
        calls.append(argv)
        clock[0] += 2.0
        return 0, "seedfate-probe 0 1 nc: connect to 10.66.0.1 port 1 (tcp) timed out: Operation now in progress\n", ""

    def sleep(s):
        clock[0] += s

    res = R.probe(DockerCli(run), "pod", targets(1), timeout=10, probe_timeout=2, interval=1,
                  clock=lambda: clock[0], sleep=sleep)
    # Rounds end at 2, 5, 8 s; a fourth would end at 11 s > 10 s.
    assert res["rounds"] == 3 and clock[0] == 8.0 and res["results"][0]["kind"] == R.TIMEOUT


def test_docker_exec_failure_is_an_error_naming_docker():
    def run(argv):
        return 1, "", "Error response from daemon: No such container: pod\n"

    res = R.probe(DockerCli(run), "pod", targets(1, 2), timeout=1, probe_timeout=1, interval=0.5,
                  clock=lambda: 0.0, sleep=lambda s: None)
    assert [r["kind"] for r in res["results"]] == [R.ERROR, R.ERROR]
    assert "No such container: pod" in res["results"][0]["message"]


def test_script_quotes_and_numbers():
    script = R.probe_script([(0, "10.66.0.1", 9370), (7, "fd00::1", "80")], 2)
    assert "nc -n -z -v -w 2 10.66.0.1 9370" in script and "nc -n -z -v -w 2 fd00::1 80" in script
    assert "'seedfate-probe 7 %s %s\\n'" in script and script.rstrip().endswith("wait")


def test_describe_names_party_component_address_and_kind():
    line = R.describe(dict(party="10000", what="proxy", address="10.151.0.72", port=9370, kind=R.REFUSED,
                           message=MESSAGES["refused"]), 2)
    assert line.startswith("party 10000 proxy 10.151.0.72:9370 connection refused: ")
    line = R.describe(dict(party="exchange", what="exchange", address="10.180.0.90", port=9371, kind=R.TIMEOUT,
                           message=MESSAGES["timeout"]), 2)
    assert "exchange 10.180.0.90:9371 timed out: no answer within 2 s" in line
