# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What this host's kernel and Docker engine can do for seedemu, and how to adapt its output.

seedemu compiles every node as a ``privileged: true`` container, gives routers a ``dummy``
loopback interface and shapes every interface with ``tbf`` + ``netem``. Some hosts lack one or more
of these (a kernel without the dummy or netem modules, a Docker engine whose bounding set misses a
capability, so that privileged containers fail with "unable to apply caps"). ``probe_host`` finds out
in a throwaway network namespace; ``adapt_output`` rewrites the compiled project for what is missing
and says what it changed. Nothing here is silent: every adaptation comes back as a note.

Plain Python (no Ansible), so it can be unit-tested with a fake command runner.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re
import subprocess
import uuid

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML comes with Ansible
    HAS_YAML = False

# Linux capability numbers (include/uapi/linux/capability.h) -> the name Docker uses.
CAPABILITY_NAMES = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
)

# What replaces ``privileged: true``: every capability but the missing ones, and /proc and /sys
# writable as privileged would leave them (seedemu's start scripts write sysctls).
SECURITY_OPT_UNCONFINED = "systempaths=unconfined"

# Without netem the tbf qdisc keeps seedemu's 1000-byte queue as its only child and full-size
# packets stall; 1 MB matches the tbf burst buffer seedemu already configures.
TBF_LIMIT_BYTES = 1000000

_PROBE_LINK = "sfprobe0"

_DUMMY_RE = re.compile(r"^(?P<indent>[ \t]*)ip[ \t]+(?:li|lin|link)[ \t]+add[ \t]+(?P<name>\S+)[ \t]+type[ \t]+dummy[ \t]*$")
_NETEM_RE = re.compile(r"^[ \t]*tc[ \t]+qdisc[ \t]+(?:add|replace|change)[ \t].*\bnetem\b")
_TBF_LIMIT_RE = re.compile(r"^(?P<head>[ \t]*tc[ \t]+qdisc[ \t]+(?:add|replace|change)[ \t].*\btbf\b.*\blimit[ \t]+)(?P<limit>\d+)\b")
_COPY_RE = re.compile(r"^\s*COPY\s+(?P<src>\S+)\s+(?P<dst>\S+)\s*$")

COMPOSE_FILES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")


