# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real FATE 2.2 jobs on a lab, judged by their real status, with the evidence that they crossed the
emulated Internet (the verify stage, wrapped by the ``seed.fate.fate_job`` module).

Everything here talks to Docker through a DockerCli (module_utils/docker_cli.py), so it is tested without
Docker by a fake ``run``. Parsers are pure functions. Under the ``local`` deployment target the whole lab is on
the module's own engine; under ``swarm`` each party may name its engine (``docker_host``, a DOCKER_HOST URL)
and the AS routers are found on every engine of ``router_engines`` (by the compose project, or the label the
swarm target puts on each Docker host's part of the emulated Internet).

A job is run from the guest's fateflow container; before and after it the interface byte counters of
every AS router of the lab are read (``/sys/class/net/*/statistics``), and afterwards the client
addresses each party's broker (``rabbitmqctl list_connections peer_host``) and nginx (its access log)
saw. A verdict is ``success`` or a failure naming the job id, the party and the last lines of that
party's flow log.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import re
import time

from ansible_collections.seed.fate.plugins.module_utils.bird import ASN_LABEL
from ansible_collections.seed.fate.plugins.module_utils.bird import ROLE_LABEL as ROUTER_ROLE_LABEL
from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DockerError, project_filter
from ansible_collections.seed.fate.plugins.module_utils.naming import LAB_LABEL

TOY_LINE_RE = re.compile(r"toy test job (\S+) is (\w+)")
JOB_ID_RE = re.compile(r"Job id is (\d+)")
IPV4_RE = re.compile(r"\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\b")
FINAL = ("success", "failed", "canceled", "timeout")

NODENAME_LABEL = "org.seedsecuritylabs.seedemu.meta.nodename"

COUNTERS_SCRIPT = ('cd /sys/class/net && for i in *; do '
                   'echo "$i $(cat $i/statistics/rx_bytes) $(cat $i/statistics/tx_bytes)"; done')


class JobError(Exception):
    """A job that did not succeed; ``result`` holds what is known (job id, status, evidence)."""

    def __init__(self, msg, result=None):
        super(JobError, self).__init__(msg)
        self.result = result or {}


# ----------------------------------------------------------------------------------------- parsers
def parse_toy(stdout):
    """``flow test toy`` output -> (job_id, last status, timed_out). It exits 0 whatever happened."""
    job_id, status = None, None
    for m in TOY_LINE_RE.finditer(stdout or ""):
        job_id, status = m.group(1), m.group(2)
    if job_id is None:
        m = re.search(r'"job_id"\s*:\s*"(\d+)"', stdout or "")
        job_id = m.group(1) if m else None
    timed_out = "timeout..." in (stdout or "")
    return job_id, status, timed_out


def parse_job_id(stdout):
    """The job id a pipeline's ``fit()`` prints ("Job id is <id>"), or the last ``"job_id"`` of a response."""
    m = JOB_ID_RE.findall(stdout or "")
    if m:
        return m[-1]
    m = re.findall(r'"job_id"\s*:\s*"(\d+)"', stdout or "")
    return m[-1] if m else None


def parse_json(text):
    """The first JSON object of a CLI's output (the ``flow`` CLI prints one, maybe after other lines)."""
    text = text or ""
    start = text.find("{")
    while start >= 0:
        try:
            return json.loads(text[start:])
        except ValueError:
            try:
                obj, _end = json.JSONDecoder().raw_decode(text[start:])
                return obj
            except ValueError:
                start = text.find("{", start + 1)
    return None


def job_status(query):
    """Status of a job from ``flow job query`` JSON (``data`` is a list of party records)."""
    if not isinstance(query, dict) or query.get("code") not in (0, "0"):
        return None
    data = query.get("data") or []
    if isinstance(data, dict):
        data = [data]
    for rec in data:
        if isinstance(rec, dict) and rec.get("status"):
            return str(rec["status"])
    return None


def find_metric(obj, name="auc"):
    """First numeric value of metric ``name`` anywhere in an output-metric response.

    FATE 2.2's evaluation writes ``{"metric": "auc", "val": 0.99}`` items (inside ``data`` lists); a plain
    ``{"auc": 0.99}`` mapping is accepted too.
    """
    if isinstance(obj, dict):
        if str(obj.get("metric", "")).lower() == name and isinstance(obj.get("val"), (int, float)):
            return float(obj["val"])
        for k, v in obj.items():
            if str(k).lower() == name and isinstance(v, (int, float)) and not isinstance(v, bool):
                return float(v)
        for v in obj.values():
            found = find_metric(v, name)
            if found is not None:
                return found
    elif isinstance(obj, list):
        for v in obj:
            found = find_metric(v, name)
            if found is not None:
                return found
    elif isinstance(obj, str) and name in obj.lower() and obj.strip()[:1] in "[{":
        try:
            return find_metric(json.loads(obj), name)
        except ValueError:
            return None
    return None


def parse_counters(text):
    """``<iface> <rx_bytes> <tx_bytes>`` lines -> {iface: {"rx": int, "tx": int}}."""
    out = {}
    for line in (text or "").splitlines():
        f = line.split()
        if len(f) == 3 and f[1].isdigit() and f[2].isdigit():
            out[f[0]] = {"rx": int(f[1]), "tx": int(f[2])}
    return out


def counters_delta(before, after, skip=("lo",)):
    """Per interface bytes moved between two readings (interfaces without traffic are left out)."""
    out = {}
    for iface, a in sorted(after.items()):
        if iface in skip:
            continue
        b = before.get(iface, {"rx": 0, "tx": 0})
        d = {"rx": max(0, a["rx"] - b["rx"]), "tx": max(0, a["tx"] - b["tx"])}
        if d["rx"] or d["tx"]:
            out[iface] = d
    return out


def parse_addresses(text):
    """Distinct IPv4 addresses in a text (rabbitmqctl output, nginx access log lines), sorted."""
    seen = set()
    for line in (text or "").splitlines():
        m = IPV4_RE.match(line.strip())
        if m:
            try:
                seen.add(str(ipaddress.ip_address(m.group(1))))
            except ValueError:
                continue
    return sorted(seen, key=lambda a: ipaddress.ip_address(a).packed)


AMQP_ACCEPT_RE = re.compile(r"accepting AMQP connection \S+ \((\d{1,3}(?:\.\d{1,3}){3}):\d+ ->")


def parse_amqp_log(text):
    """Client addresses of the broker log's ``accepting AMQP connection <pid> (A:port -> B:5672)`` lines."""
    seen = set(m.group(1) for m in AMQP_ACCEPT_RE.finditer(text or ""))
    return sorted(seen, key=lambda a: ipaddress.ip_address(a).packed)


def foreign_addresses(addresses, own_network):
    """Addresses outside the party's own network (other ASes), given the party's prefix (a.b.c.0/24)."""
    if not own_network:
        return list(addresses)
    net = ipaddress.ip_network(str(own_network), strict=False)
    return [a for a in addresses if ipaddress.ip_address(a) not in net]


def waiting_reason(log_text, job_id):
    """Why a job stays ``waiting``: the flow log's last lines about it that say what is missing."""
    hits = [line.strip() for line in (log_text or "").splitlines()
            if job_id and job_id in line and re.search(r"(?i)fail|remaining|resource|exceed|error|not enough", line)]
    return hits[-3:]


# ------------------------------------------------------------------------------------- with docker
class Lab(object):
    """The lab's containers through ``docker`` (a DockerCli): on its own engine, and with :meth:`on` / :meth:`of`
    on the engine of another Docker host (the swarm target's hosts)."""

    def __init__(self, docker):
        self.cli = docker

    def on(self, docker_host):
        """The lab as the engine at ``docker_host`` (a DOCKER_HOST URL) sees it; this one for no URL."""
        return Lab(self.cli.on_host(docker_host)) if docker_host else self

    def of(self, party):
        """The lab on the engine that runs ``party`` (its ``docker_host``, else this engine)."""
        return self.on(party.get("docker_host"))

    def exec_(self, container, script, data=None, user=None):
        return self.cli.exec(container, ["bash", "-c", script], data=data, user=user)

    def _ids(self, project):
        """Running containers of the compose project, or labelled as the swarm target's part of that lab."""
        ids = []
        for flt in (project_filter(project), "label=%s=%s" % (LAB_LABEL, project)):
            rc, out, err = self.cli.run(["ps", "-q", "--filter", flt])
            if rc != 0:
                raise JobError("docker ps%s failed: %s" % (" -H " + self.cli.host if self.cli.host else "", err.strip()))
            ids.extend(i for i in out.split() if i not in ids)
        return ids

    def routers(self, project, engines=None):
        """AS routers (seedemu role *Router, not the IX route servers) of the lab ``project`` on each engine of
        ``engines`` (DOCKER_HOST URLs; None or "" is this engine; default: this engine only), sorted by AS."""
        found = []
        for engine in dict.fromkeys(engines or [None]):
            lab = self.on(engine)
            try:
                docs = lab.cli.inspect(lab._ids(project))
            except DockerError as exc:
                raise JobError(str(exc))
            for c in docs:
                labels = (c.get("Config") or {}).get("Labels") or {}
                role = labels.get(ROUTER_ROLE_LABEL, "")
                if "router" in role.lower() and "server" not in role.lower():
                    found.append({"container": c["Name"].lstrip("/"), "asn": str(labels.get(ASN_LABEL, "?")),
                                  "node": labels.get(NODENAME_LABEL, "router"), "docker_host": engine or None})
        return sorted(found, key=lambda r: (r["asn"], r["node"]))

    def counters(self, routers):
        out = {}
        for r in routers:
            rc, text, err = self.on(r.get("docker_host")).cli.exec(r["container"], ["sh", "-c", COUNTERS_SCRIPT])
            out[r["container"]] = parse_counters(text) if rc == 0 else {}
        return out

    def flow_log_tail(self, container, lines=20, job_id=None):
        """Last lines of a flow's server log (ERROR.log, then INFO.log lines about the job)."""
        script = ("cd /data/fate/logs/fate_flow 2>/dev/null || exit 0; "
                  "tail -n %d ERROR.log 2>/dev/null; " % lines)
        if job_id:
            script += "grep -h -- %s INFO.log 2>/dev/null | tail -n %d" % (job_id, lines)
        rc, out, err = self.exec_(container, script)
        text = out if rc == 0 else err
        if not text.strip():
            rc, out, err = self.cli.run(["logs", "--tail", str(lines), container])
            text = out + err
        return [line for line in text.splitlines() if line.strip()][-lines:]

    def flow_json(self, container, args):
        rc, out, err = self.exec_(container, "flow " + " ".join(args))
        return parse_json(out)


def evidence(lab, parties, before, after, routers, since):
    """Bytes per AS router interface, and the peers each party's broker and nginx saw."""
    by_router = {}
    for r in routers:
        name = "AS%s %s" % (r["asn"], r["node"])
        by_router[name] = {"container": r["container"], "asn": r["asn"],
                           "interfaces": counters_delta(before.get(r["container"], {}), after.get(r["container"], {}))}
    peers = {}
    for p in parties:
        rec = {"network": p.get("network_prefix")}
        at = lab.of(p)
        if p.get("rabbitmq_container"):
            rc, out, err = at.cli.exec(p["rabbitmq_container"], ["rabbitmqctl", "-q", "list_connections", "peer_host"])
            seen = set(parse_addresses(out) if rc == 0 else [])
            # Federation links may be closed when the job ends: the broker's log keeps who connected.
            rc, out, err = at.cli.run(["logs", "--since", since, p["rabbitmq_container"]])
            seen.update(parse_amqp_log(out + err) if rc == 0 else [])
            seen = sorted(seen, key=lambda a: ipaddress.ip_address(a).packed)
            rec["broker_peers"] = seen
            rec["broker_peers_foreign"] = foreign_addresses(seen, p.get("network_prefix"))
        if p.get("nginx_container"):
            rc, out, err = at.cli.run(["logs", "--since", since, p["nginx_container"]])
            seen = parse_addresses(out) if rc == 0 else []
            rec["nginx_clients"] = seen
            rec["nginx_clients_foreign"] = foreign_addresses(seen, p.get("network_prefix"))
        peers[str(p["party_id"])] = rec
    return by_router, peers


def _party(parties, party_id):
    for p in parties:
        if str(p["party_id"]) == str(party_id):
            return p
    raise JobError("party %s is not in the lab's parties (%s)" % (party_id, ", ".join(str(p["party_id"]) for p in parties)))


def flow_init(lab, guest):
    rc, out, err = lab.of(guest).exec_(guest["flow_container"], "flow init --ip %s --port %s" % (guest["flow_address"], guest.get("flow_port", 9380)))
    if rc != 0:
        raise JobError("party %s: `flow init` in %s failed: %s" % (guest["party_id"], guest["flow_container"], (out + err).strip()[-500:]))


def upload(lab, party, path, namespace, name, meta, partitions=4, timeout=300, generate=None):
    """Generate (optional) and upload one file at a party, waiting until the upload job succeeded."""
    who = "party %s (%s)" % (party["party_id"], path)
    flow_init(lab, party)
    lab = lab.of(party)
    if generate:
        rc, out, err = lab.exec_(party["flow_container"], generate)
        if rc != 0:
            raise JobError("%s: generating the data failed: %s" % (who, (out + err).strip()[-500:]))
    conf = {"file": path, "head": True, "partitions": partitions, "extend_sid": True, "meta": meta,
            "namespace": namespace, "name": name}
    conf_path = "/tmp/seedfate-upload-%s.json" % name
    rc, out, err = lab.exec_(party["flow_container"], "cat > %s && flow data upload -c %s" % (conf_path, conf_path),
                             data=json.dumps(conf))
    resp = parse_json(out)
    if rc != 0 or not isinstance(resp, dict) or resp.get("code") not in (0, "0"):
        raise JobError("%s: upload of %s as %s/%s failed: %s" % (who, path, namespace, name, (out + err).strip()[-800:]))
    job_id = resp.get("job_id") or (resp.get("data") or {}).get("job_id")
    status = None
    deadline = time.time() + timeout
    while job_id and time.time() < deadline:
        status = job_status(lab.flow_json(party["flow_container"], ["job", "query", "-j", job_id]))
        if status in FINAL:
            break
        time.sleep(2)
    if job_id and status != "success":
        tail = lab.flow_log_tail(party["flow_container"], 10, job_id)
        raise JobError("%s: upload job %s of %s/%s is %s; flow log: %s"
                       % (who, job_id, namespace, name, status or "unknown", " | ".join(tail)),
                       {"job_id": job_id, "status": status})
    return {"party_id": str(party["party_id"]), "file": path, "namespace": namespace, "name": name,
            "job_id": job_id, "status": status or "success"}


def failing_party(lab, guest, job_id, parties):
    """The party whose task failed (``flow task query -s failed``), else the guest."""
    resp = lab.of(guest).flow_json(guest["flow_container"], ["task", "query", "-j", job_id, "-s", "failed"])
    data = (resp or {}).get("data") if isinstance(resp, dict) else None
    for rec in data or []:
        pid = rec.get("party_id") if isinstance(rec, dict) else None
        if pid is not None:
            try:
                return _party(parties, pid), rec.get("task_name")
            except JobError:
                continue
    return guest, None


def run_job(lab, spec, clock=time.time):
    """Run one job (``spec``: name, kind toy|pipeline, roles, parties, router_project, router_engines, timeout,
    guest_command, stdin, metric_task, auc_floor) and return its report entry; raises JobError."""
    parties = spec["parties"]
    roles = spec["roles"]
    guest = _party(parties, roles["guest"])
    involved = [_party(parties, pid) for pid in dict.fromkeys(str(v) for v in roles.values())]
    routers = lab.routers(spec["router_project"], spec.get("router_engines"))
    at_guest = lab.of(guest)
    flow_init(lab, guest)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock() - 1))
    before = lab.counters(routers)
    start = clock()
    rc, out, err = at_guest.exec_(guest["flow_container"], spec["guest_command"], data=spec.get("stdin"))
    wall = round(clock() - start, 1)
    after = lab.counters(routers)
    if spec["kind"] == "toy":
        job_id, status, timed_out = parse_toy(out)
    else:
        job_id, timed_out = parse_job_id(out), rc == 124
        status = None
    if job_id:
        query = ["job", "query", "-j", job_id, "-r", "guest", "-p", str(guest["party_id"])]
        queried = job_status(at_guest.flow_json(guest["flow_container"], query))
        status = queried or status
    by_router, peers = evidence(lab, involved, before, after, routers, since)
    result = {
        "job_id": job_id, "kind": spec["kind"],
        "parties": dict((role, str(pid)) for role, pid in roles.items()),
        "status": status or "unknown", "wall_seconds": wall, "metrics": {},
        "routers": by_router, "peers": peers,
    }
    if status in ("waiting", "running") and job_id:
        # Still there after the timeout: stop it, so the next job gets the cores, and say why it waited.
        at_guest.flow_json(guest["flow_container"], ["job", "stop", "-j", job_id])
    if status != "success":
        bad, task = failing_party(lab, guest, job_id, involved) if job_id else (guest, None)
        if status == "waiting":
            reason = waiting_reason("\n".join(lab.of(bad).flow_log_tail(bad["flow_container"], 400, job_id)), job_id)
            lines = reason or lab.of(bad).flow_log_tail(bad["flow_container"], 10, job_id)
            what = "stayed waiting%s" % (" (timed out)" if timed_out else "")
        else:
            lines = lab.of(bad).flow_log_tail(bad["flow_container"], 10, job_id)
            what = "is %s" % (status or "unknown (no job status: %s)" % (out + err).strip()[-300:])
        result["failing_party"] = str(bad["party_id"])
        result["log_tail"] = lines
        raise JobError("%s job %s %s; party %s%s, last lines of its flow log (%s): %s"
                       % (spec["name"], job_id or "(none submitted)", what, bad["party_id"],
                          " task %s" % task if task else "", bad["flow_container"], " | ".join(lines)), result)
    if spec.get("metric_task"):
        resp = at_guest.flow_json(guest["flow_container"], ["output", "query-metric", "-j", job_id, "-r", "guest",
                                                            "-p", str(guest["party_id"]), "-tn", spec["metric_task"]])
        auc = find_metric(resp, "auc")
        result["metrics"] = {"auc": auc}
        floor = spec.get("auc_floor")
        if floor is not None and (auc is None or auc < float(floor)):
            result["log_tail"] = []
            raise JobError("%s job %s succeeded but its AUC is %s (floor %s; task %s at guest %s)"
                           % (spec["name"], job_id, auc, floor, spec["metric_task"], guest["party_id"]), result)
    return result
