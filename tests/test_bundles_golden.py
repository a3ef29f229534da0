"""FATE configuration bundles of the seed's 3-party lab: golden trees, parsed files, cross-party
addresses, determinism, and the role run end to end through the inventory plugin.

Regenerate the expected trees after an intended change with:
    SEEDFATE_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_bundles_golden.py
and review the diff under tests/golden/ before committing it.
"""

import ast
import difflib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "golden"))
import lab_inputs as L  # noqa: E402

from ansible_collections.seed.fate.plugins.module_utils import bundle_render  # noqa: E402
from ansible_collections.seed.fate.plugins.module_utils import fate_bundle as fb  # noqa: E402
from ansible_collections.seed.fate.plugins.module_utils import fate_versions  # noqa: E402

REPO = L.REPO
UPDATE = os.environ.get("SEEDFATE_UPDATE_GOLDEN") == "1"
SCENARIOS = {"seed-lab": None, "seed-lab-exchange": L.EXCHANGE}
CAT = fate_versions.get("1.3.0")


def build_bundles(ghost_dir, out_dir, exchange=None):
    """Everything the role writes for the lab, via the same module_utils calls the module makes."""
    hosts, _source = L.party_hostvars(ghost_dir)
    directory = fb.normalize_directory(hosts[0]["seedfate_party_directory"])
    st = L.settings(exchange=exchange)
    parties = [L.module_party(hv) for hv in hosts]
    fb.check_lab(parties, hosts[0]["seedfate_party_directory"], exchange, st["publish_address"], CAT)
    renderer = fb.Renderer(os.path.join(L.TEMPLATES, "1.3.0"), "1.3.0")
    written = {}
    for party in parties:
        p = fb.normalize_party(party, CAT)
        for b in renderer.render_party(p, directory, st, L.fixed_secrets(p["party_id"])):
            written[b.archive] = fb.tar_bytes(b)
    if exchange:
        b = renderer.render_exchange(directory, st)
        written[b.archive] = fb.tar_bytes(b)
    written["parties.conf"] = renderer.render_parties_conf(directory, st)
    os.makedirs(out_dir, exist_ok=True)
    for name, data in written.items():
        fb.write_output(os.path.join(out_dir, name), data, 0o644, members=False)
    return written, hosts


def members_listing(written):
    """One line per tar member: archive, name, type, mode, size, sha256 (covers empty folders)."""
    lines = []
    for archive in sorted(k for k in written if k.endswith(".tar")):
        with tarfile.open(fileobj=io.BytesIO(written[archive])) as tar:
            for m in tar.getmembers():
                digest = "-" if m.isdir() else hashlib.sha256(tar.extractfile(m).read()).hexdigest()[:16]
                lines.append("%s %s %s %o %d %d:%d %d %s" % (archive, m.name, "d" if m.isdir() else "f", m.mode,
                                                            m.size, m.uid, m.gid, m.mtime, digest))
    return "\n".join(lines) + "\n"


def unpack(written, dest):
    for archive, data in sorted(written.items()):
        if archive.endswith(".tar"):
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(dest, filter="data")
                else:  # Python < 3.11.4: our own archives, names checked by the tests
                    tar.extractall(dest)
        else:
            with open(os.path.join(dest, archive), "wb") as f:
                f.write(data)


def tree(root):
    out = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = f.read()
    return out


@pytest.fixture(scope="module")
def seed_lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("bundles")
    ghost = L.make_lab(str(base / "ghost"), "--seed-lab")
    result = {}
    for scenario, exchange in SCENARIOS.items():
        written, hosts = build_bundles(ghost, str(base / scenario / "bundles"), exchange)
        unpacked = base / scenario / "tree"
        unpacked.mkdir()
        unpack(written, str(unpacked))
        result[scenario] = {"written": written, "hosts": hosts, "tree": str(unpacked), "ghost": ghost,
                            "out": str(base / scenario / "bundles")}
    return result


