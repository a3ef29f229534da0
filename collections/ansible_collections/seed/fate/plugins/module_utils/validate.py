# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a party id, an ASN, an address, a prefix and a name may be: one rule for every reader.

The topology (``topology``), the ghost files (``ghost_model``) and the bundles
(``fate_bundle``) all check their values here, so a value one of them accepts is accepted by the others.
Each check returns the value in its normal form or raises :class:`Invalid`, whose message says what is
wrong with the value (never where it was: the caller adds the field and the file).

Rules (docs/contracts.md "Values"):

* integers are JSON integers or ASCII decimal strings: no blanks, sign, leading zeros or other
  scripts' digits (``" 0012 "``, ``"١٢"`` and ``"²"`` are refused, not normalised);
* a party id is 1 to 2^31-1 (KubeFATE's party ids are Java ints), an ASN 1 to 2^32-1;
* an address is an IPv4 address written as a dotted-quad string (never a JSON integer); a lab address
  lies in the private ranges (10/8, 172.16/12, 192.168/16), and a host address is neither the network
  nor the broadcast address of its prefix;
* a lab prefix is a private network (loopback, link-local, multicast and public prefixes are refused:
  docker would route the host's own traffic for them into the lab);
* names (networks, hosts, routers) start with a letter and hold letters, digits, ``_`` and ``-``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

PARTY_ID_MIN, PARTY_ID_MAX = 1, 2 ** 31 - 1
ASN_MIN, ASN_MAX = 1, 2 ** 32 - 1

# re's [0-9] is ASCII only (\d would take every script's digits).
_DECIMAL_RE = re.compile(r"(?:0|[1-9][0-9]*)")
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,30}")
_NODE_ID_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,127}")
# Docker object names (networks, containers): what the engine accepts.
_DOCKER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
# Compose project names: what docker compose v2 accepts.
_PROJECT_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_PATH_RE = re.compile(r"/[A-Za-z0-9_./-]*")

PRIVATE_NETWORKS = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
# Never a lab network, even when public prefixes are allowed.
_NEVER = (("loopback", ipaddress.IPv4Network("127.0.0.0/8")),
          ("link-local", ipaddress.IPv4Network("169.254.0.0/16")),
          ("'this network'", ipaddress.IPv4Network("0.0.0.0/8")),
          ("multicast", ipaddress.IPv4Network("224.0.0.0/4")),
          ("reserved", ipaddress.IPv4Network("240.0.0.0/4")))

_MAX_DIGITS = 20


class Invalid(ValueError):
    """A value that is not acceptable; ``str()`` says why (the caller names the field and the file)."""