def default_run(argv):
    """Run ``argv`` and return (rc, stdout, stderr) as text; a missing program gives rc 127."""
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate()
    except OSError as exc:
        return 127, "", str(exc)
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def default_read(path):
    """Text of ``path``, or None when it cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except (IOError, OSError):
        return None


def capability_bounding_set(status_text):
    """The CapBnd mask of a /proc/<pid>/status text, or None."""
    for line in (status_text or "").splitlines():
        if line.startswith("CapBnd:"):
            try:
                return int(line.split(":", 1)[1].strip(), 16)
            except ValueError:
                return None
    return None


def missing_capabilities(bounding_set, last_cap):
    """Names of the capabilities 0..last_cap that ``bounding_set`` lacks."""
    missing = []
    for bit in range(last_cap + 1):
        if not bounding_set & (1 << bit):
            missing.append(CAPABILITY_NAMES[bit] if bit < len(CAPABILITY_NAMES) else "CAP_%d" % bit)
    return missing


def _dockerd_status(read):
    """/proc status text of the local Docker daemon, when its pid file is readable."""
    pid = (read("/var/run/docker.pid") or "").strip()
    if pid.isdigit():
        return read("/proc/%s/status" % pid)
    return None


def probe_privileged(read=None):
    """(privileged_ok, missing_capability_names, note).

    Docker gives a privileged container every capability the kernel knows (up to cap_last_cap); it
    fails when the daemon's bounding set lacks one. The daemon's own status is the best witness;
    this process's stands in when the daemon's cannot be read (it runs as the same root here).
    """
    read = read or default_read
    last = (read("/proc/sys/kernel/cap_last_cap") or "").strip()
    status = _dockerd_status(read)
    whose = "dockerd"
    if status is None or capability_bounding_set(status) is None:
        status = read("/proc/self/status")
        whose = "this process"
    mask = capability_bounding_set(status)
    if mask is None or not last.isdigit():
        return True, [], "could not read the capability bounding set; assuming privileged containers work"
    missing = missing_capabilities(mask, int(last))
    if missing:
        return False, missing, "the capability bounding set of %s lacks %s: privileged containers cannot start" % (
            whose, ", ".join(missing))
    return True, [], ""


def probe_host(run=None, read=None):
    """What this host supports: {"privileged", "dummy_link", "netem", "missing_capabilities", "notes"}.

    ``run(argv) -> (rc, stdout, stderr)`` runs a command (``default_run`` unless given) and
    ``read(path) -> text|None`` reads a file; tests pass fakes. Link types and qdiscs are tried in a
    throwaway network namespace that is always deleted again. When the namespace cannot be made
    (not root, no ``ip``), dummy links and netem are reported missing so that the adapted project
    still runs, and a note says why.
    """
    run = run or default_run
    privileged, missing_caps, note = probe_privileged(read)
    caps = {"privileged": privileged, "dummy_link": False, "netem": False,
            "missing_capabilities": missing_caps, "notes": []}
    if note:
        caps["notes"].append(note)

    netns = "seedfate-probe-%s" % uuid.uuid4().hex[:10]
    rc, _out, err = run(["ip", "netns", "add", netns])
    if rc != 0:
        caps["notes"].append(
            "could not create a probe network namespace (%s); assuming no dummy links and no netem"
            % (err.strip() or "rc=%d" % rc))
        return caps
    try:
        rc, _out, err = run(["ip", "-n", netns, "link", "add", _PROBE_LINK, "type", "dummy"])
        caps["dummy_link"] = rc == 0
        if rc != 0:
            caps["notes"].append("the kernel refuses the dummy link type (%s)" % (err.strip() or "rc=%d" % rc))
        # Every namespace has a loopback device, so netem can be tried without any other link.
        rc, _out, err = run(["tc", "-n", netns, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"])
        caps["netem"] = rc == 0
        if rc != 0:
            caps["notes"].append("the kernel refuses the netem qdisc (%s)" % (err.strip() or "rc=%d" % rc))
    finally:
        run(["ip", "netns", "del", netns])
    return caps


def _compose_key(files):
    for key in files:
        if key in COMPOSE_FILES:
            return key
    return None


def _copy_targets(files):
    """{relative staged file: path inside the container} from every node Dockerfile's COPY lines."""
    targets = {}
    for key, text in files.items():
        if posixpath.basename(key) != "Dockerfile" or not isinstance(text, str):
            continue
        folder = posixpath.dirname(key)
        for line in text.splitlines():
            m = _COPY_RE.match(line)
            if m:
                targets[posixpath.join(folder, m.group("src")) if folder else m.group("src")] = m.group("dst")
    return targets


def _files_for(files, targets, container_path):
    """Keys of the staged files that a Dockerfile copies to ``container_path`` (or named like it)."""
    base = posixpath.basename(container_path)
    found = []
    for key in sorted(files):
        if targets.get(key) == container_path or (key not in targets and posixpath.basename(key) == base):
            found.append(key)
    return found


def _peer_name(name):
    # Interface names are at most 15 bytes.
    return (name[:13] + "_p") if len(name) > 13 else name + "_p"


def _replace_dummy_links(text):
    out, count = [], 0
    for line in text.splitlines(True):
        body = line.rstrip("\r\n")
        m = _DUMMY_RE.match(body)
        if m:
            name, peer = m.group("name"), _peer_name(m.group("name"))
            # Both ends up: a veth has carrier only then, and routing daemons skip links without one.
            out.append("%sip link add %s type veth peer name %s && ip link set %s up%s" % (
                m.group("indent"), name, peer, peer, line[len(body):]))
            count += 1
        else:
            out.append(line)
    return "".join(out), count


def _drop_netem(text):
    out, dropped, raised = [], 0, 0
    for line in text.splitlines(True):
        body = line.rstrip("\r\n")
        if _NETEM_RE.match(body):
            dropped += 1
            continue
        m = _TBF_LIMIT_RE.match(body)
        if m and int(m.group("limit")) < TBF_LIMIT_BYTES:
            line = m.group("head") + str(TBF_LIMIT_BYTES) + body[m.end("limit"):] + line[len(body):]
            raised += 1
        out.append(line)
    return "".join(out), dropped, raised


