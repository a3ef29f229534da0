# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deploy stamps: a project is current only when its archive and every one of its containers are as
recorded; each way of drifting names itself. Docker is a fake ``run`` answering ``ps`` and ``inspect``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest

from ansible_collections.seed.fate.plugins.module_utils import deploy_stamp as S
from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DockerCli


class FakeDocker(object):
    """Containers by name: {name: dict(project, id, started_at, status, health)}; records the calls."""

    def __init__(self, containers):
        self.containers = containers
        self.calls = []

    def __call__(self, argv, data=None):
        self.calls.append(argv)
        if argv[1] == "ps":
            lines = ["%s %s" % (c["id"], c["project"]) for c in self.containers.values()]
            return 0, "\n".join(lines) + "\n", ""
        assert argv[1:4] == ["inspect", "--type", "container"], argv
        out = []
        for name, c in self.containers.items():
            if c["id"] in argv[4:]:
                state = {"Status": c.get("status", "running"), "StartedAt": c["started_at"]}
                if c.get("health"):
                    state["Health"] = {"Status": c["health"]}
                out.append({"Id": c["id"], "Name": "/" + name, "State": state,
                            "Config": {"Labels": {S.PROJECT_LABEL: c["project"]}}})
        return 0, json.dumps(out), ""


def lab(tmp_path):
    bundles = tmp_path / ".bundles"
    bundles.mkdir()
    (bundles / "confs-9999.tar").write_bytes(b"bundle v1")
    (bundles / "confs-10000.tar").write_bytes(b"other bundle")
    docker = FakeDocker({
        "confs-9999-fateflow-1": dict(project="confs-9999", id="a1", started_at="t1"),
        "confs-9999-fateflow-pod-1": dict(project="confs-9999", id="a2", started_at="t1", health="healthy"),
        "confs-10000-fateflow-1": dict(project="confs-10000", id="b1", started_at="t1"),
        "seedfate-lab-rnode_150_router0-1": dict(project="seedfate-lab", id="r1", started_at="t0"),
    })
    return str(bundles), docker


def cli(fake):
    return DockerCli(fake, "docker")


def test_no_stamp_is_stale_then_recorded_project_is_current(tmp_path):
    bundles, docker = lab(tmp_path)
    current, stale = S.check(cli(docker), bundles, ["confs-9999"])
    assert current == [] and stale == {"confs-9999": "no stamp of an earlier deploy"}
    assert S.record(cli(docker), bundles, ["confs-9999"]) == ["confs-9999"]
    path = S.stamp_path(bundles, "confs-9999")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = json.loads(open(path).read())
    # Only this project's containers, not the other party's nor the emulated Internet's.
    assert sorted(data["containers"]) == ["confs-9999-fateflow-1", "confs-9999-fateflow-pod-1"]
    assert S.check(cli(docker), bundles, ["confs-9999"]) == (["confs-9999"], {})
    # Recording again changes nothing.
    assert S.record(cli(docker), bundles, ["confs-9999"]) == []


def test_record_in_check_mode_writes_nothing(tmp_path):
    bundles, docker = lab(tmp_path)
    assert S.record(cli(docker), bundles, ["confs-9999"], check_mode=True) == ["confs-9999"]
    assert not os.path.exists(S.stamp_path(bundles, "confs-9999"))


@pytest.mark.parametrize("drift, reason", [
    (lambda d, b: open(os.path.join(b, "confs-9999.tar"), "wb").write(b"bundle v2"),
     "the bundle changed since it was deployed"),
    (lambda d, b: os.unlink(os.path.join(b, "confs-9999.tar")), "the bundle archive is not on the host"),
    (lambda d, b: d.containers.pop("confs-9999-fateflow-1"), "container confs-9999-fateflow-1 is gone"),
    (lambda d, b: d.containers["confs-9999-fateflow-1"].update(id="a9"),
     "container confs-9999-fateflow-1 was recreated"),
    (lambda d, b: d.containers["confs-9999-fateflow-1"].update(started_at="t2"),
     "container confs-9999-fateflow-1 was restarted"),
    (lambda d, b: d.containers["confs-9999-fateflow-1"].update(status="exited"),
     "container confs-9999-fateflow-1 is exited"),
    (lambda d, b: d.containers["confs-9999-fateflow-pod-1"].update(health="unhealthy"),
     "container confs-9999-fateflow-pod-1 is unhealthy"),
    (lambda d, b: d.containers.update({"confs-9999-extra-1": dict(project="confs-9999", id="a3", started_at="t1")}),
     "container confs-9999-extra-1 was not part of the deploy"),
])
def test_every_drift_makes_the_project_stale_with_its_reason(tmp_path, drift, reason):
    bundles, docker = lab(tmp_path)
    S.record(cli(docker), bundles, ["confs-9999", "confs-10000"])
    drift(docker, bundles)
    current, stale = S.check(cli(docker), bundles, ["confs-9999", "confs-10000"])
    assert stale == {"confs-9999": reason}
    # The other party's project is not affected by this one's drift.
    assert current == ["confs-10000"]


def test_a_stamp_of_another_format_or_broken_is_no_stamp(tmp_path):
    bundles, docker = lab(tmp_path)
    S.record(cli(docker), bundles, ["confs-9999"])
    path = S.stamp_path(bundles, "confs-9999")
    open(path, "w").write("{not json")
    assert S.check(cli(docker), bundles, ["confs-9999"])[1] == {"confs-9999": "no stamp of an earlier deploy"}
    open(path, "w").write(json.dumps({"format": 99}))
    assert S.check(cli(docker), bundles, ["confs-9999"])[1] == {"confs-9999": "no stamp of an earlier deploy"}


def test_record_refuses_a_project_without_containers_or_archive(tmp_path):
    bundles, docker = lab(tmp_path)
    with pytest.raises(RuntimeError, match="serving-9999.tar does not exist"):
        S.record(cli(docker), bundles, ["serving-9999"])
    open(os.path.join(bundles, "serving-9999.tar"), "wb").write(b"x")
    with pytest.raises(RuntimeError, match="compose project serving-9999 has no container"):
        S.record(cli(docker), bundles, ["serving-9999"])


def test_one_ps_and_one_inspect_for_all_projects(tmp_path):
    bundles, docker = lab(tmp_path)
    S.check(cli(docker), bundles, ["confs-9999", "confs-10000"])
    assert [c[1] for c in docker.calls] == ["ps", "inspect"]
    assert "r1" not in docker.calls[1]


def test_a_newly_rendered_bundle_is_stale_before_it_is_shipped(tmp_path):
    bundles, docker = lab(tmp_path)
    S.record(cli(docker), bundles, ["confs-9999"])
    shipped = S.fileio.sha256_file(os.path.join(bundles, "confs-9999.tar"))
    assert S.check(cli(docker), bundles, ["confs-9999"], {"confs-9999": shipped}) == (["confs-9999"], {})
    assert S.check(cli(docker), bundles, ["confs-9999"], {"confs-9999": "0" * 64}) == \
        ([], {"confs-9999": "a new bundle was rendered"})
