"""playbooks/site.yml refuses a party layout its verify jobs cannot use before anything starts.

No Docker, no seedemu: the first play checks the inventory's parties against the version's jobs (a hetero LR
needs guest, host and arbiter on three distinct parties), so a two-party FATE 2.2.0 lab stops with the reason
before an image is built or a network is made.
"""

import os
import subprocess
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def site(tmp_path, parties, *extra):
    inv = tmp_path / "inventory"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text("seedfate_controller:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
    build = tmp_path / "build"
    (inv / "group_vars" / "all.yml").write_text(yaml.safe_dump({
        "ansible_python_interpreter": sys.executable,
        "seedfate_lab_name": "preflight", "seedfate_build_dir": str(build),
        "seedfate_network_project": "sftest-preflight",
        "fate_version": "2.2.0",
        "seedfate_topology": {"internet_exchanges": [100],
                              "autonomous_systems": dict((asn, {"networks": ["net0"], "routers": {"router0": ["net0", "ix100"]}})
                                                         for asn in (150, 151, 152))},
        "seedfate_parties": parties,
    }, sort_keys=False))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    r = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(inv), os.path.join(REPO, "playbooks", "site.yml")]
                       + list(extra), cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    return r, build


def test_two_parties_are_refused_before_anything_starts(tmp_path):
    r, build = site(tmp_path, {9999: {"asn": 152}, 10000: {"asn": 151}})
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 2, out[-3000:]
    assert "the hetero LR job of FATE 2.2.0 needs guest, host and arbiter on 3 distinct parties" in out
    assert "the lab has 2 (9999, 10000)" in out and "fate_verify_hetero_lr=false" in out
    # Nothing ran after the check: no image task, no build folder.
    assert "seed.fate.images" not in out and not build.exists()


def test_roles_must_be_parties_of_the_lab(tmp_path):
    r, build = site(tmp_path, {9999: {"asn": 152}, 10000: {"asn": 151}, 8888: {"asn": 150}},
                    "-e", "fate_verify_lr_arbiter=7777")
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 2, out[-3000:]
    assert "the roles are 9999, 10000, 7777" in out and not build.exists()


def test_a_job_free_two_party_lab_passes_the_check(tmp_path):
    # Without the LR two parties are enough. The check is tagged `always`: `--tags <other>` runs it and
    # nothing of the stages (their argument validation aside), so it is looked at alone.
    r, build = site(tmp_path, {9999: {"asn": 152}, 10000: {"asn": 151}}, "-e", "fate_verify_hetero_lr=false",
                    "--tags", "sftest-nothing")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert "Check that the lab has enough parties for the toy job" in r.stdout and not build.exists()


def test_the_check_runs_whatever_the_tags(tmp_path):
    r, build = site(tmp_path, {9999: {"asn": 152}, 10000: {"asn": 151}}, "--tags", "toy_example")
    assert r.returncode == 2 and "needs guest, host and arbiter on 3 distinct parties" in " ".join(r.stdout.split())