def _shaped_interfaces(files, targets):
    """Interfaces whose /ifinfo.txt asks for latency or loss (name:prefix:latency:bw:loss)."""
    shaped = []
    for key in _files_for(files, targets, "/ifinfo.txt"):
        for line in (files[key] or "").splitlines():
            parts = line.strip().split(":")
            if len(parts) >= 5 and (parts[2] not in ("", "0") or parts[4] not in ("", "0")):
                shaped.append("%s %s" % (posixpath.dirname(key) or key, parts[0]))
    return shaped


def _unprivileged(svc, missing_caps):
    """A copy of service ``svc`` with privileged replaced by all capabilities but ``missing_caps``."""
    svc = dict(svc)
    del svc["privileged"]
    cap_add = list(svc.get("cap_add") or [])
    if "ALL" not in cap_add:
        cap_add.append("ALL")
    svc["cap_add"] = cap_add
    cap_drop = list(svc.get("cap_drop") or [])
    cap_drop.extend(cap for cap in missing_caps if cap not in cap_drop)
    svc["cap_drop"] = cap_drop
    opts = list(svc.get("security_opt") or [])
    if SECURITY_OPT_UNCONFINED not in opts:
        opts.append(SECURITY_OPT_UNCONFINED)
    svc["security_opt"] = opts
    return svc


_PRIVILEGED_RE = re.compile(r"^(?P<indent>[ \t]+)privileged:[ \t]*(?:true|True|TRUE|yes|on)[ \t]*(?:#.*)?$")


def _unprivilege_lines(text, missing_caps):
    """seedemu's layout edited in place: each ``privileged: true`` line becomes cap_drop + security_opt.

    Keeps the rest of the file byte for byte, so the change reads as a two-line diff per service.
    """
    out = []
    for line in text.splitlines(True):
        body = line.rstrip("\r\n")
        m = _PRIVILEGED_RE.match(body)
        if m:
            end = line[len(body):] or "\n"
            out.append("%scap_drop: [%s]%s" % (m.group("indent"), ", ".join(missing_caps), end))
            out.append("%ssecurity_opt: [%s]%s" % (m.group("indent"), SECURITY_OPT_UNCONFINED, end))
        else:
            out.append(line)
    return "".join(out)


def _unprivilege_compose(text, missing_caps, key):
    """(new text, names of the services changed) for a compose file without privileged containers."""
    try:
        project = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError("%s is not valid YAML: %s" % (key, exc))
    services = (project or {}).get("services") or {}
    if not isinstance(services, dict):
        raise ValueError("%s: services is not a mapping" % key)
    wanted = {}
    for name, svc in services.items():
        if isinstance(svc, dict) and svc.get("privileged"):
            wanted[name] = _unprivileged(svc, missing_caps)
    if not wanted:
        return text, []
    # Line edit when it provably gives the wanted services (seedemu's own layout: cap_add [ALL] and no
    # cap_drop/security_opt yet); otherwise rewrite the file from the parsed model.
    simple = all("ALL" in (services[n].get("cap_add") or []) and "cap_drop" not in services[n]
                 and "security_opt" not in services[n] for n in wanted)
    if simple:
        edited = _unprivilege_lines(text, missing_caps)
        try:
            check = yaml.safe_load(edited)
        except yaml.YAMLError:
            check = None
        expected = dict(project, services=dict(services, **wanted))
        if check == expected:
            return edited, sorted(wanted)
    services.update(wanted)
    # Four-space indentation, as seedemu writes it (other readers of the file rely on that layout).
    return yaml.safe_dump(project, default_flow_style=False, sort_keys=False, width=4096, indent=4), sorted(wanted)


