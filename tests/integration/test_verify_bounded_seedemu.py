# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fate_verify's reachability check is bounded, for real (issue 12 item 4).

A seedemu lab of five stub ASes (AS66-70) on IX136 behind its route server, one plain host ``p`` in each:
the host stands in for a party's pod (the probe source, holder image: sh and nc) and listens on 9370 as the
party's proxy (``nc -lk``). The role's reachability tasks (seed.fate.fate_verify, tasks_from reachability) run
for five party hosts at once with a hand-made directory:

* every party reaches the four others' proxies: passes in one round, in seconds;
* a broken lab: the four others' serving-proxies (nothing listens on 8869: refused), a ghost party whose
  address in AS68 has nothing behind it (timeout or unreachable) and a party in AS71, whose prefix no router
  has (unreachable). With the default deadline (30 s) the run fails in under 40 s of wall time, every party
  naming each of its six missing endpoints (party, component, address:port, kind) - the count-based
  retries took minutes for this.

Numbers of its own: IX136, AS66-70 (10.136.0.0/24, 10.66-70.0.0/24; 10.71.0.0/24 is never created).
Everything is removed at the end (Lab/cleaned_up of test_network_seedemu).
"""

import json
import os
import subprocess
import time

import pytest
import yaml

from test_network_seedemu import REPO, VENV_BIN, Lab, busy_subnets, cleaned_up, sh

pytestmark = [pytest.mark.seedemu, pytest.mark.docker, pytest.mark.slow]

ASNS = (66, 67, 68, 69, 70)
GHOST = {"party_id": 1098, "proxy": "10.68.0.200", "serving_proxy": None}
NO_ROUTE = {"party_id": 1071, "proxy": "10.71.0.72", "serving_proxy": None}


def probes_lab():
    return {
        "seedfate_topology": {
            "internet_exchanges": [136],
            "autonomous_systems": dict((a, {"networks": ["net0"], "routers": {"router0": ["net0", "ix136"]},
                                            "hosts": ["p"]}) for a in ASNS),
            "peerings": [{"ix": 136, "route_server": list(ASNS)}],
        },
        "seedfate_parties": dict((str(1000 + a), {"asn": a}) for a in ASNS),
    }


VERIFY = """---
- name: Reachability of the parties (seed.fate.fate_verify's tasks only)
  hosts: parties
  gather_facts: false
  tasks:
    - name: Probe
      ansible.builtin.include_role:
        name: seed.fate.fate_verify
        tasks_from: reachability
"""


def verify(root, lab, directory, *extra):
    """Run the role's reachability tasks for the five parties; returns (wall seconds, rc, {party: probe result})."""
    hosts = {}
    for a in ASNS:
        hosts["party-%d" % (1000 + a)] = {"fate_verify_party_id": 1000 + a,
                                           "fate_verify_source_container": lab.container(a, "p")}
    inv = {"parties": {"hosts": hosts, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "fate_verify_fate_version": "1.3.0", "fate_verify_directory": directory}}}
    inventory = os.path.join(root, "verify-hosts.yml")
    with open(inventory, "w") as f:
        yaml.safe_dump(inv, f)
    playbook = os.path.join(root, "verify.yml")
    with open(playbook, "w") as f:
        f.write(VERIFY)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    start = time.monotonic()
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", inventory, playbook] + list(extra),
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    wall = time.monotonic() - start
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("ansible-playbook gave no JSON (rc %d): %s" % (proc.returncode, proc.stderr[-3000:]))
    results = {}
    for task in doc["plays"][0]["tasks"]:
        if task["task"]["name"].endswith("all endpoints at once"):
            for host, res in task["hosts"].items():
                results[host] = res
    return wall, proc.returncode, results


