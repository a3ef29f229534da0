# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""FATE 2.2 jobs judged by their status, with evidence: parsers and the job runner with a fake docker."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.seed.fate.plugins.module_utils import fate_jobs as J
from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DockerCli

TOY_OK = """toy test job 202611300001 is waiting
toy test job 202611300001 is running
toy test job 202611300001 is success
"""


def test_parse_toy_takes_the_last_status():
    assert J.parse_toy(TOY_OK) == ("202611300001", "success", False)


def test_parse_toy_timeout_and_waiting():
    out = "toy test job 7 is waiting\n" * 3 + "timeout...\n"
    assert J.parse_toy(out) == ("7", "waiting", True)


def test_parse_toy_rejected_submission():
    out = '{\n    "code": 1000,\n    "message": "no party 10000"\n}'
    assert J.parse_toy(out) == (None, None, False)


def test_parse_job_id_from_pipeline_fit():
    assert J.parse_job_id("Job id is 202611300042\n\nRunning task reader_0") == "202611300042"
    assert J.parse_job_id('{"job_id": "99", "code": 0}') == "99"
    assert J.parse_job_id("nothing") is None


def test_parse_json_after_other_lines():
    assert J.parse_json('flow init done\n{"code": 0, "data": [{"status": "success"}]}\n') == \
        {"code": 0, "data": [{"status": "success"}]}
    assert J.parse_json("no json") is None


def test_job_status():
    assert J.job_status({"code": 0, "data": [{"status": "running"}]}) == "running"
    assert J.job_status({"code": 100, "message": "no job"}) is None
    assert J.job_status(None) is None


@pytest.mark.parametrize("resp", [
    {"code": 0, "data": [{"data": [{"metric": "auc", "val": 0.992}], "name": "binary_metrics"}]},
    {"code": 0, "data": {"auc": 0.992}},
    {"code": 0, "data": [{"data": json.dumps([{"metric": "ks", "val": 0.8}, {"metric": "auc", "val": 0.992}])}]},
])
def test_find_auc(resp):
    assert J.find_metric(resp, "auc") == pytest.approx(0.992)


def test_find_auc_missing():
    assert J.find_metric({"code": 0, "data": []}, "auc") is None


def test_counters_delta_leaves_out_idle_and_loopback():
    before = J.parse_counters("lo 5 5\nnet0 100 200\nix113 1000 2000\ndummy0 0 0\n")
    after = J.parse_counters("lo 9 9\nnet0 150 260\nix113 1000 2000\ndummy0 0 0\n")
    assert J.counters_delta(before, after) == {"net0": {"rx": 50, "tx": 60}}


def test_addresses_and_foreign():
    seen = J.parse_addresses("10.201.0.72\n10.202.0.71\n10.201.0.72\n")
    assert seen == ["10.201.0.72", "10.202.0.71"]
    assert J.foreign_addresses(seen, "10.202.0.0/24") == ["10.201.0.72"]
    log = ('10.201.0.73 - - [30/Nov/2026:00:01:02 +0000] "POST /v2/partner/job/create HTTP/1.1" 200 52 "-" "python"\n'
           '10.202.0.71 - - [30/Nov/2026:00:01:03 +0000] "POST /v2/x HTTP/1.1" 200 52 "-" "python"\n')
    assert J.parse_addresses(log) == ["10.201.0.73", "10.202.0.71"]


def test_amqp_log():
    log = ("2026-11-29 23:56:40.575055+00:00 [info] <0.2143.0> accepting AMQP connection <0.2143.0> "
           "(10.202.0.72:35960 -> 10.201.0.72:5672)\n")
    assert J.parse_amqp_log(log) == ["10.202.0.72"]


def test_waiting_reason():
    log = ("x job 7 created\n"
           "[INFO] apply job 7 resource(cores 4) on guest 9999 failed, remaining cores: 0\n"
           "[INFO] other job 8 failed\n")
    assert J.waiting_reason(log, "7") == ["[INFO] apply job 7 resource(cores 4) on guest 9999 failed, remaining cores: 0"]


PARTIES = [
    {"party_id": "9999", "flow_container": "confs-9999-fateflow-1", "flow_address": "10.202.0.71",
     "rabbitmq_container": "confs-9999-rabbitmq-1", "nginx_container": "confs-9999-nginx-1",
     "network_prefix": "10.202.0.0/24"},
    {"party_id": "10000", "flow_container": "confs-10000-fateflow-1", "flow_address": "10.201.0.71",
     "rabbitmq_container": "confs-10000-rabbitmq-1", "nginx_container": "confs-10000-nginx-1",
     "network_prefix": "10.201.0.0/24"},
]
ROUTER = {"Name": "/as201brd-router0-10.201.0.254",
          "Config": {"Labels": {J.ROUTER_ROLE_LABEL: "BorderRouter", J.ASN_LABEL: "201", J.NODENAME_LABEL: "router0"}}}