def show(value, limit=60):
    """repr of a value, cut short: a hostile file must not fill the error message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...(%d characters)" % len(text)


# --------------------------------------------------------------------------------------------------
# Integers

def integer(value, what="value", lo=None, hi=None):
    """An int from a JSON integer or an ASCII decimal string; ``lo``/``hi`` bound it (inclusive)."""
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str) and len(value) <= _MAX_DIGITS and _DECIMAL_RE.fullmatch(value):
        number = int(value)
    elif isinstance(value, str) and value.isascii() and value.isdigit() and not value.startswith("0"):
        number = hi + 1 if hi is not None else None  # too many digits: out of range, never converted
    else:
        number = None
    if number is None:
        raise Invalid("%s must be a decimal integer (ASCII digits only, no blanks, sign or leading zeros), got %s"
                      % (what, show(value)))
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise Invalid("%s %s is out of range %d-%d" % (what, show(value) if isinstance(value, str) else number, lo, hi))
    return number


def party_id(value, what="party id"):
    """A FATE party id: 1 to 2^31-1."""
    return integer(value, what, PARTY_ID_MIN, PARTY_ID_MAX)


def asn(value, what="ASN"):
    """An autonomous system number: 1 to 2^32-1."""
    return integer(value, what, ASN_MIN, ASN_MAX)


# --------------------------------------------------------------------------------------------------
# Addresses and prefixes

def ipv4_address(value, what="address", private=False):
    """An IPv4 address written as a dotted-quad string. Refused: JSON integers, the unspecified,
    loopback, link-local, multicast, reserved and broadcast addresses; with ``private`` also every
    address outside 10/8, 172.16/12 and 192.168/16. Returns the string."""
    if not isinstance(value, str):
        raise Invalid("%s must be an IPv4 address written as a string (a.b.c.d), got %s" % (what, show(value)))
    try:
        ip = ipaddress.IPv4Address(value)
    except ValueError:
        raise Invalid("%s %s is not an IPv4 address (a.b.c.d, no leading zeros)" % (what, show(value)))
    for kind, net in _NEVER:
        if ip in net:
            raise Invalid("%s %s is a %s address, not one a lab host can have" % (what, value, kind))
    if ip == ipaddress.IPv4Address("255.255.255.255"):
        raise Invalid("%s %s is the broadcast address" % (what, value))
    if private and not any(ip in n for n in PRIVATE_NETWORKS):
        raise Invalid("%s %s is not a private address (10/8, 172.16/12, 192.168/16): the lab's addresses stay "
                      "off the real Internet" % (what, value))
    return str(ip)


def host_address(value, prefix, what="address", network=None):
    """A lab host's address inside ``prefix`` (an IPv4Network, of the network named ``network``): not its
    network or broadcast address."""
    text = ipv4_address(value, what, private=True)
    ip = ipaddress.IPv4Address(text)
    if ip not in prefix:
        where = "%s's prefix" % network if network else "the prefix"
        raise Invalid("%s %s is not inside %s %s" % (what, text, where, prefix))
    if prefix.prefixlen <= 30 and ip in (prefix.network_address, prefix.broadcast_address):
        raise Invalid("%s %s is the %s address of %s, not a host address"
                      % (what, text, "network" if ip == prefix.network_address else "broadcast", prefix))
    return text


def bind_address(value, what="publish address"):
    """An address the host binds published ports to: any IPv4 unicast address, 0.0.0.0 included.
    Returns (address, warning or None): 0.0.0.0 is a legitimate, explicit request that is worth a warning."""
    if not isinstance(value, str):
        raise Invalid("%s must be an IPv4 address written as a string, got %s" % (what, show(value)))
    try:
        ip = ipaddress.IPv4Address(value)
    except ValueError:
        raise Invalid("%s %s is not an IPv4 address (a.b.c.d, no leading zeros)" % (what, show(value)))
    if ip.is_unspecified:
        return str(ip), ("%s is 0.0.0.0: FATEBoard and the exchange are published on every interface of the "
                         "host, reachable from other machines; use 127.0.0.1 unless you mean it" % what)
    if ip.is_multicast or ip.is_reserved or ip == ipaddress.IPv4Address("255.255.255.255"):
        raise Invalid("%s %s is not a unicast address the host can bind" % (what, value))
    return str(ip), None


def prefix(value, what="prefix", allow_public=False):
    """A lab network prefix (IPv4Network, host bits clear). Refused: loopback, link-local, 0/8, multicast
    and reserved prefixes always, public ones unless ``allow_public``."""
    if not isinstance(value, (str, ipaddress.IPv4Network)):
        raise Invalid("%s must be an IPv4 prefix written as a string (a.b.c.d/n), got %s" % (what, show(value)))
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise Invalid("%s %s is not an IPv4 network prefix: %s" % (what, show(value), exc))
    for kind, bad in _NEVER:
        if net.overlaps(bad):
            raise Invalid("%s %s is %s address space, not a lab network" % (what, net, kind))
    if not allow_public and not any(net.subnet_of(n) for n in PRIVATE_NETWORKS):
        raise Invalid("%s %s is not inside the private ranges (10/8, 172.16/12, 192.168/16): docker would route "
                      "the host's own traffic for it into the lab" % (what, net))
    return net


# --------------------------------------------------------------------------------------------------
# Names and paths

def name(value, what="name"):
    """A network, host or router name: a letter, then letters, digits, '_' or '-' (at most 31)."""
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise Invalid("%s %s must start with a letter and hold only letters, digits, '_' or '-' (at most 31 "
                      "characters)" % (what, show(value)))
    return value


def node_id(value, what="NodeId"):
    """A seedemu NodeId (an inventory host name): a letter, then letters, digits, '_', '-' or '.'."""
    if not isinstance(value, str) or not _NODE_ID_RE.fullmatch(value):
        raise Invalid("%s %s must start with a letter and hold only letters, digits, '_', '-' or '.' (at most "
                      "128 characters)" % (what, show(value)))
    return value


def docker_name(value, what="docker network"):
    """A docker object name (for example a network): letters, digits, '_', '.' and '-'."""
    if not isinstance(value, str) or not _DOCKER_NAME_RE.fullmatch(value):
        raise Invalid("%s %s must be a docker name (letters, digits, '_', '.' or '-', starting with a letter or "
                      "digit, at most 128 characters)" % (what, show(value)))
    return value


def compose_project(value, what="compose project"):
    """A docker compose project name: lowercase letters, digits, '_' and '-'."""
    if not isinstance(value, str) or not _PROJECT_RE.fullmatch(value):
        raise Invalid("%s %s must be a compose project name (lowercase letters, digits, '_' or '-', starting "
                      "with a letter or digit)" % (what, show(value)))
    return value


def absolute_path(value, what="path"):
    """An absolute path of plain characters with no '.', '..' or empty component (a trailing '/' is
    dropped), so that what it names is what it says."""
    if not isinstance(value, str) or not _PATH_RE.fullmatch(value):
        raise Invalid("%s must be an absolute path of plain characters (letters, digits, '_', '.', '-', '/'), got %s"
                      % (what, show(value)))
    text = value.rstrip("/") or "/"
    parts = text.split("/")[1:]
    if text != "/" and any(p in ("", ".", "..") for p in parts):
        raise Invalid("%s %s must not hold '.', '..' or '//' components (write the folder it means)"
                      % (what, show(value)))
    return text
