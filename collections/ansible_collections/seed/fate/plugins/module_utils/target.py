# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deployment target (docs/multihost.md): which Docker host runs what, and how to reach its engine.

``seedfate_target`` is ``local`` (one engine, the behaviour before issue 14) or ``swarm`` (several Docker hosts,
inventory group ``docker_hosts``). ``seedfate_placement`` says where things live under ``swarm``::

    {ix: <docker host>, ases: {<asn>: <docker host>}, parties: {<party id>: <docker host>}}

(a party follows its AS's host unless ``parties`` names it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.seed.fate.plugins.module_utils import validate

TARGETS = ("local", "swarm")
DEFAULT_TARGET = "local"

# --------------------------------------------------------------------------------------------------
# Parties (helper "swarm-party"): which Docker host runs each party's compose projects, and the
# environment that points docker at it.

PLACEMENT_KEYS = ("ix", "ases", "parties")


class PlacementError(ValueError):
    """A placement that cannot be used; ``str()`` names the field (``seedfate_placement.<...>``) and the source."""


def check_target(value, source):
    """``value`` as a target name (None: the default); PlacementError naming ``source`` otherwise."""
    if value is None or value == "":
        return DEFAULT_TARGET
    if value not in TARGETS:
        raise PlacementError("%s: seedfate_target must be one of %s, got %s"
                             % (source, ", ".join(TARGETS), validate.show(value)))
    return value


def _host_name(value, field, source):
    try:
        return validate.node_id(value, "Docker host name")
    except validate.Invalid as exc:
        raise PlacementError("%s: seedfate_placement.%s: %s" % (source, field, exc))


def check_placement(placement, source):
    """The placement in normal form: ``{ix: name or None, ases: {int asn: name}, parties: {int id: name}}``.

    Keys may be ints or decimal strings (YAML gives either); names are inventory host names. ``source`` (the
    file the placement came from) is named in every PlacementError.
    """
    if placement is None:
        placement = {}
    if not isinstance(placement, dict):
        raise PlacementError("%s: seedfate_placement must be a dictionary {ix, ases, parties}, got %s"
                             % (source, validate.show(placement)))
    unknown = sorted(str(k) for k in placement if k not in PLACEMENT_KEYS)
    if unknown:
        raise PlacementError("%s: seedfate_placement: unknown key(s) %s (known: %s)"
                             % (source, ", ".join(unknown), ", ".join(PLACEMENT_KEYS)))
    out = {"ix": None, "ases": {}, "parties": {}}
    if placement.get("ix") is not None:
        out["ix"] = _host_name(placement["ix"], "ix", source)
    for field, check in (("ases", validate.asn), ("parties", validate.party_id)):
        entries = placement.get(field) or {}
        if not isinstance(entries, dict):
            raise PlacementError("%s: seedfate_placement.%s must be a dictionary {<%s>: <docker host>}, got %s"
                                 % (source, field, "asn" if field == "ases" else "party id", validate.show(entries)))
        for key, host in entries.items():
            try:
                number = check(key)
            except validate.Invalid as exc:
                raise PlacementError("%s: seedfate_placement.%s: %s" % (source, field, exc))
            if number in out[field]:
                raise PlacementError("%s: seedfate_placement.%s names %s twice" % (source, field, number))
            out[field][number] = _host_name(host, "%s.%s" % (field, key), source)
    return out


def party_docker_host(placement, party_id, asn, source):
    """The Docker host of party ``party_id`` (in AS ``asn``) under ``placement`` (normal form).

    ``placement.parties[party_id]`` when named there, else ``placement.ases[asn]``; a PlacementError that names
    the missing field and ``source`` otherwise.
    """
    party_id, asn = int(party_id), int(asn)
    if party_id in placement["parties"]:
        return placement["parties"][party_id]
    if asn in placement["ases"]:
        return placement["ases"][asn]
    raise PlacementError("%s: seedfate_placement.ases has no Docker host for AS %d, where party %d lives (add "
                         "seedfate_placement.ases.%d or seedfate_placement.parties.%d)"
                         % (source, asn, party_id, asn, party_id))


def docker_environment(docker_host_url):
    """The ``environment`` of the tasks that drive a Docker host's engine: {} for the local engine (nothing set)."""
    return {"DOCKER_HOST": docker_host_url} if docker_host_url else {}


def engine_is_local(docker_host_url):
    """Whether the engine's processes are this machine's: no DOCKER_HOST, or a unix socket.

    Only then may a container's ``State.Pid`` be read under this machine's ``/proc`` (pods.HostView).
    """
    return not docker_host_url or docker_host_url.startswith("unix://")
