#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: seedemu_network
short_description: Build the emulated Internet of a FATE lab with the SEED Emulator
version_added: 0.1.0
description:
  - Turns a declarative topology (internet exchanges, autonomous systems, routers, peerings) plus the
    FATE parties into a compiled seedemu docker compose project in O(dest)/output, and reserves an
    address for every FATE component of every party ("ghost hosts") in O(dest)/ghost.
  - Alternatively runs the user's own seedemu program (O(script)) and collects its C(./output) and
    C(./ghost) folders. On upstream seedemu, where the fork's C(createGhostHost) and C(GhostPrinter) do not
    exist, the module adds stand-ins for them before running the program, so fork-style programs run
    unchanged.
  - Ghost hosts are ordinary seedemu hosts while seedemu renders, so each gets its address (C(.71) upward),
    default route and C(/etc/hosts) line; they are then kept out of the compose project (no container, no
    folder). The ghost folder holds C(GhostNodes.json) and C(AutonomousSystems.json) in the seedemu fork's
    format, the party layout C(pre_party_list.json) (nested training/serving form) and C(lab.json), which
    names the compose project.
  - The compose project name is explicit (top-level C(name:) in C(docker-compose.yml)), so the docker
    networks that FATE containers join are known in advance, C(<project>_net_<asn>_<net>).
  - Everything is rendered into a staging folder first and compared with what O(dest) holds; identical
    output is not rewritten (C(changed=false)). Otherwise C(output/) and C(ghost/) are each swapped in with a
    rename, so a failed run leaves the previous outputs intact.
  - Bad input is refused before anything is written, naming the offending field (for example
    C(topology.autonomous_systems.150.routers.router0)).
author:
  - seed.fate contributors (!UNKNOWN)
extends_documentation_fragment:
  - seed.fate.attributes
  - seed.fate.docker_cli
attributes:
  check_mode:
    support: full
    details: Renders into a temporary folder, reports whether O(dest) would change, writes nothing.
  diff_mode:
    support: full
    details: Shows the networks, routers and reserved addresses that change, and digests of changed files.
  idempotent:
    support: full
