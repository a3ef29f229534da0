"""Role seed.fate.images with images_build_fate22=true, then the three FATE 2.2 images for real.

Runs ``playbooks/images.yml -e images_build_fate22=true -e images_build_node=false`` twice (the first
builds or finds the images, the second must change nothing; the node image is left alone because it is
shared with other tests on this machine), then, on a throwaway internal docker network
``sftest-fate22-<id>`` with addresses of its own:

* fate-flow standalone with a minimal rendered service_conf at /seedfate/conf: ``/v2/server/fateflow``
  answers, ``flow init`` + ``flow test toy -gid 9999 -hid 9999`` ends in status ``success`` (the CLI exits
  0 whatever happens, so the printed status is judged), a restart of the container comes back (the
  entrypoint's init is idempotent on a kept /data/fate), ``seedfate-breast-data`` writes the expected
  files, and the image has torch's CPU build, the pipeline API and by-value enum pickling;
* fate-rabbitmq with a password file: the admin user authenticates to the management API on 15672 from
  the network, is an administrator, the password never shows in the log, max_message_size is 512 MiB;
* fate-nginx: the image's default config answers 503 on 9300; a mounted nginx.conf routing on
  ``dest-party-id`` proxies to the flow's ``/v2/site/info/query``.

Everything the test creates (containers with their anonymous volumes, the network) is removed; the
images stay. Warm (images up to date): about 1.5 minutes, the toy job about 30 s of it. Cold (no wheel
cache, no image): about 16 minutes on 2 busy cores (wheels 70 s, flow image 8 min, RabbitMQ 4 min,
nginx 3 min), a few minutes on an idle machine.
"""

import csv
import io
import json
import os
import random
import re
import subprocess
import time
import uuid

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(REPO, "playbooks", "images.yml")
ANSIBLE_PLAYBOOK = os.path.join(REPO, ".venv", "bin", "ansible-playbook")
FLOW = "seedfate/fate-flow:2.2.0"
RABBITMQ = "seedfate/fate-rabbitmq:2.2.0"
NGINX = "seedfate/fate-nginx:2.2.0"
PREFIX = "sftest-fate22-"

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def docker(*args, check=True, timeout=120, stdin=None):
    proc = subprocess.run(["docker"] + list(args), capture_output=True, text=True, timeout=timeout, input=stdin)
    if check and proc.returncode:
        raise AssertionError("docker %s failed (rc=%d): %s %s" % (" ".join(args), proc.returncode,
                                                               proc.stdout[-2000:], proc.stderr[-2000:]))
    return proc


def playbook(*extra):
    ansible = ANSIBLE_PLAYBOOK if os.path.exists(ANSIBLE_PLAYBOOK) else "ansible-playbook"
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    started = time.monotonic()
    proc = subprocess.run([ansible, PLAYBOOK, "-e", "images_build_fate22=true", "-e", "images_build_node=false"]
                          + list(extra), cwd=REPO, env=env, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout)
    assert recap, proc.stdout[-2000:]
    return {"changed": int(recap.group(2)), "failed": int(recap.group(4)), "stdout": proc.stdout,
            "seconds": time.monotonic() - started}


@pytest.fixture(scope="module")
def built():
    first = playbook()
    second = playbook()
    print("\nplaybook: first run %.0f s (changed=%d), second run %.0f s (changed=%d)"
          % (first["seconds"], first["changed"], second["seconds"], second["changed"]))
    return first, second


def test_second_run_changes_nothing(built):
    _first, second = built
    assert second["failed"] == 0
    assert second["changed"] == 0, second["stdout"][-3000:]


def test_changed_lock_would_rebuild_only_the_flow_image(built, tmp_path):
    """The lock's content is part of the flow image's recipe hash (check mode: nothing is built)."""
    lock = os.path.join(REPO, "collections", "ansible_collections", "seed", "fate", "roles", "images", "files",
                        "fate22", "requirements.lock")
    changed = tmp_path / "requirements.lock"
    with open(lock) as f:
        changed.write_text(f.read() + "# the same pins, another text\n")
    run = playbook("--check", "-e", "images_fate22_lock_file=%s" % changed)
    # The role checks every recipe in one module run and names the images it would build.
    said = re.search(r"would build: ([^'\"\n]+)", run["stdout"])
    assert said, run["stdout"][-3000:]
    assert sorted(said.group(1).strip().split(", ")) == [FLOW], run["stdout"][-3000:]


