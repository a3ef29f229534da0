# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fate_bundle / fate_versions: checks, secrets, rendering and deterministic tars, without Ansible."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import io
import json
import os
import stat
import tarfile

import pytest
import yaml

from ansible_collections.seed.fate.plugins.module_utils import bundle_render
from ansible_collections.seed.fate.plugins.module_utils import fate_bundle as fb
from ansible_collections.seed.fate.plugins.module_utils import fate_versions

COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))
TEMPLATES = os.path.join(COLLECTION, "roles", "fate_config", "templates", "1.3.0")
CAT = fate_versions.get("1.3.0")
TRAINING = CAT["clusters"]["training"]["components"]
SERVING = CAT["clusters"]["serving"]["components"]
IMAGES = {"registry": "", "prefix": "seedfate-standin", "tag": "1.3.0-release", "serving_tag": "1.2.2-release",
          "overrides": {"mysql": "seedfate-standin/mysql:8.0.28", "redis": "seedfate-standin/redis:5.0.14"},
          "holder": "seedfate/seedemu-node:bookworm"}
SECRETS = {"mysql_root_password": "unit-root-pw", "mysql_password": "unit-fate-pw", "redis_password": "unit-redis-pw"}


def lab(n=2, serving=True):
    """(parties, directory) of n parties: party i in AS 150+i, components from .71, router .254."""
    parties, directory = [], []
    for i in range(n):
        pid, asn = 10000 - i, 150 + i
        net = "lab_net_%d_net0" % asn
        comps = list(TRAINING) + (["s-" + c for c in SERVING] if serving else [])
        addr = dict((c, "10.%d.0.%d" % (asn, 71 + k)) for k, c in enumerate(comps))

        def comp(name):
            return {"address": addr[name], "network": net, "gateway": "10.%d.0.254" % asn}
        clusters = {"training": dict((c, comp(c)) for c in TRAINING)}
        if serving:
            clusters["serving"] = dict((c, comp("s-" + c)) for c in SERVING)
        parties.append({"party_id": pid, "index": i, "clusters": clusters, "name": "party-%d" % pid})
        directory.append({"party_id": pid, "asn": asn, "proxy": addr["proxy"], "python": addr["python"],
                          "serving_server": addr.get("s-serving-server"), "serving_proxy": addr.get("s-serving-proxy")})
    return parties, directory


def settings(exchange=None):
    images, holder = fb.normalize_images(IMAGES, CAT)
    return {"deploy_dir": "/data/projects/fate", "publish_address": "127.0.0.1", "fateboard_port_base": 18080,
            "grpc_timeout_ms": 300000, "user": "root", "images": images, "holder_image": holder,
            "exchange": fb.normalize_exchange(exchange)}


def render(n=2, serving=True, exchange=None, which=0):
    parties, directory = lab(n, serving)
    r = fb.Renderer(TEMPLATES, "1.3.0")
    party = fb.normalize_party(parties[which], CAT)
    return r.render_party(party, fb.normalize_directory(directory), settings(exchange), SECRETS)


# --- versions and images ---------------------------------------------------------------------------

def test_unknown_version_lists_supported():
    with pytest.raises(fate_versions.UnsupportedVersion) as err:
        fate_versions.get("2.0.0")
    assert "'2.0.0'" in str(err.value) and "1.3.0" in str(err.value)
    with pytest.raises(fate_versions.UnsupportedVersion):
        fb.Renderer(TEMPLATES, "9.9")


@pytest.mark.parametrize("images,key,expected", [
    ({"prefix": "federatedai", "tag": "1.3.0-release", "serving_tag": "1.2.2-release"}, "python",
     "federatedai/python:1.3.0-release"),
    ({"prefix": "federatedai", "tag": "t", "serving_tag": "s"}, "serving-proxy", "federatedai/serving-proxy:s"),
    ({"prefix": "federatedai", "tag": "t", "serving_tag": "s"}, "mysql", "mysql:8.0.28"),
    # KubeFATE's RegistryURI broke the compose file; here a registry prefixes every image.
    ({"registry": "192.168.10.1:5000/", "prefix": "federatedai", "tag": "t", "serving_tag": "s"}, "egg",
     "192.168.10.1:5000/federatedai/egg:t"),
    ({"registry": "reg.local", "prefix": "federatedai", "tag": "t", "serving_tag": "s"}, "redis", "reg.local/redis:5.0.14"),
    ({"prefix": "p", "tag": "t", "serving_tag": "s", "overrides": {"proxy": "my/proxy:x"}}, "exchange", "my/proxy:x"),
    ({"prefix": "p", "tag": "t", "serving_tag": "s", "overrides": {"exchange": "my/ex:1"}}, "exchange", "my/ex:1"),
    ({"prefix": "p", "tag": "t", "serving_tag": "s"}, "exchange", "p/proxy:t"),
])
def test_image_refs(images, key, expected):
    assert fate_versions.image_ref(CAT, key, images) == expected


