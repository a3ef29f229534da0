# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The record of a seedemu compile: reused only for the same inputs and untouched compiled folders."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.seed.fate.plugins.module_utils import compile_stamp as C
from ansible_collections.seed.fate.plugins.module_utils import naming


def compiled(tmp_path):
    for rel, text in (("output/docker-compose.yml", "services: {}\n"), ("output/rnode_150_router0/bird.conf", "x\n"),
                      ("ghost/GhostNodes.json", "[]\n")):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(tmp_path)


def digest(**over):
    args = dict(params={"project": "seedfate", "topology": {"ases": {"150": {}}}},
                seedemu={"package": "/x/seedemu", "version": "0.0.7", "newest_file_ns": 1},
                code={"topology": "a"}, caps={"netem": False}, software=["bird2"])
    args.update(over)
    return C.inputs_digest(**args)


def test_same_inputs_and_untouched_trees_give_the_stored_result(tmp_path):
    dest = compiled(tmp_path)
    assert C.matches(dest, digest()) is None
    C.save(dest, digest(), {"parties": {"9999": {"asn": 152}}})
    assert C.matches(dest, digest()) == {"parties": {"9999": {"asn": 152}}}
    assert stat.S_IMODE(os.stat(os.path.join(dest, C.STAMP_FILE)).st_mode) == 0o600


def test_every_input_counts():
    base = digest()
    assert digest(params={"project": "other", "topology": {"ases": {"150": {}}}}) != base
    assert digest(seedemu={"package": "/x/seedemu", "version": "0.0.7", "newest_file_ns": 2}) != base
    assert digest(code={"topology": "b"}) != base
    assert digest(caps={"netem": True}) != base
    assert digest(software=["bird2", "nginx-light"]) != base
    assert digest(environment={"SEEDFATE_TESTING_NO_IBGP": "1"}) != base
    # The order of a mapping does not.
    assert digest(params={"topology": {"ases": {"150": {}}}, "project": "seedfate"}) == base


def test_an_edited_added_or_removed_compiled_file_means_compiling_again(tmp_path):
    dest = compiled(tmp_path)
    C.save(dest, digest(), {"ok": 1})
    conf = tmp_path / "output/rnode_150_router0/bird.conf"
    conf.write_text("edited\n")
    assert C.matches(dest, digest()) is None
    conf.write_text("x\n")
    assert C.matches(dest, digest()) == {"ok": 1}
    (tmp_path / "ghost" / naming.LAB_METADATA_FILE).write_text("{}\n")
    assert C.matches(dest, digest()) is None
    os.unlink(str(tmp_path / "ghost" / naming.LAB_METADATA_FILE))
    assert C.matches(dest, digest()) == {"ok": 1}
    os.unlink(str(tmp_path / "ghost/GhostNodes.json"))
    assert C.matches(dest, digest()) is None


def test_a_broken_or_foreign_record_is_no_record(tmp_path):
    dest = compiled(tmp_path)
    path = os.path.join(dest, C.STAMP_FILE)
    with open(path, "w") as f:
        f.write("{broken")
    assert C.matches(dest, digest()) is None
    with open(path, "w") as f:
        f.write('{"format": 99, "inputs": "%s"}' % digest())
    assert C.matches(dest, digest()) is None


def test_code_identity_reads_module_sources():
    ids = C.code_identity([C, naming])
    assert set(ids) == {"compile_stamp", "naming"} and ids["compile_stamp"] != ids["naming"]
    with open(C.__file__, "rb") as f:
        assert ids["compile_stamp"] == C.sha256_text(f.read())


def test_the_compile_environment_is_seedfate_and_seedemu_variables_only():
    env = {"SEEDFATE_TESTING_NO_IBGP": "1", "SEEDEMU_PATH": "/x", "PATH": "/bin", "HOME": "/root"}
    assert C.compile_environment(env) == {"SEEDFATE_TESTING_NO_IBGP": "1", "SEEDEMU_PATH": "/x"}
