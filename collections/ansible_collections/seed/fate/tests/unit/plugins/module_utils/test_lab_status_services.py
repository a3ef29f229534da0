# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lab_status shows plain hosts with their seedemu services (issue 12 item 2).

The compose file is a cut of what seedemu compiles for a web host (WebService), a plain host and AS60's
router: the services come from the ``class`` label seedemu writes (a JSON list, escaped in YAML).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.seed.fate.plugins.module_utils import lab_status as ls

META = "            org.seedsecuritylabs.seedemu.meta."
COMPOSE = """name: sftest-services
services:
    hnode_60_web:
        container_name: as60h-web-10.60.0.71
        labels:
%(m)sasn: "60"
%(m)snodename: "web"
%(m)srole: "Host"
%(m)sclass: "[\\"WebService\\"]"
%(m)snet.0.name: "net0"
%(m)snet.0.address: "10.60.0.71/24"
    hnode_60_plain:
        container_name: as60h-plain-10.60.0.72
        labels:
%(m)sasn: "60"
%(m)snodename: "plain"
%(m)srole: "Host"
%(m)snet.0.name: "net0"
%(m)snet.0.address: "10.60.0.72/24"
    brdnode_60_router0:
        container_name: as60brd-router0-10.60.0.254
        labels:
%(m)sasn: "60"
%(m)snodename: "router0"
%(m)srole: "BorderRouter"
%(m)snet.0.name: "net0"
%(m)snet.0.address: "10.60.0.254/24"
networks:
    net_60_net0:
        labels:
%(m)stype: "local"
%(m)sscope: "60"
%(m)sname: "net0"
%(m)sprefix: "10.60.0.0/24"
""" % {"m": META}


def lab(tmp_path):
    (tmp_path / "output").mkdir()
    (tmp_path / "output" / "docker-compose.yml").write_text(COMPOSE)
    return ls.read_lab(str(tmp_path))


def test_hosts_carry_their_services_from_the_class_label(tmp_path):
    hosts = dict((h["name"], h) for h in lab(tmp_path)["systems"][0]["hosts"])
    assert hosts["web"]["services"] == ["WebService"]
    assert hosts["plain"]["services"] == []


def test_picture_and_table_show_the_web_host_and_its_service(tmp_path):
    model = lab(tmp_path)
    dot = ls.to_dot(model)
    assert '"as60_h_web" [shape=box, label="host web\\n10.60.0.71\\nWebService"];' in dot, dot
    assert '"as60_h_plain" [shape=box, label="host plain\\n10.60.0.72"];' in dot, dot
    assert '"as60_n_net0" -- "as60_h_web";' in dot
    status, _warnings = ls.collect_state(model, None)
    lines = ls.table_lines(status, "services")
    assert "  host web  net0=10.60.0.71  WebService" in lines, lines
    assert "  host plain  net0=10.60.0.72" in lines, lines
    assert status["systems"][0]["hosts"][1]["services"] == ["WebService"]


def test_a_class_label_that_is_not_a_json_list_shows_no_service():
    assert ls._services('"WebService"') == []  # pylint: disable=protected-access
    assert ls._services("[not json") == []  # pylint: disable=protected-access
    assert ls._services('["WebService", "DomainNameService"]') == ["DomainNameService", "WebService"]  # pylint: disable=protected-access
