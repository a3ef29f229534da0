# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_compat: the host probe (with a fake runner) and the adaptation of a compiled seedemu project."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest
import yaml

from ansible_collections.seed.fate.plugins.module_utils import host_compat as hc

FULL = "000001ffffffffff"          # capabilities 0..40
NO_SYS_RESOURCE = "000001fffeffffff"  # bit 24 cleared, as on this lab machine


def reader(files):
    return files.get


def status(mask):
    return "Name:\tx\nCapInh:\t0000000000000000\nCapBnd:\t%s\nCapAmb:\t0000000000000000\n" % mask


class FakeRunner(object):
    """Answers commands by their first words; records every call."""

    def __init__(self, answers=None, default=(0, "", "")):
        self.answers = answers or {}
        self.default = default
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        for key, answer in self.answers.items():
            if tuple(argv[:len(key)]) == key or (key[0] == "*" and key[1] in argv):
                if isinstance(answer, Exception):
                    raise answer
                return answer
        return self.default


# --------------------------------------------------------------------------- probe

def test_privileged_missing_capability_is_named():
    ok, missing, note = hc.probe_privileged(reader({
        "/proc/sys/kernel/cap_last_cap": "40\n", "/proc/self/status": status(NO_SYS_RESOURCE)}))
    assert not ok and missing == ["SYS_RESOURCE"] and "SYS_RESOURCE" in note


def test_privileged_full_bounding_set():
    ok, missing, note = hc.probe_privileged(reader({
        "/proc/sys/kernel/cap_last_cap": "40", "/proc/self/status": status(FULL)}))
    assert ok and missing == [] and note == ""


def test_privileged_prefers_the_docker_daemon_status():
    ok, missing, note = hc.probe_privileged(reader({
        "/proc/sys/kernel/cap_last_cap": "40", "/proc/self/status": status(FULL),
        "/var/run/docker.pid": "123\n", "/proc/123/status": status(NO_SYS_RESOURCE)}))
    assert not ok and missing == ["SYS_RESOURCE"] and "dockerd" in note


def test_privileged_older_kernel_only_checks_known_caps():
    # cap_last_cap 37: bits 38-40 absent from the bounding set are not "missing".
    ok, missing, _note = hc.probe_privileged(reader({
        "/proc/sys/kernel/cap_last_cap": "37", "/proc/self/status": status("0000003fffffffff")}))
    assert ok and missing == []


def test_probe_all_supported_and_namespace_removed():
    run = FakeRunner()
    caps = hc.probe_host(run=run, read=reader({"/proc/sys/kernel/cap_last_cap": "40",
                                               "/proc/self/status": status(FULL)}))
    assert caps["privileged"] and caps["dummy_link"] and caps["netem"] and caps["notes"] == []
    added = [c for c in run.calls if c[:3] == ["ip", "netns", "add"]]
    deleted = [c for c in run.calls if c[:3] == ["ip", "netns", "del"]]
    assert len(added) == 1 and deleted == [["ip", "netns", "del", added[0][3]]]
    # Every probe command ran inside that namespace.
    ns = added[0][3]
    assert ["ip", "-n", ns, "link", "add", "sfprobe0", "type", "dummy"] in run.calls
    assert any(c[:3] == ["tc", "-n", ns] and "netem" in c for c in run.calls)


def test_probe_this_kind_of_kernel():
    run = FakeRunner({
        ("*", "dummy"): (2, "", "Error: Unknown device type.\n"),
        ("*", "netem"): (2, "", "Error: Specified qdisc kind is unknown.\n"),
    })
    caps = hc.probe_host(run=run, read=reader({"/proc/sys/kernel/cap_last_cap": "40",
                                               "/proc/self/status": status(NO_SYS_RESOURCE)}))
    assert (caps["privileged"], caps["dummy_link"], caps["netem"]) == (False, False, False)
    assert caps["missing_capabilities"] == ["SYS_RESOURCE"]
    text = " ".join(caps["notes"])
    assert "Unknown device type" in text and "qdisc kind is unknown" in text


def test_probe_without_namespace_assumes_the_worst_and_says_so():
    run = FakeRunner({("ip", "netns", "add"): (1, "", "mount --make-shared /run/netns failed: Operation not permitted")})
    caps = hc.probe_host(run=run, read=reader({"/proc/sys/kernel/cap_last_cap": "40",
                                               "/proc/self/status": status(FULL)}))
    assert caps["privileged"] and not caps["dummy_link"] and not caps["netem"]
    assert "Operation not permitted" in caps["notes"][0]
    assert not any(c[:3] == ["ip", "netns", "del"] for c in run.calls)


