# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/status.yml on a real lab (issue 12 item 6): sessions, container states, picture, idempotence.

IX126 with its route server; AS245 is AS246's provider (private peering) and AS247's peer (private peering);
AS246 and AS247 also peer through the route server. Parties 2001 (AS246) and 2002 (AS247) are placed but not
deployed, so their components are reported down. Brought up with playbooks/network.yml on a private inventory
(compose project sftest-status-<rand>), then status.yml: every session Established, the relationships right,
lab.svg/lab.png/lab.dot/status.json written; a second run changes nothing; after the lab is taken down the
picture is still there and every item is down. Everything is removed at the end (Lab/cleaned_up).

Numbers of its own: IX126, AS245-247 (10.126.0.0/24, 10.245-247.0.0/24).
"""

import json
import os
import time

import pytest

from test_network_seedemu import Lab, busy_subnets, cleaned_up

pytestmark = [pytest.mark.seedemu, pytest.mark.docker, pytest.mark.slow]

STATUS_TASK = "Read the lab's state and write its picture"


def status_lab():
    def stub():
        return {"networks": ["net0"], "routers": {"router0": ["net0", "ix126"]}}
    return {
        "seedfate_topology": {
            "internet_exchanges": [126],
            "autonomous_systems": {245: stub(), 246: stub(), 247: stub()},
            "peerings": [
                {"ix": 126, "route_server": [246, 247]},
                {"ix": 126, "a": 245, "b": 246, "relationship": "provider"},
                {"ix": 126, "a": 245, "b": 247, "relationship": "peer"},
            ],
        },
        "seedfate_parties": {"2001": {"asn": 246}, "2002": {"asn": 247}},
    }


def result(doc, name=STATUS_TASK):
    for task in doc["plays"][0]["tasks"]:
        if task["task"]["name"] == name:
            return task["hosts"]["localhost"]
    raise AssertionError("no task %r" % name)


def test_status_of_a_running_lab_and_of_one_taken_down(tmp_path):
    busy = busy_subnets({"10.126.0.0/24"} | set("10.%d.0.0/24" % a for a in range(245, 248)))
    if busy:
        pytest.skip("the status lab's subnets are in use (%s)" % ", ".join(busy))
    with cleaned_up(Lab(str(tmp_path), status_lab(), name="sftest-status"), tmp_path) as lab:
        lab.play()
        status_dir = os.path.join(lab.build, "status")

        start = time.monotonic()
        first = lab.play(playbook="status.yml")
        print("status.yml on a running lab of 3 ASes: %.1f s" % (time.monotonic() - start))
        got = result(first)
        summary = got["summary"]
        assert summary["network"] == "up", got["table"]
        assert summary["routers"] == summary["routers_up"] == 4          # 3 routers and the route server
        # AS245: 2 private; AS246 and AS247: route server + 1 private each; the route server: 2 clients.
        assert summary["sessions"] == summary["sessions_up"] == 8, got["table"]
        sessions = dict(((r["name"], s["asn"], x["protocol"]), x) for s in got["status"]["systems"]
                        for r in s["routers"] for x in r["sessions"])
        assert all(x["bgp_state"] == "Established" for x in sessions.values()), got["table"]
        assert sessions[("router0", 245, "c_as246")]["relationship"] == "customer"
        assert sessions[("router0", 246, "u_as245")]["relationship"] == "provider"
        assert sessions[("router0", 245, "p_as247")]["relationship"] == "peer"
        assert sessions[("router0", 246, "p_rs126")]["kind"] == "route_server"
        private = [(p["a"], p["b"], p["relationship"]) for p in got["status"]["peerings"] if p["kind"] == "private"]
        assert private == [(245, 246, "provider"), (245, 247, "peer")]
        # Parties are placed, not deployed: their components are down, by name.
        comps = [c for p in got["status"]["parties"] for c in p["components"]]
        assert comps and all(c["status"] == "down" and c["state"] == "absent" for c in comps)
        assert any(line.startswith("party 2001  AS246 net0  down") for line in got["table"])

        assert sorted(os.listdir(status_dir)) == ["lab.dot", "lab.png", "lab.svg", "status.json"]
        with open(os.path.join(status_dir, "lab.svg")) as f:
            svg = f.read()
        # Graphviz escapes '-' and '>' in SVG text (&#45;&gt;).
        assert "IX126" in svg and "FATE party 2002" in svg and "customer @ ix126" in svg, svg[:2000]
        with open(os.path.join(status_dir, "status.json")) as f:
            assert json.load(f)["summary"]["network"] == "up"
        assert first["stats"]["localhost"]["changed"] == 1

        again = lab.play(playbook="status.yml")
        assert again["stats"]["localhost"]["changed"] == 0, result(again)["changed_files"]

        lab.play("-e", "network_state=absent")
        down = lab.play(playbook="status.yml")
        got = result(down)
        assert got["summary"]["network"] == "down" and got["summary"]["sessions_up"] == 0
        assert got["changed_files"] == [os.path.join(status_dir, "status.json")]
        assert all(r["status"] == "down" for s in got["status"]["systems"] for r in s["routers"])
