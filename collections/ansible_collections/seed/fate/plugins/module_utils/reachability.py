# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded TCP reachability from inside a container: every target probed at once, one overall deadline.

A round is one ``docker exec <container> sh -c <script>``: the script starts one ``nc -n -z -v -w <probe
timeout>`` per pending target in the background, waits for all of them, and prints one line per target,
``seedfate-probe <index> <nc exit code> <nc's message on one line>``. Failed targets are probed again in
the next round until they answer or the deadline is near; what is left is classified by nc's message:

* ``refused``: the address answered with a reset (nothing listens on the port: the component is down or
  still starting) - the one failure that usually heals by waiting;
* ``timeout``: no answer within the probe timeout (address not on its network, packets dropped, a filter);
* ``unreachable``: "No route to host" / "Network is unreachable" (a router, or the source, has no route, or
  the address does not answer ARP on its network);
* ``error``: anything else (nc missing, the container not running, docker's error).

The source needs only ``sh`` and OpenBSD ``nc`` (the seed.fate holder image has both, no python3). A round's
``docker exec`` is stopped when it has not ended :data:`ROUND_SLACK` seconds after the probe timeout (a hung
engine or container); its targets are then errors of that round.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

try:
    from shlex import quote
except ImportError:  # pragma: no cover - Python 2
    from pipes import quote

MARK = "seedfate-probe"
OK, REFUSED, TIMEOUT, UNREACHABLE, ERROR = "ok", "refused", "timeout", "unreachable", "error"

# Seconds a round's docker exec may take beyond the probe timeout before it is stopped.
ROUND_SLACK = 10

_LINE = re.compile(r"^%s (\d+) (\d+) ?(.*)$" % MARK)

# What each kind means, for the failure message.
EXPLAIN = {
    REFUSED: "connection refused: the address answers but nothing listens on the port (component down or still starting)",
    TIMEOUT: "timed out: no answer within {probe_timeout} s (address not on its network, packets dropped, or a filter)",
    UNREACHABLE: "unreachable: no route to the address (a router or the source lacks the route, or no host answers ARP for it)",
    ERROR: "probe error",
}


def probe_script(targets, probe_timeout):
    """The sh script of one round. ``targets``: [(index, address, port)]; prints one MARK line per target."""
    jobs = []
    for index, address, port in targets:
        jobs.append(
            "( out=$(nc -n -z -v -w %d %s %d 2>&1 </dev/null); rc=$?; "
            "printf '%s %d %%s %%s\\n' \"$rc\" \"$(printf '%%s' \"$out\" | tr '\\n\\r' '  ')\" ) &"
            % (int(probe_timeout), quote(str(address)), int(port), MARK, int(index)))
    jobs.append("wait")
    return "\n".join(jobs) + "\n"


def parse(stdout):
    """{index: (exit code, message)} of a round's output; lines that are not the probes' are ignored."""
    out = {}
    for line in (stdout or "").splitlines():
        m = _LINE.match(line.strip())
        if m:
            out[int(m.group(1))] = (int(m.group(2)), m.group(3).strip())
    return out


def classify(rc, message):
    """(kind, message) of one probe: nc's exit code and what it printed (-v)."""
    text = (message or "").lower()
    if rc == 0:
        return OK, message
    if "refused" in text:
        return REFUSED, message
    if "timed out" in text or "operation now in progress" in text:
        return TIMEOUT, message
    if "no route to host" in text or "unreachable" in text:
        return UNREACHABLE, message
    return ERROR, message or "nc exited %d without a message" % rc


def probe(docker, container, targets, timeout=30, probe_timeout=2, interval=1.0,
          clock=time.monotonic, sleep=time.sleep):
    """Probe ``targets`` (dicts with address and port) from ``container`` until all answer or ``timeout`` s pass.

    ``docker``: a DockerCli. A new round only starts when it can end before the deadline, so the call returns
    within ``timeout`` (plus one docker exec, itself stopped after ``probe_timeout + ROUND_SLACK`` s). Returns dict(results=[target + kind, message,
    attempts], rounds, elapsed).
    """
    start = clock()
    last = {}
    attempts = dict((i, 0) for i in range(len(targets)))
    pending = list(range(len(targets)))
    rounds = 0
    while pending:
        rounds += 1
        script = probe_script([(i, targets[i]["address"], targets[i]["port"]) for i in pending], probe_timeout)
        rc, stdout, stderr = docker.exec(container, ["sh", "-c", script], timeout=probe_timeout + ROUND_SLACK)
        got = parse(stdout)
        for i in pending:
            attempts[i] += 1
            if i in got:
                last[i] = classify(*got[i])
            else:
                why = " ".join((stderr or stdout or "").split()) or "no answer from the probe"
                last[i] = (ERROR, "docker exec %s (rc %d): %s" % (container, rc, why))
        pending = [i for i in pending if last[i][0] != OK]
        if not pending or clock() - start + interval + probe_timeout > timeout:
            break
        sleep(interval)
    results = []
    for i, t in enumerate(targets):
        kind, message = last[i]
        results.append(dict(t, kind=kind, message=message, attempts=attempts[i]))
    return dict(results=results, rounds=rounds, elapsed=round(clock() - start, 1))


def describe(result, probe_timeout):
    """One line for an endpoint that failed: 'party P what A:PORT <kind>: <explanation> (nc: ...)'."""
    explain = EXPLAIN.get(result["kind"], result["kind"]).format(probe_timeout=probe_timeout)
    if result["kind"] == ERROR:
        explain = "%s: %s" % (explain, result["message"])
    elif result.get("message"):
        said = result["message"]
        explain = "%s [nc: %s]" % (explain, said[4:] if said.startswith("nc: ") else said)
    who = result.get("party")
    return "%s%s %s:%s %s" % ("party %s " % who if who not in (None, "") else "", result.get("what") or "endpoint",
                              result["address"], result["port"], explain)