def test_probe_removes_namespace_even_when_a_probe_blows_up():
    run = FakeRunner({("*", "netem"): RuntimeError("boom")})
    with pytest.raises(RuntimeError):
        hc.probe_host(run=run, read=reader({}))
    assert run.calls[-1][:3] == ["ip", "netns", "del"]


def test_probe_on_this_host_is_fast_and_leaves_no_namespace():
    import os
    import time
    if os.geteuid() != 0:
        pytest.skip("the real probe needs root to make a network namespace")
    before = hc.default_run(["ip", "netns", "list"])[1]
    start = time.time()
    caps = hc.probe_host()
    assert time.time() - start < 5
    assert set(caps) >= {"privileged", "dummy_link", "netem", "notes"}
    assert hc.default_run(["ip", "netns", "list"])[1] == before


# --------------------------------------------------------------------------- adapt

COMPOSE = """\
version: "3.4"
services:
    aaaabbbbccccddddeeeeffff00001111:
        build:
            context: .
            dockerfile: dummies/aaaabbbbccccddddeeeeffff00001111
        image: aaaabbbbccccddddeeeeffff00001111

    brdnode_150_router0:
        build: ./brdnode_150_router0
        container_name: as150brd-router0-10.150.0.254
        cap_add:
            - ALL

        privileged: true
        networks:
            net_150_net0:
                ipv4_address: 10.150.0.254

networks:
    net_150_net0:
        ipam:
            config:
                - subnet: 10.150.0.0/24
"""

DOCKERFILE = """\
FROM aaaabbbbccccddddeeeeffff00001111
COPY s1 /start.sh
COPY s2 /interface_setup
COPY s3 /ifinfo.txt
COPY s4 /etc/notes.txt
CMD ["/start.sh"]
"""

START = """\
#!/bin/bash
/interface_setup
ip li add dummy0 type dummy
ip li set dummy0 up
ip addr add 10.0.0.1/32 dev dummy0
bird -d &
"""

IFSETUP = """\
#!/bin/bash
        [ ! -z "$n" ] && {
            ip li set "$n" up
            tc qdisc add dev "$n" root handle 1:0 tbf rate "${bw}bit" buffer 1000000 limit 1000
            tc qdisc add dev "$n" parent 1:0 handle 10: netem delay "${latency}ms" loss "${loss}%"
        }
"""


def project(ifinfo="net0:10.150.0.0/24:0:0:0\nix100:10.100.0.0/24:0:0:0\n"):
    return {
        "docker-compose.yml": COMPOSE,
        "brdnode_150_router0/Dockerfile": DOCKERFILE,
        "brdnode_150_router0/s1": START,
        "brdnode_150_router0/s2": IFSETUP,
        "brdnode_150_router0/s3": ifinfo,
        # Not a start script: must stay as it is even though it mentions the same commands.
        "brdnode_150_router0/s4": "ip li add dummy0 type dummy\ntc qdisc add dev x root netem delay 1ms\n",
        "dummies/aaaabbbbccccddddeeeeffff00001111": "FROM seedfate/seedemu-node:bookworm\n",
    }


NOTHING = {"privileged": True, "dummy_link": True, "netem": True}
THIS_HOST = {"privileged": False, "dummy_link": False, "netem": False, "missing_capabilities": ["SYS_RESOURCE"]}


def test_capable_host_changes_nothing():
    files = project()
    assert hc.adapt_output(files, NOTHING) == []
    assert files == project()


def test_privileged_becomes_explicit_capabilities():
    files = project()
    notes = hc.adapt_output(files, {"privileged": False, "dummy_link": True, "netem": True,
                                    "missing_capabilities": ["SYS_RESOURCE"]})
    svc = yaml.safe_load(files["docker-compose.yml"])["services"]["brdnode_150_router0"]
    assert "privileged" not in svc
    assert svc["cap_add"] == ["ALL"] and svc["cap_drop"] == ["SYS_RESOURCE"]
    assert svc["security_opt"] == ["systempaths=unconfined"]
    # Only the privileged line changed: seedemu's layout is kept.
    old, new = COMPOSE.splitlines(), files["docker-compose.yml"].splitlines()
    assert [ln for ln in old if ln not in new] == ["        privileged: true"]
    assert len(notes) == 1 and "brdnode_150_router0" in notes[0] and "SYS_RESOURCE" in notes[0]
    # Start scripts untouched when only privileged is missing.
    assert files["brdnode_150_router0/s1"] == START


