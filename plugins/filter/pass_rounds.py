# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side filters of reconcile.yml's plays whose hosts are worked out when they start: the plotters
that take part in the move round, the hosts that stop on a wrong plotfleet_* variable, the hosts that the report
fails.

Documentation of each filter: plugins/filter/<filter name>.yml (ansible-doc -t filter plotfleet.chia.<name>).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def move_round_hosts(hostvars, hosts):
    """The hosts whose pass left plots for the move round (plot_pass defer_move: their plotfleet_move_result
    says deferred), in the order given. One controller task reads them all (a `when` costs a worker per host)."""
    movers = []
    for name in hosts or []:
        try:
            move = hostvars[name].get("plotfleet_move_result")
        except Exception:  # a host that is not in hostvars has no pass result
            continue
        if isinstance(move, dict) and move.get("deferred") is True:
            movers.append(name)
    return movers


def variable_problem_hosts(hostvars, hosts):
    """The hosts that the variable check (plotfleet_variable_report, set on every play host by one run_once
    task) found a wrong plotfleet_* variable on, in the order given, each once."""
    found = []
    for name in hosts or []:
        try:
            report = hostvars[name].get("plotfleet_variable_report")
        except Exception:  # not in hostvars: not in the pass
            continue
        problems = report.get("problems") if isinstance(report, dict) else None
        if isinstance(problems, dict) and problems.get(name) and name not in found:
            found.append(name)
    return found


def failed_pass_hosts(hostvars, hosts):
    """The hosts that failed this pass (a recorded plotfleet_failure) or were unreachable in it (their
    plotfleet_host_state says so), in the order given, each once: the ones the report play fails."""
    found = []
    for name in hosts or []:
        try:
            host = hostvars[name]
            failure, state = host.get("plotfleet_failure"), host.get("plotfleet_host_state")
        except Exception:  # not in hostvars: not in the pass
            continue
        unreachable = isinstance(state, dict) and state.get("unreachable") is True
        if (failure is not None or unreachable) and name not in found:
            found.append(name)
    return found


class FilterModule(object):
    def filters(self):
        return {"move_round_hosts": move_round_hosts, "variable_problem_hosts": variable_problem_hosts,
                "failed_pass_hosts": failed_pass_hosts}
