# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lab_bundles: every party of a lab in one call - same bytes as one party at a time, per-party changed,
check mode, diff, secrets, helper processes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import stat

import pytest

from ansible_collections.seed.fate.plugins.module_utils import fate_bundle as fb
from ansible_collections.seed.fate.plugins.module_utils import lab_bundles as lb
from ansible_collections.seed.fate.tests.unit.plugins.module_utils.test_fate_bundle_render import (
    CAT, IMAGES, TEMPLATES, lab, settings)


def secrets_of(pid):
    return {"mysql_root_password": "root-%s-pw" % pid, "mysql_password": "fate-%s-pw" % pid,
            "redis_password": "redis-%s-pw" % pid}


def run(tmp_path, n=3, parties=None, directory=None, secrets=None, **over):
    if parties is None:
        parties, directory = lab(n)
    args = dict(images=IMAGES, secrets=secrets if secrets is not None else
                dict((p["party_id"], secrets_of(p["party_id"])) for p in parties))
    args.update(over)
    return lb.render_lab(parties, directory, TEMPLATES, str(tmp_path / "bundles"), str(tmp_path / "secrets"), **args)


def changed_parties(result):
    return [p["party_id"] for p in result["parties"] if p["changed"]]


def test_same_bytes_as_one_party_at_a_time(tmp_path):
    """The one-call path writes exactly what fate_bundle's kind=party path renders, party by party."""
    parties, directory = lab(3)
    r = run(tmp_path, parties=parties, directory=directory)
    assert r["changed"] and changed_parties(r) == ["10000", "9999", "9998"]
    renderer = fb.Renderer(TEMPLATES, "1.3.0")
    dir_entries = fb.normalize_directory(directory)
    for party in parties:
        p = fb.normalize_party(party, CAT)
        for b in renderer.render_party(p, dir_entries, settings(), secrets_of(p["party_id"])):
            path = tmp_path / "bundles" / b.archive
            assert path.read_bytes() == fb.tar_bytes(b), b.archive
            assert stat.S_IMODE(path.stat().st_mode) == fb.TAR_MODE
    assert (tmp_path / "bundles" / "parties.conf").read_bytes() == renderer.render_parties_conf(
        dir_entries, settings())
    assert [b["project"] for b in r["bundles"]] == ["parties.conf"]


def test_rerun_changes_nothing_and_one_secret_changes_one_party(tmp_path):
    run(tmp_path)
    r = run(tmp_path)
    assert not r["changed"] and changed_parties(r) == [] and not any(b["changed"] for b in r["bundles"])
    assert lb.diff(r) == []

    secrets = dict((pid, secrets_of(pid)) for pid in ("10000", "9999", "9998"))
    secrets["9999"]["mysql_password"] = "another-fate-pw"
    before = dict((p.name, p.read_bytes()) for p in (tmp_path / "bundles").iterdir())
    r = run(tmp_path, secrets=secrets)
    assert r["changed"] and changed_parties(r) == ["9999"]
    party = [p for p in r["parties"] if p["party_id"] == "9999"][0]
    confs, serving = party["bundles"]
    assert confs["changed"] and not serving["changed"]
    # The members that carry the MySQL password, and the compose file (its config-hash), nothing else.
    assert confs["files_changed"] == ["confs-9999/confs/fate_flow/conf/settings.py",
                                      "confs-9999/confs/fateboard/conf/application.properties",
                                      "confs-9999/confs/meta-service/conf/meta-service.properties",
                                      "confs-9999/docker-compose.yml"]
    after = dict((p.name, p.read_bytes()) for p in (tmp_path / "bundles").iterdir())
    assert [k for k in sorted(after) if after[k] != before[k]] == ["confs-9999.tar"]
    assert lb.summary(r) == [
        "party-9999: confs-9999.tar changed (confs/fate_flow/conf/settings.py, "
        "confs/fateboard/conf/application.properties, confs/meta-service/conf/meta-service.properties, "
        "docker-compose.yml); serving-9999.tar unchanged",
        "unchanged (2 of 3 parties): party-10000, party-9998",
        "lab: parties.conf unchanged"]
    (d,) = lb.diff(r)
    assert d["before_header"] == "party-9999 (party 9999)"
    assert "confs-9999: confs-9999/docker-compose.yml (changed)\n" in d["after"]
    assert "another-fate-pw" not in json.dumps(dict((k, v) for k, v in r.items() if k != "secret_values"))


