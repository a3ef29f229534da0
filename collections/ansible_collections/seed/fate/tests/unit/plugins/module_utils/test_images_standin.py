# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The FATE stand-in program (roles/images/files/seedfate-standin.py), run for real on 127.0.0.1."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

PROGRAM = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "images", "files",
                       "seedfate-standin.py")
PROGRAM = os.path.normpath(PROGRAM)


def load_program():
    spec = importlib.util.spec_from_file_location("seedfate_standin", PROGRAM)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("argv, env, want", [
    ([], {"STANDIN_PORTS": "9360,9380"}, [9360, 9380]),
    ([], {"STANDIN_PORTS": " 8059 8869,8879 "}, [8059, 8869, 8879]),
    (["6380"], {"STANDIN_PORTS": "6379"}, [6380]),                          # numbers override
    (["redis-server", "--requirepass", "x"], {"STANDIN_PORTS": "6379"}, [6379]),  # words ignored
    (["0", "0"], {}, [0, 0]),                                                 # two ephemeral ports
])
def test_parse_ports(argv, env, want):
    assert load_program().parse_ports(argv, env) == want


@pytest.mark.parametrize("env, words", [
    ({}, "no port"),
    ({"STANDIN_PORTS": "9370,http"}, "'http'"),
    ({"STANDIN_PORTS": "70000"}, "'70000'"),
])
def test_parse_ports_rejects(env, words):
    with pytest.raises(ValueError, match=words):
        load_program().parse_ports([], env)


@pytest.fixture
def standin():
    """Start the program on two ephemeral ports; yield (process, ports); always stop it."""
    env = dict(os.environ, STANDIN_NAME="proxy", STANDIN_BIND="127.0.0.1", STANDIN_PORTS="1")
    proc = subprocess.Popen([sys.executable, PROGRAM, "0", "--ignored-flag", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ports = []
    try:
        for dummy in range(2):
            line = proc.stdout.readline()
            match = re.search(r"proxy \(stand-in, not FATE\) listening on 127\.0\.0\.1:(\d+)$", line.strip())
            assert match, "unexpected log line %r (stderr: %s)" % (line, proc.stderr.read() if proc.poll() else "")
            ports.append(int(match.group(1)))
        yield proc, ports
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def fetch(port, send=b"GET / HTTP/1.0\r\nHost: x\r\n\r\n"):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        if send:
            conn.sendall(send)
        chunks = []
        while True:
            data = conn.recv(4096)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks).decode()


def test_answers_on_every_port_and_stops_on_sigterm(standin):
    proc, ports = standin
    assert len(set(ports)) == 2
    for port in ports:
        text = fetch(port)
        head, dummy, body = text.partition("\r\n\r\n")
        assert head.startswith("HTTP/1.0 200 OK")
        assert "proxy port %d" % port in body and "not FATE" in body
        assert "Content-Length: %d" % len(body) in head
    # A client that sends nothing still gets the reply (e.g. a plain TCP probe).
    assert fetch(ports[0], send=b"").startswith("HTTP/1.0 200 OK")
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0
    assert time.monotonic() - start < 2.0


def test_many_connections_in_a_row(standin):
    ports = standin[1]
    for dummy in range(50):
        assert fetch(ports[1]).startswith("HTTP/1.0 200 OK")


def test_bad_configuration_exits_with_a_message():
    env = dict(os.environ, STANDIN_PORTS="abc")
    proc = subprocess.run([sys.executable, PROGRAM], env=env, capture_output=True, text=True, timeout=20, check=False)
    assert proc.returncode == 2
    assert "STANDIN_PORTS: 'abc' is not a TCP port" in proc.stderr


def test_busy_port_exits_with_a_message():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        env = dict(os.environ, STANDIN_BIND="127.0.0.1", STANDIN_NAME="egg")
        proc = subprocess.run([sys.executable, PROGRAM, str(port)], env=env, capture_output=True, text=True,
                              timeout=20, check=False)
    assert proc.returncode == 1
    assert "egg cannot listen on 127.0.0.1:%d" % port in proc.stderr
