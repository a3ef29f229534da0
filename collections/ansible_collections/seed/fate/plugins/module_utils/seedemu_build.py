# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drive the SEED Emulator: topology -> rendered emulator -> compose project + ghost model.

Two ways in:

* :func:`build_declarative` turns a normalised lab (``topology.normalize``) into seedemu calls in
  this process, reserves every FATE component as a host (so seedemu assigns its address, default
  route and /etc/hosts line), reads the addresses back after ``render()``, and takes the reserved
  hosts out of the registry before the Docker compiler runs, so they get no container and no folder.
* :func:`run_script` runs a user's own seedemu program in a subprocess (this file is its runner,
  see :func:`_runner_main`). On upstream seedemu, where the fork's ``createGhostHost`` and
  ``GhostPrinter`` do not exist, the runner adds small stand-ins for them first.

Both return the compiled output folder (in a staging folder) and a ``ghost_model.Lab``. Outputs
are made deterministic (seedemu iterates a set when it writes the image stubs). Nothing here
touches the user's build folder: the module swaps staged trees in.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import inspect
import io
import json
import os
import re
import subprocess
import sys
import tempfile

from ansible_collections.seed.fate.plugins.module_utils import ghost_model, topology as topo

SEEDEMU_URL = "https://github.com/seed-labs/seed-emulator"
SEEDEMU_COMMIT = "da525dd9bf27901374e4ed9cc052dd51125c9a5d"
INSTALL_HINT = ("seedemu is not on PyPI. Install the tested commit into the Python that runs this module: "
                "pip install -e 'git+%s@%s#egg=seedemu' (needs git; editable, since upstream's setup.py leaves out "
                "the template files seedemu reads on import), or from a source archive of it, or point SEEDEMU_PATH "
                "(or the module's seedemu_path option) at a checkout. In the seed.fate repository `make venv` does "
                "this from SEEDEMU_SOURCE. seedemu needs Python >= 3.10 with PyYAML and geopy"
                % (SEEDEMU_URL, SEEDEMU_COMMIT))
DEFAULT_OFFLINE_IMAGE = "seedfate/seedemu-node:bookworm"
# The software the node image carries by default: seedemu software name -> Debian (bookworm) package.
# seedemu's base image software, bird2 (its router image), iptables (real-world routers) and what its
# common services ask for (web: nginx-light, DNS: bind9, DHCP, iperf3). The one source: the images role's
# default images_node_software is this mapping (lookup seed.fate.node_software), in this order (the order
# of the image's seed.fate/software label).
NODE_SOFTWARE = {
    "curl": "curl",
    "dnsutils": "bind9-dnsutils",
    "ipcalc": "ipcalc",
    "iproute2": "iproute2",
    "iputils-ping": "iputils-ping",
    "jq": "jq",
    "mtr-tiny": "mtr-tiny",
    "nano": "nano",
    "netcat": "netcat-openbsd",
    "tcpdump": "tcpdump",
    "termshark": "termshark",
    "vim-nox": "vim-nox",
    "zsh": "zsh",
    "bird2": "bird2",
    "iptables": "iptables",
    "nginx-light": "nginx-light",
    "ca-certificates": "ca-certificates",
    "isc-dhcp-client": "isc-dhcp-client",
    "isc-dhcp-server": "isc-dhcp-server",
    "bind9": "bind9",
    "iperf3": "iperf3",
}
# What the offline node image carries when its seed.fate/software label cannot be read (no image yet):
# what the images role puts in by default.
DEFAULT_OFFLINE_SOFTWARE = list(NODE_SOFTWARE)
# The image label listing what the node image carries, and the variable that adds to it.
SOFTWARE_LABEL = "seed.fate/software"
SOFTWARE_VARIABLE = "images_node_software"
# An `apt-get install` in a compiled Dockerfile, up to the end of that shell command.
_APT_INSTALL_RE = re.compile(r"\bapt-get\s+(?:-\S+\s+)*install\b(?P<args>[^&;|\n]*)")
_REAL_WORLD_RE = re.compile(r"^COPY\s+\S+\s+/rw_configure_script\s*$", re.MULTILINE)
MODEL_FILE = ".seedfate-model.json"
# Testing only: "1" leaves the Ibgp layer out (OSPF stays), so a multi-router AS carries no routes across
# itself - the broken lab the convergence wait must report. Not an option of any module or role.
NO_IBGP_ENV = "SEEDFATE_TESTING_NO_IBGP"
RUNNER_ENV = "SEEDFATE_RUNNER_CONFIG"