RS = {"Name": "/as113brd-ix113", "Config": {"Labels": {J.ROUTER_ROLE_LABEL: "Route Server", J.ASN_LABEL: "113"}}}


class FakeDocker(object):
    """Answers the docker commands of a job; ``toy_out`` is what `flow test toy` prints."""

    def __init__(self, toy_out, status="success", failed_task=None):
        self.toy_out, self.status, self.failed_task = toy_out, status, failed_task
        self.reads = 0
        self.calls = []

    def __call__(self, argv, data=None):
        self.calls.append(argv)
        if argv[1] == "ps":
            if "label=seed.fate/lab=sftest-fate22" in argv:  # the swarm target's label: not on a local lab
                return 0, "", ""
            return 0, "r1\nrs\n", ""
        if argv[1] == "inspect":
            return 0, json.dumps([ROUTER, RS]), ""
        if argv[1] == "logs":
            if "rabbitmq" in argv[-1]:
                return 0, "", "x accepting AMQP connection <0.1.0> (10.201.0.72:1 -> 10.202.0.72:5672)\n"
            return 0, "10.201.0.73 - - [x] \"POST /v2/x HTTP/1.1\" 200\n", ""
        cmd = " ".join(argv)
        if "/sys/class/net" in cmd:
            self.reads += 1
            return 0, "lo 0 0\nix113 %d %d\n" % (1000 * self.reads, 2000 * self.reads), ""
        if "rabbitmqctl" in cmd:
            return 0, "", ""
        if "flow init" in cmd:
            return 0, '{"code": 0}', ""
        if "flow test toy" in cmd or cmd.endswith("python -"):
            return 0, self.toy_out, ""
        if "flow job query" in cmd:
            return 0, json.dumps({"code": 0, "data": [{"status": self.status}]}), ""
        if "flow task query" in cmd:
            data = [{"party_id": self.failed_task, "task_name": "toy_example_0"}] if self.failed_task else []
            return 0, json.dumps({"code": 0, "data": data}), ""
        if "flow job stop" in cmd:
            return 0, '{"code": 0}', ""
        if "logs/fate_flow" in cmd:
            return 0, "[INFO] apply job 7 resource(cores 4) on host 10000 failed, remaining cores: 0\n", ""
        raise AssertionError("unexpected command %s" % argv)


def spec():
    return {"name": "toy_example", "kind": "toy", "roles": {"guest": "9999", "host": "10000"}, "parties": PARTIES,
            "router_project": "sftest-fate22", "guest_command": "flow test toy -gid 9999 -hid 10000 -t 60"}


def test_toy_success_with_evidence():
    fake = FakeDocker(TOY_OK)
    res = J.run_job(J.Lab(DockerCli(fake)), spec())
    assert res["status"] == "success" and res["job_id"] == "202611300001"
    assert res["routers"]["AS201 router0"]["interfaces"] == {"ix113": {"rx": 1000, "tx": 2000}}
    assert "AS113 ix113" not in res["routers"]
    assert res["peers"]["9999"]["broker_peers_foreign"] == ["10.201.0.72"]
    assert res["peers"]["9999"]["nginx_clients_foreign"] == ["10.201.0.73"]


def test_toy_waiting_fails_with_the_reason_from_the_log():
    fake = FakeDocker("toy test job 7 is waiting\ntimeout...\n", status="waiting")
    with pytest.raises(J.JobError) as err:
        J.run_job(J.Lab(DockerCli(fake)), spec())
    msg = str(err.value)
    assert "toy_example job 7 stayed waiting (timed out)" in msg
    assert "remaining cores: 0" in msg and "party 9999" in msg
    assert any("flow job stop -j 7" in " ".join(a) for a in fake.calls), "a waiting job is stopped"
    assert err.value.result["status"] == "waiting"


def test_failed_job_names_the_failing_party():
    fake = FakeDocker("toy test job 7 is failed\n", status="failed", failed_task="10000")
    with pytest.raises(J.JobError) as err:
        J.run_job(J.Lab(DockerCli(fake)), spec())
    assert "job 7 is failed; party 10000 task toy_example_0" in str(err.value)
    assert err.value.result["failing_party"] == "10000"