def assert_golden(golden_dir, tree_dir, written):
    """The unpacked bundles in ``tree_dir`` and the archives' member listing equal the golden tree
    (SEEDFATE_UPDATE_GOLDEN=1 rewrites it instead)."""
    listing = members_listing(written)
    if UPDATE:
        shutil.rmtree(golden_dir, ignore_errors=True)
        shutil.copytree(tree_dir, os.path.join(golden_dir, "bundles"))
        with open(os.path.join(golden_dir, "members.txt"), "w") as f:
            f.write(listing)
    assert os.path.isdir(golden_dir), "no golden tree %s: run with SEEDFATE_UPDATE_GOLDEN=1" % golden_dir
    expected, actual = tree(os.path.join(golden_dir, "bundles")), tree(tree_dir)
    assert sorted(actual) == sorted(expected)
    for rel in sorted(expected):
        if expected[rel] != actual[rel]:
            diff = "".join(difflib.unified_diff(expected[rel].decode().splitlines(True),
                                                actual[rel].decode().splitlines(True), "golden/" + rel, "got/" + rel))
            pytest.fail("%s differs from the golden tree (SEEDFATE_UPDATE_GOLDEN=1 to accept):\n%s" % (rel, diff))
    with open(os.path.join(golden_dir, "members.txt")) as f:
        assert f.read() == listing


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_bundles_equal_golden_trees(seed_lab, scenario):
    got = seed_lab[scenario]
    assert_golden(os.path.join(L.GOLDEN, scenario), got["tree"], got["written"])


def test_archives_hold_what_contracts_say(seed_lab):
    written = seed_lab["seed-lab-exchange"]["written"]
    assert sorted(written) == ["confs-10000.tar", "confs-8888.tar", "confs-9999.tar", "confs-exchange.tar",
                               "parties.conf", "serving-10000.tar", "serving-8888.tar", "serving-9999.tar"]
    with tarfile.open(fileobj=io.BytesIO(written["confs-9999.tar"])) as tar:
        names = tar.getnames()
    assert "confs-9999/shared_dir/examples" in names and "confs-9999/shared_dir/federatedml" in names
    # Persistent data never ships.
    for data_dir in ("confs/mysql/data", "confs/egg/data-dir", "confs/redis/data"):
        assert not any(n.startswith("confs-9999/" + data_dir) for n in names)
    assert not any(n.startswith("confs-9999/shared_dir/examples/") for n in names)


def _properties(text, where):
    keys = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(("#", "!")):
            continue
        assert "=" in line, "%s: not a key=value line: %r" % (where, line)
        k, v = line.split("=", 1)
        assert k not in keys, "%s: key %s set twice" % (where, k)
        keys[k] = v
    return keys


def _sql_ok(text, where):
    body = "\n".join(l for l in text.splitlines() if not l.startswith("--"))
    statements = [s.strip() for s in body.split(";") if s.strip()]
    assert statements, where
    for s in statements:
        assert s.count("(") == s.count(")") and s.count("`") % 2 == 0 and s.count("'") % 2 == 0, (where, s)
        assert re.match(r"^(CREATE|USE|INSERT)\b", s), (where, s)
    return statements


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_file_parses_and_nothing_is_left_unrendered(seed_lab, scenario):
    root = seed_lab[scenario]["tree"]
    seen = set()
    for rel, data in sorted(tree(root).items()):
        text = data.decode("utf-8")
        for bad in ("{{", "{%", "{#", "fate_dev"):
            assert bad not in text, "%s contains %r" % (rel, bad)
        assert not rel.endswith(".bak") and "redis.conf" not in rel
        ext = os.path.splitext(rel)[1]
        seen.add(ext)
        if ext == ".json":
            json.loads(text)
        elif ext == ".yml":
            assert isinstance(yaml.safe_load(text), dict)
        elif ext == ".properties":
            _properties(text, rel)
        elif ext == ".sql":
            _sql_ok(text, rel)
        elif ext == ".py":
            ast.parse(text, rel)
        elif rel == "parties.conf":
            subprocess.run(["bash", "-n", os.path.join(root, rel)], check=True)
        else:
            pytest.fail("unexpected file %s" % rel)
    assert seen >= {".json", ".yml", ".properties", ".sql", ".py"}


