# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bird: reading `birdc show protocols` and waiting for BGP."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.seed.fate.plugins.module_utils import bird
from ansible_collections.seed.fate.plugins.module_utils.docker_cli import DockerCli

ROUTER_UP = """\
BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     18:07:24.168
kernel1    Kernel     master4    up     18:07:24.168
local_nets Direct     ---        up     18:07:24.168
pipe1      Pipe       ---        up     18:07:24.168  t_bgp <=> master4
p_rs100    BGP        ---        up     18:07:28.536  Established
"""

RS_STARTING = """\
BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     18:07:23.844
p_as150    BGP        ---        up     18:07:28.536  Established
p_as151    BGP        ---        start  18:07:23.844  Active        Socket: Connection refused
p_as152    BGP        ---        start  18:07:23.844  OpenSent
"""

# "Since" printed as date and time (timeformat protocol iso long) and a disabled session.
LONG_DATES = """\
BIRD 2.0.8 ready.
Name       Proto      Table      State  Since         Info
p_ix1      BGP        ---        up     2026-11-27 18:07:28  Established
p_off      BGP        ---        down   2026-11-27 18:07:20
"""

NO_SOCKET = "Unable to connect to server control socket (/run/bird/bird.ctl): No such file or directory\n"


def test_parse_rows_and_bgp_states():
    rows = bird.parse_protocols(RS_STARTING)
    assert [r["name"] for r in rows] == ["device1", "p_as150", "p_as151", "p_as152"]
    assert rows[0]["bgp_state"] is None and rows[0]["proto"] == "Device"
    assert [r["bgp_state"] for r in rows[1:]] == ["Established", "Active", "OpenSent"]
    assert rows[2]["info"] == "Active Socket: Connection refused"


def test_established_only_when_up_and_established():
    sessions = bird.bgp_sessions(RS_STARTING)
    assert [(s["name"], s["established"]) for s in sessions] == [
        ("p_as150", True), ("p_as151", False), ("p_as152", False)]
    assert [s["established"] for s in bird.bgp_sessions(ROUTER_UP)] == [True]


def test_non_bgp_protocols_are_not_sessions():
    assert [s["name"] for s in bird.bgp_sessions(ROUTER_UP)] == ["p_rs100"]


def test_since_with_a_date_and_disabled_sessions():
    sessions = bird.bgp_sessions(LONG_DATES)
    assert sessions[0]["established"] and sessions[0]["bgp_state"] == "Established"
    assert not sessions[1]["established"] and sessions[1]["state"] == "down" and sessions[1]["bgp_state"] is None


def test_birdc_error_is_no_table():
    assert not bird.is_protocol_table(NO_SOCKET)
    assert bird.parse_protocols(NO_SOCKET) == []
    assert bird.is_protocol_table(ROUTER_UP)


def test_describe_session_names_container_and_state():
    row = bird.bgp_sessions(RS_STARTING)[1]
    assert bird.describe_session("rs", row) == "rs/p_as151 (start Active Socket: Connection refused)"


class Docker(object):
    """A fake docker CLI: each container answers from a list of outputs, one per poll."""

    def __init__(self, answers, ps=""):
        self.answers = dict((k, list(v)) for k, v in answers.items())
        self.ps = ps
        self.calls = []

    def __call__(self, argv):
        self.calls.append(argv)
        if argv[1] == "ps":
            return 0, self.ps, ""
        assert argv[1] == "exec" and argv[3:] == ["birdc", "show", "protocols"]
        seq = self.answers[argv[2]]
        out = seq.pop(0) if len(seq) > 1 else seq[0]
        if out is NO_SOCKET:
            return 1, out, ""
        return 0, out, ""


def test_poll_reports_every_problem():
    docker = Docker({"r1": [ROUTER_UP], "rs": [RS_STARTING], "r2": [NO_SOCKET]})
    result = bird.poll(DockerCli(docker), ["r1", "rs", "r2"])
    assert len(result["sessions"]) == 4 and result["sessions"][0]["container"] == "r1"
    assert result["problems"] == [
        "rs/p_as151 (start Active Socket: Connection refused)",
        "rs/p_as152 (start OpenSent)",
        "r2 (BIRD does not answer: %s)" % NO_SOCKET.strip(),
    ]


class Clock(object):
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_until_established():
    clock = Clock()
    docker = Docker({"rs": [NO_SOCKET, RS_STARTING, ROUTER_UP]})
    ok, result, elapsed = bird.wait_established(DockerCli(docker), ["rs"], timeout=60, interval=2,
                                                clock=clock.time, sleep=clock.sleep)
    assert ok and result["problems"] == [] and elapsed == 4.0 and clock.sleeps == [2, 2]


def test_wait_times_out_naming_what_is_down():
    clock = Clock()
    docker = Docker({"rs": [RS_STARTING]})
    ok, result, elapsed = bird.wait_established(DockerCli(docker), ["rs"], timeout=5, interval=2,
                                                clock=clock.time, sleep=clock.sleep)
    assert not ok and elapsed == 5.0 and clock.sleeps == [2, 2, 1]
    assert "rs/p_as151 (start Active Socket: Connection refused)" in result["problems"]


def test_discover_speakers_keeps_routers_and_route_servers():
    ps = ("as150h-host0-10.150.0.71\trunning\tHost\n"
          "as150brd-router0-10.150.0.254\trunning\tBorderRouter\n"
          "as100brd-ix100-10.100.0.100\texited\tRoute Server\n"
          "as2r-r1-10.2.0.254\trunning\tRouter\n"
          "aaaabbbb\texited\t\n")
    docker = Docker({}, ps=ps)
    found = bird.discover_speakers(DockerCli(docker), "lab")
    assert found == [("as100brd-ix100-10.100.0.100", "exited"), ("as150brd-router0-10.150.0.254", "running"),
                     ("as2r-r1-10.2.0.254", "running")]
    assert "label=com.docker.compose.project=lab" in docker.calls[0]


def test_wait_converged_gives_routes_route_timeout_after_sessions_are_up():
    from ansible_collections.seed.fate.plugins.module_utils import bird as b
    up = "Name Proto Table State Since Info\np BGP --- up 1 Established\n"
    state = {"t": 0.0}

    def run(argv):
        if argv[3] == "ip":
            return 0, "10.1.0.0/24 dev net0\n", ""
        return 0, up, ""

    def sleep(s):
        state["t"] += s
    ok, result, elapsed, what = b.wait_converged(DockerCli(run), ["r"], timeout=100, interval=2, route_targets=["r"],
                                                 prefixes=["10.1.0.0/24", "10.2.0.0/24"], route_timeout=10,
                                                 clock=lambda: state["t"], sleep=sleep)
    assert not ok and what == "routes" and 10 <= elapsed < 13
    assert result["missing_routes"] == [{"container": "r", "missing": ["10.2.0.0/24"]}]
    assert b.describe_missing(result["missing_routes"]) == "r lacks 10.2.0.0/24"


def test_parse_kernel_routes():
    from ansible_collections.seed.fate.plugins.module_utils import bird as b
    assert b.parse_kernel_routes("default via 1.2.3.4 dev eth0\n10.1.0.0/24 via 10.100.0.1 dev ix100 proto bird\n\n") \
        == {"default", "10.1.0.0/24"}