def test_privileged_without_cap_add_all_is_rewritten_structurally():
    files = {"docker-compose.yml": "services:\n  a:\n    image: x\n    privileged: true\n    cap_drop: [MKNOD]\n"
                                   "  b:\n    image: y\n"}
    hc.adapt_output(files, {"privileged": False, "dummy_link": True, "netem": True,
                            "missing_capabilities": ["SYS_RESOURCE", "BPF"]})
    doc = yaml.safe_load(files["docker-compose.yml"])
    assert doc["services"]["a"] == {"image": "x", "cap_drop": ["MKNOD", "SYS_RESOURCE", "BPF"],
                                    "cap_add": ["ALL"], "security_opt": ["systempaths=unconfined"]}
    assert doc["services"]["b"] == {"image": "y"}


def test_dummy_loopback_becomes_a_veth_pair():
    files = project()
    notes = hc.adapt_output(files, {"privileged": True, "dummy_link": False, "netem": True})
    lines = files["brdnode_150_router0/s1"].splitlines()
    assert "ip li add dummy0 type dummy" not in lines
    assert "ip link add dummy0 type veth peer name dummy0_p && ip link set dummy0_p up" in lines
    # The rest of the script (address on dummy0, bird) is unchanged.
    assert "ip addr add 10.0.0.1/32 dev dummy0" in lines and "bird -d &" in lines
    assert files["brdnode_150_router0/s4"] == project()["brdnode_150_router0/s4"]
    assert len(notes) == 1 and "veth" in notes[0] and "brdnode_150_router0" in notes[0]


def test_long_interface_names_keep_the_15_byte_limit():
    text, count = hc._replace_dummy_links("ip link add loopback_main0 type dummy\n")
    assert count == 1
    peer = text.split("peer name ")[1].split()[0]
    assert len(peer) <= 15 and peer != "loopback_main0"


def test_no_netem_drops_the_qdisc_and_raises_the_tbf_limit():
    files = project()
    notes = hc.adapt_output(files, {"privileged": True, "dummy_link": True, "netem": False})
    text = files["brdnode_150_router0/s2"]
    assert "netem" not in text
    assert "limit %d" % hc.TBF_LIMIT_BYTES in text and "limit 1000\n" not in text
    assert text.count("\n") == IFSETUP.count("\n") - 1
    assert "OFF" in notes[0] and "latency" in notes[0]
    assert "asks for latency" not in notes[0]
    assert "netem" in files["brdnode_150_router0/s4"]


def test_no_netem_says_which_links_wanted_latency():
    files = project(ifinfo="net0:10.150.0.0/24:0:0:0\nix100:10.100.0.0/24:30:0:1\n")
    notes = hc.adapt_output(files, {"privileged": True, "dummy_link": True, "netem": False})
    assert "cannot emulate" in notes[0] and "brdnode_150_router0 ix100" in notes[0]
    assert "brdnode_150_router0 net0" not in notes[0]


def test_fork_ghost_folder_names_are_found_without_a_dockerfile():
    files = {"hnode_150_a/start.sh": START, "hnode_150_a/interface_setup": IFSETUP}
    hc.adapt_output(files, {"privileged": True, "dummy_link": False, "netem": False})
    assert "type veth" in files["hnode_150_a/start.sh"] and "netem" not in files["hnode_150_a/interface_setup"]


def test_adapting_twice_changes_nothing_more():
    files = project()
    first = hc.adapt_output(files, THIS_HOST)
    assert len(first) == 3
    once = copy.deepcopy(files)
    assert hc.adapt_output(files, THIS_HOST) == []
    assert files == once


def test_missing_capabilities_default_to_sys_resource():
    files = project()
    hc.adapt_output(files, {"privileged": False, "dummy_link": True, "netem": True})
    assert "cap_drop: [SYS_RESOURCE]" in files["docker-compose.yml"]


def test_invalid_compose_is_an_error_naming_the_file():
    with pytest.raises(ValueError) as err:
        hc.adapt_output({"docker-compose.yml": "services: [\n"}, THIS_HOST)
    assert "docker-compose.yml" in str(err.value)


def test_describe():
    assert hc.describe(NOTHING).startswith("host supports")
    assert hc.describe(THIS_HOST) == "host lacks: privileged containers, dummy links, netem"
