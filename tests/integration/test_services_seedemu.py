# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain hosts with services, and a party on its AS's second network, for real (issue 12 item 2).

IX134 with a route server; AS60 has a web host running seedemu's WebService on port 8080 with a page of
its own (``{nodeName}``/``{asn}`` filled by seedemu), a second one with WebService's defaults, and a plain
host; AS61 has two networks, its router on both and FATE party 1061 on ``net1``; AS62 has a plain host
``client``.

* compile only (seedemu, no Docker): the web hosts' compiled nodes start nginx with their page and port,
  the plain ones do not; with the offline node image nothing is installed at build time, with seedemu's
  images nginx-light is; every ghost of the party has an address in net1's prefix, its router one too.
* playbooks/network.yml (Docker): AS62's client fetches the page from AS60's web host across the IX
  (curl of the node image; port 80 there answers nothing), AS60's plain host fetches the default page of
  ``www``, then the lab is taken down (about 85 s on 2 cores, 65 s of it network.yml). Everything is
  removed at the end (Lab/cleaned_up of test_network_seedemu).

Numbers of its own: IX134, AS60-62 (10.134.0.0/24, 10.60.0.0/24, 10.61.0-1.0/24, 10.62.0.0/24).
"""

import ipaddress
import os
import time

import pytest

from test_network_seedemu import Lab, busy_subnets, cleaned_up, sh

pytestmark = [pytest.mark.seedemu]

PAGE = "<h1>seed.fate web host {nodeName} in AS{asn}</h1>"
SUBNETS = {"10.134.0.0/24", "10.60.0.0/24", "10.61.0.0/24", "10.61.1.0/24", "10.62.0.0/24"}


def services_lab():
    return {
        "seedfate_topology": {
            "internet_exchanges": [134],
            "autonomous_systems": {
                60: {"networks": ["net0"], "routers": {"router0": ["net0", "ix134"]},
                     "hosts": {"web": {"networks": ["net0"], "services": [{"name": "web", "port": 8080, "index": PAGE}]},
                               "www": {"services": ["web"]},
                               "plain": ["net0"]}},
                61: {"networks": ["net0", "net1"], "routers": {"router0": ["net0", "net1", "ix134"]}},
                62: {"networks": ["net0"], "routers": {"router0": ["net0", "ix134"]}, "hosts": ["client"]},
            },
            "peerings": [{"ix": 134, "route_server": [60, 61, 62]}],
        },
        "seedfate_parties": {"1061": {"asn": 61, "network": "net1"}},
    }


def model():
    from ansible_collections.seed.fate.plugins.module_utils import topology as topo
    lab = services_lab()
    return topo.normalize(lab["seedfate_topology"], lab["seedfate_parties"])


def node_files(output, node):
    """{path in the node: text} of a compiled node (its Dockerfile's COPY lines) plus the Dockerfile."""
    folder = os.path.join(output, node)
    with open(os.path.join(folder, "Dockerfile")) as f:
        dockerfile = f.read()
    files = {"Dockerfile": dockerfile}
    for line in dockerfile.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "COPY":
            with open(os.path.join(folder, parts[1]), errors="replace") as f:
                files[parts[2]] = f.read()
    return files


def test_web_hosts_compile_to_nginx_nodes_and_the_party_sits_on_net1(tmp_path):
    pytest.importorskip("seedemu")
    from ansible_collections.seed.fate.plugins.module_utils import seedemu_build as sb
    start = time.monotonic()
    result = sb.render_lab(model(), "sftest-services-compile", str(tmp_path), images="offline")
    print("services lab compile: %.1f s" % (time.monotonic() - start))
    out = result.output_dir

    web = node_files(out, "hnode_60_web")
    assert "service nginx start" in web["/start.sh"]
    assert web["/var/www/html/index.html"].strip() == "<h1>seed.fate web host web in AS60</h1>"
    assert "listen 8080;" in web["/etc/nginx/sites-available/default"]
    www = node_files(out, "hnode_60_www")
    assert "service nginx start" in www["/start.sh"]
    assert www["/var/www/html/index.html"].strip() == "<h1>www at 60</h1>"
    assert "listen 80;" in www["/etc/nginx/sites-available/default"]
    for plain in ("hnode_60_plain", "hnode_62_client"):
        files = node_files(out, plain)
        assert "nginx" not in files["/start.sh"] and "/var/www/html/index.html" not in files, plain
    # The offline node image carries nginx-light: nothing to install while the lab is built.
    assert sb.packages_to_install(sb.read_tree(out)) == {}
    with open(os.path.join(out, "docker-compose.yml")) as f:
        compose = f.read()
    assert compose.count('org.seedsecuritylabs.seedemu.meta.class: "[\\"WebService\\"]"') == 2

    # Party 1061 on AS61's second network: every ghost in 10.61.1.0/24, none in net0, none compiled.
    net1 = ipaddress.ip_network("10.61.1.0/24")
    ghosts = [g for g in result.lab.ghosts() if g.asn == 61]
    assert len(ghosts) == len(result.lab.layout) > 0
    for ghost in ghosts:
        assert [i.net for i in ghost.interfaces] == ["net1"], ghost.node_id
        assert ipaddress.ip_address(ghost.interfaces[0].address) in net1, ghost.node_id
        assert not os.path.exists(os.path.join(out, ghost.node_id))
    router = [r for s in result.lab.systems if s.asn == 61 for r in s.routers][0]
    assert ("net1", "10.61.1.254") in [(i.net, i.address) for i in router.interfaces]

    # seedemu's own images: the web host's node installs nginx-light (the service asked for it).
    default = tmp_path / "default-images"
    default.mkdir()
    out = sb.render_lab(model(), "sftest-services-compile", str(default)).output_dir
    needs = sb.packages_to_install(sb.read_tree(out))
    assert "nginx-light" in needs.get("hnode_60_web", []) and "nginx-light" not in needs.get("hnode_62_client", [])


def fetch(container, url, deadline):
    """curl ``url`` from ``container`` until it answers (routes across the IX settle after the BGP wait)."""
    while True:
        got = sh("docker", "exec", container, "curl", "-sS", "--max-time", "3", url)
        if got.returncode == 0 or time.monotonic() > deadline:
            return got
        time.sleep(1)


@pytest.mark.docker
@pytest.mark.slow
def test_client_in_as62_fetches_the_page_of_the_web_host_in_as60(tmp_path):
    busy = busy_subnets(SUBNETS)
    if busy:
        pytest.skip("the services lab's subnets are in use (%s)" % ", ".join(busy))
    with cleaned_up(Lab(str(tmp_path), services_lab(), name="sftest-services"), tmp_path) as lab:
        start = time.monotonic()
        lab.play()
        up = time.monotonic() - start
        web, client = lab.container(60, "web"), lab.container(62, "client")
        target = lab.address(web)
        assert target.startswith("10.60.0."), target
        got = fetch(client, "http://%s:8080/" % target, time.monotonic() + 30)
        print("services lab: network.yml %.0f s, page fetched %.1f s later" % (up, time.monotonic() - start - up))
        assert got.returncode == 0, got.stdout + got.stderr
        assert got.stdout.strip() == "<h1>seed.fate web host web in AS60</h1>", got.stdout
        # Port 80 is not the web host's: the page comes from the configured port, not a default server.
        assert sh("docker", "exec", client, "curl", "-sS", "--max-time", "3", "http://%s/" % target).returncode != 0
        # The second web host, WebService's defaults, from the plain host of its own AS.
        got = fetch(lab.container(60, "plain"), "http://%s/" % lab.address(lab.container(60, "www")),
                    time.monotonic() + 10)
        assert got.stdout.strip() == "<h1>www at 60</h1>", got.stdout + got.stderr

        down = lab.play("-e", "network_state=absent")
        assert down["stats"]["localhost"]["changed"] > 0
        print("services lab: whole test %.0f s" % (time.monotonic() - start))