def test_auc_below_the_floor_fails():
    fake = FakeDocker("Job id is 7\n")
    orig = fake.__call__

    def run(argv, data=None):
        if "query-metric" in " ".join(argv):
            return 0, json.dumps({"code": 0, "data": [{"data": [{"metric": "auc", "val": 0.26}]}]}), ""
        return orig(argv, data)

    s = dict(spec(), kind="pipeline", guest_command="python -", stdin="x", metric_task="evaluation_0", auc_floor=0.95)
    with pytest.raises(J.JobError) as err:
        J.run_job(J.Lab(DockerCli(run)), s)
    assert "AUC is 0.26 (floor 0.95" in str(err.value)
    assert err.value.result["status"] == "success" and err.value.result["metrics"] == {"auc": 0.26}


# ------------------------------------------------------------------------------ over several Docker hosts
H1, H2 = "unix:///run/h1/docker.sock", "unix:///run/h2/docker.sock"
ROUTER_202 = {"Name": "/as202brd-router0-10.202.0.254",
              "Config": {"Labels": {J.ROUTER_ROLE_LABEL: "BorderRouter", J.ASN_LABEL: "202", J.NODENAME_LABEL: "router0"}}}


class TwoHosts(object):
    """Party 9999 and AS202's router on engine H1, party 10000 and AS201's router on H2 (the swarm target's
    parts, found by the lab label, not a compose project). A container asked of the wrong engine is an error."""

    ON = {H1: {"confs-9999-fateflow-1", "confs-9999-rabbitmq-1", "confs-9999-nginx-1", "r202"},
          H2: {"confs-10000-fateflow-1", "confs-10000-rabbitmq-1", "confs-10000-nginx-1", "r201"}}
    NAMES = {"as202brd-router0-10.202.0.254": "r202", "as201brd-router0-10.201.0.254": "r201"}

    def __init__(self):
        self.inner = FakeDocker(TOY_OK)
        self.where = []

    def __call__(self, argv, data=None):
        if argv[1] != "-H" or argv[2] not in self.ON:
            raise AssertionError("a call without the engine of the container: %s" % argv)
        host, args = argv[2], argv[3:]
        if args[0] == "ps":
            if "label=seed.fate/lab=sftest-fate22" not in args:
                return 0, "", ""
            return 0, "r202\n" if host == H1 else "r201\n", ""
        if args[0] == "inspect":
            return 0, json.dumps([ROUTER_202] if host == H1 else [ROUTER]), ""
        target = args[-1] if args[0] == "logs" else [a for a in args[1:] if not a.startswith("-")][0]
        target = self.NAMES.get(target, target)
        if target not in self.ON[host]:
            raise AssertionError("%s asked of %s, which does not run it" % (target, host))
        self.where.append((host, target))
        return self.inner([argv[0]] + list(args), data)


def test_job_over_two_docker_hosts_asks_each_engine_for_its_own_containers():
    fake = TwoHosts()
    parties = [dict(PARTIES[0], docker_host=H1), dict(PARTIES[1], docker_host=H2)]
    res = J.run_job(J.Lab(DockerCli(fake)), dict(spec(), parties=parties, router_engines=[H1, H2]))
    assert res["status"] == "success"
    assert sorted(res["routers"]) == ["AS201 router0", "AS202 router0"]
    assert res["routers"]["AS201 router0"]["interfaces"]["ix113"]["rx"] > 0
    assert (H2, "confs-10000-rabbitmq-1") in fake.where and (H1, "confs-9999-fateflow-1") in fake.where
    # Each broker's log read on its own engine (H2's fake log names 10000's own LAN, so nothing foreign there).
    assert res["peers"]["10000"]["broker_peers"] == ["10.201.0.72"] and res["peers"]["10000"]["broker_peers_foreign"] == []
    assert res["peers"]["9999"]["broker_peers_foreign"] == ["10.201.0.72"]


def test_upload_goes_to_the_engine_of_its_party():
    fake = TwoHosts()

    def run(argv, data=None):
        cmd = " ".join(argv)
        if "flow data upload" in cmd:
            return 0, json.dumps({"code": 0, "job_id": "8"}), ""
        if "seedfate-breast-data" in cmd:
            return 0, "", ""
        return fake(argv, data)

    fake.inner.status = "success"
    party = dict(PARTIES[1], docker_host=H2)
    done = J.upload(J.Lab(DockerCli(run)), party, "/tmp/h.csv", "ns", "host", {}, generate="seedfate-breast-data /tmp")
    assert done["status"] == "success" and done["job_id"] == "8"
    assert (H2, "confs-10000-fateflow-1") in fake.where


def test_a_party_on_an_engine_without_it_fails_loudly():
    fake = TwoHosts()
    parties = [dict(PARTIES[0], docker_host=H2), dict(PARTIES[1], docker_host=H2)]  # 9999 is on H1
    with pytest.raises(AssertionError, match="confs-9999-fateflow-1 asked of"):
        J.run_job(J.Lab(DockerCli(fake)), dict(spec(), parties=parties, router_engines=[H1, H2]))
