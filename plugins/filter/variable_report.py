# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The check of every play host's plotfleet_* variables in one controller task (issue 15).

A per-host check costs a worker per host and templates ~110 variables on each, twice in a reconcile
pass (the check, then the start problems plot_pass takes); here one run_once task templates each
host's own (inventory-level) settings once and reuses the run_once host's play-level values. The
messages are variables.py's: variable_problems, start_problems, unknown_variables.
Documentation: plugins/filter/variable_report.yml.
"""

from __future__ import absolute_import, division, print_function

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.utils.display import Display

from ansible_collections.plotfleet.chia.plugins.filter import variables

__metaclass__ = type

# The fact the report is set as: not a setting of the host's, so never a name to check or warn about.
REPORT_FACT = "plotfleet_variable_report"


def _defaults():
    values = {}
    for role in variables.ROLES:
        values.update(variables._role_file(role, "defaults/main.yml"))
    return values


def _inventory_values(hostvars, host, names):
    """{name: value} of the settings the host's inventory, group_vars or extra vars set ({} for a host
    hostvars does not know). A value that cannot be templated is kept as its error: the host's problem."""
    try:
        host_vars = hostvars[host]
        present = [name for name in names if name in host_vars]
    except Exception:  # noqa: BLE001 - the host's own vars only; the others go on
        return {}, []
    values, errors = {}, []
    for name in present:
        try:
            values[name] = host_vars[name]
        except Exception as exc:  # noqa: BLE001 - e.g. an undefined variable in the value
            errors.append("%s: %s" % (name, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
    return values, errors


def host_values(mine, my_inventory, their_inventory, defaults):
    """One host's settings from the run_once host's full values (mine) and both hosts' inventory-level
    values. Ansible's precedence: play, block and role-param vars (above the inventory) are the same on
    every host, role defaults (below it) too; only the inventory level differs between hosts."""
    values = {}
    for name, value in mine.items():
        if name in my_inventory:
            if my_inventory[name] != value:
                values[name] = value  # a play-level value shadows my inventory: it shadows theirs too
            else:
                values[name] = their_inventory.get(name, defaults.get(name))
        elif name in their_inventory and value == defaults.get(name):
            values[name] = their_inventory[name]  # mine is the role default, theirs is set
        else:
            values[name] = value  # the default, or a play-level value, on every host
    return values


def _names_set(mine_names, my_inventory_names, their_inventory_names):
    """plotfleet_* names set for a host: the play-level ones I see plus its own inventory's."""
    return (set(mine_names) - set(my_inventory_names)) | set(their_inventory_names)


def variable_report(mine, hostvars, hosts, me, entry_point="main", my_names=(), plotters=(), warn=False):
    """{problems, start, unknown}: each a {host: [messages]} with only the hosts that have some; warnings:
    the unknown names as "host: message" lines, each also shown as an Ansible warning with `warn` (the
    check's own task warns: a task of its own to print them cost ~90 ms a pass even when skipped).

    mine: every reconcile setting with its value on the run_once host (me); my_names: the plotfleet_*
    variable names me sees; plotters: the hosts whose start settings plot_pass checks (start problems
    only when plotfleet_start_enabled is true there)."""
    names = sorted(mine)
    defaults = _defaults()
    known_prefixed = [n for n in my_names if n != REPORT_FACT]
    my_inventory, _ = _inventory_values(hostvars, me, names)
    my_inventory_names = _inventory_names(hostvars, me)
    report = {"problems": {}, "start": {}, "unknown": {}}
    for host in hosts or []:
        if host == me:
            inventory, errors, values = my_inventory, [], dict(mine)
            set_names = known_prefixed
        else:
            inventory, errors = _inventory_values(hostvars, host, names)
            values = host_values(mine, my_inventory, inventory, defaults)
            set_names = _names_set(known_prefixed, my_inventory_names, _inventory_names(hostvars, host))
        problems = errors or variables.variable_problems(values, entry_point)
        if problems:
            report["problems"][host] = problems
        elif host in (plotters or ()) and boolean(values.get("plotfleet_start_enabled", True), strict=False):
            start = variables.start_problems(values)
            if start:
                report["start"][host] = start
        unknown = variables.unknown_variables(sorted(n for n in set_names if n != REPORT_FACT))
        if unknown:
            report["unknown"][host] = unknown
    # One line per host and name, to print: the task runs once, on one host, for all of them.
    report["warnings"] = ["%s: %s" % (host, message) for host in sorted(report["unknown"])
                          for message in report["unknown"][host]]
    if warn:
        for line in report["warnings"]:
            Display().warning(line)
    return report


def _inventory_names(hostvars, host):
    try:
        return [name for name in hostvars[host] if str(name).startswith(variables.PREFIX)]
    except Exception:  # noqa: BLE001
        return []


class FilterModule(object):
    def filters(self):
        return {"variable_report": variable_report}