def test_unknown_image_override_refused():
    with pytest.raises(fb.BundleError, match="fate_config_image_overrides.*pyhton"):
        fb.normalize_images(dict(IMAGES, overrides={"pyhton": "x"}), CAT)


# --- validation ------------------------------------------------------------------------------------

def test_party_missing_component_is_named():
    parties = lab(1)[0]
    del parties[0]["clusters"]["training"]["egg"]
    with pytest.raises(fb.BundleError) as err:
        fb.normalize_party(parties[0], CAT, "party-10000")
    assert "party-10000" in str(err.value) and "seedfate_clusters.training" in str(err.value) and "egg" in str(err.value)


def test_partial_serving_cluster_refused():
    parties = lab(1)[0]
    del parties[0]["clusters"]["serving"]["serving-proxy"]
    with pytest.raises(fb.BundleError, match="serving lacks component.*serving-proxy"):
        fb.normalize_party(parties[0], CAT)


def test_serving_requested_without_components():
    parties = lab(1, serving=False)[0]
    parties[0]["serving"] = True
    with pytest.raises(fb.BundleError, match=r"serving is requested \(seedfate_parties\[10000\]\.serving\)"):
        fb.normalize_party(parties[0], CAT)
    parties[0]["serving"] = False
    assert "serving" not in fb.normalize_party(parties[0], CAT)["clusters"]


def test_bad_address_names_the_field():
    parties = lab(1)[0]
    parties[0]["clusters"]["training"]["proxy"]["gateway"] = "10.1.2"
    with pytest.raises(fb.BundleError, match=r"seedfate_clusters\.training\.proxy\.gateway: gateway .10\.1\.2. is not an IPv4 address"):
        fb.normalize_party(parties[0], CAT)


def test_two_parties_on_one_id():
    parties, directory = lab(2)
    parties[1]["party_id"] = parties[0]["party_id"]
    with pytest.raises(fb.BundleError, match="two parties use party id 10000"):
        fb.check_lab(parties, directory, None, "127.0.0.1", CAT)
    directory[1]["party_id"] = directory[0]["party_id"]
    with pytest.raises(fb.BundleError, match="party id 10000 appears twice"):
        fb.normalize_directory(directory)


def test_exchange_without_address():
    with pytest.raises(fb.BundleError, match="an exchange needs an address"):
        fb.normalize_exchange({"network": "n", "gateway": "10.0.0.1"})
    assert fb.normalize_exchange({}) is None and fb.normalize_exchange(None) is None


def test_port_collisions():
    parties, directory = lab(3)
    parties[2]["fateboard_port"] = 18080
    parties[0]["fateboard_port"] = 18080
    with pytest.raises(fb.BundleError, match="published port collision.*18080.*party-10000.*party-9998"):
        fb.check_lab(parties, directory, None, "127.0.0.1", CAT)
    # The exchange's port against a FATEBoard.
    parties, directory = lab(2)
    parties[1]["fateboard_port"] = 9371
    ex = {"address": "10.150.0.90", "network": "n", "gateway": "10.150.0.254"}
    with pytest.raises(fb.BundleError, match="9371.*the exchange"):
        fb.check_lab(parties, directory, ex, "127.0.0.1", CAT)
    # Different docker hosts do not collide.
    parties, directory = lab(2)
    parties[0].update(fateboard_port=18080, host="a")
    parties[1].update(fateboard_port=18080, host="b")
    checked = fb.check_lab(parties, directory, None, "127.0.0.1", CAT)[0]
    assert [c["party_id"] for c in checked] == ["10000", "9999"]


