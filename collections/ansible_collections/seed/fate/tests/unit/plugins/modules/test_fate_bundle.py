# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fate_bundle module end to end (in-process): check mode, honest changed, diff, failures."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.seed.fate.plugins.modules import fate_bundle
from ansible_collections.seed.fate.tests.unit.plugins.module_utils.test_fate_bundle_render import IMAGES, TEMPLATES, lab


def run_module(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            fate_bundle.main()
    return json.loads(capsys.readouterr().out)


def party_args(tmp_path, **over):
    parties, directory = lab(2)
    args = dict(kind="party", template_dir=TEMPLATES, dest=str(tmp_path / "bundles"), party=parties[1],
                directory=directory, images=IMAGES, secrets_file=str(tmp_path / "secrets" / "9999.yml"))
    args.update(over)
    return args


def test_check_then_apply_then_idempotent(tmp_path, capsys):
    r = run_module(capsys, _ansible_check_mode=True, _ansible_diff=True, **party_args(tmp_path))
    assert r["changed"] and r["secrets_changed"]
    assert "confs-9999: confs-9999/docker-compose.yml" in r["diff"]["before"]
    assert not (tmp_path / "bundles").exists() and not (tmp_path / "secrets").exists()

    r = run_module(capsys, **party_args(tmp_path))
    assert r["changed"] and [b["project"] for b in r["bundles"]] == ["confs-9999", "serving-9999"]
    first = dict((b["project"], b["sha256"]) for b in r["bundles"])
    for b in r["bundles"]:
        assert os.path.exists(b["path"]) and b["changed"]

    r = run_module(capsys, _ansible_diff=True, **party_args(tmp_path))
    assert not r["changed"] and not r["secrets_changed"]
    assert dict((b["project"], b["sha256"]) for b in r["bundles"]) == first
    assert r["diff"]["before"] == ""

    # A new image tag changes the compose files only, and check mode says so without writing.
    args = party_args(tmp_path, images=dict(IMAGES, tag="other"))
    r = run_module(capsys, _ansible_check_mode=True, **args)
    assert r["changed"] and r["bundles"][0]["files_changed"] == ["confs-9999/docker-compose.yml"]
    assert not r["bundles"][1]["changed"]
    r = run_module(capsys, **party_args(tmp_path))
    assert not r["changed"]


def test_secrets_never_in_output(tmp_path, capsys):
    r = run_module(capsys, **party_args(tmp_path, secrets={"mysql_password": "vault-given-pw"}))
    assert "vault-given-pw" not in json.dumps(r)
    stored = (tmp_path / "secrets" / "9999.yml").read_text()
    for value in [line.split(": ")[1].strip('"') for line in stored.splitlines()[1:]]:
        assert value not in json.dumps(r)


def test_unknown_version_fails_listing_supported(tmp_path, capsys):
    r = run_module(capsys, **party_args(tmp_path, fate_version="2.0.0"))
    assert r["failed"] and "supported: 1.3.0" in r["msg"]


def test_lab_check_writes_nothing_and_fails_clearly(tmp_path, capsys):
    parties, directory = lab(2)
    r = run_module(capsys, kind="lab", parties=parties, directory=directory)
    assert not r["changed"] and r["parties"] == ["10000", "9999"]
    parties[1]["serving"] = True
    del parties[1]["clusters"]["serving"]
    r = run_module(capsys, kind="lab", parties=parties, directory=directory)
    assert r["failed"] and "party-9999" in r["msg"] and "serving is requested" in r["msg"]
    r = run_module(capsys, kind="lab", parties=lab(2)[0], directory=directory,
                   exchange={"network": "n", "gateway": "10.0.0.1"})
    assert r["failed"] and "needs an address" in r["msg"]


def test_parties_conf_and_exchange(tmp_path, capsys):
    _parties, directory = lab(2)
    ex = {"address": "10.150.0.90", "network": "lab_net_150_net0", "gateway": "10.150.0.254"}
    common = dict(template_dir=TEMPLATES, dest=str(tmp_path), directory=directory, exchange=ex, images=IMAGES)
    r = run_module(capsys, kind="parties_conf", **common)
    assert r["changed"]
    text = (tmp_path / "parties.conf").read_text()
    assert "partylist=(10000 9999)\n" in text and "exchangeip=10.150.0.90\n" in text
    assert not run_module(capsys, kind="parties_conf", **common)["changed"]
    r = run_module(capsys, kind="exchange", **common)
    assert r["changed"] and r["bundles"][0]["path"] == str(tmp_path / "confs-exchange.tar")
    assert not run_module(capsys, kind="exchange", **common)["changed"]


# --- FATE 2.2.0 ------------------------------------------------------------------------------------

TEMPLATES_2_2_0 = os.path.join(os.path.dirname(TEMPLATES), "2.2.0")


def lab_2_2_0(n=2):
    parties, directory = [], []
    for i in range(n):
        pid, asn = 10000 - i, 151 + i
        comps = dict((c, {"address": "10.%d.0.%d" % (asn, 71 + k), "network": "lab_net_%d_net0" % asn,
                          "gateway": "10.%d.0.254" % asn}) for k, c in enumerate(("fateflow", "rabbitmq", "nginx")))
        parties.append({"party_id": pid, "index": i, "clusters": {"training": comps}, "name": "party-%d" % pid})
        directory.append(dict([("party_id", pid), ("asn", asn)] + [(c, comps[c]["address"]) for c in comps]))
    return parties, directory


def args_2_2_0(tmp_path, **over):
    parties, directory = lab_2_2_0()
    args = dict(kind="party", fate_version="2.2.0", template_dir=TEMPLATES_2_2_0, dest=str(tmp_path / "bundles"),
                party=parties[1], directory=directory, images={"holder": "seedfate/seedemu-node:bookworm"},
                secrets_file=str(tmp_path / "secrets" / "9999.yml"))
    args.update(over)
    return args


def test_2_2_0_party_bundle_secrets_and_catalogue(tmp_path, capsys):
    import io
    import tarfile
    import yaml
    r = run_module(capsys, **args_2_2_0(tmp_path))
    assert r["changed"] and [b["project"] for b in r["bundles"]] == ["confs-9999"]
    assert r["catalogue"]["version"] == "2.2.0"
    assert r["catalogue"]["image_refs"]["fateflow"] == "seedfate/fate-flow:2.2.0"
    stored = yaml.safe_load((tmp_path / "secrets" / "9999.yml").read_text())
    assert sorted(stored) == ["rabbitmq_admin_password"]
    assert oct((tmp_path / "secrets" / "9999.yml").stat().st_mode & 0o777) == "0o600"
    assert stored["rabbitmq_admin_password"] not in json.dumps(r)
    with tarfile.open(fileobj=io.BytesIO((tmp_path / "bundles" / "confs-9999.tar").read_bytes())) as tar:
        member = tar.getmember("confs-9999/confs/rabbitmq/secrets/rabbitmq_admin_password")
        assert member.mode == 0o600
        assert tar.extractfile(member).read().decode() == stored["rabbitmq_admin_password"]
    r = run_module(capsys, **args_2_2_0(tmp_path))
    assert not r["changed"]
    # A vault-given password wins and is never stored.
    r = run_module(capsys, **args_2_2_0(tmp_path, secrets={"rabbitmq_admin_password": "vault-given-pw"}))
    assert r["changed"] and "vault-given-pw" not in (tmp_path / "secrets" / "9999.yml").read_text()
    # 1.3.0's secret keys are not 2.2.0's.
    r = run_module(capsys, **args_2_2_0(tmp_path, secrets={"mysql_password": "x" * 12}))
    assert r["failed"] and "unknown key(s) mysql_password; known: rabbitmq_admin_password" in r["msg"]


def test_2_2_0_refuses_serving_and_exchange(tmp_path, capsys):
    parties, directory = lab_2_2_0()
    party = dict(parties[1], serving=True)
    r = run_module(capsys, **args_2_2_0(tmp_path, party=party))
    assert r["failed"] and "FATE 2.2.0 has no serving cluster" in r["msg"]
    r = run_module(capsys, kind="lab", fate_version="2.2.0", parties=parties, directory=directory,
                   exchange={"address": "10.151.0.90", "network": "lab_net_151_net0", "gateway": "10.151.0.254"})
    assert r["failed"] and "FATE 2.2.0 has no exchange" in r["msg"]
    r = run_module(capsys, kind="lab", fate_version="2.2.0", parties=parties, directory=directory)
    assert not r.get("failed") and r["parties"] == ["10000", "9999"]


def test_2_2_0_directory_needs_its_own_keys(tmp_path, capsys):
    _parties, directory = lab_2_2_0()
    directory[0]["nginx"] = None
    r = run_module(capsys, **args_2_2_0(tmp_path, directory=directory))
    assert r["failed"] and "directory[0].nginx (party 10000): nginx must be an IPv4 address" in r["msg"]


def test_version_and_template_folder_must_agree(tmp_path, capsys):
    # 1.3.0's templates named for 2.2.0: refused before anything is rendered or written.
    r = run_module(capsys, **args_2_2_0(tmp_path, template_dir=TEMPLATES))
    assert r["failed"] and "FATE 2.2.0" in r["msg"] and "for clusters the catalogue does not list" in r["msg"]
    assert not (tmp_path / "bundles").exists() and not (tmp_path / "secrets").exists()


# --- issue 11: secrets never echoed, modes kept tight, warnings ---------------------------------------

def test_yaml_error_in_secrets_file_does_not_echo_the_password(tmp_path, capsys):
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    (secrets / "9999.yml").write_text('mysql_root_password: "Sup3rSecretPw"\nmysql_password: [Sup3rSecretPw2\n')
    r = run_module(capsys, **party_args(tmp_path))
    assert r["failed"]
    assert "Sup3rSecretPw" not in json.dumps(r)
    assert "9999.yml is not valid YAML at line" in r["msg"] and "content not shown" in r["msg"]


def test_loosened_secrets_folder_and_file_are_tightened_and_reported(tmp_path, capsys):
    r = run_module(capsys, **party_args(tmp_path))
    assert r["secrets_changed"]
    folder, path = tmp_path / "secrets", tmp_path / "secrets" / "9999.yml"
    assert not run_module(capsys, **party_args(tmp_path))["changed"]
    content = path.read_bytes()
    os.chmod(str(folder), 0o755)
    r = run_module(capsys, _ansible_check_mode=True, **party_args(tmp_path))
    assert r["changed"] and r["secrets_changed"]
    assert os.stat(str(folder)).st_mode & 0o7777 == 0o755      # check mode changes nothing
    r = run_module(capsys, **party_args(tmp_path))
    assert r["changed"] and r["secrets_changed"]
    assert os.stat(str(folder)).st_mode & 0o7777 == 0o700
    assert path.read_bytes() == content                        # the passwords stay
    os.chmod(str(path), 0o644)
    r = run_module(capsys, **party_args(tmp_path))
    assert r["secrets_changed"] and os.stat(str(path)).st_mode & 0o7777 == 0o600
    r = run_module(capsys, **party_args(tmp_path))
    assert not r["changed"] and not r["secrets_changed"]


def test_publish_address_on_every_interface_warns(tmp_path, capsys, monkeypatch):
    # Recorded at the module's warn (where it ends up depends on whether the process looks like the controller).
    said = []
    monkeypatch.setattr(fate_bundle.AnsibleModule, "warn", lambda self, msg, **kw: said.append(msg))
    r = run_module(capsys, **party_args(tmp_path, publish_address="0.0.0.0"))
    assert not r.get("failed"), r
    assert len(said) == 1 and "publish_address is 0.0.0.0" in said[0], said
    said[:] = []
    run_module(capsys, **party_args(tmp_path))
    assert said == []


def test_bad_values_fail_clearly_not_with_a_traceback(tmp_path, capsys):
    args = party_args(tmp_path)
    args["party"] = dict(args["party"], party_id="\u00b2")
    r = run_module(capsys, **args)
    assert r["failed"] and "party_id: party id must be a decimal integer" in r["msg"] and "exception" not in r
    r = run_module(capsys, **party_args(tmp_path, deploy_dir="/data/../etc"))
    assert r["failed"] and "deploy_dir" in r["msg"] and "'..'" in r["msg"]
    assert not (tmp_path / "bundles").exists() and not (tmp_path / "secrets").exists()