class BuildError(Exception):
    """seedemu refused the lab or the user's program failed; ``log`` holds seedemu's own output."""

    def __init__(self, message, log=""):
        super(BuildError, self).__init__(message)
        self.log = log


class SeedemuMissing(Exception):
    pass


class BuildResult(object):
    def __init__(self, output_dir, lab, log="", ghost_files=None):
        self.output_dir = output_dir        # staged compiled project
        self.lab = lab                      # ghost_model.Lab, or None when the fork wrote the files
        self.log = log
        self.ghost_files = ghost_files      # {name: bytes} taken as-is (fork's own GhostPrinter)


def resolve_seedemu_path(path=None):
    """The folder to put on sys.path: the option, else env SEEDEMU_PATH, else None (importable as is)."""
    path = path or os.environ.get("SEEDEMU_PATH") or None
    return os.path.abspath(os.path.expanduser(path)) if path else None


def load_seedemu(path=None):
    """Import seedemu (after adding ``path`` to sys.path). Raises SeedemuMissing with the reason."""
    path = resolve_seedemu_path(path)
    if path:
        if not os.path.isdir(os.path.join(path, "seedemu")):
            raise SeedemuMissing("%s holds no seedemu package (expected %s)" % (path, os.path.join(path, "seedemu")))
        if path not in sys.path:
            sys.path.insert(0, path)
    if sys.version_info < (3, 10):
        raise SeedemuMissing("seedemu needs Python >= 3.10, this is %d.%d (%s); set ansible_python_interpreter"
                             % (sys.version_info[0], sys.version_info[1], sys.executable))
    try:
        with quiet():
            import seedemu  # noqa: F401  pylint: disable=unused-import
    except Exception as exc:  # seedemu raises whatever its own imports raise  # pylint: disable=broad-except
        raise SeedemuMissing("%s: %s" % (type(exc).__name__, exc))
    return path


