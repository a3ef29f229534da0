"""lookup seed.fate.target_environment: the deployment target's party operation (docs/multihost.md)."""

import pytest

from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.seed.fate.plugins.lookup.target_environment import LookupModule


def lookup(variables, terms=(), **kwargs):
    loader = DataLoader()
    return LookupModule(loader=loader, templar=Templar(loader=loader)).run(list(terms), variables, **kwargs)


def test_local_sets_nothing():
    assert lookup({}) == [{}]
    assert lookup({"seedfate_target": "local", "seedfate_docker_host_name": "node2"}) == [{}]


def test_swarm_points_at_the_party_docker_host():
    variables = {"inventory_hostname": "party-9999", "seedfate_target": "swarm", "seedfate_docker_host_name": "node2",
                 "hostvars": {"node2": {"seedfate_docker_host": "unix:///run/x/node2.sock"}}}
    assert lookup(variables) == [{"DOCKER_HOST": "unix:///run/x/node2.sock"}]


@pytest.mark.parametrize("variables,message", [
    ({"seedfate_target": "cloud"}, "seedfate_target must be one of local, swarm"),
    ({"seedfate_target": "swarm"}, "party-1 has no seedfate_docker_host_name"),
    ({"seedfate_target": "swarm", "seedfate_docker_host_name": "node9", "hostvars": {}},
     "party-1 is placed on node9, which is not an inventory host"),
    ({"seedfate_target": "swarm", "seedfate_docker_host_name": "node2", "hostvars": {"node2": {}}},
     "Docker host node2 (of party-1) has no seedfate_docker_host"),
])
def test_what_is_missing_is_named(variables, message):
    variables = dict(variables, inventory_hostname="party-1")
    with pytest.raises(AnsibleLookupError) as err:
        lookup(variables)
    assert message in str(err.value)


SWARM_HOSTVARS = {
    "party-9999": {"seedfate_target": "swarm", "seedfate_docker_host_name": "node1"},
    "party-10000": {"seedfate_target": "swarm", "seedfate_docker_host_name": "node2"},
    "node1": {"seedfate_target": "swarm", "seedfate_docker_host": "unix:///run/x/node1.sock"},
    "node2": {"seedfate_target": "swarm", "seedfate_docker_host": "unix:///run/x/node2.sock",
              "seedfate_docker_host_from_controller": "ssh://fate@10.0.0.12"},
    "localhost": {"seedfate_target": "local"},
}


def test_terms_answer_for_other_party_hosts_and_docker_hosts():
    variables = {"inventory_hostname": "party-9999", "hostvars": SWARM_HOSTVARS}
    assert lookup(variables, ["party-10000", "party-9999", "node1"]) == [
        {"DOCKER_HOST": "unix:///run/x/node2.sock"}, {"DOCKER_HOST": "unix:///run/x/node1.sock"},
        {"DOCKER_HOST": "unix:///run/x/node1.sock"}]
    assert lookup(variables, ["localhost"]) == [{}]


def test_a_term_that_is_no_inventory_host_is_named():
    with pytest.raises(AnsibleLookupError, match="party-7 is not an inventory host"):
        lookup({"inventory_hostname": "party-9999", "hostvars": SWARM_HOSTVARS}, ["party-7"])


def test_from_controller_gives_the_url_the_controller_reaches_each_engine_at():
    variables = {"inventory_hostname": "party-9999", "hostvars": SWARM_HOSTVARS}
    assert lookup(variables, ["party-10000", "party-9999"], from_controller=True) == [
        {"DOCKER_HOST": "ssh://fate@10.0.0.12"}, {"DOCKER_HOST": "unix:///run/x/node1.sock"}]
    # Without it, the party side's URL (the one the party host's own tasks use).
    assert lookup(variables, ["party-10000"]) == [{"DOCKER_HOST": "unix:///run/x/node2.sock"}]
