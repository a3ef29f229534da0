"""Inputs of the fate_config bundle tests: a lab's party hostvars from ghost files, fixed secrets.

Party hostvars come from the inventory's own code (module_utils/ghost_model.py, what the
seed.fate.ghost_nodes plugin serves) when it is importable; otherwise they are built here exactly as
docs/contracts.md "Inventory" describes, from the files tests/fixtures/make_lab.py writes.
"""

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAKE_LAB = os.path.join(REPO, "tests", "fixtures", "make_lab.py")
GOLDEN = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = os.path.join(REPO, "collections", "ansible_collections", "seed", "fate", "roles", "fate_config",
                         "templates")

# Stand-in images of docs/contracts.md "Images" (tests column).
TEST_IMAGES = {
    "registry": "",
    "prefix": "seedfate-standin",
    "tag": "1.3.0-release",
    "serving_tag": "1.2.2-release",
    "overrides": {"mysql": "seedfate-standin/mysql:8.0.28", "redis": "seedfate-standin/redis:5.0.14"},
    "holder": "seedfate/seedemu-node:bookworm",
}


def fixed_secrets(party_id):
    """Deterministic, obviously-test passwords (the golden trees must not change between runs)."""
    return {"mysql_root_password": "golden-root-%s" % party_id,
            "mysql_password": "golden-fate-%s" % party_id,
            "redis_password": "golden-redis-%s" % party_id}


def make_lab(out, *args):
    subprocess.run([sys.executable, MAKE_LAB, out] + list(args), check=True)
    return out


def _from_model(ghost_dir):
    from ansible_collections.seed.fate.plugins.module_utils import ghost_model  # noqa: E402
    version = ghost_model.read_fate_version(os.path.join(ghost_dir, "lab.json"))
    lab = ghost_model.load_lab(os.path.join(ghost_dir, "GhostNodes.json"),
                               os.path.join(ghost_dir, "pre_party_list.json"),
                               os.path.join(ghost_dir, "AutonomousSystems.json"), fate_version=version)
    project = ghost_model.read_compose_project(os.path.join(ghost_dir, "lab.json")) or "output"
    directory = ghost_model.party_directory(lab.parties, lab.catalogue)
    hosts = []
    for p in lab.parties:
        hv = ghost_model.party_hostvars(p, project, version)
        hv["seedfate_party_directory"] = directory
        hosts.append(hv)
    return hosts


def _by_contract(ghost_dir):
    """contracts.md "Inventory" from make_lab's files (one network per AS, router = gateway)."""
    with open(os.path.join(ghost_dir, "GhostNodes.json")) as f:
        ghosts = dict((g["NodeId"], g) for g in json.load(f))
    with open(os.path.join(ghost_dir, "AutonomousSystems.json")) as f:
        systems = dict((s["asn"], s) for s in json.load(f))
    with open(os.path.join(ghost_dir, "pre_party_list.json")) as f:
        layout = json.load(f, object_pairs_hook=lambda pairs: dict(pairs))
    with open(os.path.join(ghost_dir, "lab.json")) as f:
        project = json.load(f)["compose_project"]
    hosts = []
    for index, (pid, training) in enumerate(layout["training"].items()):
        clusters = {}
        for cluster, comps in (("training", training), ("serving", layout.get("serving", {}).get(pid))):
            if not comps:
                continue
            clusters[cluster] = {}
            for comp, node_ids in comps.items():
                g = ghosts[node_ids[0]]
                iface = g["Interfaces"][0]
                asys = systems[g["Autonomous_Systems"]]
                net = next(n for n in asys["Networks"] if n["name"] == iface["Connected_to"])
                router = sorted(asys["Routers"], key=lambda r: r["Name"])[0]
                gw = next(i["Address"] for i in router["Interfaces"] if i["Connected_to"] == net["name"])
                clusters[cluster][comp] = {
                    "node_id": g["NodeId"], "address": iface["Address"],
                    "network": "%s_net_%s_%s" % (project, asys["asn"], net["name"]),
                    "net_name": net["name"], "prefix": net["prefix"], "gateway": gw, "asn": asys["asn"]}
        hosts.append({"seedfate_party_id": int(pid), "seedfate_party_index": index,
                      "seedfate_asn": clusters["training"]["proxy"]["asn"], "seedfate_compose_project": project,
                      "seedfate_clusters": clusters})
    directory = []
    for hv in hosts:
        c = hv["seedfate_clusters"]
        s = c.get("serving", {})
        directory.append({"party_id": hv["seedfate_party_id"], "asn": hv["seedfate_asn"],
                          "proxy": c["training"]["proxy"]["address"], "python": c["training"]["python"]["address"],
                          "serving_server": s.get("serving-server", {}).get("address"),
                          "serving_proxy": s.get("serving-proxy", {}).get("address")})
    for hv in hosts:
        hv["seedfate_party_directory"] = directory
    return hosts


def party_hostvars(ghost_dir):
    """[hostvars of party-<id>] in layout order, and which source produced them (FATE 1.3.0 labs only
    without the inventory's code)."""
    try:
        return _from_model(ghost_dir), "module_utils/ghost_model.py"
    except ImportError:
        return _by_contract(ghost_dir), "contracts.md (test helper)"


def module_party(hv, serving_requested=None, fateboard_port=None):
    """The ``party`` option the role passes to seed.fate.fate_bundle for a party host."""
    party = {"party_id": hv["seedfate_party_id"], "index": hv["seedfate_party_index"],
             "clusters": hv["seedfate_clusters"], "name": "party-%s" % hv["seedfate_party_id"]}
    if serving_requested is not None:
        party["serving"] = serving_requested
    if fateboard_port is not None:
        party["fateboard_port"] = fateboard_port
    return party


# FATE 2.2.0 images: the catalogue's defaults (seedfate/fate-*:2.2.0, built locally), the usual holder.
TEST_IMAGES_2_2_0 = {"registry": "", "overrides": {}, "holder": "seedfate/seedemu-node:bookworm"}


def test_images(version="1.3.0"):
    return TEST_IMAGES if version == "1.3.0" else TEST_IMAGES_2_2_0


def fixed_secrets_for(version, party_id):
    """Deterministic test passwords of a version's catalogue secrets."""
    if version == "1.3.0":
        return fixed_secrets(party_id)
    from ansible_collections.seed.fate.plugins.module_utils import fate_versions
    return dict((k, "golden-%s-%s" % (k.split("_")[0], party_id)) for k in fate_versions.get(version)["secrets"])


def settings(exchange=None, version="1.3.0", **over):
    """Lab-wide settings as the module builds them from its options."""
    from ansible_collections.seed.fate.plugins.module_utils import fate_bundle, fate_versions
    catalogue = fate_versions.get(version)
    images, holder = fate_bundle.normalize_images(fate_bundle.images_with_defaults(test_images(version), catalogue),
                                                  catalogue)
    s = {"deploy_dir": "/data/projects/fate", "publish_address": "127.0.0.1", "fateboard_port_base": 18080,
         "grpc_timeout_ms": 300000, "user": "root", "images": images, "holder_image": holder,
         "exchange": fate_bundle.normalize_exchange(exchange)}
    s.update(over)
    return s


# The exchange of the golden "with exchange" lab: a reserved address in AS 150's LAN.
EXCHANGE = {"address": "10.150.0.90", "network": "seedfate_net_150_net0", "gateway": "10.150.0.254"}