@contextlib.contextmanager
def quiet():
    """Keep seedemu's chatter off stdout and stderr while it runs.

    seedemu prints progress with print(); in an Ansible module stdout must carry only the result.
    Both the file descriptors (for output of code that bound sys.stderr at import time) and
    sys.stdout/sys.stderr are redirected. The captured text is ``quiet.last`` after the block.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    buf = tempfile.TemporaryFile(mode="w+b")
    text = io.StringIO()
    saved = os.dup(1), os.dup(2)
    try:
        os.dup2(buf.fileno(), 1)
        os.dup2(buf.fileno(), 2)
        with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
            yield
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:  # pylint: disable=broad-except
            pass
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        buf.seek(0)
        quiet.last = buf.read().decode("utf-8", "replace") + text.getvalue()
        buf.close()


quiet.last = ""


class _OrderedSet(object):
    """Stand-in for the set seedemu's Docker compiler keeps its used images in.

    Iterating a set of strings follows the interpreter's hash seed, so the image stubs in
    docker-compose.yml would come out in a different order on every run; first-use order is stable.
    """

    def __init__(self):
        self._items = {}

    def add(self, item):
        self._items.setdefault(item, None)

    def __contains__(self, item):
        return item in self._items

    def __iter__(self):
        return iter(list(self._items))

    def __len__(self):
        return len(self._items)


@contextlib.contextmanager
def light_stack(enabled=True):
    """Make ``inspect.stack()`` cheap while seedemu renders.

    seedemu's Option constructor calls inspect.stack() only to read its caller's function name;
    the standard version also resolves the module and source lines of every frame, scanning all
    loaded modules each time, which makes rendering grow with (nodes x loaded modules) - seconds
    for a few hundred nodes. Frame records without source context carry the same names.
    """
    if not enabled:
        yield
        return
    original = inspect.stack

    def stack(context=1):
        frames, frame = [], sys._getframe(1)  # pylint: disable=protected-access
        while frame is not None:
            frames.append(inspect.FrameInfo(frame, frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name,
                                            None, None))
            frame = frame.f_back
        return frames
    inspect.stack = stack
    try:
        yield
    finally:
        inspect.stack = original


def make_docker_compiler(images="default", offline_image=DEFAULT_OFFLINE_IMAGE, offline_software=None,
                         internet_map=False, internet_map_port=8080, docker_kwargs=None, docker_cls=None):
    """A seedemu Docker compiler set up the seed.fate way (map off or on loopback, offline image forced)."""
    from seedemu.compiler import Docker, DockerImage
    docker_cls = docker_cls or Docker
    kwargs = dict(docker_kwargs or {})
    kwargs["internetMapEnabled"] = bool(internet_map)
    if internet_map:
        # seedemu formats this as "<port>:8080/tcp"; a host address in front binds it to loopback only.
        kwargs["internetMapPort"] = "127.0.0.1:%d" % int(internet_map_port)
    docker = docker_cls(**kwargs)
    docker._used_images = _OrderedSet()  # pylint: disable=protected-access
    if images == "offline":
        software = DEFAULT_OFFLINE_SOFTWARE if offline_software is None else offline_software
        # local=False: the image is built beforehand (role seed.fate.images); seedemu only refers to it.
        docker.addImage(DockerImage(offline_image, list(software), local=False))
        docker.forceImage(offline_image)
    return docker


def _role_name(node):
    role = node.getRole()
    name = getattr(role, "name", str(role))
    # The fork prints border routers as plain routers; keep its vocabulary.
    return "Router" if name == "BorderRouter" else name


def snapshot_node(node, kind, ghost):
    """A seedemu node (after render) as a ghost_model.Node."""
    ifaces = []
    for iface in node.getInterfaces():
        latency, bandwidth, loss = iface.getLinkProperties()
        ifaces.append(ghost_model.Interface(iface.getNet().getName(), iface.getAddress(), latency, bandwidth, loss))
    files = []
    if ghost:
        files = [f.get() for f in node.getFiles()]
    return ghost_model.Node(
        node.getAsn(), node.getName(), _role_name(node), ifaces, ghost, files,
        sorted(node.getSoftware()) if ghost else [], list(node.getBuildCommands()) if ghost else [],
        list(node.getStartCommands()) if ghost else [], list(node.getPostConfigCommands()) if ghost else [], kind)


def snapshot(emulator, is_ghost, project=None, layout=None):
    """Read the rendered emulator back into a ghost_model.Lab (ASes in creation order)."""
    base = emulator.getLayer("Base")
    systems = []
    for asn in base.getAsns():
        as_obj = base.getAutonomousSystem(asn)
        nets = []
        for name in as_obj.getNetworks():
            net = as_obj.getNetwork(name)
            nets.append(ghost_model.Network(name, net.getPrefix(), net.getType().name))
        routers = [snapshot_node(as_obj.getRouter(n), "rnode", False) for n in as_obj.getRouters()]
        hosts = []
        for name in as_obj.getHosts():
            ghost = is_ghost(asn, name)
            hosts.append(snapshot_node(as_obj.getHost(name), "hnode", ghost))
        if not nets and not routers and not hosts:
            continue
        systems.append(ghost_model.AutonomousSystem(asn, nets, routers, hosts))
    exchanges = []
    for ix in base.getInternetExchangeIds():
        net = base.getInternetExchange(ix).getPeeringLan()
        exchanges.append(ghost_model.Network(net.getName(), net.getPrefix(), net.getType().name))
    return ghost_model.Lab(project, systems, layout or [], exchanges)


def hide_nodes(emulator, keys):
    """Take registry entries out (so compilers skip them); returns a function that puts them back in order."""
    objects = emulator.getRegistry().getAll()
    before = list(objects.items())
    for key in keys:
        objects.pop(key, None)

    def restore():
        objects.clear()
        objects.update(before)
    return restore


def _peering(ebgp, peering, relationship_cls):
    if peering["type"] == "route_server":
        for asn in peering["asns"]:
            ebgp.addRsPeer(peering["ix"], asn)
    else:
        rel = {"peer": relationship_cls.Peer, "provider": relationship_cls.Provider,
               "unfiltered": relationship_cls.Unfiltered}[peering["relationship"]]
        ebgp.addPrivatePeering(peering["ix"], peering["a"], peering["b"], abRelationship=rel)


def set_network_link(network, props):
    """seedemu's default link properties of a network (every interface on it), from normalised ``props``."""
    if props:
        network.setDefaultLinkProperties(latency=props.get("latency", 0), bandwidth=props.get("bandwidth", 0),
                                         packetDrop=props.get("loss", 0))


