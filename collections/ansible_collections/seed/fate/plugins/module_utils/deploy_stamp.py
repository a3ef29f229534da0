# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a deployed compose project looked like right after it was deployed and found healthy.

A *stamp* is a small JSON file next to the shipped bundle (``<deploy_dir>/.bundles/<project>.deployed.json``):
the sha256 of the bundle archive that was unpacked and, for every container of the compose project, its id
and start time. A rerun of the deploy stage compares the stamp with the archive on disk and with the
containers as they are now; when nothing differs the project is *current* and the stage leaves it alone
(no unpack, no compose, no health wait). Anything else makes it *stale* and the stage does its full work:
an archive that changed, a container that is gone, was recreated, restarted, stopped or is unhealthy, or a
container that appeared.

Docker is reached through a :class:`docker_cli.DockerCli`, so this file is tested with a fake ``run``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.seed.fate.plugins.module_utils import fileio
from ansible_collections.seed.fate.plugins.module_utils.docker_cli import PROJECT_LABEL

STAMP_SUFFIX = ".deployed.json"
FORMAT = 1


def stamp_path(bundle_dir, project):
    return os.path.join(bundle_dir, project + STAMP_SUFFIX)


# A look at the engine that takes longer than this is a hung engine, not a slow one.
TIMEOUT = 60


def project_containers(docker, projects):
    """``{project: {name: {id, started_at, status, health}}}`` for every container of each project."""
    found = dict((p, {}) for p in projects)
    if not projects:
        return found
    # Repeated label filters are ANDed by docker: list every compose container with its project instead.
    out = docker.check(["ps", "-a", "--no-trunc", "--filter", "label=" + PROJECT_LABEL,
                        "--format", '{{.ID}} {{.Label "%s"}}' % PROJECT_LABEL], timeout=TIMEOUT)
    ids = sorted(set(line.split()[0] for line in out.splitlines()
                     if len(line.split()) == 2 and line.split()[1] in found))
    # A container removed between the two calls is left out, and so seen as missing.
    for c in docker.inspect(ids, kind="container", timeout=TIMEOUT):
        project = (c.get("Config", {}).get("Labels") or {}).get(PROJECT_LABEL)
        if project not in found:
            continue
        state = c.get("State") or {}
        found[project][c.get("Name", "").lstrip("/")] = {
            "id": c.get("Id"),
            "started_at": state.get("StartedAt"),
            "status": state.get("Status"),
            "health": (state.get("Health") or {}).get("Status"),
        }
    return found


def stamp_of(bundle_sha256, containers):
    return {
        "format": FORMAT,
        "bundle_sha256": bundle_sha256,
        "containers": dict((name, {"id": c["id"], "started_at": c["started_at"]})
                           for name, c in sorted(containers.items())),
    }


def read_stamp(path):
    return fileio.read_record(path, FORMAT)


def judge(stamp, bundle_sha256, containers, expected=None):
    """None when the project is as stamped, else why not (one short sentence). ``expected``: the sha256 of the
    bundle as rendered now (on the controller), when known."""
    if stamp is None:
        return "no stamp of an earlier deploy"
    if bundle_sha256 is None:
        return "the bundle archive is not on the host"
    if stamp.get("bundle_sha256") != bundle_sha256:
        return "the bundle changed since it was deployed"
    if expected is not None and expected != bundle_sha256:
        return "a new bundle was rendered"
    want = stamp.get("containers") or {}
    if not want:
        return "the stamp lists no container"
    missing = sorted(set(want) - set(containers))
    if missing:
        return "container %s is gone" % ", ".join(missing)
    extra = sorted(set(containers) - set(want))
    if extra:
        return "container %s was not part of the deploy" % ", ".join(extra)
    for name in sorted(want):
        have, had = containers[name], want[name]
        if have["id"] != had.get("id"):
            return "container %s was recreated" % name
        if have["started_at"] != had.get("started_at"):
            return "container %s was restarted" % name
        if have["status"] != "running":
            return "container %s is %s" % (name, have["status"])
        if have["health"] == "unhealthy":
            return "container %s is unhealthy" % name
    return None


def check(docker, bundle_dir, projects, expected=None):
    """``(current, stale)``: projects deployed as stamped, and ``{project: reason}`` for the others.

    ``expected``: ``{project: sha256}`` of the bundles as rendered now; a project whose deployed bundle is another
    one is stale."""
    expected = expected or {}
    containers = project_containers(docker, projects)
    current, stale = [], {}
    for project in projects:
        archive = os.path.join(bundle_dir, project + ".tar")
        digest = fileio.sha256_file(archive) if os.path.isfile(archive) else None
        why = judge(read_stamp(stamp_path(bundle_dir, project)), digest, containers[project],
                    expected.get(project) or None)
        if why is None:
            current.append(project)
        else:
            stale[project] = why
    return current, stale


def record(docker, bundle_dir, projects, check_mode=False):
    """Write the stamp of each project as it runs now; returns the projects whose stamp changed."""
    containers = project_containers(docker, projects)
    changed = []
    for project in projects:
        archive = os.path.join(bundle_dir, project + ".tar")
        if not os.path.isfile(archive):
            raise RuntimeError("%s does not exist: nothing was deployed from it" % archive)
        if not containers[project]:
            raise RuntimeError("compose project %s has no container to record" % project)
        data = stamp_of(fileio.sha256_file(archive), containers[project])
        text = json.dumps(data, indent=1, sort_keys=True) + "\n"
        if fileio.write_if_changed(stamp_path(bundle_dir, project), text, mode=0o600, check_mode=check_mode):
            changed.append(project)
    return changed