def test_parties_conf_in_kubefate_format(seed_lab):
    for scenario, want_ex in (("seed-lab", ""), ("seed-lab-exchange", "10.150.0.90")):
        path = os.path.join(seed_lab[scenario]["out"], "parties.conf")
        out = subprocess.run(["bash", "-c", 'source "$1"; echo "$user|$dir|${partylist[*]}|${partyiplist[*]}|'
                              '${servingiplist[*]}|$exchangeip"', "-", path],
                             check=True, capture_output=True, text=True).stdout.strip()
        assert out == ("root|/data/projects/fate|10000 9999 8888|10.151.0.72 10.152.0.72 10.150.0.72|"
                       "10.151.0.81 10.152.0.81 10.150.0.81|%s" % want_ex)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_cross_party_addresses(seed_lab, scenario):
    got = seed_lab[scenario]
    root, hosts = got["tree"], got["hosts"]
    directory = hosts[0]["seedfate_party_directory"]
    exchange = SCENARIOS[scenario]
    for hv in hosts:
        pid = str(hv["seedfate_party_id"])
        me = next(d for d in directory if str(d["party_id"]) == pid)
        others = [d for d in directory if str(d["party_id"]) != pid]
        confs = os.path.join(root, "confs-%s" % pid)
        table = json.load(open(os.path.join(confs, "confs/proxy/conf/route_table.json")))["route_table"]
        assert set(table) == {"default", pid} | set(str(o["party_id"]) for o in others)
        for o in others:
            assert table[str(o["party_id"])] == {"default": [{"ip": o["proxy"], "port": 9370}]}
        assert table["default"]["default"] == ([{"ip": exchange["address"], "port": 9371}] if exchange else [{"ip": "proxy", "port": 9370}])
        flow = json.load(open(os.path.join(confs, "confs/fate_flow/conf/server_conf.json")))["servers"]
        assert flow["servings"] == ["%s:8000" % me["serving_server"]]
        serving = os.path.join(root, "serving-%s" % pid)
        props = _properties(open(os.path.join(serving, "confs/serving-server/conf/serving-server.properties")).read(), pid)
        assert props["model.transfer.url"] == "http://%s:9380/v1/model/transfer" % me["python"]
        stable = json.load(open(os.path.join(serving, "confs/serving-proxy/conf/route_table.json")))["route_table"]
        for o in others:
            assert stable[str(o["party_id"])] == {"default": [{"ip": o["serving_proxy"], "port": 8869}]}
        assert stable[pid]["serving"] == [{"ip": "serving-server", "port": 8000}]
        # Each pod holds its reserved address and routes through its AS router.
        compose = yaml.safe_load(open(os.path.join(confs, "docker-compose.yml")))
        for comp, facts in hv["seedfate_clusters"]["training"].items():
            pod = compose["services"][comp + "-pod"]
            assert pod["networks"][facts["network"]]["ipv4_address"] == facts["address"]
            assert "via %s " % facts["gateway"] in pod["command"][-1]
            assert "%s:%s" % (comp, facts["address"]) in pod["extra_hosts"]
        secrets = L.fixed_secrets(pid)
        assert _properties(open(os.path.join(confs, "confs/meta-service/conf/meta-service.properties")).read(),
                           pid)["jdbc.password"] == secrets["mysql_password"]
        assert compose["services"]["mysql"]["environment"]["MYSQL_ROOT_PASSWORD"] == secrets["mysql_root_password"]
    if exchange:
        ex = os.path.join(root, "confs-exchange")
        table = json.load(open(os.path.join(ex, "conf/route_table.json")))["route_table"]
        assert dict((k, v) for k, v in table.items() if k != "default") == dict(
            (str(d["party_id"]), {"default": [{"ip": d["proxy"], "port": 9370}]}) for d in directory)
        assert "coordinator=exchange" in open(os.path.join(ex, "conf/proxy.properties")).read()


def test_rerun_is_byte_identical(seed_lab, tmp_path):
    bundle_render._ENV_CACHE.clear()  # fresh templates, as a new module process would have
    written, _ = build_bundles(seed_lab["seed-lab"]["ghost"], str(tmp_path / "again"))
    assert written == seed_lab["seed-lab"]["written"]


# --- The role, end to end through the real inventory plugin ------------------------------------------

def _inventory(tmp_path, ghost, extra):
    inv = tmp_path / "inv"
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "lab.seedfate.yml").write_text("plugin: seed.fate.ghost_nodes\nghost_dir: %s\n" % ghost)
    secrets = dict((pid, L.fixed_secrets(pid)) for pid in ("10000", "9999", "8888"))
    gv = {"seedfate_build_dir": str(tmp_path / "build"),
          "ansible_python_interpreter": "{{ ansible_playbook_python }}",
          "fate_config_image_prefix": L.TEST_IMAGES["prefix"],
          "fate_config_image_overrides": L.TEST_IMAGES["overrides"],
          "fate_config_secrets": secrets}
    gv.update(extra)
    (inv / "group_vars" / "all" / "lab.yml").write_text(yaml.safe_dump(gv))
    return str(inv)


def _playbook(inv, *args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inv,
                           os.path.join(REPO, "playbooks", "config.yml")] + list(args),
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def _recap_changed(out):
    return sum(int(n) for n in re.findall(r"changed=(\d+)", out.split("PLAY RECAP")[-1]))