options:
  topology:
    description:
      - The emulated Internet. Keys C(internet_exchanges) (list of IX ids, or C({id, prefix})),
        C(autonomous_systems) (mapping ASN to C({networks, routers, hosts}), or a list of the same with an
        C(asn) key), C(peerings) (list of C({ix, route_server=[asns]}) or
        C({ix, a, b, relationship=peer|provider|unfiltered})).
      - C(networks) is a list of names or C({name, prefix}); an AS above 255 needs an explicit C(prefix).
        C(routers) maps a router name to the list of networks and C(ixN) it joins. C(hosts) (optional) adds
        ordinary hosts (containers), as a list of names (on the first network) or a mapping name to networks
        or to C({networks, services}).
      - C(services) (on hosts only) is a list of seedemu services the host runs, each a name or a mapping
        of C(name) and the service's options. V(web) is seedemu's C(WebService) (nginx), options C(port) (default
        V(80)) and C(index), the page's HTML, where seedemu fills C({nodeName}) and C({asn}). Only services
        whose packages the offline node image carries are offered. An unknown or repeated service, a
        malformed one or services on a router are refused before anything is compiled, naming the field.
      - An AS may have several networks and routers (a transit AS with C(r1) at one IX and C(r2) at another,
        joined by an internal network). Every AS with more than one router gets seedemu's C(Ospf) and C(Ibgp)
        layers (OSPF inside, an iBGP full mesh over the loopbacks) so routes cross it; ASes with one router
        are compiled as before.
      - Link properties (seedemu's C(setDefaultLinkProperties) and C(setLinkProperties)) - C(latency) (whole
        milliseconds; a number, or a string with C(ms) or C(s), C(0) to C(60000) ms), C(bandwidth) (bits per
        second; a number, or a string with C(bit), C(kbit), C(mbit) or C(gbit), tc's decimal units, C(1kbit) to
        C(100gbit); C(0) is refused, leave it out for an unlimited link) and C(loss) (percent, C(0) to C(100), a
        number or a string like C(1.5%)) - may be set on an internet exchange given as a mapping
        (C({id, latency, bandwidth, loss})) and on an AS network given as a mapping, for every interface on it;
        and on one interface, by writing a router's or host's join as a mapping, C({network, latency,
        bandwidth, loss}) (for example C({network=ix100, bandwidth=10mbit})), whose properties override the
        network's one by one. seedemu applies them to each interface's egress with C(tc) (C(tbf) for
        bandwidth, C(netem) for latency and loss); a latency on a network is added once per interface, so two
        hosts on it see twice the latency each way. FATE components (reserved hosts, run in pods) are not
        shaped; their network's router and hosts are.
      - Checked before anything is compiled, each error naming the field - every router joining an C(ixN)
        must belong to an AS that peers there (route server or private peering); a private peering's ASes
        must both be at its IX (the error lists the IXes they do share); a party's C(network) must be one of
        its AS's networks.
      - Mutually exclusive with O(script).
    type: dict
  parties:
    description:
      - FATE parties, mapping party id to C({asn, network, training, serving}) (or a list with an C(id) key).
        C(network) defaults to the AS's first network, C(training) to V(true), C(serving) to V(false).
        Party order is the order everywhere (KubeFATE's C(partylist)). One party per AS.
      - Required with O(topology). With O(script) it writes C(pre_party_list.json) from the program's
        ghosts; without it the program must write that file itself.
    type: raw
  script:
    description:
      - Path of a seedemu program to run instead of O(topology) (cwd is a temporary folder; seedemu is on
        C(PYTHONPATH)). It must compile C(./output) with the Docker compiler and the ghosts with
        C(GhostPrinter) into C(./ghost). A failing program fails the module with its stderr.
    type: path
  script_timeout:
    description: Seconds seedemu (or the program in O(script)) may run.
    type: int
    default: 600
  dest:
    description: The build folder. The module owns its C(output/) and C(ghost/) subfolders.
    type: path
    required: true
  project:
    description:
      - Compose project name of the emulated Internet (lowercase letters, digits, C(-), C(_)). It prefixes
        every docker network name.
    type: str
    required: true
  seedemu_path:
    description:
      - Folder of a seed-emulator checkout to import seedemu from. Defaults to the environment variable
        C(SEEDEMU_PATH), else seedemu must already be importable.
    type: path
  images:
    description:
      - V(default) lets seedemu pick its Docker Hub images. V(offline) forces O(offline_image) for every node
        and declares O(offline_software) as installed, so no node's Dockerfile runs C(apt-get).
    type: str
    choices: [default, offline]
    default: default
  offline_image:
    description: The emulator node image (built by role seed.fate.images) used with O(images=offline).
    type: str
    default: seedfate/seedemu-node:bookworm
  offline_software:
    description:
      - Packages (seedemu's names) that O(offline_image) already holds. By default they are read from the
        image's label C(seed.fate/software) (with O(docker_cli), its only use here), which role seed.fate.images
        writes; when the image is not built
        yet, seedemu's base software, C(bird2) and the packages of seedemu's common services are assumed.
      - With O(images=offline), a node that asks seedemu for anything else (a service's package, a
        real-world router's C(iptables)) would need C(apt-get) while the lab is built. The module refuses
        that before anything is written, naming each node and package and the variable that adds them to
        the image (C(images_node_software)).
    type: list
    elements: str
  skip_unchanged:
    description:
      - With a O(topology), do not run seedemu again when nothing it depends on changed since the last compile into
        O(dest) and the compiled folders are untouched; the module then answers from that compile's record,
        C(<dest>/.seedfate-compile.json), and reports no change (RV(compiled) is false).
      - What counts is every option of this module, the seedemu that would run (location, version, the time its
        files were written), the collection's own code that writes and adapts the program, the host's
        capabilities and the node image's software.
      - A O(script) is always compiled (it may read files of its own). V(false) always compiles.
    type: bool
    default: true
  isolation_guard:
    description:
      - Whether the lab is sealed (role seed.fate.network's isolation guard). Only words the warning given
        for seedemu real-world routers, which route towards the host's real network.
    type: bool
    default: true
  internet_map:
    description:
      - Add seedemu's internet map container. It is bound to 127.0.0.1 only, and it still gives anyone who
        reaches that port an unauthenticated root console on every node; keep it off unless needed.
    type: bool
    default: false
  internet_map_port:
    description: Host port (on 127.0.0.1) of the internet map.
    type: int
    default: 8080
  fate_version:
    description:
      - FATE version whose components every party reserves, from the seed.fate version catalogue
        (C(plugins/module_utils/fate_versions.py)), in the catalogue's reservation order. For example
        V(1.3.0) reserves 9 training (and 3 serving) ghosts per party, V(2.2.0) reserves C(fateflow),
        C(rabbitmq) and C(nginx) (training only; a party asking for serving is refused).
      - Written to C(lab.json) (key C(fate_version)) when it is not V(1.3.0), so the inventory plugin
        knows the version. An unknown version is refused, listing the supported ones.
    type: str
    default: 1.3.0
  host_compat:
    description:
      - V(auto) probes this host for privileged containers, the C(dummy) link type and C(netem), and adapts
        the compiled project where they are missing; every adaptation is listed in RV(host_adaptations).
        V(off) leaves seedemu's output as it is.
    type: str
    choices: [auto, "off"]
    default: auto
  host_capabilities:
    description:
      - Host capabilities to assume instead of probing, C({privileged, dummy_link, netem}) booleans
        (for tests and for building on one machine to run on another).
    type: dict
  link_properties_strict:
    description:
      - What to do when this host cannot apply a link property the lab asks for (latency and loss without the
        kernel's C(netem) qdisc, as found by O(host_compat=auto) or given in O(host_capabilities)).
      - V(false) builds the lab anyway with those properties left out, warns once for each and lists them in
        RV(link_properties) (bandwidth, shaped with C(tbf), still applies). V(true) fails before anything is
        written or built, naming each refused property.
    type: bool
    default: false
  source:
    description: Where O(topology) and O(parties) come from (for example the inventory file), quoted in errors.
    type: str
requirements:
  - seedemu, upstream U(https://github.com/seed-labs/seed-emulator) at the tested commit
    C(da525dd9bf27901374e4ed9cc052dd51125c9a5d), installed editable into the Python that runs the module
    (C(pip install -e "git+https://github.com/seed-labs/seed-emulator@da525dd9bf27901374e4ed9cc052dd51125c9a5d#egg=seedemu"),
    which needs git), or a checkout named by O(seedemu_path) / C(SEEDEMU_PATH). It is not on PyPI.
  - Python >= 3.10, PyYAML and geopy (seedemu imports them).
notes:
  - Ghost NodeIds follow the fork, C(hnode_<asn>_<component>); serving components carry the prefix
    C(Serving), for example C(hnode_152_Servingserving-proxy).
  - seedemu (upstream master) names border-router services C(brdnode_<asn>_<name>) and the route server
    C(rs_ix_ix<N>).
  - seedemu runs in a child Python process (the module's own interpreter), with C(PYTHONHASHSEED=0) so its
    output is stable, and with a light stand-in for C(inspect.stack()), which seedemu calls for every node
    option only to read its caller's name (the standard one makes large labs take seconds).
  - O(dest)/output and O(dest)/ghost belong to the module; files in them that the build does not produce are
    removed when the folder is replaced.
  - The internet map image (C(handsonsecurity/seedemu-internetmap)) comes from Docker Hub; it is not part
    of the offline image set.
seealso:
  - name: SEED Emulator
    description: The emulator this module drives.
    link: https://github.com/seed-labs/seed-emulator
"""

EXAMPLES = r"""
- name: Build the built-in three-AS lab
  seed.fate.seedemu_network:
    topology: "{{ seedfate_topology }}"
    parties: "{{ seedfate_parties }}"
    dest: "{{ seedfate_build_dir }}"
    project: "{{ seedfate_network_project }}"
    images: offline

- name: A web host in AS150 beside the FATE party (seedemu's WebService on port 8080)
  seed.fate.seedemu_network:
    topology:
      internet_exchanges: [100]
      autonomous_systems:
        150:
          networks: [net0, net1]
          routers: {router0: [net0, net1, ix100]}
          hosts:
            web: {networks: [net1], services: [{name: web, port: 8080, index: "<h1>{nodeName} in AS{asn}</h1>"}]}
        151:
          networks: [net0]
          routers: {router0: [net0, ix100]}
          hosts: {client: [net0]}
      peerings:
        - {ix: 100, route_server: [150, 151]}
    parties:
      10000: {asn: 150, network: net0}
    dest: /srv/lab
    project: mylab
    images: offline

- name: A lab whose exchange is a 10 Mbit/s, 20 ms link, one router limited further; fail where netem is missing
  seed.fate.seedemu_network:
    topology:
      internet_exchanges: [{id: 100, bandwidth: 10mbit, latency: 20ms}]
      autonomous_systems:
        150: {networks: [{name: net0, loss: 0.5}], routers: {router0: [net0, {network: ix100, bandwidth: 2mbit}]}}
        151: {networks: [net0], routers: {router0: [net0, ix100]}}
      peerings: [{ix: 100, route_server: [150, 151]}]
    parties: {}
    dest: /srv/shaped-lab
    project: shaped
    link_properties_strict: true

- name: Build from the user's own (fork-style) seedemu program
  seed.fate.seedemu_network:
    script: ~/labs/simple_SeedFATE.py
    parties:
      10000: {asn: 151, serving: true}
      9999: {asn: 152, serving: true}
    dest: /srv/lab
    project: mylab
    seedemu_path: ~/src/seed-emulator
"""

RETURN = r"""
compiled:
  description: Whether seedemu ran in this call (false when O(skip_unchanged) found the last compile current).
  returned: always
  type: bool
project:
  description: Compose project name written into C(output/docker-compose.yml) and C(ghost/lab.json).
  returned: always
  type: str
  sample: seedfate
output_dir:
  description: The compiled compose project.
  returned: always
  type: str
  sample: /work/main/build/default/output
ghost_dir:
  description: Folder of GhostNodes.json, AutonomousSystems.json, pre_party_list.json and lab.json.
  returned: always
  type: str
  sample: /work/main/build/default/ghost
networks:
  description: Docker names of the project's networks (AS networks and internet exchanges).
  returned: always
  type: list
  elements: str
  sample: [seedfate_net_150_net0, seedfate_net_ix_ix100]
ghosts:
  description: Number of reserved (ghost) hosts.
  returned: always
  type: int
  sample: 36
parties:
  description: Reserved addresses per party, cluster and component, with the party's gateway.
  returned: always
  type: dict
  sample: {"9999": {"asn": 152, "network": "net0", "prefix": "10.152.0.0/24", "gateway": "10.152.0.254",
                    "training": {"proxy": "10.152.0.72"}}}
host_adaptations:
  description: What was changed in the compiled project to run on this host (empty when nothing was needed).
  returned: always
  type: list
  elements: str
link_properties:
  description:
    - The link properties the lab asks for (from O(topology), or from the compiled C(/ifinfo.txt) files of the
      program in O(script)), split into those this host applies and those it refuses, with the reason.
    - C(where) names an internet exchange (C(ix100)), an AS network (C(AS150 net0)) or one interface
      (C(AS150 router0 on ix100); in script mode C(<node folder> <interface>)). C(what) is one property in tc's
      units (C(latency 20ms), C(bandwidth 10mbit), C(loss 1.5%)).
    - With O(host_compat=off) the host is not asked and every property is listed as applied.
  returned: always
  type: dict
  contains:
    applied:
      description: Properties that are in the compiled project.
      type: list
      elements: dict
    refused:
      description: Properties left out because this host cannot emulate them, each with C(reason).
      type: list
      elements: dict
  sample:
    applied:
      - {where: ix100, what: bandwidth 10mbit}
    refused:
      - where: ix100
        what: latency 20ms
        reason: >-
          the kernel refuses the netem qdisc (Error: Specified qdisc kind is unknown.); latency and loss need
          the netem qdisc, bandwidth (tbf) still applies
link_properties_summary:
  description: RV(link_properties) as one line per property, applied ones first (what role seed.fate.network prints).
  returned: always
  type: list
  elements: str
  sample: ["applied: bandwidth 10mbit on ix100", "refused: latency 20ms on ix100 (the kernel refuses the netem qdisc ...)"]
offline_software:
  description: The software the offline node image was taken to hold (from its label, or the defaults).
  returned: when O(images=offline)
  type: list
  elements: str
  sample: [bird2, curl, iproute2, iptables, nginx-light]
real_world_routers:
  description:
    - Compose folders of seedemu real-world routers in the project. In a sealed lab they come up but reach
      nothing outside this host; the module warns, naming them.
  returned: always
  type: list
  elements: str
  sample: [brdnode_99999_rw-real-world]
changed_files:
  description:
    - Paths (relative to O(dest)) that were, or in check mode would be, added, changed or removed
      (the first 100, then a count).
  returned: always
  type: list
  elements: str
"""

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.seed.fate.plugins.module_utils import fate_versions, ghost_export, ghost_model, naming
from ansible_collections.seed.fate.plugins.module_utils import compile_stamp, offline_image, seedemu_build
from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DOCKER_CLI_SPEC, DockerCli, DockerError, module_runner
from ansible_collections.seed.fate.plugins.module_utils import topology as topo

try:
    from ansible_collections.seed.fate.plugins.module_utils import host_compat
    HOST_COMPAT_IMPORT_ERROR = None
except ImportError:
    host_compat = None
    HOST_COMPAT_IMPORT_ERROR = traceback.format_exc()

PROJECT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
DIFF_FILE_LINES = 20
CHANGED_FILES_MAX = 100


def _capped(paths):
    if len(paths) <= CHANGED_FILES_MAX:
        return paths
    return paths[:CHANGED_FILES_MAX] + ["... and %d more" % (len(paths) - CHANGED_FILES_MAX)]


def _digest(data):
    return "absent" if data is None else "sha256:" + hashlib.sha256(data).hexdigest()[:16]


def _load_json(data):
    try:
        return json.loads(data.decode("utf-8")) if data is not None else None
    except ValueError:
        return None


def compose_networks(compose_text, project):
    """Docker names of the compose file's top-level networks."""
    names, inside = [], False
    for line in compose_text.split("\n"):
        if re.match(r"^\S", line):
            inside = line.rstrip() == "networks:"
            continue
        m = re.match(r"^    ([A-Za-z0-9_.-]+):\s*$", line) if inside else None
        if m:
            names.append("%s_%s" % (project, m.group(1)))
    return sorted(names)


def party_summary(lab):
    """{party: {asn, network, prefix, gateway, training: {component: address}, serving: {...}}} of the lab's
    layout; the party's first placed component gives its AS, network, prefix and gateway."""
    ghosts = dict((g.node_id, g) for g in lab.ghosts())
    out = {}
    for cluster in (naming.TRAINING, naming.SERVING):
        for party, placed_in, comp, node_id in lab.layout:
            ghost = ghosts.get(node_id)
            if placed_in != cluster or ghost is None or not ghost.interfaces:
                continue
            iface = ghost.interfaces[0]
            entry = out.get(str(party))
            if entry is None:
                system = lab.system(ghost.asn)
                network = system.network(iface.net) if system is not None else None
                entry = out[str(party)] = {
                    "asn": ghost.asn, "network": iface.net, "prefix": network.prefix if network is not None else None,
                    "gateway": system.gateway(iface.net) if network is not None else None}
            entry.setdefault(cluster, {}).setdefault(comp, iface.address)
    return out


def layout_from_parties(parties, ghost_node_ids, fate_version=None):
    """Script mode: the party layout from the parties option and the ghosts the program reserved."""
    layout, missing = [], []
    for party in parties:
        for cluster, comp in topo.party_components(party, fate_version):
            node_id = naming.ghost_node_id(party["asn"], topo.ghost_name(cluster, comp))
            if node_id not in ghost_node_ids:
                missing.append("parties.%s: the program reserved no ghost %s (%s %s)"
                               % (party["id"], node_id, cluster, comp))
            layout.append((party["id"], cluster, comp, node_id))
    return layout, missing


def link_summary(report):
    """One line per link property: ``applied: bandwidth 10mbit on ix100``, ``refused: latency 20ms on ix100
    (<reason>)``."""
    return (["applied: %s on %s" % (a["what"], a["where"]) for a in report["applied"]]
            + ["refused: %s on %s (%s)" % (r["what"], r["where"], r["reason"]) for r in report["refused"]])


def tree_changes(new, old):
    """Sorted relative paths that differ between two {path: bytes} trees."""
    return sorted(p for p in set(new) | set(old) if new.get(p) != old.get(p))


def write_tree(root, files):
    for rel, data in files.items():
        path = os.path.join(root, *rel.split("/"))
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            os.makedirs(folder)
        with open(path, "wb") as f:
            f.write(data)


def swap_in(staged, target, trash):
    """Replace folder ``target`` by ``staged`` with renames; the old one goes to ``trash``."""
    moved = False
    if os.path.lexists(target):
        os.rename(target, trash)
        moved = True
    try:
        os.rename(staged, target)
    except OSError:
        if moved:
            os.rename(trash, target)
        raise


class SeedemuNetwork(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.dest = os.path.abspath(self.p["dest"])
        self.project = self.p["project"]
        self.warnings = []
        self.software = None
        self.caps = None
        self.links = {"applied": [], "refused": []}

    def fail(self, msg, **kwargs):
        self.module.fail_json(msg=msg, **kwargs)

    def validate(self):
        p = self.p
        if not PROJECT_RE.match(self.project):
            self.fail("project: %r is not a valid compose project name (lowercase letters, digits, '-' and '_', "
                      "starting with a letter or digit)" % self.project)
        if os.path.exists(self.dest) and not os.path.isdir(self.dest):
            self.fail("dest: %s exists and is not a folder" % self.dest)
        try:
            if p["script"]:
                self.model = None
                self.parties = (topo.normalize_parties_only(p["parties"], p["source"], p["fate_version"])
                                if p["parties"] else None)
                if not os.path.isfile(p["script"]):
                    self.fail("script: %s does not exist" % p["script"])
            else:
                if p["parties"] is None:
                    self.fail("parties: required with topology (party id -> {asn, network, serving})")
                self.model = topo.normalize(p["topology"], p["parties"], p["source"], p["fate_version"])
                self.parties = self.model["parties"]
        except topo.TopologyError as exc:
            self.fail(str(exc), field=exc.field)

    def missing_seedemu(self, reason):
        self.fail(missing_required_lib("seedemu", reason="to build the emulated Internet", url=seedemu_build.SEEDEMU_URL)
                  + " " + seedemu_build.INSTALL_HINT + ". Reason: %s" % reason, exception=str(reason))

    def check_seedemu(self):
        """Cheap checks before anything runs; seedemu itself is imported in a child process only."""
        if sys.version_info < (3, 10):
            self.missing_seedemu("seedemu needs Python >= 3.10, this is %d.%d (%s); set ansible_python_interpreter"
                                 % (sys.version_info[0], sys.version_info[1], sys.executable))
        path = seedemu_build.resolve_seedemu_path(self.p["seedemu_path"])
        if path and not os.path.isdir(os.path.join(path, "seedemu")):
            self.missing_seedemu("%s holds no seedemu package (no %s)" % (path, os.path.join(path, "seedemu")))
        if not path:
            import importlib.util
            if importlib.util.find_spec("seedemu") is None:
                self.missing_seedemu("seedemu is not importable and neither seedemu_path nor SEEDEMU_PATH is set")

    def image_software(self):
        """What the offline node image carries: the option, else its label, else the built-in list."""
        if self.p["offline_software"] is not None:
            return list(self.p["offline_software"])
        docker = DockerCli.from_module(self.module, required=False)
        info = None
        if docker is not None:
            try:
                info = docker.inspect_image(self.p["offline_image"])
            except DockerError as exc:
                self.warnings.append("cannot read the labels of %s (%s): assuming the default node software"
                                     % (self.p["offline_image"], exc))
        label = offline_image.image_labels(info).get(seedemu_build.SOFTWARE_LABEL)
        if label is None:
            return list(seedemu_build.DEFAULT_OFFLINE_SOFTWARE)
        return sorted(set(x.strip() for x in label.split(",") if x.strip()))

    def build(self, staging):
        p = self.p
        opts = dict(images=p["images"], offline_image=p["offline_image"], offline_software=self.software,
                    internet_map=p["internet_map"], internet_map_port=p["internet_map_port"])
        if p["internet_map"]:
            self.warnings.append("internet_map is on: it is bound to 127.0.0.1:%d but gives an unauthenticated root "
                                 "console on every emulated node to anyone who reaches that port"
                                 % p["internet_map_port"])
        if self.model is not None:
            try:
                return seedemu_build.render_lab(self.model, self.project, staging, p["seedemu_path"],
                                                timeout=p["script_timeout"], fate_version=p["fate_version"], **opts)
            except seedemu_build.SeedemuMissing as exc:
                self.missing_seedemu(str(exc))
        workdir = os.path.join(staging, "run")
        os.mkdir(workdir)
        return seedemu_build.run_script(p["script"], workdir, self.project, p["seedemu_path"],
                                        timeout=p["script_timeout"], **opts)

    def ghost_files(self, result):
        """{name: bytes} of the new ghost folder, and the lab they describe (a ghost_model.Lab)."""
        if result.lab is not None:
            lab = result.lab
            if self.model is None:
                if self.parties is not None:
                    lab.layout, missing = layout_from_parties(self.parties, set(g.node_id for g in lab.ghosts()),
                                                              self.p["fate_version"])
                    if missing:
                        self.fail("; ".join(missing))
                else:
                    self.fail("parties: required in script mode unless the program writes ghost/pre_party_list.json")
            files = ghost_export.render_files(lab, fate_version=self.p["fate_version"])
            return dict((k, v.encode("utf-8")) for k, v in files.items()), lab
        # The fork's own GhostPrinter wrote the files: keep them, add the layout and the project name.
        files = dict(result.ghost_files)
        ghosts = _load_json(files.get(naming.GHOST_NODES_FILE)) or []
        if self.parties is not None:
            layout, missing = layout_from_parties(self.parties, set(g.get("NodeId") for g in ghosts),
                                                  self.p["fate_version"])
            if missing:
                self.fail("; ".join(missing))
            files[naming.PARTY_LAYOUT_FILE] = ghost_export.dumps(
                ghost_export.party_layout(ghost_model.Lab(self.project, layout=layout))).encode("utf-8")
        elif naming.PARTY_LAYOUT_FILE not in files:
            self.fail("parties: required in script mode unless the program writes ghost/pre_party_list.json")
        files[naming.LAB_METADATA_FILE] = ghost_export.dumps(ghost_export.lab_metadata(
            ghost_model.Lab(self.project), fate_version=self.p["fate_version"])).encode("utf-8")
        # Read back as the inventory will read them: a file it would refuse fails here, before anything is written.
        systems_doc = files.get(naming.AUTONOMOUS_SYSTEMS_FILE)
        try:
            lab = ghost_model.read_lab(
                _load_json(files.get(naming.GHOST_NODES_FILE)), _load_json(files[naming.PARTY_LAYOUT_FILE]),
                _load_json(systems_doc) if systems_doc is not None else None,
                dict((key, "ghost/" + name) for key, name in (("ghost_nodes", naming.GHOST_NODES_FILE),
                                                              ("autonomous_systems", naming.AUTONOMOUS_SYSTEMS_FILE),
                                                              ("party_layout", naming.PARTY_LAYOUT_FILE))))
        except ghost_model.GhostModelError as exc:
            self.fail("the program's ghost files cannot be read: %s" % exc)
        lab.project = self.project
        return files, lab

    def host_caps(self):
        """What this host offers (probed once, before anything is compiled); None with host_compat off."""
        if self.p["host_compat"] != "auto" or host_compat is None:
            return None
        caps = self.p["host_capabilities"]
        return host_compat.probe_host(run=module_runner(self.module)) if caps is None else caps

    def link_report(self, items):
        """Which link properties this host applies and which it refuses; with link_properties_strict a refusal
        fails the run (nothing is written)."""
        report = host_compat.link_report(items, self.caps, topo.describe_link) if host_compat is not None else \
            {"applied": [dict(where=i["where"], what=topo.describe_link(i["property"], i["value"])) for i in items],
             "refused": []}
        if report["refused"] and self.p["link_properties_strict"]:
            self.fail("link properties this host cannot apply (link_properties_strict is on, so nothing was built): %s"
                      % "; ".join("%s on %s (%s)" % (r["what"], r["where"], r["reason"]) for r in report["refused"]),
                      link_properties=report)
        return report

    def adapt(self, output):
        """Compose name + host adaptations on the compiled tree {path: bytes}; returns the notes."""
        texts = dict((k, v.decode("utf-8", "surrogateescape")) for k, v in output.items())
        if "docker-compose.yml" not in texts:
            self.fail("seedemu wrote no docker-compose.yml")
        texts["docker-compose.yml"] = seedemu_build.finalize_compose(texts["docker-compose.yml"], self.project)
        notes = []
        if self.p["host_compat"] == "auto":
            if host_compat is None:
                note = ("host compatibility was not checked: module_utils host_compat is unavailable (%s)"
                        % HOST_COMPAT_IMPORT_ERROR.strip().splitlines()[-1])
                self.warnings.append(note)
                notes.append(note)
            else:
                notes.extend(host_compat.adapt_output(texts, self.caps) or [])
        if self.model is None:
            # A program of the user's: what its compiled /ifinfo.txt files ask for.
            self.links = self.link_report(host_compat.output_link_items(texts) if host_compat is not None else [])
        return dict((k, v.encode("utf-8", "surrogateescape")) for k, v in texts.items()), notes

    def run(self):
        self.validate()
        self.check_seedemu()
        check = self.module.check_mode
        self.caps = self.host_caps()
        if self.model is not None:
            self.links = self.link_report(topo.link_items(self.model))
        self.software = self.image_software() if self.p["images"] == "offline" else None
        digest = self.inputs_digest() if self.model is not None and self.p["skip_unchanged"] else None
        kept = compile_stamp.matches(self.dest, digest) if digest else None
        if kept is not None:
            for warning in kept.pop("warnings", []):
                self.module.warn(warning)
            kept.update(changed=False, compiled=False, changed_files=[])
            self.module.exit_json(**kept)
        dest_exists = os.path.isdir(self.dest)
        staging = tempfile.mkdtemp(prefix=".seedfate-staging-", dir=self.dest if dest_exists and not check else None)
        try:
            try:
                result = self.build(staging)
            except seedemu_build.BuildError as exc:
                self.fail(str(exc), log=exc.log[-20000:])
            compiled = seedemu_build.read_tree(result.output_dir)
            if self.p["images"] == "offline":
                needs = seedemu_build.packages_to_install(compiled)
                if needs:
                    self.fail(seedemu_build.missing_software_message(needs, self.p["offline_image"]),
                              missing_software=needs)
            real_world = seedemu_build.real_world_routers(compiled)
            if real_world:
                self.warnings.append(self.real_world_note(real_world))
            output, notes = self.adapt(compiled)
            ghost, lab = self.ghost_files(result)

            output_dir = os.path.join(self.dest, "output")
            ghost_dir = os.path.join(self.dest, "ghost")
            old_output = seedemu_build.read_tree(output_dir)
            old_ghost = seedemu_build.read_tree(ghost_dir)
            out_changes = tree_changes(output, old_output)
            ghost_changes = tree_changes(ghost, old_ghost)
            changed = bool(out_changes or ghost_changes)

            if changed and not check:
                if not dest_exists:
                    os.makedirs(self.dest)
                    shutil.rmtree(staging)
                    staging = tempfile.mkdtemp(prefix=".seedfate-staging-", dir=self.dest)
                    new_output = os.path.join(staging, "new-output")
                    write_tree(new_output, output)
                else:
                    # Rewrite only what the adaptation changed in the already compiled staged tree.
                    new_output = result.output_dir
                    for rel in tree_changes(output, compiled):
                        path = os.path.join(new_output, *rel.split("/"))
                        if rel in output:
                            write_tree(new_output, {rel: output[rel]})
                        elif os.path.exists(path):
                            os.unlink(path)
                new_ghost = os.path.join(staging, "new-ghost")
                write_tree(new_ghost, ghost)
                if ghost_changes:
                    swap_in(new_ghost, ghost_dir, os.path.join(staging, "old-ghost"))
                if out_changes:
                    swap_in(new_output, output_dir, os.path.join(staging, "old-output"))
        finally:
            shutil.rmtree(staging, ignore_errors=True)

        res = dict(
            changed=changed,
            project=self.project,
            output_dir=output_dir,
            ghost_dir=ghost_dir,
            networks=compose_networks(output["docker-compose.yml"].decode("utf-8"), self.project),
            ghosts=len(lab.ghosts()),
            parties=party_summary(lab),
            host_adaptations=notes,
            link_properties=self.links,
            link_properties_summary=link_summary(self.links),
            real_world_routers=real_world,
            changed_files=_capped(["ghost/" + p for p in ghost_changes] + ["output/" + p for p in out_changes]),
        )
        if self.software is not None:
            res["offline_software"] = self.software
        if self.module._diff:
            res["diff"] = self.diff(old_ghost, ghost, old_output, output, out_changes)
        for refused in self.links["refused"]:
            self.warnings.append("link property %s on %s is not applied: %s"
                                 % (refused["what"], refused["where"], refused["reason"]))
        for warning in self.warnings:
            self.module.warn(warning)
        res["compiled"] = True
        if digest and not check:
            record = dict((k, v) for k, v in res.items() if k not in ("diff", "changed", "changed_files"))
            compile_stamp.save(self.dest, digest, dict(record, warnings=list(self.warnings)))
        self.module.exit_json(**res)

    def inputs_digest(self):
        """The fingerprint of everything this compile depends on (module_utils/compile_stamp.py)."""
        code = [seedemu_build, topo, ghost_export, ghost_model, naming, fate_versions, compile_stamp]
        if host_compat is not None:
            code.append(host_compat)
        me = compile_stamp.code_identity(code)
        # The module runs as __main__ (AnsiballZ, or the in-process action): its source is asked for by its real name.
        loader = globals().get("__loader__")
        spec = globals().get("__spec__")
        try:
            own = spec.name if spec is not None else __name__
            me["seedemu_network"] = compile_stamp.sha256_text(loader.get_source(own) or "") if loader else None
        except Exception:
            me["seedemu_network"] = None
        return compile_stamp.inputs_digest(
            dict((k, v) for k, v in self.p.items() if k != "skip_unchanged"),
            compile_stamp.seedemu_identity(seedemu_build.resolve_seedemu_path(self.p["seedemu_path"])),
            me, self.caps, self.software, compile_stamp.compile_environment())

    def real_world_note(self, routers):
        names = ", ".join(routers)
        if self.p["isolation_guard"]:
            return ("real-world router %s: the lab is sealed (isolation guard), so it comes up and peers inside the "
                    "lab but reaches nothing outside this host; the guard stays in place" % names)
        return ("real-world router %s: the isolation guard is off, so lab traffic for the prefixes it announces "
                "leaves through this host's uplink with the host's address" % names)

    def diff(self, old_ghost, ghost, old_output, output, out_changes):
        def summary(files):
            lab = _load_json(files.get(naming.LAB_METADATA_FILE)) or {}
            lines = ghost_export.summary_lines(_load_json(files.get(naming.GHOST_NODES_FILE)),
                                               _load_json(files.get(naming.AUTONOMOUS_SYSTEMS_FILE)),
                                               lab.get("compose_project"))
            return lines
        before = summary(old_ghost)
        after = summary(ghost)
        if len(out_changes) <= DIFF_FILE_LINES:
            for rel in out_changes:
                before.append("output/%s %s" % (rel, _digest(old_output.get(rel))))
                after.append("output/%s %s" % (rel, _digest(output.get(rel))))
        else:
            # A whole new project is hundreds of files: count them instead of listing them.
            added = sum(1 for rel in out_changes if rel not in old_output)
            removed = sum(1 for rel in out_changes if rel not in output)
            before.append("output/: %d files" % len(old_output))
            after.append("output/: %d files (%d added, %d changed, %d removed)"
                         % (len(output), added, len(out_changes) - added - removed, removed))
        return {"before_header": "%s (ghosts, networks, changed files)" % self.dest,
                "after_header": "%s (ghosts, networks, changed files)" % self.dest,
                "before": "\n".join(before) + "\n" if before else "",
                "after": "\n".join(after) + "\n"}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            topology=dict(type="dict"),
            parties=dict(type="raw"),
            script=dict(type="path"),
            script_timeout=dict(type="int", default=600),
            dest=dict(type="path", required=True),
            project=dict(type="str", required=True),
            seedemu_path=dict(type="path"),
            images=dict(type="str", choices=["default", "offline"], default="default"),
            offline_image=dict(type="str", default=seedemu_build.DEFAULT_OFFLINE_IMAGE),
            offline_software=dict(type="list", elements="str"),
            internet_map=dict(type="bool", default=False),
            internet_map_port=dict(type="int", default=8080),
            host_compat=dict(type="str", choices=["auto", "off"], default="auto"),
            host_capabilities=dict(type="dict"),
            link_properties_strict=dict(type="bool", default=False),
            isolation_guard=dict(type="bool", default=True),
            skip_unchanged=dict(type="bool", default=True),
            source=dict(type="str"),
            fate_version=dict(type="str", default=fate_versions.DEFAULT_VERSION),
            **DOCKER_CLI_SPEC
        ),
        mutually_exclusive=[("topology", "script")],
        required_one_of=[("topology", "script")],
        supports_check_mode=True,
    )
    SeedemuNetwork(module).run()


if __name__ == "__main__":
    main()
