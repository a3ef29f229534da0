"""The real `docker compose` accepts every compose project seed.fate.fate_config generates.

`docker compose config` resolves and validates a project without creating anything, so the
skeleton's external networks need not exist. Nothing is created on the engine.
"""

import io
import json
import os
import subprocess
import sys
import tarfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "golden"))
import lab_inputs as L  # noqa: E402

from ansible_collections.seed.fate.plugins.module_utils import fate_bundle as fb  # noqa: E402
from ansible_collections.seed.fate.plugins.module_utils import fate_versions  # noqa: E402

pytestmark = pytest.mark.docker


def _extract(data, dest):
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:
            tar.extractall(dest)


def _bundles(ghost_dir, exchange, version="1.3.0", **settings):
    hosts, _ = L.party_hostvars(ghost_dir)
    cat = fate_versions.get(version)
    directory = fb.normalize_directory(hosts[0]["seedfate_party_directory"], catalogue=cat)
    st = L.settings(exchange=exchange, version=version, **settings)
    r = fb.Renderer(os.path.join(L.TEMPLATES, cat["templates"]), version)
    out = []
    for hv in hosts:
        p = fb.normalize_party(L.module_party(hv), cat)
        out += r.render_party(p, directory, st, L.fixed_secrets_for(version, p["party_id"]))
    if exchange:
        out.append(r.render_exchange(directory, st))
    return out


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    base = tmp_path_factory.mktemp("compose")
    ghost = L.make_lab(str(base / "ghost"), "--seed-lab")
    found = []
    # The seed lab with an exchange, a lab without serving (a different project shape), and the seed lab
    # on FATE 2.2.0 (fateflow, rabbitmq, nginx).
    for sub, args, exchange, version in (("seed", [], L.EXCHANGE, "1.3.0"),
                                         ("noserving", ["--no-serving", "--parties", "2"], None, "1.3.0"),
                                         ("v2.2.0", ["--seed-lab", "--fate-version", "2.2.0"], None, "2.2.0")):
        g = ghost if sub == "seed" else L.make_lab(str(base / ("ghost-" + sub)), *args)
        dest = base / sub
        dest.mkdir()
        for b in _bundles(g, exchange, version):
            _extract(fb.tar_bytes(b), str(dest))
            found.append((sub, b.project, str(dest / b.project)))
    return found


def _compose(project_dir, *args):
    return subprocess.run(["docker", "compose", "--project-directory", project_dir] + list(args),
                          capture_output=True, text=True, timeout=60)


def test_compose_config_accepts_every_project(projects):
    assert len(projects) == 3 * 2 + 1 + 2 + 3
    for sub, project, path in projects:
        r = _compose(path, "config", "-q")
        assert r.returncode == 0, "%s/%s: %s" % (sub, project, r.stderr)


def test_compose_reads_pods_as_intended(projects):
    for _sub, project, path in projects:
        r = _compose(path, "config", "--format", "json")
        assert r.returncode == 0, r.stderr
        cfg = json.loads(r.stdout)
        assert cfg["name"] == project
        services = cfg["services"]
        fate = [s for s in services if not s.endswith("-pod")]
        assert fate and sorted(s + "-pod" for s in fate) == sorted(s for s in services if s.endswith("-pod"))
        for s in fate:
            assert services[s]["network_mode"] == "service:%s-pod" % s
            assert "seed.fate/config-hash" in services[s]["labels"]
            assert not services[s].get("cap_add") and not services[s].get("privileged")
            pod = services[s + "-pod"]
            assert pod["cap_add"] == ["NET_ADMIN"]
            (net, conf), = pod["networks"].items()
            assert cfg["networks"][net]["external"] is True and conf["ipv4_address"]
            for port in pod.get("ports", []):
                assert port["host_ip"] == "127.0.0.1"
        # `config` re-emits the escaped `$$`: it was not interpolated away (the shell gets `$!`).
        assert services[fate[0] + "-pod"]["command"][-1].endswith("wait $$!")
        for vol in cfg.get("volumes", {}).values():
            device = vol.get("driver_opts", {}).get("device")
            if device:
                assert device.startswith("/data/projects/fate/%s/shared_dir/" % project)


