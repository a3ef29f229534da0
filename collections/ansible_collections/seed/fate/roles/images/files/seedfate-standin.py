# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""seedfate-standin: a TEST STAND-IN for a FATE component. It is not FATE and does nothing FATE does.

It listens on TCP ports and answers every connection with a one-line HTTP/1.0 200 reply naming the
component and the port, so that deployment tests can check addresses, routes and published ports
without FATE's multi-gigabyte images.

Configuration (baked into each stand-in image):
  STANDIN_NAME   component name used in replies and logs (default: "standin")
  STANDIN_PORTS  ports to listen on, comma or space separated, e.g. "9360,9380"
  STANDIN_BIND   address to bind (default 0.0.0.0)
Numeric command-line arguments replace STANDIN_PORTS (0 asks the kernel for a free port); any other
argument is ignored, so a compose ``command:`` meant for the real program (``redis-server
--requirepass x``) still starts the stand-in. Runs as PID 1: SIGTERM and SIGINT end it at once.
Python 3 standard library only.
"""

import os
import selectors
import signal
import socket
import sys
import threading

REPLY_TIMEOUT = 2.0


def parse_ports(argv, environ):
    """Ports from numeric arguments, else from STANDIN_PORTS. Raises ValueError on a bad value."""
    numeric = [a for a in argv if a.isdigit()]
    if numeric:
        words = numeric
        source = "command line"
    else:
        words = environ.get("STANDIN_PORTS", "").replace(",", " ").split()
        source = "STANDIN_PORTS"
    ports = []
    for word in words:
        if not word.isdigit() or int(word) > 65535:
            raise ValueError("%s: %r is not a TCP port" % (source, word))
        if int(word) not in ports or int(word) == 0:
            ports.append(int(word))
    if not ports:
        raise ValueError("no port to listen on: set STANDIN_PORTS or pass port numbers as arguments")
    return ports


def reply(name, port):
    body = "seedfate-standin %s port %d (a stand-in for tests, not FATE)\n" % (name, port)
    head = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    return (head + body).encode("ascii", "replace")


def serve_connection(conn, data):
    """Answer first, then drain what the client sent: closing with unread input would reset the
    connection and the client could lose the reply."""
    try:
        conn.settimeout(REPLY_TIMEOUT)
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(4096):
            pass
    except OSError:
        pass
    finally:
        conn.close()


def _stop(signum, _frame):
    raise SystemExit(0)


def main(argv=None, environ=None):
    argv = sys.argv[1:] if argv is None else argv
    environ = os.environ if environ is None else environ
    name = environ.get("STANDIN_NAME", "standin")
    bind = environ.get("STANDIN_BIND", "0.0.0.0")
    try:
        ports = parse_ports(argv, environ)
    except ValueError as exc:
        print("seedfate-standin: %s" % exc, file=sys.stderr, flush=True)
        return 2
    # PID 1 ignores signals without a handler; these make `docker stop` immediate.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sel = selectors.DefaultSelector()
    listeners = []
    try:
        for port in ports:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((bind, port))
            except OSError as exc:
                print("seedfate-standin: %s cannot listen on %s:%d: %s" % (name, bind, port, exc),
                      file=sys.stderr, flush=True)
                sock.close()
                return 1
            sock.listen(64)
            sock.setblocking(False)
            actual = sock.getsockname()[1]
            listeners.append(sock)
            sel.register(sock, selectors.EVENT_READ, actual)
            print("seedfate-standin: %s (stand-in, not FATE) listening on %s:%d" % (name, bind, actual), flush=True)
        while True:
            for key, _mask in sel.select():
                try:
                    conn, _addr = key.fileobj.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                conn.setblocking(True)
                threading.Thread(target=serve_connection, args=(conn, reply(name, key.data)), daemon=True).start()
    except SystemExit:
        return 0
    finally:
        for sock in listeners:
            sock.close()
        sel.close()


if __name__ == "__main__":
    sys.exit(main())
