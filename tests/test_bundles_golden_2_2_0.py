"""FATE 2.2.0 configuration bundles of the seed's 3-party lab (10000 -> AS151, 9999 -> AS152, 8888 -> AS150):
golden trees, every file parsed, cross-party addresses, the images' runtime contract, and the role run
end to end through the inventory plugin (the version comes from the skeleton's lab.json).

Regenerate the expected tree after an intended change with:
    SEEDFATE_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_bundles_golden_2_2_0.py
and review the diff under tests/golden/seed-lab-2.2.0/ before committing it.
"""

import io
import os
import re
import subprocess
import sys
import tarfile

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "golden"))
sys.path.insert(0, HERE)
import lab_inputs as L  # noqa: E402
import test_bundles_golden as G  # noqa: E402

from ansible_collections.seed.fate.plugins.module_utils import bundle_render  # noqa: E402
from ansible_collections.seed.fate.plugins.module_utils import fate_bundle as fb  # noqa: E402
from ansible_collections.seed.fate.plugins.module_utils import fate_versions  # noqa: E402

VERSION = "2.2.0"
CAT = fate_versions.get(VERSION)
SCENARIO = "seed-lab-2.2.0"
PASSWORD_FILE = "confs/rabbitmq/secrets/rabbitmq_admin_password"


def build_bundles(ghost_dir, out_dir):
    """Everything the role writes for a 2.2.0 lab, via the module's module_utils calls."""
    hosts, _source = L.party_hostvars(ghost_dir)
    assert all(hv["seedfate_fate_version"] == VERSION for hv in hosts)
    raw_directory = hosts[0]["seedfate_party_directory"]
    directory = fb.normalize_directory(raw_directory, catalogue=CAT)
    st = L.settings(version=VERSION)
    parties = [L.module_party(hv) for hv in hosts]
    fb.check_lab(parties, raw_directory, None, st["publish_address"], CAT)
    renderer = fb.Renderer(os.path.join(L.TEMPLATES, CAT["templates"]), VERSION)
    written = {}
    for party in parties:
        p = fb.normalize_party(party, CAT)
        for b in renderer.render_party(p, directory, st, L.fixed_secrets_for(VERSION, p["party_id"])):
            written[b.archive] = fb.tar_bytes(b)
    written["parties.conf"] = renderer.render_parties_conf(directory, st)
    os.makedirs(out_dir, exist_ok=True)
    for name, data in written.items():
        fb.write_output(os.path.join(out_dir, name), data, 0o644, members=False)
    return written, hosts


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("bundles22")
    ghost = L.make_lab(str(base / "ghost"), "--seed-lab", "--fate-version", VERSION)
    written, hosts = build_bundles(ghost, str(base / "bundles"))
    tree = base / "tree"
    tree.mkdir()
    G.unpack(written, str(tree))
    return {"written": written, "hosts": hosts, "tree": str(tree), "ghost": ghost, "out": str(base / "bundles")}


def test_bundles_equal_golden_tree(lab):
    G.assert_golden(os.path.join(L.GOLDEN, SCENARIO), lab["tree"], lab["written"])


def test_archives_hold_what_contracts_say(lab):
    written = lab["written"]
    assert sorted(written) == ["confs-10000.tar", "confs-8888.tar", "confs-9999.tar", "parties.conf"]
    with tarfile.open(fileobj=io.BytesIO(written["confs-9999.tar"])) as tar:
        members = dict((m.name, m) for m in tar.getmembers())
    files = sorted(n for n, m in members.items() if m.isfile())
    assert files == ["confs-9999/" + p for p in (
        "confs/fate_flow/conf/rabbitmq_route_table.yaml", "confs/fate_flow/conf/service_conf.yaml",
        "confs/nginx/conf/nginx.conf", PASSWORD_FILE, "docker-compose.yml")]
    # The broker's password file and the flow's service_conf.yaml (it holds the same password) are private,
    # and so the top folder is 0700; everything else is 0644.
    for name, m in members.items():
        if m.isfile():
            private = name.endswith(PASSWORD_FILE) or name.endswith("/service_conf.yaml")
            assert m.mode == (0o600 if private else 0o644), name
    assert members["confs-9999"].mode == 0o700
    # Persistent data never ships.
    for data_dir in CAT["clusters"]["training"]["data_dirs"]:
        assert not any(n.startswith("confs-9999/" + data_dir) for n in members)