@pytest.mark.parametrize("image,component", [(FLOW, "fate-flow"), (RABBITMQ, "rabbitmq"), (NGINX, "nginx")])
def test_labels(built, image, component):
    info = json.loads(docker("image", "inspect", image).stdout)[0]
    labels = info["Config"]["Labels"]
    assert labels["seed.fate/fate-version"] == "2.2.0"
    assert labels["seed.fate/component"] == component
    assert re.match(r"^[0-9a-f]{64}$", labels["seed.fate/recipe-hash"])
    print("\n%s: %.0f MB" % (image, info["Size"] / 1e6))


class Lab(object):
    """A throwaway internal network with a /24 of its own and the containers started on it."""

    def __init__(self):
        self.id = uuid.uuid4().hex[:8]
        self.network = PREFIX + self.id
        self.containers = []
        self.prefix = None
        for _ in range(20):
            prefix = "10.%d.%d" % (random.randint(200, 250), random.randint(0, 255))
            proc = docker("network", "create", "--internal", "--subnet", prefix + ".0/24",
                          "--label", "seed.fate/test=" + self.network, self.network, check=False)
            if proc.returncode == 0:
                self.prefix = prefix
                break
        assert self.prefix, "no free /24 for the test network"

    def ip(self, host):
        return "%s.%d" % (self.prefix, host)

    def run(self, role, image, host, *args, env=None, mounts=(), hostname=None):
        name = "%s%s-%s" % (PREFIX, self.id, role)
        cmd = ["run", "-d", "--name", name, "--network", self.network, "--ip", self.ip(host),
               "--label", "seed.fate/test=" + self.network, "--hostname", hostname or role]
        for key, value in (env or {}).items():
            cmd += ["-e", "%s=%s" % (key, value)]
        for src, dest in mounts:
            cmd += ["-v", "%s:%s:ro" % (src, dest)]
        self.containers.append(name)
        docker(*(cmd + [image] + list(args)))
        return name

    def close(self):
        for name in reversed(self.containers):
            docker("rm", "--force", "--volumes", name, check=False)
        docker("network", "rm", self.network, check=False)


@pytest.fixture(scope="module")
def lab(built):
    lab = Lab()
    yield lab
    lab.close()