def test_input_change_of_one_party_changes_only_it(tmp_path):
    parties, directory = lab(3)
    run(tmp_path, parties=parties, directory=directory)
    moved = copy.deepcopy(parties)
    moved[2]["fateboard_port"] = 19999
    r = run(tmp_path, parties=moved, directory=directory)
    assert changed_parties(r) == ["9998"]
    confs = r["parties"][2]["bundles"][0]
    # FATEBoard's own port setting and the compose file publishing it (and hashing that config).
    assert confs["files_changed"] == ["confs-9998/confs/fateboard/conf/application.properties",
                                      "confs-9998/docker-compose.yml"]


def test_check_mode_writes_nothing_and_says_what_would_change(tmp_path):
    r = run(tmp_path, check_mode=True)
    assert r["changed"] and changed_parties(r) == ["10000", "9999", "9998"]
    assert all(p["secrets_changed"] for p in r["parties"])
    assert not (tmp_path / "bundles").exists() and not (tmp_path / "secrets").exists()
    diffs = lb.diff(r)
    assert [d["before_header"] for d in diffs] == ["party-10000 (party 10000)", "party-9999 (party 9999)",
                                                   "party-9998 (party 9998)", "lab"]
    # New archives: their members are all new, nothing was there before.
    assert "confs-9999: confs-9999/confs/proxy/conf/route_table.json (new)\n" in diffs[1]["after"]
    assert "secrets: %s (written" % (tmp_path / "secrets" / "9999.yml") in diffs[1]["after"]
    assert "lab: parties.conf created" in lb.summary(r)

    run(tmp_path)
    secrets = dict((pid, secrets_of(pid)) for pid in ("10000", "9999", "9998"))
    secrets["10000"]["redis_password"] = "another-redis-pw"
    before = dict((p.name, (p.read_bytes(), p.stat().st_mtime_ns)) for p in (tmp_path / "bundles").iterdir())
    r = run(tmp_path, secrets=secrets, check_mode=True)
    assert changed_parties(r) == ["10000"]
    assert before == dict((p.name, (p.read_bytes(), p.stat().st_mtime_ns)) for p in (tmp_path / "bundles").iterdir())
    # Still nothing to do for the real inputs: check mode changed nothing on disk.
    assert not run(tmp_path)["changed"]


def test_generated_secrets_stored_private_and_reused(tmp_path):
    r = run(tmp_path, secrets={})
    assert all(p["secrets_changed"] for p in r["parties"])
    folder = tmp_path / "secrets"
    assert stat.S_IMODE(folder.stat().st_mode) == fb.SECRETS_DIR_MODE
    for pid in ("10000", "9999", "9998"):
        f = folder / ("%s.yml" % pid)
        assert stat.S_IMODE(f.stat().st_mode) == fb.SECRETS_MODE
        for value in [line.split(": ")[1].strip('"') for line in f.read_text().splitlines()[1:]]:
            assert value not in json.dumps(dict((k, v) for k, v in r.items() if k != "secret_values"))
    r = run(tmp_path, secrets={})
    assert not r["changed"] and not any(p["secrets_changed"] for p in r["parties"])
    # A loosened secrets file is a change for that party only.
    os.chmod(str(folder / "9999.yml"), 0o644)
    r = run(tmp_path, secrets={})
    assert changed_parties(r) == ["9999"] and r["parties"][1]["secrets_changed"]
    assert stat.S_IMODE((folder / "9999.yml").stat().st_mode) == fb.SECRETS_MODE


def test_user_secrets_masked_and_keys_may_be_ints(tmp_path):
    parties, directory = lab(2)
    r = run(tmp_path, parties=parties, directory=directory, secrets={9999: {"mysql_password": "vault-given-pw"}})
    assert r["secret_values"] == {"vault-given-pw"}
    assert "vault-given-pw" in (tmp_path / "bundles" / "confs-9999.tar").read_bytes().decode("utf-8", "replace")
    assert lb.mask({"a": ["x vault-given-pw y"], "b": 3}, {"vault-given-pw"}) == {"a": ["x %s y" % lb.MASK], "b": 3}
    assert lb.mask("nothing", set()) == "nothing"
    with pytest.raises(fb.BundleError) as err:
        run(tmp_path, parties=parties, directory=directory, secrets={"9999": "not-a-mapping"})
    assert "fate_config_secrets[9999]" in str(err.value) and "not-a-mapping" not in str(err.value)