def interface_link_hook(links):
    """A seedemu hook that sets the link properties of single interfaces: ``links`` is [(node, network
    name, props)]. seedemu creates a node's interfaces while the Base layer is configured (each starting
    with its network's defaults) and writes them into the node's ``/ifinfo.txt`` when Base is rendered, so
    this runs in between. A property the join does not give keeps its network's default."""
    from seedemu.core import Hook

    class InterfaceLinkProperties(Hook):
        def getName(self):
            return "SeedFateInterfaceLinkProperties"

        def getTargetLayer(self):
            return "Base"

        def postconfigure(self, emulator):
            for node, target, props in links:
                ifaces = [i for i in node.getInterfaces() if i.getNet().getName() == target]
                if not ifaces:
                    raise ValueError("%s has no interface on %s for its link properties" % (node.getName(), target))
                for iface in ifaces:
                    latency, bandwidth, loss = iface.getLinkProperties()
                    iface.setLinkProperties(latency=props.get("latency", latency),
                                            bandwidth=props.get("bandwidth", bandwidth),
                                            packetDrop=props.get("loss", loss))
    return InterfaceLinkProperties()


def add_interior_routing(emu, model, ibgp=True):
    """Ibgp and Ospf layers for the ASes with more than one router (every seedemu example with a multi-router
    AS adds both): OSPF carries the routers' loopbacks and internal networks, iBGP (full mesh over the
    loopbacks) carries what each border router learnt by eBGP to the others. ASes with one router are masked
    in both, so their compiled output is what it was without the layers. Returns the ASNs covered; adds
    nothing when there are none."""
    from seedemu.layers import Ibgp, Ospf

    multi = topo.multi_router_asns(model)
    if not multi:
        return []
    ospf, ibgp_layer = Ospf(), Ibgp()
    for system in model["autonomous_systems"]:
        if system["asn"] not in multi:
            ospf.maskAsn(system["asn"])
            ibgp_layer.maskAsn(system["asn"])
    emu.addLayer(ospf)
    if ibgp:
        emu.addLayer(ibgp_layer)
    return multi


def add_services(emu, model):
    """The seedemu service layers of the hosts' services (topology.SERVICES): one layer per kind, a server
    installed on a virtual node per host and service, bound to exactly that host. seedemu matches both the
    binding's virtual node name and the filter's node name as regular expressions from their start: both are
    anchored, so ``web`` does not also catch ``web2``.
    Returns the kinds added, sorted."""
    from seedemu import services as seed_services
    from seedemu.core import Action, Binding, Filter

    layers = {}
    for system in model["autonomous_systems"]:
        asn = system["asn"]
        for host in system["hosts"]:
            for service in host.get("services") or []:
                spec = topo.SERVICES[service["name"]]
                if service["name"] not in layers:
                    layers[service["name"]] = getattr(seed_services, spec["layer"])()
                vnode = "%s_%d_%s" % (service["name"], asn, host["name"])
                server = layers[service["name"]].install(vnode)
                for option, value in sorted(service["options"].items()):
                    getattr(server, spec["options"][option]["setter"])(value)
                # allowBound: one host may run several services, each its own virtual node.
                emu.addBinding(Binding("^%s$" % re.escape(vnode), action=Action.FIRST, filter=Filter(
                    asn=asn, nodeName="^%s$" % re.escape(host["name"]), allowBound=True)))
    for name in sorted(layers):
        emu.addLayer(layers[name])
    return sorted(layers)


