"""lookup seed.fate.target_environment: the deployment target's party operation (docs/multihost.md)."""

import pytest

from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.seed.fate.plugins.lookup.target_environment import LookupModule


def lookup(variables):
    loader = DataLoader()
    return LookupModule(loader=loader, templar=Templar(loader=loader)).run([], variables)


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