def _nginx_ok(text, where):
    """Balanced braces; every directive line ends in ';', '{' or '}' (a small nginx.conf parser)."""
    depth = 0
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        assert line.endswith((";", "{", "}")), "%s: %r" % (where, line)
        depth += line.count("{") - line.count("}")
        assert depth >= 0, where
    assert depth == 0, where


def test_every_file_parses_and_nothing_is_left_unrendered(lab):
    root = lab["tree"]
    for rel, data in sorted(G.tree(root).items()):
        text = data.decode("utf-8")
        for bad in ("{{", "{%", "{#"):
            assert bad not in text, "%s contains %r" % (rel, bad)
        if rel.endswith((".yml", ".yaml")):
            assert isinstance(yaml.safe_load(text), dict), rel
        elif rel.endswith("nginx.conf"):
            _nginx_ok(text, rel)
        elif rel.endswith("rabbitmq_admin_password"):
            assert re.match(r"^[!-~]{8,128}$", text), rel  # one token, no newline
        elif rel == "parties.conf":
            subprocess.run(["bash", "-n", os.path.join(root, rel)], check=True)
        else:
            pytest.fail("unexpected file %s" % rel)


def test_parties_conf_in_kubefate_v2_format(lab):
    path = os.path.join(lab["out"], "parties.conf")
    out = subprocess.run(["bash", "-c", 'source "$1"; echo "$user|$dir|${party_list[*]}|${party_ip_list[*]}|'
                          '${#serving_ip_list[@]}|$computing|$federation|$storage|$compute_core|$exchangeip"', "-", path],
                         check=True, capture_output=True, text=True).stdout.strip()
    assert out == ("root|/data/projects/fate|10000 9999 8888|10.151.0.73 10.152.0.73 10.150.0.73|0|"
                   "STANDALONE|RabbitMQ|STANDALONE|16|")


def _nginx_map(text):
    body = re.search(r"map \$http_dest_party_id \$backend \{(.*?)\}", text, re.S).group(1)
    return dict((k, v) for k, v in re.findall(r'"(\d+)"\s+"([^"]+)";', body))