def test_address_reserved_twice():
    parties, directory = lab(2)
    parties[1]["clusters"]["training"]["egg"]["address"] = parties[0]["clusters"]["training"]["egg"]["address"]
    with pytest.raises(fb.BundleError, match="reserved twice"):
        fb.check_lab(parties, directory, None, "127.0.0.1", CAT)


def test_party_missing_from_directory():
    parties, directory = lab(2)
    with pytest.raises(fb.BundleError, match="missing from seedfate_party_directory"):
        fb.check_lab(parties, directory[:1], None, "127.0.0.1", CAT)


@pytest.mark.parametrize("key,value,match", [
    ("deploy_dir", "relative/dir", "deploy_dir"),
    ("deploy_dir", "/with space", "deploy_dir"),
    ("publish_address", "localhost", "publish_address"),
    ("grpc_timeout_ms", 10, "grpc_timeout_ms"),
])
def test_settings_checked(key, value, match):
    s = settings()
    s[key] = value
    with pytest.raises(fb.BundleError, match=match):
        fb.check_settings(s)


# --- secrets ---------------------------------------------------------------------------------------

def load_secrets(path, party_id, overrides=None, check_mode=False):
    """A party's secrets as the fate_bundle module handles them: resolved, then stored unless in check mode.
    Returns (secrets, changed)."""
    values, data = fb.resolve_secrets(path, party_id, overrides)
    if data is not None and not check_mode:
        fb.store_secrets(path, data)
    return values, data is not None


def test_secrets_generated_once_stored_0600_and_reused(tmp_path):
    path = str(tmp_path / "secrets" / "9999.yml")
    first, changed = load_secrets(path, "9999")
    assert changed and set(first) == set(fb.SECRET_KEYS)
    assert len(set(first.values())) == 3 and all(len(v) == fb.SECRET_LENGTH for v in first.values())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(tmp_path / "secrets")).st_mode) == 0o700
    assert yaml.safe_load(open(path).read()) == first
    again, changed = load_secrets(path, "9999")
    assert again == first and not changed


def test_secrets_check_mode_writes_nothing(tmp_path):
    path = str(tmp_path / "s" / "1.yml")
    _values, changed = load_secrets(path, "1", check_mode=True)
    assert changed and not os.path.exists(str(tmp_path / "s"))


def test_secret_overrides_win_and_stay_out_of_the_file(tmp_path):
    path = str(tmp_path / "1.yml")
    values = load_secrets(path, "1", {"mysql_password": "from-vault-123"})[0]
    assert values["mysql_password"] == "from-vault-123"
    assert "from-vault-123" not in open(path).read()
    assert "mysql_password" not in yaml.safe_load(open(path).read())


def test_bad_secrets_refused_without_echoing_them(tmp_path):
    with pytest.raises(fb.BundleError) as err:
        load_secrets(str(tmp_path / "1.yml"), "1", {"redis_password": "has space'"})
    assert "redis_password" in str(err.value) and "has space" not in str(err.value)
    with pytest.raises(fb.BundleError, match="unknown key"):
        load_secrets(str(tmp_path / "1.yml"), "1", {"root": "x" * 10})
    bad = tmp_path / "2.yml"
    bad.write_text("mysql_password: [unclosed\n")
    with pytest.raises(fb.BundleError, match=str(bad)):
        load_secrets(str(bad), "2")


# --- rendering ---------------------------------------------------------------------------------------

def test_party_renders_training_and_serving():
    bundles = render()
    assert [b.project for b in bundles] == ["confs-10000", "serving-10000"]
    assert "confs/fate_flow/conf/settings.py" in bundles[0].files
    assert bundles[0].empty_dirs == ("shared_dir/examples", "shared_dir/federatedml")
    assert [b.project for b in render(serving=False)] == ["confs-10000"]