def test_compose_reads_the_2_2_0_runtime_contract(projects):
    """FATE 2.2.0: hostnames on the holders, binds resolved in the project folder, nothing published."""
    found = [(project, path) for sub, project, path in projects if sub == "v2.2.0"]
    assert [p for p, _ in found] == ["confs-10000", "confs-9999", "confs-8888"]
    for project, path in found:
        pid = project.split("-")[1]
        r = _compose(path, "config", "--format", "json")
        assert r.returncode == 0, r.stderr
        services = json.loads(r.stdout)["services"]
        for comp in ("fateflow", "rabbitmq", "nginx"):
            assert services[comp + "-pod"]["hostname"] == "%s-%s" % (comp, pid)
            assert not services[comp + "-pod"].get("ports")
        mounts = dict((v["target"], v) for v in services["fateflow"]["volumes"])
        assert mounts["/seedfate/conf"]["source"] == os.path.join(path, "confs/fate_flow/conf")
        assert mounts["/seedfate/conf"]["read_only"] is True
        assert mounts["/data/fate"]["source"] == os.path.join(path, "confs/fate_flow/data")
        assert not mounts["/data/fate"].get("read_only")
        mounts = dict((v["target"], v) for v in services["rabbitmq"]["volumes"])
        assert mounts["/seedfate/secrets/rabbitmq_admin_password"]["read_only"] is True
        assert "/var/lib/rabbitmq" in mounts
        assert services["rabbitmq"]["environment"] == {"RABBITMQ_ADMIN_USER": "seedfate"}
        mounts = dict((v["target"], v) for v in services["nginx"]["volumes"])
        assert mounts["/etc/nginx/nginx.conf"]["read_only"] is True


# --- One generated training project, up for real on a throwaway network -----------------------------

PREFIX = "sftest-config"


def _docker(*args, **kw):
    return subprocess.run(["docker"] + list(args), capture_output=True, text=True, timeout=kw.get("timeout", 120))


def _images_present(*refs):
    return all(_docker("image", "inspect", ref).returncode == 0 for ref in refs)


@pytest.mark.slow
def test_generated_training_project_runs_in_pods(tmp_path, offline_images):
    """Pods hold the reserved addresses with the AS router as default route; FATE containers share them."""
    images = ["%s/%s:1.3.0-release" % (L.TEST_IMAGES["prefix"], c) for c in
              ("federation", "proxy", "fateboard", "roll", "egg", "python", "meta-service")]
    images += list(L.TEST_IMAGES["overrides"].values()) + [L.TEST_IMAGES["holder"]]
    assert _images_present(*images), "the images playbook ran but did not build %s" % images
    # A lab of its own: skeleton project sftest-config, AS 247 (10.247.0.0/24), so nothing clashes.
    ghost = L.make_lab(str(tmp_path / "ghost"), "--parties", "1", "--no-serving", "--project", PREFIX,
                       "--asn-base", "247")
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    bundle, = _bundles(ghost, None, deploy_dir=str(deploy), fateboard_port_base=28080)
    _extract(fb.tar_bytes(bundle), str(deploy))
    project_dir = str(deploy / bundle.project)
    network = "%s_net_247_net0" % PREFIX
    project = "%s-%s" % (PREFIX, bundle.project)
    r = _docker("network", "create", "--subnet", "10.247.0.0/24", network)
    assert r.returncode == 0, r.stderr
    try:
        r = subprocess.run(["docker", "compose", "-p", project, "--project-directory", project_dir, "up", "-d",
                            "--wait", "--wait-timeout", "120"], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        for comp, address in (("proxy", "10.247.0.72"), ("python", "10.247.0.76"), ("mysql", "10.247.0.78")):
            pod, svc = "%s-%s-pod-1" % (project, comp), "%s-%s-1" % (project, comp)
            routes = _docker("exec", pod, "ip", "-4", "route", "show", "default").stdout
            assert "default via 10.247.0.254" in routes, routes
            # The FATE container sees the pod's namespace: same address, same hosts entries.
            addrs = _docker("exec", svc, "cat", "/proc/net/fib_trie").stdout
            assert address in addrs
            hosts = _docker("exec", svc, "cat", "/etc/hosts").stdout
            assert "10.247.0.77\tmeta-service" in hosts or "10.247.0.77 meta-service" in hosts, hosts
            caps = _docker("inspect", "-f", "{{.HostConfig.CapAdd}} {{.HostConfig.NetworkMode}}", svc).stdout
            assert "NET_ADMIN" not in caps and "container:" in caps
        # Config files are mounted where FATE reads them.
        r = _docker("exec", "%s-proxy-1" % project, "cat", "/data/projects/fate/proxy/conf/route_table.json")
        assert json.loads(r.stdout)["route_table"]["default"] == {"default": [{"ip": "proxy", "port": 9370}]}
        r = _docker("exec", "%s-python-1" % project, "grep", "-c", "'host': 'mysql'",
                    "/data/projects/fate/python/fate_flow/settings.py")
        assert r.stdout.strip() == "1"
        # FATEBoard is published on loopback only.
        r = _docker("port", "%s-fateboard-pod-1" % project)
        assert r.stdout.strip() == "8080/tcp -> 127.0.0.1:28080", r.stdout
        # A pod stops promptly (its trap answers SIGTERM instead of waiting for the kill timeout).
        r = _docker("stop", "-t", "30", "%s-roll-pod-1" % project)
        assert r.returncode == 0
        state = _docker("inspect", "-f", "{{.State.ExitCode}}", "%s-roll-pod-1" % project).stdout.strip()
        assert state == "0"
    finally:
        subprocess.run(["docker", "compose", "-p", project, "--project-directory", project_dir, "down", "-v",
                        "--remove-orphans", "-t", "5"], capture_output=True, timeout=300)
        _docker("network", "rm", network)
