# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action of seed.fate.fate_bundles: every party's bundles rendered on the controller, in this process.

The documentation is in plugins/modules/fate_bundles.py; the work in module_utils/lab_bundles.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.seed.fate.plugins.module_utils import fate_bundle as fb
from ansible_collections.seed.fate.plugins.module_utils import fate_versions
from ansible_collections.seed.fate.plugins.module_utils import lab_bundles


ARGUMENT_SPEC = fb.argument_spec(
    template_dir=dict(type="path", required=True),
    dest=dict(type="path", required=True),
    parties=dict(type="list", elements="dict", options=fb.PARTY_OPTIONS),
    party_hosts=dict(type="list", elements="str"),
    secrets=dict(type="dict", default={}, no_log=True),
    secrets_dir=dict(type="path", required=True),
    parties_conf=dict(type="bool", default=True),
    workers=dict(type="int", default=0),
)


# What a party host of seed.fate.ghost_nodes must have (party_hosts).
PARTY_VARS = ("seedfate_party_id", "seedfate_party_index", "seedfate_clusters")


def _int_or(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


class ActionModule(ActionBase):
    """Render every party's bundles on the controller; no module process, no connection."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False
    # One call for the whole play, whatever its hosts: the task runs once, as with run_once.
    BYPASS_HOST_LOOP = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # unused
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC,
                                                        mutually_exclusive=[("parties", "party_hosts")],
                                                        required_one_of=[("parties", "party_hosts")])
        if not fb.HAS_JINJA2 or not fb.HAS_YAML:  # pragma: no cover - both come with ansible-core
            raise AnsibleActionFail("seed.fate.fate_bundles needs jinja2 and PyYAML on the controller")
        try:
            parties = args["parties"]
            if parties is None:
                parties = self._parties_of(args["party_hosts"], (task_vars or {}).get("hostvars"))
            out = lab_bundles.render_lab(
                parties, args["directory"], args["template_dir"], args["dest"], args["secrets_dir"],
                fate_version=args["fate_version"], exchange=args["exchange"], images=args["images"],
                secrets=args["secrets"], deploy_dir=args["deploy_dir"], publish_address=args["publish_address"],
                fateboard_port_base=args["fateboard_port_base"], grpc_timeout_ms=args["grpc_timeout_ms"],
                user=args["user"], parties_conf=args["parties_conf"], check_mode=bool(self._task.check_mode),
                workers=args["workers"] or lab_bundles.default_workers())
        except (fb.BundleError, fate_versions.UnsupportedVersion, fate_versions.CatalogueError) as exc:
            raise AnsibleActionFail(self._masked(str(exc), args))
        except (IOError, OSError) as exc:
            raise AnsibleActionFail(self._masked("cannot write bundles: %s" % exc, args))
        secret_values = out.pop("secret_values")
        for warning in out.pop("warnings"):
            self._display.warning(warning)
        if self._task.diff:
            out["diff"] = lab_bundles.diff(out)
        out["summary"] = lab_bundles.summary(out)
        changed = [p["name"] for p in out["parties"] if p["changed"]]
        out["msg"] = "%d of %d parties changed%s" % (
            len(changed), len(out["parties"]), (": " + ", ".join(changed)) if changed else "")
        # Nothing here should hold a password (paths, hashes, member names); mask them all the same.
        result.update(lab_bundles.mask(out, secret_values | self._given_secrets(args)))
        return result

    def _parties_of(self, hosts, hostvars):
        """The party of each inventory host, from the seed.fate.ghost_nodes variables (docs/contracts.md
        "Inventory").

        One read of each host's variables. The inventory's own (id, index, clusters: data from the skeleton's
        files, never templates) are taken as they are; the user's (fate_config_fateboard_port, ansible_host,
        ansible_connection, the party's seedfate_parties entry) are templated as that host sees them.
        Templating every party's clusters through hostvars cost more than rendering the party.
        """
        if hostvars is None:
            raise fb.BundleError("party_hosts needs the play's hostvars")
        parties = []
        for name in hosts:
            if name not in hostvars:
                raise fb.BundleError("party_hosts: %s is not an inventory host" % name)
            raw = hostvars.raw_get(name)
            missing = [k for k in PARTY_VARS if k not in raw]
            if missing:
                raise fb.BundleError("party_hosts: %s has no %s; is it a party host of the seed.fate.ghost_nodes "
                                     "inventory (group fate_parties)?" % (name, ", ".join(missing)))
            templar = self._templar.copy_with_new_env(available_variables=raw)

            def var(key, default=None):
                return templar.template(raw[key]) if key in raw else default

            pid = raw["seedfate_party_id"]
            # seedfate_parties (the topology) may key the party by int (YAML) or string.
            topology = raw.get("seedfate_parties") or {}
            entry = topology.get(_int_or(pid), topology.get(str(pid))) if isinstance(topology, dict) else None
            serving = templar.template(entry.get("serving")) if isinstance(entry, dict) else None
            if serving is not None:
                serving = boolean(serving, strict=False)
            connection = var("ansible_connection", "local")
            party = {"name": name, "party_id": pid, "index": raw["seedfate_party_index"],
                     "clusters": raw["seedfate_clusters"], "serving": serving,
                     "host": "localhost" if connection == "local" else var("ansible_host", name)}
            port = var("fate_config_fateboard_port")
            if port is not None:
                party["fateboard_port"] = port
            parties.append(party)
        return parties

    @staticmethod
    def _given_secrets(args):
        values = set()
        for party in (args.get("secrets") or {}).values():
            if isinstance(party, dict):
                values |= set(v for v in party.values() if isinstance(v, str) and v)
        return values

    def _masked(self, msg, args):
        return lab_bundles.mask(msg, self._given_secrets(args))