def test_bad_lab_or_bad_party_writes_nothing(tmp_path):
    parties, directory = lab(3)
    bad = copy.deepcopy(parties)
    bad[2]["clusters"]["training"]["proxy"]["address"] = bad[0]["clusters"]["training"]["proxy"]["address"]
    with pytest.raises(fb.BundleError) as err:
        run(tmp_path, parties=bad, directory=directory)
    assert "reserved twice" in str(err.value)
    assert not (tmp_path / "bundles").exists() and not (tmp_path / "secrets").exists()
    # A party whose secrets file is broken stops the lab before any party is written.
    (tmp_path / "secrets").mkdir(mode=0o700)
    (tmp_path / "secrets" / "9998.yml").write_text("mysql_password: [unclosed\n")
    with pytest.raises(fb.BundleError) as err:
        run(tmp_path, parties=parties, directory=directory, secrets={})
    assert "9998.yml is not valid YAML" in str(err.value)
    assert not (tmp_path / "bundles").exists()
    assert sorted(os.listdir(str(tmp_path / "secrets"))) == ["9998.yml"]
    # Published ports: the default FATEBoard port counts in the collision check.
    clash = copy.deepcopy(parties)
    clash[0]["fateboard_port"] = 18081
    with pytest.raises(fb.BundleError) as err:
        run(tmp_path, parties=clash, directory=directory)
    assert "published port collision" in str(err.value)


@pytest.mark.parametrize("workers", [2, 3])
def test_helper_processes_give_the_same_bytes(tmp_path, workers):
    n = lb.PARTIES_PER_WORKER * workers
    parties, directory = lab(n)
    one = run(tmp_path / "one", parties=parties, directory=directory, workers=1)
    many = run(tmp_path / "many", parties=parties, directory=directory, workers=workers)
    assert [p["party_id"] for p in many["parties"]] == [str(p["party_id"]) for p in parties]
    for a, b in zip(one["parties"], many["parties"]):
        assert [x["sha256"] for x in a["bundles"]] == [x["sha256"] for x in b["bundles"]]
    names = sorted(os.listdir(str(tmp_path / "one" / "bundles")))
    assert names == sorted(os.listdir(str(tmp_path / "many" / "bundles")))
    for name in names:
        assert (tmp_path / "one" / "bundles" / name).read_bytes() == (tmp_path / "many" / "bundles" / name).read_bytes()


def test_helper_process_errors_reach_the_caller(tmp_path, monkeypatch):
    """A party failing in a helper process fails the lab with its message, and nothing is written."""
    parties, directory = lab(2 * lb.PARTIES_PER_WORKER)
    real = fb.Renderer.render_party

    def failing(self, party, *args):
        if party["party_id"] == str(parties[-1]["party_id"]):
            raise fb.BundleError("template training/x.j2: boom for party %s" % party["party_id"])
        return real(self, party, *args)
    monkeypatch.setattr(fb.Renderer, "render_party", failing)
    calls = []
    real_forked = lb._forked

    def counting(*args):
        calls.append(1)
        return real_forked(*args)
    monkeypatch.setattr(lb, "_forked", counting)
    with pytest.raises(fb.BundleError) as err:
        run(tmp_path, parties=parties, directory=directory, workers=2)
    assert calls == [1]  # the failing party was in the helper's share
    assert "boom for party %s" % parties[-1]["party_id"] in str(err.value)
    assert not (tmp_path / "bundles").exists() and not (tmp_path / "secrets").exists()


def test_no_fork_falls_back_to_this_process(tmp_path, monkeypatch):
    parties, directory = lab(2 * lb.PARTIES_PER_WORKER)
    monkeypatch.setattr(lb, "_forked", lambda *args: None)
    r = run(tmp_path, parties=parties, directory=directory, workers=2)
    assert len(changed_parties(r)) == len(parties)
    assert len(os.listdir(str(tmp_path / "bundles"))) == 2 * len(parties) + 1


def test_exchange_and_parties_conf(tmp_path):
    ex = {"address": "10.150.0.90", "network": "lab_net_150_net0", "gateway": "10.150.0.254"}
    r = run(tmp_path, exchange=ex)
    assert [b["project"] for b in r["bundles"]] == ["parties.conf", "confs-exchange"]
    assert (tmp_path / "bundles" / "confs-exchange.tar").exists()
    assert "exchangeip=10.150.0.90\n" in (tmp_path / "bundles" / "parties.conf").read_text()
    assert not run(tmp_path, exchange=ex)["changed"]
    assert not run(tmp_path, exchange=ex, parties_conf=False)["bundles"][0]["changed"]
