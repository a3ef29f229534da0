# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The FATE version catalogue (module_utils/fate_versions.py): every version consistent with itself and
with its template folder; unknown versions and mismatches refused with a message that says what to do."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import shutil

import pytest

from ansible_collections.seed.fate.plugins.module_utils import fate_bundle as fb
from ansible_collections.seed.fate.plugins.module_utils import fate_versions as fv

TEMPLATES = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "fate_config",
                                         "templates"))


@pytest.mark.parametrize("version", fv.SUPPORTED)
def test_every_version_agrees_with_its_templates(version):
    cat = fv.load(version, os.path.join(TEMPLATES, fv.get(version)["templates"]))
    assert cat["version"] == version
    fb.Renderer(os.path.join(TEMPLATES, cat["templates"]), version)  # the renderer checks the same at load


def test_every_template_folder_has_a_catalogue_entry():
    folders = sorted(d for d in os.listdir(TEMPLATES) if os.path.isdir(os.path.join(TEMPLATES, d)))
    assert folders == sorted(fv.get(v)["templates"] for v in fv.SUPPORTED)


def test_unknown_version_lists_supported():
    with pytest.raises(fv.UnsupportedVersion) as err:
        fv.get("2.0.0")
    assert str(err.value) == "FATE version '2.0.0' is not supported by seed.fate; supported: 1.3.0, 2.2.0"


@pytest.fixture
def templates_2_2_0(tmp_path):
    dest = tmp_path / "2.2.0"
    shutil.copytree(os.path.join(TEMPLATES, "2.2.0"), str(dest))
    return dest


def test_component_without_templates_is_refused(templates_2_2_0):
    shutil.rmtree(str(templates_2_2_0 / "training" / "confs" / "nginx"))
    with pytest.raises(fv.CatalogueError, match=r"component nginx \(training\) has no templates: training/confs/nginx/"):
        fv.load("2.2.0", str(templates_2_2_0))
    with pytest.raises(fb.BundleError, match="has no templates"):
        fb.Renderer(str(templates_2_2_0), "2.2.0")


def test_templates_of_an_unknown_component_are_refused(templates_2_2_0):
    extra = templates_2_2_0 / "training" / "confs" / "osx" / "conf"
    extra.mkdir(parents=True)
    (extra / "broker.properties.j2").write_text("self.party={{ party_id }}\n")
    with pytest.raises(fv.CatalogueError, match=r"templates training/confs/osx/ belong to no training component"):
        fv.load("2.2.0", str(templates_2_2_0))


def test_cluster_folder_unknown_to_the_catalogue_is_refused(templates_2_2_0):
    (templates_2_2_0 / "serving").mkdir()
    with pytest.raises(fv.CatalogueError, match=r"folder\(s\) serving for clusters the catalogue does not list"):
        fv.load("2.2.0", str(templates_2_2_0))


def test_compose_without_a_component_service_is_refused(templates_2_2_0):
    compose = templates_2_2_0 / "training" / "docker-compose.yml.j2"
    compose.write_text(compose.read_text().replace('"nginx"', '"web"'))
    with pytest.raises(fv.CatalogueError, match=r"component nginx \(training\) has no service"):
        fv.load("2.2.0", str(templates_2_2_0))


def test_inconsistent_entries_are_refused(monkeypatch):
    bad = copy.deepcopy(fv.get("2.2.0"))
    bad["health"]["training"].pop("nginx")
    monkeypatch.setitem(fv.VERSIONS, "2.2.0", bad)
    with pytest.raises(fv.CatalogueError, match="health.training must give a port"):
        fv.load("2.2.0")
    bad = copy.deepcopy(fv.get("1.3.0"))
    bad["entry"] = "nginx"
    monkeypatch.setitem(fv.VERSIONS, "1.3.0", bad)
    with pytest.raises(fv.CatalogueError, match="entry 'nginx' is not a training component"):
        fv.load("1.3.0")


def test_1_3_0_entry_keeps_the_seed_layout():
    cat = fv.get("1.3.0")
    assert fv.components(cat, "training") == (
        "federation", "proxy", "fateboard", "roll", "egg", "python", "meta-service", "mysql", "redis")
    assert fv.components(cat, "serving") == ("redis", "serving-server", "serving-proxy")
    assert fv.data_dirs(cat) == ["confs/mysql/data", "confs/egg/data-dir", "confs/redis/data", "shared_dir/examples",
                                 "shared_dir/federatedml", "confs/serving-server/.fate"]
    assert cat["fate_home"] == fb.FATE_HOME == "/data/projects/fate"
    assert tuple(cat["secrets"]) == fb.SECRET_KEYS


def test_2_2_0_entry():
    cat = fv.get("2.2.0")
    assert fv.clusters(cat) == ["training"]
    assert fv.components(cat, "training") == ("fateflow", "rabbitmq", "nginx")
    assert cat["health"]["training"] == {"fateflow": 9380, "rabbitmq": 5672, "nginx": 9300}
    assert cat["verify"]["jobs"]["hetero_lr"]["min_parties"] == 3
    assert cat["settings"]["standalone_cores"] >= 8
    d = fv.describe("2.2.0")
    assert d["image_refs"] == {"fateflow": "seedfate/fate-flow:2.2.0", "rabbitmq": "seedfate/fate-rabbitmq:2.2.0",
                               "nginx": "seedfate/fate-nginx:2.2.0"}
    assert fv.describe("2.2.0", {"registry": "reg:5000", "overrides": {"nginx": "nginx:1.22"}})["image_refs"] == {
        "fateflow": "reg:5000/seedfate/fate-flow:2.2.0", "rabbitmq": "reg:5000/seedfate/fate-rabbitmq:2.2.0",
        "nginx": "nginx:1.22"}
    assert d["data_dirs"] == ["confs/fate_flow/data", "confs/rabbitmq/data"]
    assert d["supported"] == ["1.3.0", "2.2.0"]


def test_describe_is_plain_json():
    import json
    for version in fv.SUPPORTED:
        assert json.loads(json.dumps(fv.describe(version))) == fv.describe(version)
