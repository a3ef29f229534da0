#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: fate_job
short_description: Run a real FATE 2.2 job on a seed.fate lab and judge it by its status, with evidence
version_added: 0.2.0
description:
  - Runs one job from the guest's fateflow container (C(docker exec)) after C(flow init --ip <guest flow>) and
    judges it by the job's real status as the guest's flow reports it (C(flow job query)), never by an exit code.
  - "O(kind=toy): O(command) is typically C(flow test toy -gid G -hid H -t T), which exits 0 whatever happened;
    the last C(toy test job <id> is <status>) line names the job."
  - "O(kind=pipeline): O(command) runs a FATE pipeline script (fed on stdin with O(stdin)); the job id is the
    C(Job id is <id>) line C(fit()) prints. With O(metric_task), the AUC is read from that task's metrics
    (C(flow output query-metric)) and must reach O(auc_floor)."
  - "O(kind=upload): O(uploads) are generated (optional) and uploaded with C(flow data upload) at their parties;
    each upload job must succeed; a failure names the party and the file."
  - Evidence of a toy or pipeline job - the interface byte counters (C(/sys/class/net/*/statistics)) of every AS
    router of O(router_project) before and after the job, and the client addresses each involved party's broker
    (C(rabbitmqctl list_connections peer_host)) and nginx (its access log since the job started) saw.
  - A failed job fails the task naming the job id, the failing party and the last lines of its flow log; a job that
    stays C(waiting) is stopped and the reason is taken from the flow's log.
  - "Where the containers run: under the C(local) deployment target every party and router is on the Docker engine of
    the host the module runs on. Under C(swarm) each party names its engine (C(docker_host) of its O(parties) item)
    and O(router_engines) lists the engines with the emulated Internet's routers: every C(docker exec), log and
    counter read goes to the engine that runs the container."
author:
  - seed.fate contributors (!UNKNOWN)
extends_documentation_fragment:
  - seed.fate.attributes
  - seed.fate.docker_cli
  - seed.fate.docker_cli.engine
attributes:
  check_mode:
    support: partial
    details:
      - A job is never run in check mode; the module only checks its arguments and returns C(skipped).
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - Every run submits a new job; it reports C(changed=false) since the lab's deployment is not changed.
options:
  name:
    description: Name of the job in the report, for example C(toy_example) or C(hetero_lr).
    type: str
    required: true
  kind:
    description: What O(command) runs.
    type: str
    choices: [toy, pipeline, upload]
    required: true
  roles:
    description: "Role -> party id, for example C({guest: '9999', host: '10000'}). C(guest) is required."
    type: dict
    required: true
  parties:
    description:
      - The lab's parties; each item has C(party_id), C(flow_container), C(flow_address), and optionally
        C(flow_port) (9380), C(rabbitmq_container), C(nginx_container), C(network_prefix) (the party's LAN, so that
        other ASes' addresses can be told apart), C(docker_host) (the DOCKER_HOST URL of the engine that runs the
        party; empty for the module's own engine).
    type: list
    elements: dict
    required: true
  router_project:
    description:
      - Compose project of the emulated Internet; its AS routers (seedemu role C(*Router)) are measured. Under the
        C(swarm) target each Docker host's part carries the label C(seed.fate/lab=<router_project>), which finds them.
    type: str
  router_engines:
    description:
      - DOCKER_HOST URLs of the engines whose routers are measured (the swarm target's Docker hosts); an empty item
        is the module's own engine. Default - the module's own engine only.
    type: list
    elements: str
    default: []
  command:
    description: Shell command run with C(bash -c) in the guest's fateflow container (toy and pipeline).
    type: str
  stdin:
    description: Text fed to O(command) on stdin (a pipeline script for C(python -)).
    type: str
  metric_task:
    description: Task whose metrics hold the AUC (pipeline), for example C(evaluation_0).
    type: str
  auc_floor:
    description: Lowest AUC that passes (with O(metric_task)).
    type: float
  uploads:
    description:
      - For O(kind=upload) - items with C(party_id), C(file) (path inside that party's flow container), C(namespace),
        C(name), C(meta) (FATE's upload meta), and optionally C(generate) (a shell command writing the file first) and
        C(partitions) (4).
    type: list
    elements: dict
    default: []
  timeout:
    description: Seconds an upload job may take (each).
    type: int
    default: 300
"""

EXAMPLES = r"""
- name: Toy job between 9999 (guest) and 10000 (host)
  seed.fate.fate_job:
    name: toy_example
    kind: toy
    roles: {guest: "9999", host: "10000"}
    parties:
      - {party_id: "9999", flow_container: confs-9999-fateflow-1, flow_address: 10.202.0.71,
         rabbitmq_container: confs-9999-rabbitmq-1, nginx_container: confs-9999-nginx-1, network_prefix: 10.202.0.0/24}
      - {party_id: "10000", flow_container: confs-10000-fateflow-1, flow_address: 10.201.0.71,
         rabbitmq_container: confs-10000-rabbitmq-1, nginx_container: confs-10000-nginx-1, network_prefix: 10.201.0.0/24}
    router_project: seedfate
    command: flow test toy -gid 9999 -hid 10000 -t 600
"""

RETURN = r"""
verdict:
  description: C(success), or C(failed) (with C(msg) naming the job id, the party and its flow log's last lines).
  returned: always, except in check mode
  type: str
  sample: success
job:
  description: The job's report entry (see docs/contracts.md, report.json).
  returned: when a toy or pipeline job ran (also with a failure)
  type: dict
  sample: {job_id: "202611300001", status: success, wall_seconds: 16.2, parties: {guest: "9999", host: "10000"},
           metrics: {}, routers: {"AS201 router0": {interfaces: {ix113: {rx: 150000, tx: 148000}}}}, peers: {}}
uploads:
  description: One entry per upload (party_id, file, namespace, name, job_id, status).
  returned: kind=upload
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DOCKER_CLI_SPEC, DockerCli
from ansible_collections.seed.fate.plugins.module_utils.fate_jobs import JobError, Lab, run_job, upload


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            kind=dict(type="str", required=True, choices=["toy", "pipeline", "upload"]),
            roles=dict(type="dict", required=True),
            parties=dict(type="list", elements="dict", required=True),
            router_project=dict(type="str"),
            router_engines=dict(type="list", elements="str", default=[]),
            command=dict(type="str"),
            stdin=dict(type="str"),
            metric_task=dict(type="str"),
            auc_floor=dict(type="float"),
            uploads=dict(type="list", elements="dict", default=[]),
            timeout=dict(type="int", default=300),
            **DOCKER_CLI_SPEC
        ),
        required_if=[("kind", "toy", ("command", "router_project")),
                     ("kind", "pipeline", ("command", "router_project"))],
        supports_check_mode=True,
    )
    p = module.params
    if "guest" not in p["roles"]:
        module.fail_json(msg="roles must name the guest (got %s)" % ", ".join(sorted(p["roles"])))
    if module.check_mode:
        module.exit_json(changed=False, skipped=True, msg="a FATE job is never run in check mode")
    lab = Lab(DockerCli.from_module(module))
    parties = p["parties"]
    try:
        if p["kind"] == "upload":
            done = []
            for u in p["uploads"]:
                party = [x for x in parties if str(x["party_id"]) == str(u["party_id"])]
                if not party:
                    module.fail_json(msg="upload of %s: party %s is not in parties" % (u.get("file"), u["party_id"]))
                done.append(upload(lab, party[0], u["file"], u["namespace"], u["name"], u.get("meta") or {},
                                   partitions=int(u.get("partitions", 4)), timeout=p["timeout"],
                                   generate=u.get("generate")))
            module.exit_json(changed=False, verdict="success", uploads=done)
        spec = dict(name=p["name"], kind=p["kind"], roles=dict((k, str(v)) for k, v in p["roles"].items()),
                    parties=parties, router_project=p["router_project"], router_engines=p["router_engines"],
                    guest_command=p["command"],
                    stdin=p["stdin"], metric_task=p["metric_task"], auc_floor=p["auc_floor"])
        job = run_job(lab, spec)
    except JobError as exc:
        module.fail_json(msg=str(exc), verdict="failed", job=exc.result)
    module.exit_json(changed=False, verdict="success", job=job)


if __name__ == "__main__":
    main()