def test_cross_party_addresses_and_runtime_contract(lab):
    root, hosts = lab["tree"], lab["hosts"]
    directory = hosts[0]["seedfate_party_directory"]
    assert [d["party_id"] for d in directory] == [10000, 9999, 8888]
    for hv in hosts:
        pid = str(hv["seedfate_party_id"])
        comps = hv["seedfate_clusters"]["training"]
        assert list(comps) == ["fateflow", "rabbitmq", "nginx"]
        flow, broker, nginx = (comps[c]["address"] for c in ("fateflow", "rabbitmq", "nginx"))
        confs = os.path.join(root, "confs-%s" % pid)
        password = L.fixed_secrets_for(VERSION, pid)["rabbitmq_admin_password"]

        conf = yaml.safe_load(open(os.path.join(confs, "confs/fate_flow/conf/service_conf.yaml")))
        assert conf["party_id"] == pid
        assert conf["fateflow"] == {"host": flow, "http_port": 9380, "grpc_port": 9360, "proxy_name": "nginx"}
        assert conf["database"]["engine"] == "sqlite"
        assert conf["default_engines"] == {"computing": "standalone", "federation": "rabbitmq", "storage": "standalone"}
        assert conf["computing"]["standalone"]["cores"] >= 8
        assert conf["federation"]["nginx"] == {"host": nginx, "http_port": 9300, "grpc_port": 9310, "protocol": "http"}
        assert conf["federation"]["rabbitmq"] == {"host": broker, "port": 5672, "mng_port": 15672, "user": "seedfate",
                                                  "password": password, "mode": "replication"}

        routes = yaml.safe_load(open(os.path.join(confs, "confs/fate_flow/conf/rabbitmq_route_table.yaml")))
        assert routes == dict((d["party_id"], {"host": d["rabbitmq"], "port": 5672}) for d in directory)

        backends = _nginx_map(open(os.path.join(confs, "confs/nginx/conf/nginx.conf")).read())
        want = dict((str(d["party_id"]), "%s:9300" % d["nginx"]) for d in directory)
        want[pid] = "%s:9380" % flow
        assert backends == want
        nginx_text = open(os.path.join(confs, "confs/nginx/conf/nginx.conf")).read()
        for directive in ("listen 9300;", "proxy_pass http://$backend;", "client_max_body_size 0;",
                          "proxy_read_timeout 3600s;"):
            assert directive in nginx_text

        assert open(os.path.join(confs, PASSWORD_FILE)).read() == password

        compose = yaml.safe_load(open(os.path.join(confs, "docker-compose.yml")))
        services = compose["services"]
        assert sorted(services) == sorted(["fateflow", "rabbitmq", "nginx", "fateflow-pod", "rabbitmq-pod", "nginx-pod"])
        for comp, facts in comps.items():
            pod = services[comp + "-pod"]
            assert pod["networks"][facts["network"]]["ipv4_address"] == facts["address"]
            assert "via %s " % facts["gateway"] in pod["command"][-1]
            assert pod["hostname"] == "%s-%s" % (comp, pid)
            assert "ports" not in pod
            assert services[comp]["network_mode"] == "service:%s-pod" % comp
            assert services[comp]["image"] == "seedfate/fate-%s:2.2.0" % {"fateflow": "flow"}.get(comp, comp)
            assert "command" not in services[comp]
        assert compose["networks"] == {comps["fateflow"]["network"]: {"external": True}}
        assert services["fateflow"]["environment"] == {"SEEDFATE_FLOW_IP": flow}
        assert services["fateflow"]["volumes"] == ["./confs/fate_flow/conf:/seedfate/conf:ro",
                                                   "./confs/fate_flow/data:/data/fate"]
        assert services["rabbitmq"]["environment"] == {"RABBITMQ_ADMIN_USER": "seedfate"}
        assert services["rabbitmq"]["volumes"] == [
            "./%s:/seedfate/secrets/rabbitmq_admin_password:ro" % PASSWORD_FILE,
            "./confs/rabbitmq/data:/var/lib/rabbitmq"]
        assert services["nginx"]["volumes"] == ["./confs/nginx/conf/nginx.conf:/etc/nginx/nginx.conf:ro"]
        # The password is in the bundle's private file and the flow's conf, never in the compose file.
        assert password not in open(os.path.join(confs, "docker-compose.yml")).read()


def test_rerun_is_byte_identical(lab, tmp_path):
    bundle_render._ENV_CACHE.clear()
    written, _ = build_bundles(lab["ghost"], str(tmp_path / "again"))
    assert written == lab["written"]


@pytest.mark.slow
def test_role_renders_the_golden_bundles(lab, tmp_path):
    """lab.json says 2.2.0 -> inventory seedfate_fate_version -> fate_config renders the golden bundles."""
    inv = tmp_path / "inv"
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "lab.seedfate.yml").write_text("plugin: seed.fate.ghost_nodes\nghost_dir: %s\n" % lab["ghost"])
    secrets = dict((pid, L.fixed_secrets_for(VERSION, pid)) for pid in ("10000", "9999", "8888"))
    (inv / "group_vars" / "all" / "lab.yml").write_text(yaml.safe_dump({
        "seedfate_build_dir": str(tmp_path / "build"),
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "fate_config_secrets": secrets}))
    r = G._playbook(str(inv))
    assert r.returncode == 0, r.stdout + r.stderr
    bundles = tmp_path / "build" / "bundles"
    for name, data in lab["written"].items():
        assert (bundles / name).read_bytes() == data, name
    r = G._playbook(str(inv))
    assert r.returncode == 0 and G._recap_changed(r.stdout) == 0, r.stdout
