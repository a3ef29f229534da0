"""molecule/fate22: real FATE 2.2.0 jobs ran across the emulated Internet, as the lab's report says.

The converge (playbooks/site.yml with fate_version 2.2.0) ran seed.fate.fate_verify's jobs and wrote
build/verify/report.json; this reads it: both jobs succeeded, the LR's AUC reached the floor, every party AS's
router moved bytes during the jobs, and each party's broker and nginx saw other ASes' addresses.
"""

import ipaddress
import json
import os
import subprocess

import pytest

SCENARIO = os.environ.get("MOLECULE_SCENARIO_DIRECTORY", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPORT = os.path.join(SCENARIO, "build", "verify", "report.json")
# The scenario's layout (inventory/group_vars/all.yml): party -> AS.
PARTY_AS = {"9999": "202", "10000": "201", "8888": "203"}
AUC_FLOOR = 0.95


@pytest.fixture(scope="module")
def report():
    assert os.path.isfile(REPORT), "converge wrote no report at %s" % REPORT
    with open(REPORT) as f:
        return json.load(f)


def test_report_names_the_version(report):
    assert report["fate_version"] == "2.2.0"
    assert set(report["jobs"]) >= {"toy_example", "hetero_lr"}, report["jobs"].keys()


@pytest.mark.parametrize("job", ["toy_example", "hetero_lr"])
def test_job_succeeded(report, job):
    j = report["jobs"][job]
    assert j["status"] == "success", j.get("error")
    assert j["job_id"] and j["wall_seconds"] > 0


def test_roles(report):
    assert report["jobs"]["toy_example"]["parties"] == {"guest": "9999", "host": "10000"}
    assert report["jobs"]["hetero_lr"]["parties"] == {"guest": "9999", "host": "10000", "arbiter": "8888"}


def test_lr_auc_reaches_the_floor(report):
    auc = report["jobs"]["hetero_lr"]["metrics"]["auc"]
    assert auc is not None and auc >= AUC_FLOOR, auc


@pytest.mark.parametrize("job", ["toy_example", "hetero_lr"])
def test_bytes_through_every_party_router(report, job):
    j = report["jobs"][job]
    for pid in j["parties"].values():
        router = "AS%s router0" % PARTY_AS[pid]
        ifs = j["routers"][router]["interfaces"]
        total = sum(b["rx"] + b["tx"] for b in ifs.values())
        # Federation and flow-to-flow traffic cross the IX: the router's IX interface moved bytes both ways.
        assert ifs.get("ix113", {}).get("rx", 0) > 0 and ifs["ix113"]["tx"] > 0, (router, ifs)
        assert total > 10000, (router, ifs)


@pytest.mark.parametrize("job", ["toy_example", "hetero_lr"])
def test_peers_are_other_ases(report, job):
    j = report["jobs"][job]
    for pid in j["parties"].values():
        peers = j["peers"][pid]
        own = ipaddress.ip_network(peers["network"])
        foreign = peers["nginx_clients_foreign"] + peers["broker_peers_foreign"]
        assert foreign, (pid, peers)
        for a in foreign:
            assert ipaddress.ip_address(a) not in own
            assert a.split(".")[1] in set(PARTY_AS.values()) - {PARTY_AS[pid]}, (pid, a)


def test_no_flow_restarted():
    """No flow crashed and was restarted by its restart policy (the idempotence step checks that nothing was
    recreated: 0 changed)."""
    for pid in PARTY_AS:
        r = subprocess.run(["docker", "inspect", "-f", "{{.RestartCount}}", "confs-%s-fateflow-1" % pid],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.strip() == "0", (pid, r.stdout, r.stderr)


def test_second_run_restarted_nothing_and_kept_the_verdict(report):
    """The idempotence step (a second site.yml) ran after the jobs: every party container is still the one the
    jobs ran on (same id, same start time, as the report's fingerprint recorded them), so the second run neither
    recreated nor restarted anything, and it kept the verdict instead of training again."""
    names = sorted(d.split()[0].lstrip("/") for d in report["deployment"])
    assert len(names) == 3 * len(PARTY_AS), names
    r = subprocess.run(["docker", "inspect", "--format", "{{.Name}} {{.Id}} {{.State.StartedAt}}"] + names,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == report["deployment"]


def _nc(container, address, port):
    return subprocess.run(["docker", "exec", container, "nc", "-z", "-w", "3", address, str(port)],
                          capture_output=True, text=True, timeout=60).returncode


def _address(container):
    r = subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", container],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip(), (container, r.stderr)
    return r.stdout.strip()


@pytest.mark.parametrize("pid", sorted(PARTY_AS))
def test_broker_management_only_for_its_own_flow(pid):
    """The broker's management API (15672) answers the party's own flow pod and nobody else; AMQP (5672) is open
    to the other parties, whose brokers federate with it."""
    broker = _address("confs-%s-rabbitmq-pod-1" % pid)
    assert _nc("confs-%s-fateflow-pod-1" % pid, broker, 15672) == 0
    assert _nc("confs-%s-nginx-pod-1" % pid, broker, 15672) != 0
    for other in sorted(set(PARTY_AS) - {pid}):
        assert _nc("confs-%s-fateflow-pod-1" % other, broker, 15672) != 0, (other, pid)
        assert _nc("confs-%s-fateflow-pod-1" % other, broker, 5672) == 0, (other, pid)