def adapt_output(files, caps):
    """Adapt a compiled seedemu ``output/`` folder to what ``caps`` (from probe_host) says is missing.

    ``files`` maps paths relative to the folder to their text; it is changed in place. Files that
    need no change are left byte-identical, so adapting twice changes nothing the second time.
    Returns human-readable notes, one per kind of adaptation.
    """
    notes = []
    targets = _copy_targets(files)

    if not caps.get("privileged", True):
        key = _compose_key(files)
        if key is not None:
            if not HAS_YAML:
                raise RuntimeError("PyYAML is needed to adapt %s for a host without privileged containers" % key)
            missing = list(caps.get("missing_capabilities") or ["SYS_RESOURCE"])
            text, names = _unprivilege_compose(files[key], missing, key)
            if names:
                files[key] = text
                notes.append(
                    "privileged containers are unavailable on this host: %d service(s) run with cap_add [ALL], "
                    "cap_drop [%s], security_opt [%s] instead (%s)" % (
                        len(names), ", ".join(missing), SECURITY_OPT_UNCONFINED, ", ".join(sorted(names))))

    if not caps.get("dummy_link", True):
        nodes = []
        for key in _files_for(files, targets, "/start.sh"):
            text, count = _replace_dummy_links(files[key])
            if count:
                files[key] = text
                nodes.append(posixpath.dirname(key) or key)
        if nodes:
            notes.append(
                "the dummy link type is unavailable on this host: router loopbacks are veth pairs instead "
                "(%s)" % ", ".join(nodes))

    if not caps.get("netem", True):
        nodes, raised_total = [], 0
        for key in _files_for(files, targets, "/interface_setup"):
            text, dropped, raised = _drop_netem(files[key])
            if dropped or raised:
                files[key] = text
                nodes.append(posixpath.dirname(key) or key)
                raised_total += raised
        if nodes:
            note = ("netem is unavailable on this host: latency and loss emulation is OFF (netem qdisc removed, "
                    "tbf queue limit raised to %d bytes) on %d node(s)" % (TBF_LIMIT_BYTES, len(nodes)))
            shaped = _shaped_interfaces(files, targets)
            if shaped:
                note += "; the topology asks for latency/loss on %s, which this host cannot emulate" % ", ".join(shaped)
            notes.append(note)
    return notes


# What each link property needs from the kernel: seedemu shapes bandwidth with tbf, latency and loss with netem.
LINK_QDISC = {"latency": "netem", "bandwidth": "tbf", "loss": "netem"}


def output_link_items(files):
    """The link properties a compiled project asks for, from each node's /ifinfo.txt (for programs seed.fate
    did not write): [{where: "<node folder> <interface>", property, value}] with seedemu's units."""
    items = []
    for key in _files_for(files, _copy_targets(files), "/ifinfo.txt"):
        for line in (files[key] or "").splitlines():
            parts = line.strip().split(":")
            if len(parts) < 5:
                continue
            where = "%s %s" % (posixpath.dirname(key) or key, parts[0])
            for prop, raw in (("latency", parts[2]), ("bandwidth", parts[3]), ("loss", parts[4])):
                try:
                    value = float(raw)
                except ValueError:
                    continue
                if value:
                    items.append({"where": where, "property": prop, "value": int(value) if value == int(value) else value})
    return items


def link_report(items, caps, describe_value=None):
    """Which link properties this host applies and which it refuses: ``{"applied": [{where, what}],
    "refused": [{where, what, reason}]}`` for ``items`` ([{where, property, value}]).

    Latency and loss need netem; without it they are refused with the probe's reason, while bandwidth (tbf)
    is still applied. ``caps`` None means the host was not probed (host_compat off): everything is taken as
    applied. ``describe_value(property, value)`` words a value (default ``<property> <value>``)."""
    describe_value = describe_value or (lambda prop, value: "%s %s" % (prop, value))
    reason = None
    if caps is not None and not caps.get("netem", True):
        why = [n for n in caps.get("notes") or [] if "netem" in n]
        reason = ("%s; latency and loss need the netem qdisc, bandwidth (tbf) still applies"
                  % (why[0] if why else "netem is unavailable on this host"))
    report = {"applied": [], "refused": []}
    for item in items:
        what = describe_value(item["property"], item["value"])
        if reason and LINK_QDISC.get(item["property"]) == "netem":
            report["refused"].append({"where": item["where"], "what": what, "reason": reason})
        else:
            report["applied"].append({"where": item["where"], "what": what})
    return report


def describe(caps):
    """One line for a result or log: what the host lacks, or that it lacks nothing."""
    lacking = [label for key, label in (("privileged", "privileged containers"), ("dummy_link", "dummy links"),
                                        ("netem", "netem")) if not caps.get(key, True)]
    return "host lacks: %s" % ", ".join(lacking) if lacking else "host supports privileged containers, dummy links and netem"