def build_declarative(model, project, staging, images="default", offline_image=DEFAULT_OFFLINE_IMAGE,
                      offline_software=None, internet_map=False, internet_map_port=8080, fate_version=None):
    """Render and compile a normalised lab into ``staging``/output. Returns a BuildResult.

    seedemu must already be importable (:func:`load_seedemu`).
    """
    from seedemu.core import Emulator
    from seedemu.layers import Base, Ebgp, EtcHosts, PeerRelationship, Routing

    plan = topo.ghost_plan(model["parties"], fate_version)
    output_dir = os.path.join(staging, "output")
    cwd = os.getcwd()
    try:
        with quiet(), light_stack(os.environ.get("SEEDFATE_LIGHT_STACK", "1") != "0"):
            # Routers in /etc/hosts too, as the fork's GhostNodes.json lists them.
            emu, base, routing, ebgp, hosts = Emulator(), Base(), Routing(), Ebgp(), EtcHosts(only_hosts=False)
            links = []
            for ix in model["internet_exchanges"]:
                lan = base.createInternetExchange(ix["id"], prefix=str(ix["prefix"])).getPeeringLan()
                set_network_link(lan, ix.get("link"))
            as_objs = {}
            for system in model["autonomous_systems"]:
                as_obj = base.createAutonomousSystem(system["asn"])
                as_objs[system["asn"]] = as_obj
                for net in system["networks"]:
                    if net["explicit_prefix"]:
                        network = as_obj.createNetwork(net["name"], prefix=str(net["prefix"]))
                    else:
                        network = as_obj.createNetwork(net["name"])
                    set_network_link(network, net.get("link"))
                for router in system["routers"]:
                    node = as_obj.createRouter(router["name"])
                    for target in router["joins"]:
                        node.joinNetwork(target)
                    links.extend((node, target, props) for target, props in sorted((router.get("links") or {}).items()))
            # Ghosts first, in the fork's order, so they hold .71 upward whatever else the AS has.
            for ghost in plan:
                as_objs[ghost["asn"]].createHost(ghost["name"]).joinNetwork(ghost["network"])
            for system in model["autonomous_systems"]:
                for host in system["hosts"]:
                    node = as_objs[system["asn"]].createHost(host["name"])
                    for target in host["joins"]:
                        node.joinNetwork(target)
                    links.extend((node, target, props) for target, props in sorted((host.get("links") or {}).items()))
            if links:
                emu.addHook(interface_link_hook(links))
            for peering in model["peerings"]:
                _peering(ebgp, peering, PeerRelationship)
            for layer in (base, routing, ebgp, hosts):
                emu.addLayer(layer)
            add_interior_routing(emu, model, ibgp=os.environ.get(NO_IBGP_ENV, "") != "1")
            add_services(emu, model)
            emu.render()

            ghost_keys = set((str(g["asn"]), "hnode", g["name"]) for g in plan)
            layout = [(g["party"], g["cluster"], g["component"], ghost_model.Node(g["asn"], g["name"]).node_id)
                      for g in plan]
            lab = snapshot(emu, lambda asn, name: (str(asn), "hnode", name) in ghost_keys, project, layout)
            hide_nodes(emu, ghost_keys)
            docker = make_docker_compiler(images, offline_image, offline_software, internet_map, internet_map_port)
            emu.compile(docker, output_dir, override=True)
    except (AssertionError, ValueError, KeyError, IndexError, StopIteration) as exc:
        # seedemu reports bad input with assert; validation should have caught it, but say what it said.
        raise BuildError("seedemu refused the topology: %s: %s" % (type(exc).__name__, exc), quiet.last)
    finally:
        os.chdir(cwd)
    leaked = [g.node_id for g in lab.ghosts() if os.path.exists(os.path.join(output_dir, g.node_id))]
    if leaked:
        raise BuildError("reserved hosts were compiled into containers: %s" % ", ".join(leaked), quiet.last)
    return BuildResult(output_dir, lab, quiet.last)


