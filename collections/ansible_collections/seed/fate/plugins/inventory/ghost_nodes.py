# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ghost_nodes
short_description: FATE parties and components of a seed.fate lab, from the skeleton's ghost files
version_added: 0.1.0
author:
  - seed.fate contributors (!UNKNOWN)
description:
  - Builds the inventory of a seed.fate lab from the files the skeleton stage writes (the seedemu fork's
    format) - C(GhostNodes.json), C(AutonomousSystems.json), the party layout C(pre_party_list.json)
    and C(lab.json).
  - One B(party host) C(party-<id>) per FATE party (group C(fate_parties)), where the party's compose
    projects run; by default the controller itself (O(party_connection)).
  - One B(component host) per placed component, named by its seedemu NodeId (for example
    C(hnode_152_proxy), group C(fate_components)), reachable through the docker connection once the
    party is deployed.
  - "Groups: C(fate_parties), C(fate_components), C(party_<id>) (the party host and its components),
    C(as_<asn>), C(component_<name>) (with C(-) written C(_)), C(cluster_training), C(cluster_serving)."
  - The components come from the seed.fate version catalogue (C(plugins/module_utils/fate_versions.py))
    of the lab's FATE version (O(fate_version)). Every component of the version gets its
    C(component_<name>) group (empty until the skeleton placed it), and a layout component the version
    does not have is an error. Party hosts get C(seedfate_fate_version).
  - Host variables are those of the C(Inventory) section of C(docs/contracts.md) in this collection;
    C(seedfate_party_directory) (every party's proxy, python and serving addresses, layout order) is a
    plain list, a variable of the group C(fate_parties) set once, so it reads the same from every host,
    C(hostvars['party-<id>']) included; each party host also has its own entry as C(seedfate_party_entry).
  - "Party hosts carry the names the roles use, computed once (C(plugins/module_utils/naming.py)):
    C(seedfate_projects) (compose project per cluster, C({training: confs-<id>, serving: serving-<id>, exchange: confs-exchange})),
    C(seedfate_containers) and C(seedfate_pod_containers) (C({cluster: {component: container}}) of the
    party's components and of the network pods that carry their addresses)."
  - Values read from the skeleton's files are marked unsafe, so they are never templated.
  - Uses a YAML configuration file whose name ends with C(.seedfate.yml) or C(.seedfate.yaml) (or is
    C(seedfate.yml)/C(seedfate.yaml)).
extends_documentation_fragment:
  - ansible.builtin.constructed
notes:
  - The files must be consistent; anything else is an error that names the file and the entry - a
    missing file or key, invalid JSON, a layout NodeId that GhostNodes.json does not have, a NodeId
    placed twice or a component listed twice for a party, two nodes with one address, an address that
    is not IPv4 or lies outside its network's prefix, a party without a training proxy.
  - "Values follow the collection's one validator (C(plugins/module_utils/validate.py), C(docs/contracts.md)
    \"Values\"): party ids 1 to 2^31-1 and ASNs 1 to 2^32-1 as ASCII decimals without blanks, sign or
    leading zeros; addresses as dotted-quad strings, private, neither the network nor the broadcast address
    of their prefix; prefixes private (never loopback, link-local or public); names of letters, digits,
    C(_) and C(-)."
  - "A broken lab fails the run only when Ansible treats an unparsed source as an error: the repository's
    C(ansible.cfg) sets C([inventory] any_unparsed_is_failed = true) (otherwise Ansible warns and goes on
    with no parties)."
  - "The gateway of a component is the address, on the component's network, of its AS's first router
    by name (string order) in C(AutonomousSystems.json). Without that
    file the ghost's own C(ip route add default via) start command and C(/ifinfo.txt) are used."
  - "Both spellings of the fork's software key (C(Sofewares), C(Softwares)) and string booleans
    (C(\"True\")) are accepted."
options:
  plugin:
    description: Marks the file as this plugin's configuration.
    type: str
    required: true
    choices: [seed.fate.ghost_nodes]
  ghost_dir:
    description:
      - Folder holding the skeleton's outputs (C(<build>/ghost)). A relative path is resolved against the
        folder of the configuration file.
      - Supplies C(GhostNodes.json), C(AutonomousSystems.json) (optional), C(pre_party_list.json) and
        C(lab.json) (optional) unless the C(*_file) options name other files.
      - Either O(ghost_dir) or both O(ghost_nodes_file) and O(party_layout_file) are required.
    type: str
  ghost_nodes_file:
    description:
      - The fork's C(GhostNodes.json). A relative path is resolved against O(ghost_dir) when that is
        set, else against the folder of the configuration file.
    type: str
  autonomous_systems_file:
    description:
      - The fork's C(AutonomousSystems.json), which gives network prefixes and router addresses. Resolved
        like O(ghost_nodes_file).
      - When not set, C(AutonomousSystems.json) beside the ghost nodes file is used if it exists. When set,
        the file must exist.
    type: str
  party_layout_file:
    description:
      - The party layout (C(pre_party_list.json)). Resolved like O(ghost_nodes_file).
      - Party order in this file is the party order everywhere (KubeFATE's C(partylist)).
    type: str
  layout_format:
    description:
      - Form of the party layout.
      - "V(nested): C({\"training\": {\"<id>\": {\"<component>\": [\"<NodeId>\"]}}, \"serving\": {...}})."
      - "V(flat), the older form: C({\"<id>\": {\"<component>\": [\"<NodeId>\"]}}), training only."
      - V(auto) tells them apart by the top-level keys.
    type: str
    default: auto
    choices: [auto, nested, flat]
  compose_project:
    description:
      - Compose project of the skeleton network, which prefixes the docker network names
        (C(<project>_net_<asn>_<net>)).
      - When not set, C(compose_project) of C(lab.json) beside the ghost nodes file; without that file,
        V(output) (the folder name a user's own seedemu program compiles into).
    type: str
  fate_version:
    description:
      - FATE version of the lab, which decides the components the layout may hold and the groups made.
      - When not set, C(fate_version) of C(lab.json) beside the ghost nodes file (the skeleton writes it for
        versions other than 1.3.0); without it V(1.3.0). An unknown version is an error listing the
        supported ones.
    type: str
  allow_missing:
    description:
      - What to do when the skeleton has not written its outputs yet (none of the ghost nodes and layout
        files exists). V(false) is an error.
      - "V(true) warns C(no skeleton outputs at <path>: run playbooks/network.yml first) and adds no party
        or component hosts (the groups exist, empty)."
      - Outputs that exist only in part are always an error.
    type: bool
    default: false
  party_connection:
    description:
      - Variables every party host gets (connection settings); by default the controller itself.
      - These come from this configuration file and are not marked unsafe, so they may be templates.
    type: dict
    default:
      ansible_connection: local
  party_overrides:
    description:
      - Per party id, variables that replace or add to O(party_connection) for that party host, for
        example C(ansible_host), C(ansible_user), C(ansible_connection).
      - An id that is not in the layout is reported with a warning.
    type: dict
    default: {}
  component_connection:
    description: C(ansible_connection) of the component hosts (the FATE containers).
    type: str
    default: community.docker.docker
  target:
    description:
      - The lab's deployment target (C(docs/multihost.md)). V(local) (one Docker engine) adds nothing to the
        inventory. V(swarm) gives every party host and component host C(seedfate_docker_host_name), the inventory
        host (group C(docker_hosts)) whose engine runs the party, from O(placement).
      - When neither this option nor E(SEEDFATE_TARGET) is set, the lab's own C(seedfate_target) is used - as the
        group C(all) has it in an inventory source parsed before this one, or in C(group_vars/all) beside this
        file or beside an earlier source (the same variable the roles read, written once); else V(local).
    type: str
    choices: [local, swarm]
    env:
      - name: SEEDFATE_TARGET
  placement:
    description:
      - "Under O(target=swarm), where each party runs - C({ix: <docker host>, ases: {<asn>: <docker host>},
        parties: {<party id>: <docker host>}}); a party follows its AS's host unless C(parties) names it."
      - When not set, the lab's own C(seedfate_placement), found like C(seedfate_target) (see O(target)).
      - An AS with a party but no Docker host is an error naming the field and the file.
      - A three-machine inventory is shown in C(docs/multihost.md) of this collection.
      - "Component hosts get C(ansible_docker_extra_args: -H <url>), a template read when a task runs:
        C(<url>) is the Docker host's C(seedfate_docker_host_from_controller), else its C(seedfate_docker_host)
        (the URL is written once, on the Docker host). Party hosts get no environment from here: the roles
        (through C(seed.fate.target), operation C(party)) point docker at C(seedfate_docker_host)."
    type: dict
"""

EXAMPLES = r"""
---
# inventories/default/lab.seedfate.yml: the built-in lab, before and after the skeleton stage.
plugin: seed.fate.ghost_nodes
ghost_dir: ../../build/default/ghost
allow_missing: true

---
# The files of a user's own seedemu fork run (compose project "output", flat layout).
plugin: seed.fate.ghost_nodes
ghost_nodes_file: /home/seed/lab/ghost/GhostNodes.json
autonomous_systems_file: /home/seed/lab/ghost/AutonomousSystems.json
party_layout_file: /home/seed/lab/pre_party_list.json
layout_format: flat
compose_project: output

---
# Party 8888 runs on another Docker host reached over SSH; group hosts by AS of their proxy.
plugin: seed.fate.ghost_nodes
ghost_dir: ../../build/default/ghost
party_overrides:
  8888:
    ansible_connection: ssh
    ansible_host: 192.0.2.18
    ansible_user: fate
keyed_groups:
  - prefix: party_as
    key: seedfate_asn | string
groups:
  has_serving: "'serving' in (seedfate_clusters | default({}))"
compose:
  fate_proxy_address: seedfate_clusters.training.proxy.address if seedfate_clusters is defined else seedfate_address
"""

import os

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable
from ansible.utils.unsafe_proxy import wrap_var
from ansible.utils.vars import combine_vars
from ansible.vars.plugins import get_vars_from_inventory_sources

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19: every string is a template
    def trust_as_template(value):
        return value

from ansible_collections.seed.fate.plugins.module_utils import fate_versions
from ansible_collections.seed.fate.plugins.module_utils import ghost_model
from ansible_collections.seed.fate.plugins.module_utils import naming
from ansible_collections.seed.fate.plugins.module_utils import target as target_mod
from ansible_collections.seed.fate.plugins.module_utils import validate

SUFFIXES = (".seedfate.yml", ".seedfate.yaml")
BASE_NAMES = ("seedfate.yml", "seedfate.yaml")
BASE_GROUPS = ("fate_parties", "fate_components", "cluster_%s" % naming.TRAINING, "cluster_%s" % naming.SERVING)
# Under target swarm: how a component host's docker connection reaches its party's engine, read when a task runs
# (the URL lives once, on the Docker host; from the controller it may differ, e.g. ssh://, hence _from_controller).
COMPONENT_DOCKER_ARGS = ("-H {{ hostvars[seedfate_docker_host_name].seedfate_docker_host_from_controller"
                         " | default(hostvars[seedfate_docker_host_name].seedfate_docker_host) }}")


def _unsafe(value):
    """Mark strings read from the skeleton's files unsafe, recursively, in place.

    Only a string with a brace can be a template, so only those are wrapped (as community.docker
    does): at 3,600 hosts wrapping every string costs more than everything else.
    """
    if isinstance(value, dict):
        for k, v in value.items():
            value[k] = _unsafe(v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            value[i] = _unsafe(v)
    elif isinstance(value, str) and ("{" in value or "}" in value):
        return wrap_var(value)
    return value


class InventoryModule(BaseInventoryPlugin, Constructable):
    """Parties and FATE components of a seed.fate lab."""

    NAME = "seed.fate.ghost_nodes"

    def verify_file(self, path):
        if not super(InventoryModule, self).verify_file(path):
            return False
        return path.endswith(SUFFIXES) or os.path.basename(path) in BASE_NAMES

    def _sources(self, config_path):
        """Paths of the files to read: (ghost_nodes, autonomous_systems or None, layout, lab.json, where)."""
        base = os.path.dirname(os.path.abspath(config_path))

        def resolve(value, against):
            value = os.path.expanduser(value)
            return os.path.normpath(value if os.path.isabs(value) else os.path.join(against, value))

        ghost_dir = self.get_option("ghost_dir")
        if ghost_dir:
            ghost_dir = resolve(ghost_dir, base)
        files_base = ghost_dir or base
        names = {}
        for option, default in (("ghost_nodes_file", naming.GHOST_NODES_FILE),
                                ("party_layout_file", naming.PARTY_LAYOUT_FILE)):
            value = self.get_option(option)
            if value:
                names[option] = resolve(value, files_base)
            elif ghost_dir:
                names[option] = os.path.join(ghost_dir, default)
            else:
                raise AnsibleParserError("%s: set ghost_dir, or both ghost_nodes_file and party_layout_file "
                                         "(%s is missing)" % (config_path, option))
        ghost_nodes, layout = names["ghost_nodes_file"], names["party_layout_file"]
        ghost_folder = os.path.dirname(ghost_nodes)
        as_option = self.get_option("autonomous_systems_file")
        if as_option:
            systems = resolve(as_option, files_base)
        else:
            systems = os.path.join(ghost_folder, naming.AUTONOMOUS_SYSTEMS_FILE)
            if not os.path.exists(systems):
                systems = None
        lab_file = os.path.join(ghost_folder, naming.LAB_METADATA_FILE)
        return ghost_nodes, systems, layout, lab_file, ghost_dir or ghost_folder

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        # Everything is read and checked before the inventory is touched: a broken lab adds nothing.
        overrides = self._overrides(path)
        ghost_nodes, systems, layout, lab_file, where = self._sources(path)
        present = [p for p in (ghost_nodes, layout) if os.path.exists(p)]
        try:
            version = self._fate_version(lab_file)
        except ghost_model.GhostModelError as exc:
            raise AnsibleParserError("%s (inventory source %s)" % (exc, path))
        if not present and self.get_option("allow_missing"):
            self.display.warning("no skeleton outputs at %s: run playbooks/network.yml first" % where)
            self._add_base_groups(fate_versions.get(version))
            return

        try:
            layout_format = self.get_option("layout_format")
            lab = ghost_model.load_lab(ghost_nodes, layout, systems, layout_format, version)
            project = self.get_option("compose_project")
            if project:
                project = ghost_model._checked(validate.compose_project, path, "compose_project", project,
                                               "compose_project")
            project = project or ghost_model.read_compose_project(lab_file) or naming.SEEDEMU_DEFAULT_PROJECT
        except ghost_model.GhostModelError as exc:
            raise AnsibleParserError("%s (inventory source %s)" % (exc, path))
        docker_hosts = self._docker_hosts(path, lab)
        self._populate(lab, project, overrides, version, docker_hosts)

    def _lab_vars(self, path):
        """The lab's variables of group ``all`` as known while parsing: those of earlier inventory sources, then
        those of ``group_vars/all`` beside this file and beside earlier sources (vars plugins), with where they
        may come from (for messages)."""
        group = self.inventory.groups.get("all")
        found = dict(group.get_vars()) if group is not None else {}
        # Files and folders only: the inventory manager records a folder's parse as None, and a host list
        # ("a,b") is no place.
        sources = [s for s in (getattr(self.inventory, "processed_sources", None) or []) if s and os.path.exists(s)]
        if path not in sources:
            sources.append(path)
        if group is not None:
            found = combine_vars(found, get_vars_from_inventory_sources(self.loader, sources, [group], "all"))
        folders = []
        for source in sources:
            folder = source if os.path.isdir(source) else os.path.dirname(source)
            for name in ("all.yml", "all.yaml", "all.json", "all"):
                candidate = os.path.join(folder, "group_vars", name)
                if os.path.exists(candidate) and candidate not in folders:
                    folders.append(candidate)
        where = " or ".join(folders) if folders else "the inventory's group all"
        return found, where

    def _docker_hosts(self, path, lab):
        """{party id: its Docker host's inventory name} under target swarm; None under local."""
        lab_vars, lab_where = None, None
        target = self.get_option("target")
        where = path
        if target is None:
            lab_vars, lab_where = self._lab_vars(path)
            target, where = lab_vars.get("seedfate_target"), lab_where
        try:
            target = target_mod.check_target(target, where)
            if target != "swarm":
                return None
            placement, where = self.get_option("placement"), path
            if placement is None:
                if lab_vars is None:
                    lab_vars, lab_where = self._lab_vars(path)
                placement, where = lab_vars.get("seedfate_placement"), lab_where
            if placement is None:
                raise target_mod.PlacementError(
                    "%s: seedfate_target is swarm but seedfate_placement is not set (set it beside seedfate_target, "
                    "or the option placement of %s)" % (where, path))
            placement = target_mod.check_placement(placement, where)
            hosts = dict((p.party_id, target_mod.party_docker_host(placement, p.party_id, p.asn, where))
                         for p in lab.parties)
        except target_mod.PlacementError as exc:
            raise AnsibleParserError("%s (inventory source %s)" % (exc, path))
        known = self.inventory.groups.get("docker_hosts")
        if known is not None and known.get_hosts():
            names = set(h.name for h in known.get_hosts())
            for party_id, host in sorted(hosts.items()):
                if host not in names:
                    raise AnsibleParserError(
                        "%s: seedfate_placement puts party %s on %s, which is not in the group docker_hosts (%s) "
                        "(inventory source %s)" % (where, party_id, host, ", ".join(sorted(names)), path))
        return hosts

    def _fate_version(self, lab_file):
        """The option, else lab.json's fate_version, else the catalogue's default; checked."""
        version = self.get_option("fate_version") or ghost_model.read_fate_version(lab_file) \
            or fate_versions.DEFAULT_VERSION
        try:
            fate_versions.get(version)
        except fate_versions.UnsupportedVersion as exc:
            raise ghost_model.GhostModelError("fate_version", None, str(exc))
        return str(version)

    def _overrides(self, path):
        """party_overrides keyed by the party id as a string (YAML may give ints)."""
        overrides = {}
        for key, value in (self.get_option("party_overrides") or {}).items():
            if not isinstance(value, dict):
                raise AnsibleParserError("%s: party_overrides: the entry of party %s must be a dictionary of "
                                         "variables, got %r" % (path, key, value))
            overrides[str(key)] = value
        return overrides

    def _add_base_groups(self, catalogue, directory=()):
        # The groups exist even when empty, so that plays on them match nothing rather than fail.
        for group in BASE_GROUPS:
            self.inventory.add_group(group)
        for cluster in fate_versions.clusters(catalogue):
            if cluster == naming.EXCHANGE:
                continue
            for comp in fate_versions.components(catalogue, cluster):
                self.inventory.add_group("component_%s" % naming.group_safe(comp))
        # The directory is a plain list, set once on the group. A template assembling it from every party
        # host (as before) needs `hostvars`, which Ansible does not give a template read through
        # hostvars['party-<id>'] from another host: that read failed with "'hostvars' is undefined".
        self.inventory.set_variable("fate_parties", "seedfate_party_directory", list(directory))

    def _populate(self, lab, project, overrides, version, docker_hosts=None):
        strict = self.get_option("strict")
        compose = self.get_option("compose")
        groups = self.get_option("groups")
        keyed_groups = self.get_option("keyed_groups")
        connection = self.get_option("party_connection") or {}
        component_connection = self.get_option("component_connection")
        inventory = self.inventory

        directory = _unsafe(ghost_model.party_directory(lab.parties, lab.catalogue))
        self._add_base_groups(lab.catalogue, directory)

        known = set()
        for party in lab.parties:
            host = naming.party_host(party.party_id)
            party_group = "party_%s" % party.party_id
            known.add(str(party.party_id))
            inventory.add_host(host, group="fate_parties")
            inventory.add_group(party_group)
            inventory.add_child(party_group, host)
            hostvars = _unsafe(ghost_model.party_hostvars(party, project, version))
            hostvars.update(ghost_model.party_names(party))
            hostvars["seedfate_party_entry"] = directory[party.index]
            if docker_hosts is not None:
                hostvars["seedfate_docker_host_name"] = docker_hosts[party.party_id]
            extra = dict(connection)
            extra.update(overrides.get(str(party.party_id)) or {})
            self._set_vars(host, hostvars)
            # Connection settings come from the configuration file, not from the skeleton: set them
            # the ordinary way, so that names are checked and templates keep working.
            for key, value in extra.items():
                inventory.set_variable(host, key, value)
            hostvars.update(extra)
            # Compose and group expressions may use the directory too, as playbooks see it.
            hostvars["seedfate_party_directory"] = directory
            self._construct(host, hostvars, compose, groups, keyed_groups, strict)

            for comps in party.clusters.values():
                for comp in comps.values():
                    name = comp.node_id
                    inventory.add_host(name, group="fate_components")
                    for group in ghost_model.component_groups(comp):
                        inventory.add_group(group)
                        inventory.add_child(group, name)
                    hostvars = _unsafe(ghost_model.component_hostvars(comp, project))
                    hostvars["ansible_connection"] = component_connection
                    if docker_hosts is not None:
                        hostvars["seedfate_docker_host_name"] = docker_hosts[party.party_id]
                        hostvars["ansible_docker_extra_args"] = trust_as_template(COMPONENT_DOCKER_ARGS)
                    self._set_vars(name, hostvars)
                    self._construct(name, hostvars, compose, groups, keyed_groups, strict)

        for unknown in sorted(set(overrides) - known):
            self.display.warning("party_overrides names party %s, which is not in %s"
                                 % (unknown, lab.sources["party_layout"]))

    def _set_vars(self, host, hostvars):
        """Give ``host`` its variables.

        Straight into the Host object's variables: the inventory wrapper of ansible-core 2.19
        re-visits every value to tag its origin and Host.set_variable re-checks every name, which
        together were most of the parse time at 3,600 hosts and add nothing here (our names are
        valid; the values are fresh, untrusted and already marked unsafe where needed).
        """
        self.inventory.get_host(host).vars.update(hostvars)

    def _construct(self, host, hostvars, compose, groups, keyed_groups, strict):
        if compose:
            self._set_composite_vars(compose, hostvars, host, strict=strict)
        if groups:
            self._add_host_to_composed_groups(groups, hostvars, host, strict=strict)
        if keyed_groups:
            self._add_host_to_keyed_groups(keyed_groups, hostvars, host, strict=strict)