def wait_for(what, probe, timeout=180, interval=2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        ok, last = probe()
        if ok:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %ds waiting for %s; last: %s" % (timeout, what, last))


def service_conf(flow_ip):
    """A minimal standalone party: computing, federation and storage standalone, party 9999, 8 cores."""
    return {
        "party_id": "9999",
        "use_registry": False,
        "log_level": 20,
        "encrypt": {"key_0": {"module": "fate_flow.hub.encrypt.password_encrypt#pwdecrypt",
                              "private_path": "private_key.pem"}},
        "fateflow": {"host": flow_ip, "http_port": 9380, "grpc_port": 9360, "proxy_name": "osx"},
        "database": {"engine": "sqlite", "decrypt_key": None, "sqlite": {"path": None}},
        "default_engines": {"computing": "standalone", "federation": "standalone", "storage": "standalone"},
        "default_provider": {"name": "fate", "version": None, "device": "local"},
        "computing": {"standalone": {"cores": 8}},
        "federation": {"osx": {"host": "127.0.0.1", "port": 9370, "mode": "stream"}},
        "storage": {},
        "hook_module": {"client_authentication": "fate_flow.hook.flow.client_authentication",
                        "site_authentication": "fate_flow.hook.flow.site_authentication",
                        "permission": "fate_flow.hook.flow.permission"},
        "authentication": {"client": False, "site": False, "permission": False},
        "model_store": {"engine": "file", "decrypt_key": None, "file": {"path": None}},
        "zookeeper": {"hosts": ["127.0.0.1:2181"], "use_acl": False},
    }


def curl(container, *args, timeout=30):
    return docker("exec", container, "curl", "-sS", "--max-time", "10", *args, check=False, timeout=timeout)


@pytest.fixture(scope="module")
def flow(lab, tmp_path_factory):
    conf = tmp_path_factory.mktemp("flowconf")
    ip = lab.ip(10)
    (conf / "service_conf.yaml").write_text(yaml.safe_dump(service_conf(ip), sort_keys=False))
    (conf / "rabbitmq_route_table.yaml").write_text(yaml.safe_dump({9999: {"host": lab.ip(11), "port": 5672}}))
    os.chmod(str(conf), 0o755)
    name = lab.run("flow", FLOW, 10, env={"SEEDFATE_FLOW_IP": ip}, mounts=[(str(conf), "/seedfate/conf")])
    started = time.monotonic()
    wait_for("the flow server", lambda: _flow_up(name, ip))
    print("\nflow server answered %.0f s after docker run" % (time.monotonic() - started))
    return name, ip


def _flow_up(name, ip):
    proc = curl(name, "-f", "http://%s:9380/v2/server/fateflow" % ip)
    if proc.returncode == 0:
        return True, proc.stdout
    state = docker("inspect", "--format", "{{.State.Status}}", name, check=False).stdout.strip()
    if state != "running":
        raise AssertionError("flow container is %s: %s" % (state, docker("logs", "--tail", "40", name,
                                                                           check=False).stderr[-3000:]))
    return False, proc.stderr.strip()


def test_flow_toy_job_succeeds(flow):
    name, ip = flow
    init = docker("exec", name, "flow", "init", "--ip", ip, "--port", "9380")
    assert '"code": 0' in init.stdout or "success" in init.stdout.lower(), init.stdout
    started = time.monotonic()
    toy = docker("exec", name, "flow", "test", "toy", "-gid", "9999", "-hid", "9999", "-t", "300", timeout=420)
    seconds = time.monotonic() - started
    # It prints "toy test job <id> is <status>" on every poll (waiting, running, ...): the last one counts.
    statuses = re.findall(r"toy test job (\S+) is (\w+)", toy.stdout)
    assert statuses, "no job status in the toy output: %s %s" % (toy.stdout[-2000:], toy.stderr[-1000:])
    job_id, status = statuses[-1]
    assert status == "success", "toy job %s is %s: %s" % (job_id, status, toy.stdout[-2000:])
    print("\ntoy job %s: success in %.1f s" % (job_id, seconds))
    # The server's own view of it, over its HTTP API.
    query = curl(name, "-f", "http://%s:9380/v2/job/query?job_id=%s" % (ip, job_id))
    assert query.returncode == 0 and '"status": "success"' in query.stdout.replace('":"', '": "'), query.stdout


def test_flow_restart_keeps_home_and_comes_back(flow):
    name, ip = flow
    docker("restart", name, timeout=120)
    wait_for("the flow server after a restart", lambda: _flow_up(name, ip))
    listing = docker("exec", name, "ls", "/data/fate", "/data/fate/conf").stdout
    assert "fate_flow_sqlite.db" in listing and "rabbitmq_route_table.yaml" in listing
    conf = docker("exec", name, "cat", "/data/fate/conf/service_conf.yaml").stdout
    assert yaml.safe_load(conf)["computing"]["standalone"]["cores"] == 8  # ours, not the package default


def test_flow_image_contents(flow):
    name, _ip = flow
    script = ("import pickle, enum, torch, fate, fate_flow, fate_client\n"
              "from fate_client.pipeline import FateFlowPipeline\n"
              "from fate_client.pipeline.components.fate import Reader, PSI, CoordinatedLR, Evaluation\n"
              "class E(enum.Enum):\n    A = 'a'\n"
              "assert b'getattr' not in pickle.dumps(E.A) and pickle.loads(pickle.dumps(E.A)) is E.A\n"
              "print(torch.__version__, fate_flow.__version__)\n")
    out = docker("exec", name, "python", "-c", script, timeout=180).stdout
    assert out.split() == ["2.13.0+cpu", "2.2.0"], out
    leftovers = docker("exec", name, "sh", "-c", "ls -A /tmp /root/.cache 2>/dev/null; ls /usr/share/doc | wc -l").stdout
    assert "whl" not in leftovers and "wheelhouse" not in leftovers, leftovers
    for tool in ("curl", "nc", "ps"):
        docker("exec", name, "sh", "-c", "command -v " + tool)


def test_breast_data(flow):
    name, _ip = flow
    docker("exec", name, "seedfate-breast-data", "/tmp/breast", timeout=180)
    guest = list(csv.reader(io.StringIO(docker("exec", name, "cat", "/tmp/breast/breast_hetero_guest.csv").stdout)))
    host = list(csv.reader(io.StringIO(docker("exec", name, "cat", "/tmp/breast/breast_hetero_host.csv").stdout)))
    docker("exec", name, "rm", "-rf", "/tmp/breast")
    assert guest[0] == ["id", "y"] + ["x%d" % i for i in range(10)]
    assert host[0] == ["id"] + ["x%d" % i for i in range(20)]
    assert len(guest) == len(host) == 570
    assert [r[0] for r in guest[1:]] == [r[0] for r in host[1:]]  # same shuffled order
    assert sorted(int(r[0]) for r in guest[1:]) == list(range(569))
    assert [r[0] for r in guest[1:11]] != [str(i) for i in range(10)]  # shuffled
    assert sum(1 for r in guest[1:] if r[1] == "1") == 357
    assert all(re.match(r"^-?\d+\.\d{6}$", v) for r in guest[1:] + host[1:] for v in r[-9:])
    col = [float(r[2]) for r in guest[1:]]  # z-scored: mean 0, population std 1
    mean = sum(col) / len(col)
    std = (sum((v - mean) ** 2 for v in col) / len(col)) ** 0.5
    assert abs(mean) < 1e-4 and abs(std - 1) < 1e-4


def test_rabbitmq_admin_from_password_file(lab, flow, tmp_path_factory):
    flow_name, _ = flow
    secrets = tmp_path_factory.mktemp("secrets")
    password = "sf-" + uuid.uuid4().hex
    (secrets / "rabbitmq_admin_password").write_text(password + "\n")
    os.chmod(str(secrets), 0o755)
    os.chmod(str(secrets / "rabbitmq_admin_password"), 0o644)
    ip = lab.ip(11)
    name = lab.run("mq", RABBITMQ, 11, env={"RABBITMQ_ADMIN_USER": "fateadmin"}, hostname="mq-party9999",
                   mounts=[(str(secrets), "/seedfate/secrets")])
    url = "http://%s:15672/api/whoami" % ip

    def whoami():
        proc = curl(flow_name, "-f", "-u", "fateadmin:" + password, url)
        return proc.returncode == 0, proc.stdout or proc.stderr

    answer = json.loads(wait_for("the RabbitMQ admin user", whoami, timeout=180))
    assert answer["name"] == "fateadmin" and "administrator" in json.dumps(answer["tags"])
    wrong = curl(flow_name, "-o", "/dev/null", "-w", "%{http_code}", "-u", "fateadmin:wrong", url)
    assert wrong.stdout.strip() == "401"
    logs = docker("logs", name)
    assert password not in logs.stdout + logs.stderr
    assert "rabbit@mq-party9999" in logs.stdout + logs.stderr
    env = docker("exec", name, "rabbitmqctl", "eval", "application:get_env(rabbit, max_message_size).").stdout
    assert "536870912" in env
    plugins = docker("exec", name, "rabbitmq-plugins", "list", "-e", "-m").stdout.split()
    assert {"rabbitmq_management", "rabbitmq_federation", "rabbitmq_federation_management"} <= set(plugins)
    amqp = docker("exec", flow_name, "nc", "-z", "-w", "5", ip, "5672", check=False)
    assert amqp.returncode == 0


def test_nginx_default_and_mounted_conf(lab, flow, tmp_path_factory):
    flow_name, flow_ip = flow
    default = lab.run("nginx-default", NGINX, 13)
    conf = tmp_path_factory.mktemp("nginx")
    (conf / "nginx.conf").write_text("""
worker_processes 1;
pid /run/nginx.pid;
error_log /dev/stderr warn;
events { worker_connections 64; }
http {
    access_log /dev/stdout;
    map $http_dest_party_id $backend { 9999 %s:9380; default 127.0.0.1:1; }
    server {
        listen 9300;
        client_max_body_size 0;
        location = /sftest { return 200 "sftest-ok\\n"; }
        location / { proxy_pass http://$backend; proxy_read_timeout 600s; }
    }
}
""" % flow_ip)
    os.chmod(str(conf), 0o755)
    name = lab.run("nginx", NGINX, 12, mounts=[(str(conf / "nginx.conf"), "/etc/nginx/nginx.conf")])

    def answers(ip, path):
        def probe():
            proc = curl(flow_name, "-o", "/dev/null", "-w", "%{http_code}", "http://%s:9300%s" % (ip, path))
            return proc.stdout.strip() not in ("", "000"), proc.stdout.strip()
        return probe

    assert wait_for("the default nginx", answers(lab.ip(13), "/"), timeout=60) == "503"
    assert wait_for("the mounted nginx", answers(lab.ip(12), "/sftest"), timeout=60) == "200"
    # Routed on dest-party-id to the flow (which answers its own server info).
    routed = curl(flow_name, "-f", "-H", "dest-party-id: 9999", "http://%s:9300/v2/server/fateflow" % lab.ip(12))
    assert routed.returncode == 0 and '"flow-%s-9380"' % flow_ip in routed.stdout, routed.stdout + routed.stderr
    unrouted = curl(flow_name, "-o", "/dev/null", "-w", "%{http_code}", "-H", "dest-party-id: 10000",
                    "http://%s:9300/v2/server/fateflow" % lab.ip(12))
    assert unrouted.stdout.strip() == "502"
    assert docker("inspect", "--format", "{{.State.Running}}", name).stdout.strip() == "true"
    assert default