def _collections_root():
    """The folder holding ``ansible_collections`` (a directory, or the AnsiballZ zip), for -m runs."""
    here = os.path.abspath(__file__)
    parts = here.split(os.sep)
    if "ansible_collections" in parts:
        idx = len(parts) - 1 - parts[::-1].index("ansible_collections")
        return os.sep.join(parts[:idx]) or os.sep
    raise BuildError("cannot locate the seed.fate collection from %s" % here)


EXIT_SEEDEMU_MISSING = 3
EXIT_BUILD_ERROR = 4
RUNNER_MODULE = "ansible_collections.seed.fate.plugins.module_utils.seedemu_build"


def _spawn(config, cwd, seedemu_path, extra_paths=(), python=None, timeout=600):
    """Run this file as the runner with ``config``; returns the CompletedProcess (raises on timeout)."""
    env = dict(os.environ)
    paths = [_collections_root()]
    if seedemu_path:
        paths.append(seedemu_path)
    paths.extend(extra_paths)
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONHASHSEED"] = "0"     # seedemu iterates sets in places; keep its output stable
    env[RUNNER_ENV] = json.dumps(config)
    cmd = [python or sys.executable, "-m", RUNNER_MODULE]
    return subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, check=False)


def _options(images, offline_image, offline_software, internet_map, internet_map_port):
    return {"images": images, "offline_image": offline_image,
            "offline_software": DEFAULT_OFFLINE_SOFTWARE if offline_software is None else list(offline_software),
            "internet_map": bool(internet_map), "internet_map_port": int(internet_map_port)}