def test_compose_pods_and_config_hash():
    training = render()[0]
    compose = yaml.safe_load(training.files["docker-compose.yml"])
    assert compose["name"] == "confs-10000" and "version" not in compose
    services = compose["services"]
    for comp in TRAINING:
        pod, svc = services[comp + "-pod"], services[comp]
        assert pod["cap_add"] == ["NET_ADMIN"]
        assert pod["networks"] == {"lab_net_150_net0": {"ipv4_address": "10.150.0.%d" % (71 + TRAINING.index(comp))}}
        assert "10.150.0.254" in pod["command"][-1]
        assert sorted(h.split(":")[0] for h in pod["extra_hosts"]) == sorted(TRAINING)
        assert svc["network_mode"] == "service:%s-pod" % comp
        assert "cap_add" not in svc and "ports" not in svc and "privileged" not in svc
        # The label is the hash of exactly the bundle files the service mounts.
        h = hashlib.sha256()
        for v in svc.get("volumes", []):
            src = v.split(":")[0]
            if v.endswith(":ro"):
                rel = src[2:]
                for name in sorted(p for p in training.files if p == rel or p.startswith(rel + "/")):
                    h.update(name.encode() + b"\0" + training.files[name] + b"\0")
        assert svc["labels"]["seed.fate/config-hash"] == h.hexdigest(), comp
    assert services["fateboard-pod"]["ports"] == ["127.0.0.1:18080:8080"]
    assert services["python"]["restart"] == services["mysql"]["restart"] == "always"
    assert compose["networks"] == {"lab_net_150_net0": {"external": True}}
    assert compose["volumes"]["shared_dir_examples"]["driver_opts"]["device"] == \
        "/data/projects/fate/confs-10000/shared_dir/examples"


def test_config_change_changes_only_that_services_hash():
    a = yaml.safe_load(render()[0].files["docker-compose.yml"])["services"]
    ex = {"address": "10.150.0.90", "network": "lab_net_150_net0", "gateway": "10.150.0.254"}
    b = yaml.safe_load(render(exchange=ex)[0].files["docker-compose.yml"])["services"]
    differ = sorted(s for s in a if a[s]["labels"].get("seed.fate/config-hash") != b[s]["labels"].get("seed.fate/config-hash"))
    assert differ == ["proxy"]


def test_route_tables_with_and_without_exchange():
    table = json.loads(render()[0].files["confs/proxy/conf/route_table.json"])["route_table"]
    # KubeFATE v1.3.0: without an exchange the default route is the party's own proxy.
    assert table["default"] == {"default": [{"ip": "proxy", "port": 9370}]}
    assert table["9999"] == {"default": [{"ip": "10.151.0.72", "port": 9370}]}
    assert table["10000"] == {"fateflow": [{"ip": "python", "port": 9360}], "fate": [{"ip": "federation", "port": 9394}]}
    ex = {"address": "10.150.0.90", "network": "lab_net_150_net0", "gateway": "10.150.0.254"}
    table = json.loads(render(exchange=ex)[0].files["confs/proxy/conf/route_table.json"])["route_table"]
    assert table["default"] == {"default": [{"ip": "10.150.0.90", "port": 9371}]}


def test_exchange_bundle():
    _parties, directory = lab(3)
    ex = {"address": "10.150.0.90", "network": "lab_net_150_net0", "gateway": "10.150.0.254"}
    b = fb.Renderer(TEMPLATES, "1.3.0").render_exchange(fb.normalize_directory(directory), settings(ex))
    assert b.project == "confs-exchange"
    props = b.files["conf/proxy.properties"].decode()
    assert "coordinator=exchange\n" in props and "port=9371\n" in props and "coordinator=9998" not in props
    table = json.loads(b.files["conf/route_table.json"])["route_table"]
    assert table["9998"] == {"default": [{"ip": "10.152.0.72", "port": 9370}]}
    compose = yaml.safe_load(b.files["docker-compose.yml"])
    assert compose["services"]["exchange-pod"]["ports"] == ["127.0.0.1:9371:9371"]
    assert compose["services"]["exchange"]["image"] == "seedfate-standin/proxy:1.3.0-release"


def test_dollar_in_secrets_is_refused_and_compose_escapes():
    assert bundle_render._yq("a$b") == '"a$$b"'
    with pytest.raises(fb.BundleError):
        fb.check_secrets(dict(SECRETS, mysql_password="pa$sword1"), "x")


def test_template_typo_is_an_error(tmp_path):
    import shutil
    tdir = tmp_path / "t"
    shutil.copytree(TEMPLATES, str(tdir))
    p = tdir / "training" / "confs" / "roll" / "conf" / "roll.properties.j2"
    p.write_text(p.read_text() + "x={{ no_such_variable }}\n")
    parties, directory = lab(1)
    r = fb.Renderer(str(tdir), "1.3.0")
    with pytest.raises(fb.BundleError, match="roll.properties.j2.*no_such_variable"):
        r.render_party(fb.normalize_party(parties[0], CAT), fb.normalize_directory(directory), settings(), SECRETS)


