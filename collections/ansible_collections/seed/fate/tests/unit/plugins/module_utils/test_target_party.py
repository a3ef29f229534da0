# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/target.py, the parties' section: placement checks, a party's Docker host, its environment."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.seed.fate.plugins.module_utils import target as T

SRC = "inventory/group_vars/all.yml"


def test_target_names():
    assert T.check_target(None, SRC) == "local"
    assert T.check_target("", SRC) == "local"
    assert T.check_target("swarm", SRC) == "swarm"
    with pytest.raises(T.PlacementError, match=r"inventory/group_vars/all.yml: seedfate_target must be one of "
                                               r"local, swarm, got 'k8s'"):
        T.check_target("k8s", SRC)


def test_placement_normal_form_accepts_int_and_string_keys():
    p = T.check_placement({"ix": "fate-a", "ases": {253: "fate-a", "254": "fate-b"}, "parties": {"9998": "fate-c"}},
                          SRC)
    assert p == {"ix": "fate-a", "ases": {253: "fate-a", 254: "fate-b"}, "parties": {9998: "fate-c"}}
    assert T.check_placement(None, SRC) == {"ix": None, "ases": {}, "parties": {}}


@pytest.mark.parametrize("placement, message", [
    ([], r"seedfate_placement must be a dictionary \{ix, ases, parties\}"),
    ({"as": {}}, r"seedfate_placement: unknown key\(s\) as \(known: ix, ases, parties\)"),
    ({"ases": ["fate-a"]}, r"seedfate_placement.ases must be a dictionary \{<asn>: <docker host>\}"),
    ({"ases": {"AS253": "fate-a"}}, r"seedfate_placement.ases: ASN must be a decimal integer"),
    ({"parties": {0: "fate-a"}}, r"seedfate_placement.parties: party id 0 is out of range"),
    ({"ases": {253: "fate a"}}, r"seedfate_placement.ases.253: Docker host name 'fate a' must start with a letter"),
    ({"ix": 7}, r"seedfate_placement.ix: Docker host name 7"),
    ({"ases": {253: "a", "253": "b"}}, r"seedfate_placement.ases names 253 twice"),
])
def test_bad_placements_name_the_field_and_the_file(placement, message):
    with pytest.raises(T.PlacementError, match=message) as err:
        T.check_placement(placement, SRC)
    assert str(err.value).startswith(SRC + ": ")


def test_party_follows_its_as_unless_named():
    p = T.check_placement({"ases": {253: "h1", 254: "h2"}, "parties": {9999: "h3"}}, SRC)
    assert T.party_docker_host(p, 10000, 253, SRC) == "h1"
    assert T.party_docker_host(p, "9999", "254", SRC) == "h3"
    with pytest.raises(T.PlacementError) as err:
        T.party_docker_host(p, 9998, 255, SRC)
    assert str(err.value) == ("inventory/group_vars/all.yml: seedfate_placement.ases has no Docker host for AS 255, "
                              "where party 9998 lives (add seedfate_placement.ases.255 or "
                              "seedfate_placement.parties.9998)")


def test_environment_and_local_engine():
    assert T.docker_environment(None) == {}
    assert T.docker_environment("") == {}
    assert T.docker_environment("ssh://fate@b") == {"DOCKER_HOST": "ssh://fate@b"}
    assert T.engine_is_local(None) and T.engine_is_local("") and T.engine_is_local("unix:///run/x/docker.sock")
    assert not T.engine_is_local("tcp://10.0.0.12:2376") and not T.engine_is_local("ssh://fate@b")