def render_lab(model, project, staging, seedemu_path=None, images="default", offline_image=DEFAULT_OFFLINE_IMAGE,
               offline_software=None, internet_map=False, internet_map_port=8080, python=None, timeout=600,
               fate_version=None):
    """:func:`build_declarative` in a fresh Python process; returns the same BuildResult.

    A child process keeps seedemu's cost independent of the caller: seedemu calls inspect.stack()
    for every node option, which walks every loaded module, and an Ansible module process has
    many more loaded than a plain seedemu program. It also keeps seedemu's process-wide state
    (cwd changes, class-level counters) out of the caller and pins the hash seed.
    """
    seedemu_path = resolve_seedemu_path(seedemu_path)
    config = {"mode": "declarative", "model": topo.to_jsonable(model), "project": project, "staging": staging,
              "seedemu_path": seedemu_path, "fate_version": fate_version}
    config.update(_options(images, offline_image, offline_software, internet_map, internet_map_port))
    try:
        proc = _spawn(config, staging, seedemu_path, python=python, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BuildError("seedemu did not finish within %d s" % timeout)
    log = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode == EXIT_SEEDEMU_MISSING:
        raise SeedemuMissing(err.splitlines()[-1] if err else "seedemu cannot be imported")
    if proc.returncode == EXIT_BUILD_ERROR:
        raise BuildError(err.splitlines()[-1] if err else "seedemu failed", log)
    if proc.returncode != 0:
        raise BuildError("the seedemu runner failed (exit %d): %s" % (proc.returncode, err[-4000:]), log)
    with open(os.path.join(staging, MODEL_FILE)) as f:
        lab = ghost_model.Lab.from_dict(json.load(f))
    os.unlink(os.path.join(staging, MODEL_FILE))
    return BuildResult(os.path.join(staging, "output"), lab, log)


def run_script(script, workdir, project, seedemu_path=None, images="default", offline_image=DEFAULT_OFFLINE_IMAGE,
               offline_software=None, internet_map=False, internet_map_port=8080, python=None, timeout=600):
    """Run a user's seedemu program with cwd ``workdir``; collect ``workdir/output`` and ``workdir/ghost``.

    Returns a BuildResult whose ``lab`` is set when the runner's GhostPrinter stand-in wrote the
    model, or whose ``ghost_files`` hold what the fork's own GhostPrinter wrote.
    """
    script = os.path.abspath(os.path.expanduser(script))
    if not os.path.isfile(script):
        raise BuildError("script: %s does not exist" % script)
    seedemu_path = resolve_seedemu_path(seedemu_path)
    config = {"mode": "script", "script": script, "seedemu_path": seedemu_path}
    config.update(_options(images, offline_image, offline_software, internet_map, internet_map_port))
    try:
        proc = _spawn(config, workdir, seedemu_path, [os.path.dirname(script)], python, timeout)
    except subprocess.TimeoutExpired:
        raise BuildError("script: %s did not finish within %d s" % (script, timeout))
    log = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise BuildError("script: %s failed (exit %d): %s" % (script, proc.returncode, err[-4000:]), log)
    output_dir = os.path.join(workdir, "output")
    ghost_dir = os.path.join(workdir, "ghost")
    if not os.path.isfile(os.path.join(output_dir, "docker-compose.yml")):
        raise BuildError("script: %s wrote no ./output/docker-compose.yml (compile with "
                         "emu.compile(Docker(), './output', override=True))" % script, log)
    model_path = os.path.join(ghost_dir, MODEL_FILE)
    if os.path.isfile(model_path):
        with open(model_path) as f:
            lab = ghost_model.Lab.from_dict(json.load(f))
        lab.project = project
        return BuildResult(output_dir, lab, log)
    if os.path.isfile(os.path.join(ghost_dir, "GhostNodes.json")):
        return BuildResult(output_dir, None, log, read_tree(ghost_dir))
    raise BuildError("script: %s wrote no ./ghost/GhostNodes.json (compile the ghosts with "
                     "emu.compile(GhostPrinter(), './ghost', override=True))" % script, log)


def _dockerfiles(tree):
    """(node folder, Dockerfile text) of a compiled project {relative path: bytes}, in folder order."""
    for rel in sorted(tree):
        parts = rel.split("/")
        if len(parts) == 2 and parts[1] == "Dockerfile":
            data = tree[rel]
            yield parts[0], data.decode("utf-8", "replace") if isinstance(data, bytes) else data


def packages_to_install(tree):
    """{node folder: [packages]} that the compiled project's Dockerfiles would ``apt-get install``.

    With the offline node image nothing may be installed at build time (no registry, and the sealed lab
    drops the traffic): every package seedemu adds here is one the image's declared software lacks.
    """
    needs = {}
    for node, text in _dockerfiles(tree):
        packages = set()
        for match in _APT_INSTALL_RE.finditer(text):
            packages.update(t for t in match.group("args").split() if not t.startswith("-"))
        if packages:
            needs[node] = sorted(packages)
    return needs


def missing_software_message(needs, image):
    """The error for :func:`packages_to_install`'s findings: each node, its packages, and how to add them."""
    lines = ["%s: %s" % (node, ", ".join(pkgs)) for node, pkgs in sorted(needs.items())]
    wanted = sorted(set(p for pkgs in needs.values() for p in pkgs))
    return ("nodes ask for software that the offline node image %s does not carry, and nothing can be installed "
            "while the lab is built (no registry, sealed lab): %s. Add it to the node image's software, %s "
            "(role seed.fate.images, seedemu package name -> Debian package); to keep the defaults, put the new "
            "entries in %s_extra, e.g. -e '{\"%s_extra\": {%s}}', then rerun. The image lists what it carries "
            "in its %s label"
            % (image, "; ".join(lines), SOFTWARE_VARIABLE, SOFTWARE_VARIABLE, SOFTWARE_VARIABLE,
               ", ".join('\"%s\": \"%s\"' % (p, p) for p in wanted), SOFTWARE_LABEL))


def real_world_routers(tree):
    """Node folders of seedemu real-world routers (they route the lab towards the host's real network)."""
    return [node for node, text in _dockerfiles(tree) if _REAL_WORLD_RE.search(text)]


def read_tree(root):
    """{relative path: bytes} of every file under ``root`` ({} when it does not exist)."""
    out = {}
    if not os.path.isdir(root):
        return out
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root).replace(os.sep, "/")] = f.read()
    return out