@pytest.mark.slow
def test_role_renders_the_golden_bundles(seed_lab, tmp_path):
    plugin = os.path.join(REPO, "collections", "ansible_collections", "seed", "fate", "plugins", "inventory",
                          "ghost_nodes.py")
    if not os.path.exists(plugin):
        pytest.skip("the seed.fate.ghost_nodes inventory plugin is not in this tree yet")
    inv = _inventory(tmp_path, seed_lab["seed-lab-exchange"]["ghost"],
                     {"fate_config_exchange": L.EXCHANGE})
    r = _playbook(inv, "--check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (tmp_path / "build").exists()
    r = _playbook(inv)
    assert r.returncode == 0, r.stdout + r.stderr
    bundles = tmp_path / "build" / "bundles"
    for name, data in seed_lab["seed-lab-exchange"]["written"].items():
        assert (bundles / name).read_bytes() == data, name
        if name.endswith(".tar"):
            assert oct((bundles / name).stat().st_mode & 0o777) == oct(fb.TAR_MODE)
    # All secrets came from fate_config_secrets: nothing generated, nothing stored but the header.
    assert not yaml.safe_load((tmp_path / "build" / "secrets" / "9999.yml").read_text())
    for secret in L.fixed_secrets("9999").values():
        assert secret not in r.stdout
    r = _playbook(inv)
    assert r.returncode == 0 and _recap_changed(r.stdout) == 0, r.stdout


@pytest.mark.slow
def test_role_one_call_reports_each_party(seed_lab, tmp_path):
    """One task renders the lab; changed, check mode and diff still speak per party."""
    inv = _inventory(tmp_path, seed_lab["seed-lab"]["ghost"], {})
    bundles = tmp_path / "build" / "bundles"
    r = _playbook(inv, "--check", "--diff")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (tmp_path / "build").exists()
    for pid in ("10000", "9999", "8888"):
        assert "+++ after: party-%s (party %s)" % (pid, pid) in r.stdout
        assert "+confs-%s: confs-%s/docker-compose.yml (new)" % (pid, pid) in r.stdout
    r = _playbook(inv)
    assert r.returncode == 0 and _recap_changed(r.stdout) == 1, r.stdout
    # One task for the whole lab: the per-party tasks (and the role's argument check) ran once.
    assert r.stdout.count("ok: [party-") + r.stdout.count("changed: [party-") == 3, r.stdout
    written = dict((p.name, p.read_bytes()) for p in bundles.iterdir())
    assert written == seed_lab["seed-lab"]["written"]
    r = _playbook(inv, "--diff")
    assert r.returncode == 0 and _recap_changed(r.stdout) == 0, r.stdout
    assert "unchanged (3 of 3 parties): party-10000, party-9999, party-8888" in " ".join(r.stdout.split())
    assert "--- before" not in r.stdout

    # One party's password changes: that party (and only its confs archive) changes.
    secrets = dict((pid, L.fixed_secrets(pid)) for pid in ("10000", "9999", "8888"))
    secrets["9999"]["mysql_password"] = "e2e-changed-pw-9999"
    extra = json.dumps({"fate_config_secrets": secrets})
    r = _playbook(inv, "--check", "--diff", "-e", extra)
    assert r.returncode == 0 and _recap_changed(r.stdout) == 1, r.stdout
    assert "+++ after: party-9999 (party 9999)" in r.stdout and "after: party-10000" not in r.stdout
    assert "+confs-9999: confs-9999/docker-compose.yml (changed)" in r.stdout
    report = " ".join(r.stdout.split())  # the YAML callback folds long lines
    assert "party-9999: confs-9999.tar changed (confs/fate_flow/conf/settings.py," in report
    assert "docker-compose.yml); serving-9999.tar unchanged" in report
    assert "unchanged (2 of 3 parties): party-10000, party-8888" in report
    assert dict((p.name, p.read_bytes()) for p in bundles.iterdir()) == written
    r = _playbook(inv, "-vvv", "--diff", "-e", extra)
    assert r.returncode == 0 and _recap_changed(r.stdout) == 1, r.stdout
    now = dict((p.name, p.read_bytes()) for p in bundles.iterdir())
    assert [k for k in sorted(now) if now[k] != written[k]] == ["confs-9999.tar"]
    for value in list(secrets["9999"].values()) + list(secrets["8888"].values()):
        assert value not in r.stdout + r.stderr
    r = _playbook(inv, "-e", extra)
    assert r.returncode == 0 and _recap_changed(r.stdout) == 0, r.stdout