# --- tars --------------------------------------------------------------------------------------------

def test_tar_is_deterministic_and_normalized():
    b = render()[0]
    data = fb.tar_bytes(b)
    assert data == fb.tar_bytes(copy.deepcopy(b)) == fb.tar_bytes(render()[0])
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names) and names[0] == "confs-10000"
    assert all(n == "confs-10000" or n.startswith("confs-10000/") for n in names)
    for m in members:
        assert m.mtime == 0 and m.uid == 0 and m.gid == 0
        if m.name == "confs-10000":
            assert m.mode == 0o700  # the bundle holds passwords
        elif m.isdir():
            assert m.mode == 0o755
        else:
            assert m.mode == (0o600 if m.name[len("confs-10000/"):] in b.private_files else 0o644), m.name
    assert "confs-10000/shared_dir/examples" in names
    assert not any(n.endswith(".bak") for n in names)


def test_every_file_with_a_password_is_private():
    # Issue 11 item 1: docker-compose.yml, fate_flow's settings.py and .properties files with a password
    # were 0644 in the tar (and on the party host); every one of them is 0600, the others stay 0644.
    for b in render():
        with tarfile.open(fileobj=io.BytesIO(fb.tar_bytes(b))) as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
            content = dict((m.name, tar.extractfile(m).read()) for m in members)
        for m in members:
            secret = any(v.encode() in content[m.name] for v in SECRETS.values())
            assert m.mode == (0o600 if secret else 0o644), m.name
        private = sorted(m.name.split("/", 1)[1] for m in members if m.mode == 0o600)
        expected = {"confs-10000": ["confs/fate_flow/conf/settings.py", "confs/fateboard/conf/application.properties",
                                    "confs/meta-service/conf/meta-service.properties", "docker-compose.yml"],
                    "serving-10000": ["confs/serving-server/conf/serving-server.properties", "docker-compose.yml"]}
        assert private == expected[b.project]


def test_write_output_is_honest(tmp_path):
    b = render()[0]
    path = str(tmp_path / "out" / "confs-10000.tar")
    r = fb.write_output(path, fb.tar_bytes(b), fb.TAR_MODE, check_mode=True)
    assert r["changed"] and not os.path.exists(path)
    r = fb.write_output(path, fb.tar_bytes(b), fb.TAR_MODE)
    assert r["changed"] and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    mtime = os.stat(path).st_mtime_ns
    r = fb.write_output(path, fb.tar_bytes(b), fb.TAR_MODE)
    assert not r["changed"] and r["files_changed"] == [] and os.stat(path).st_mtime_ns == mtime
    b.files["confs/roll/conf/roll.properties"] += b"# edited\n"
    r = fb.write_output(path, fb.tar_bytes(b), fb.TAR_MODE)
    assert r["changed"] and r["files_changed"] == ["confs-10000/confs/roll/conf/roll.properties"]


def test_pod_script_without_private_ports_only_routes():
    script = fb.pod_script("10.151.0.254")
    assert script.startswith("ip route replace default via 10.151.0.254 || exit 1; ")
    assert "iptables" not in script


def test_pod_script_private_port_accepts_only_the_named_sources(tmp_path):
    script = fb.pod_script("10.151.0.254", [(15672, ["10.151.0.71"])])
    rules = script.split("{ ")[1].split("; }")[0].split(" && ")
    # loopback and the party's own flow first, then everyone else is refused; a rule that fails stops the pod.
    assert rules == ["iptables -A INPUT -i lo -p tcp --dport 15672 -j ACCEPT",
                     "iptables -A INPUT -p tcp -s 10.151.0.71 --dport 15672 -j ACCEPT",
                     "iptables -A INPUT -p tcp --dport 15672 -j REJECT --reject-with tcp-reset"]
    assert "; } || exit 1; trap" in script
    with pytest.raises(ValueError):
        fb.pod_script("10.151.0.254", [(15672, ["10.151.0.71; rm -rf /"])])


def test_2_2_0_broker_management_is_private_to_the_flow():
    cat = fate_versions.get("2.2.0")
    assert cat["private_ports"]["training"]["rabbitmq"] == {cat["ports"]["rabbitmq_management"]: ("fateflow",)}
    assert "private_ports" not in fate_versions.get("1.3.0")