def finalize_compose(text, project):
    """Top-level ``name: <project>`` first, and no obsolete ``version:`` key (compose v2 warns on it)."""
    lines = text.split("\n")
    kept = [ln for ln in lines if not (ln.startswith("version:") or ln.startswith("name:"))]
    return "name: %s\n" % project + "\n".join(kept)


# ---------------------------------------------------------------------------------------------
# Runner: executed as ``python -m ...seedemu_build`` with the user's program to run in its cwd.
# ---------------------------------------------------------------------------------------------

def _install_shims(config):
    """Make a fork-style program run on upstream seedemu, and apply the module's image/map options."""
    import seedemu
    import seedemu.compiler as compiler_pkg
    from seedemu.compiler import Docker
    from seedemu.core import AutonomousSystem, Compiler

    ghosts = set()
    shimmed = not hasattr(AutonomousSystem, "createGhostHost")
    if shimmed:
        def create_ghost_host(self, name):
            node = self.createHost(name)
            ghosts.add((int(self.getAsn()), name))
            return node
        AutonomousSystem.createGhostHost = create_ghost_host

        class GhostPrinter(Compiler):
            """Stand-in for the fork's GhostPrinter: writes the ghost model for seed.fate to export."""

            def getName(self):
                return "GhostPrinter"

            def _doCompile(self, emulator):
                lab = snapshot(emulator, lambda asn, name: (int(asn), name) in ghosts)
                with open(MODEL_FILE, "w") as f:
                    json.dump(lab.to_dict(), f)

        compiler_pkg.GhostPrinter = GhostPrinter
        seedemu.GhostPrinter = GhostPrinter

    original_init = Docker.__init__
    original_compile = Docker._doCompile  # pylint: disable=protected-access

    def init(self, *args, **kwargs):
        kwargs["internetMapEnabled"] = config["internet_map"]
        if config["internet_map"]:
            kwargs["internetMapPort"] = "127.0.0.1:%d" % config["internet_map_port"]
        original_init(self, *args, **kwargs)
        self._used_images = _OrderedSet()
        if config["images"] == "offline":
            from seedemu.compiler import DockerImage
            self.addImage(DockerImage(config["offline_image"], config["offline_software"], local=False))
            self.forceImage(config["offline_image"])

    def do_compile(self, emulator):
        if not shimmed:
            return original_compile(self, emulator)
        restore = hide_nodes(emulator, [(str(asn), "hnode", name) for asn, name in ghosts])
        try:
            return original_compile(self, emulator)
        finally:
            restore()

    Docker.__init__ = init
    Docker._doCompile = do_compile  # pylint: disable=protected-access


def _runner_main():
    config = json.loads(os.environ[RUNNER_ENV])
    if config.get("seedemu_path") and config["seedemu_path"] not in sys.path:
        sys.path.insert(0, config["seedemu_path"])
    try:
        import seedemu  # noqa: F401  pylint: disable=unused-import
    except Exception as exc:  # pylint: disable=broad-except
        sys.stderr.write("%s: %s\n" % (type(exc).__name__, exc))
        return EXIT_SEEDEMU_MISSING
    if config["mode"] == "declarative":
        opts = dict((k, config[k]) for k in ("images", "offline_image", "offline_software", "internet_map",
                                             "internet_map_port"))
        try:
            result = build_declarative(config["model"], config["project"], config["staging"],
                                       fate_version=config.get("fate_version"), **opts)
        except BuildError as exc:
            sys.stderr.write(exc.log + "\n%s\n" % exc)
            return EXIT_BUILD_ERROR
        with open(os.path.join(config["staging"], MODEL_FILE), "w") as f:
            json.dump(result.lab.to_dict(), f)
        return 0
    import runpy
    _install_shims(config)
    sys.argv = [config["script"]]
    runpy.run_path(config["script"], run_name="__main__")
    return 0


if __name__ == "__main__":
    # Runner process, not an Ansible module: its exit code is the protocol with render_lab().
    raise SystemExit(_runner_main())
