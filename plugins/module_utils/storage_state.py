# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a storage host's gather adds to the host state (plot_info, and plot_pass in storage mode, issue 15):
the plots still arriving in its dirs (storage_incoming) and, where replot is on, replot_room and
replot_status. Read-only: the dirs and the replot journal are read, never written (the journal summary
cache in state_dir aside)."""

from __future__ import absolute_import, division, print_function

import os

from ansible_collections.plotfleet.chia.plugins.module_utils import replot
from ansible_collections.plotfleet.chia.plugins.module_utils import replot_status as replot_state
from ansible_collections.plotfleet.chia.plugins.module_utils import storage_slots as slots

__metaclass__ = type


def add_figures(state, dst_dirs, replot_config, state_dir):
    """plot_info's additions to a gathered state, in its order (before the metrics, which show them)."""
    state["storage_incoming"] = slots.incoming(dst_dirs)
    if replot_config is not None:
        state["replot_room"] = replot_room(replot_config)
        state["replot_status"] = replot_status(replot_config, state_dir)
    return state


def replot_room(config):
    """{dir: replot.room(...)} for the storage dirs where replot is on (docs/replot.md)."""
    out = {}
    for directory in (config or {}).get("storage_dirs") or []:
        policy = replot.policy_for(config, directory)
        if policy is not None and os.path.isdir(directory):
            out[directory] = replot.room(directory, policy, replot.journal_of(config))
    return out


def replot_status(config, state_dir=None, now=None):
    """{dir: replot_state.dir_status(...)} for the storage dirs where replot is on. The journal is read once,
    and with a state_dir only what was appended since the last call (its summary is cached there)."""
    out, summaries = {}, None
    cache = os.path.join(state_dir, replot_state.CACHE_NAME) if state_dir else None
    for directory in (config or {}).get("storage_dirs") or []:
        policy = replot.policy_for(config, directory)
        if policy is None or not os.path.isdir(directory):
            continue
        if summaries is None:
            summaries = replot_state.journal_summary(replot.journal_of(config), cache, now)
        out[directory] = replot_state.dir_status(directory, policy, summaries.get(os.path.realpath(directory)), now)
    return out