def test_five_parties_probe_in_parallel_and_a_broken_lab_is_reported_in_seconds(tmp_path):
    busy = busy_subnets({"10.136.0.0/24"} | set("10.%d.0.0/24" % a for a in ASNS + (71,)))
    if busy:
        pytest.skip("the probes lab's subnets are in use (%s)" % ", ".join(busy))
    with cleaned_up(Lab(str(tmp_path), probes_lab(), name="sftest-probes"), tmp_path) as lab:
        start = time.monotonic()
        lab.play()
        print("probes lab up: %.0f s" % (time.monotonic() - start))
        address = dict((a, lab.address(lab.container(a, "p"))) for a in ASNS)
        for a in ASNS:
            assert address[a].startswith("10.%d.0." % a), address
            r = sh("docker", "exec", "-d", lab.container(a, "p"), "nc", "-lk", address[a], "9370")
            assert r.returncode == 0, r.stderr
        parties = [{"party_id": 1000 + a, "proxy": address[a], "serving_proxy": None} for a in ASNS]
        # The listeners are up (a connection from the host's own container).
        deadline = time.monotonic() + 10
        while sh("docker", "exec", lab.container(66, "p"), "nc", "-z", "-w", "1", address[66], "9370").returncode:
            assert time.monotonic() < deadline, "nc -l did not start"
            time.sleep(0.5)

        # Every party reaches every other's proxy: one round, seconds.
        ok_wall, rc, results = verify(str(tmp_path), lab, parties)
        wall = ok_wall
        print("five parties, 4 endpoints each, all reachable: playbook %.1f s, probes %s"
              % (wall, dict((h, r.get("elapsed")) for h, r in sorted(results.items()))))
        assert rc == 0, results
        assert sorted(results) == ["party-%d" % (1000 + a) for a in ASNS]
        for host, r in results.items():
            assert not r.get("failed") and r["rounds"] == 1 and len(r["reachable"]) == 4, (host, r)
            assert r["elapsed"] < 5, (host, r)

        # The broken lab: serving-proxies with nothing listening, a ghost address, an AS without a route.
        broken = [dict(p, serving_proxy=p["proxy"]) for p in parties] + [GHOST, NO_ROUTE]
        wall, rc, results = verify(str(tmp_path), lab, broken)
        print("five parties, 10 endpoints each, 6 of them broken: playbook %.1f s, probes %s"
              % (wall, dict((h, r.get("elapsed")) for h, r in sorted(results.items()))))
        assert rc != 0
        # 30 s of probes plus ansible-playbook's own start and the role's other tasks (the passing run above took
        # ok_wall in all, probes under a second); one party after the other would take 5 x 30 s.
        assert wall < max(40, ok_wall + 32), "a broken lab of five parties took %.1f s to report" % wall
        assert sorted(results) == ["party-%d" % (1000 + a) for a in ASNS]
        for a in ASNS:
            me = 1000 + a
            r = results["party-%d" % me]
            print(r["msg"])
            assert r["failed"] and r["elapsed"] <= 31, r
            assert "party %d (%s) cannot reach 6 of 10 endpoints within 30 s" % (me, lab.container(a, "p")) in r["msg"]
            kinds = dict(("%s %s %s:%s" % (u["party"], u["what"], u["address"], u["port"]), u["kind"])
                         for u in r["unreachable"])
            expected = dict(("%d serving-proxy %s:8869" % (1000 + b, address[b]), "refused") for b in ASNS if b != a)
            assert dict((k, v) for k, v in kinds.items() if v == "refused") == expected, kinds
            assert kinds["1098 proxy 10.68.0.200:9370"] in ("timeout", "unreachable"), kinds
            assert kinds["1071 proxy 10.71.0.72:9370"] == "unreachable", kinds
            assert len(kinds) == 6 and len(r["reachable"]) == 4, r
            for line in ["party %d serving-proxy %s:8869 connection refused" % (1000 + b, address[b]) for b in ASNS if b != a] \
                    + ["party 1098 proxy 10.68.0.200:9370 ", "party 1071 proxy 10.71.0.72:9370 unreachable"]:
                assert line in r["msg"], (line, r["msg"])

        down = lab.play("-e", "network_state=absent")
        assert down["stats"]["localhost"]["changed"] > 0
