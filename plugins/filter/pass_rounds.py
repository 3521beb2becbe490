# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side filter of reconcile.yml's rounds: which plotters take part in the move round.

Documentation: plugins/filter/move_round_hosts.yml (ansible-doc -t filter plotfleet.chia.move_round_hosts).
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


class FilterModule(object):
    def filters(self):
        return {"move_round_hosts": move_round_hosts}
