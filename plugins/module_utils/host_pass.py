# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The steps of plot_pass: a plotter's whole pass in one module call (issue 15).

gather the host state once (hoststate, what plot_info returns) -> delete the temp files of dead jobs
(stopping, as plot_stop ended+cleanup) -> decide starts and start them (starting, as plot_start) ->
decide moves and start or adopt workers (moving, as plot_move). Each step that acts does it as its
own module does, under the host lock and on a state gathered under that lock; a step that finds
nothing to do on the pass's gather returns at once (no lock, no second gather, no probe of the
plotter's Python). The host is gathered again only after a step changed it.
In storage mode (a storage host's pass) only the gather runs, with what plot_info adds for a storage host
(storage_state): one module, so a pass builds one AnsiballZ payload for every host. A plotter that is also
storage (storage_dirs given) gets those figures in its own pass's gather.

A reconcile pass runs every host's pass in one round (issue 15): the storage hosts' offers are not known
yet when the plotters' passes run, so with defer_move a plotter moves nothing that needs them - a finished
plot its transfer records let move is left for a second call, mode=move (gather, the move step only, with
destinations from this pass's offers), and the move result says so (deferred, the plots). With none such the
move step runs at once with no destinations, which can move nothing but does the rest (completed transfers
acknowledged, old records archived, the transfers listed), so a quiet fleet pays one round.
"""

from __future__ import absolute_import, division, print_function

import os
import sys
import time

# starting and moving are imported where a plotter's pass uses them: a storage host's pass does not
# execute them (AnsiballZ still ships them).
from ansible_collections.plotfleet.chia.plugins.module_utils import hoststate, options, processes, storage_state

__metaclass__ = type

ENDED_STATES = ("dead", "failed", "stopped")
STORAGE_MODE = "mode is storage"
MOVE_MODE = "mode is move"
DEFERRED = "moves wait for this pass's offers (plot_pass mode=move)"
# Why a plot did not move in a deferring round (no destinations given): it finished after the look for plots
# that wait for the offers (it moves in the next pass, or this pass's move round).
LATE_REASON = "finished while this pass ran (moves in the next pass)"
LATE = ": not moved: " + LATE_REASON   # as a move reason reads after the plot's path


class PassError(Exception):
    """A step refused its options or failed; carries the result keys for fail_json."""

    def __init__(self, msg, **result):
        Exception.__init__(self, msg)
        self.msg = msg
        self.result = result


def run(params, check_mode, warnings):
    """The pass: gather once -> clean up -> start -> move. Returns the module result; a failed step's
    PassError carries the gathered state (host_state), so the status still shows the host's jobs."""
    if params["mode"] == "move":
        return move_round(params, check_mode, warnings)
    state = gather(params, warnings, check_mode)
    if params["mode"] == "storage":  # a storage host's pass: its state (and offer) for the plotters' passes
        return {"changed": False, "reasons": [], "host_state": state, "cleanup": skipped(STORAGE_MODE),
                "start": skipped(STORAGE_MODE), "move": skipped(STORAGE_MODE)}
    try:
        problems = dir_problems(state, params["dir_variables"])
        if problems:
            raise PassError("; ".join(problems), changed=False)
        cleanup = take_warnings(clean_dead_tmp(params, state, check_mode), warnings)
        start = take_warnings(start_plots(params, state, check_mode), warnings)
        # A step that changed the host (deleted files, launched a plot): the move decides on the new state.
        after = gather_again(params) if changed(cleanup, start) and not check_mode else state
        move = move_plots(params, after, check_mode, warnings)
    except PassError as exc:
        exc.result.setdefault("host_state", state)
        raise
    reasons = list(start.get("reasons") or []) + list(move.get("reasons") or [])
    return {"changed": changed(cleanup, start, move), "reasons": reasons, "host_state": state,
            "cleanup": cleanup, "start": start, "move": move}


def move_round(params, check_mode, warnings):
    """mode=move: the move step alone, on a fresh gather (its live jobs keep their plots), with the
    destinations this pass's offers made. No host_state: the pass's own gather (its first round) stands."""
    state = gather_again(params)
    try:
        move = move_plots(params, state, check_mode, warnings)
    except PassError as exc:
        exc.result.setdefault("host_state", state)
        raise
    return {"changed": changed(move), "reasons": list(move.get("reasons") or []),
            "cleanup": skipped(MOVE_MODE), "start": skipped(MOVE_MODE), "move": move}


def option_problems(params):
    """plot_info's and plot_move's checks of their options (before anything runs)."""
    problems = []
    if params["history_limit"] < 0:
        problems.append("history_limit must be >= 0, got %d" % params["history_limit"])
    if params["stall_after_s"] is not None and params["stall_after_s"] <= 0:
        problems.append("stall_after_s must be > 0, got %d" % params["stall_after_s"])
    moves = params["move_enabled"] and params["mode"] != "storage"
    return problems + (options.move_problems(params) if moves else [])


def take_warnings(result, warnings):
    """A step's warnings, once each (a step that gathers again repeats the host's)."""
    for warning in result.pop("warnings", None) or []:
        if warning not in warnings:
            warnings.append(warning)
    return result


def skipped(reason):
    """What a step that does not run this pass leaves (the shape of a skipped task's result)."""
    return {"changed": False, "skipped": True, "skip_reason": reason}


def gather(params, warnings, check_mode=False):
    """plot_info's gather (its dst dirs plus a storage host's own storage dirs; in storage mode with what
    plot_info adds for a storage host) and metrics file (not in check mode: check mode writes nothing on
    the host, as plot_info)."""
    dst_dirs = list(params["dst_dirs"]) + list(params["storage_dirs"])
    state = hoststate.gather(dict(params, dst_dirs=dst_dirs))
    host_warnings = state["host_warnings"] = state.pop("warnings")
    if params["mode"] == "storage" or params["storage_dirs"]:  # a storage host, or a plotter that is one too
        storage_state.add_figures(state, dst_dirs, params["replot"], params["state_dir"])
    if params.get("metrics_path") and not check_mode:
        # Imported here: a pass without metrics does not pay for it (AnsiballZ still ships it).
        from ansible_collections.plotfleet.chia.plugins.module_utils import metrics
        try:
            metrics.write(params["metrics_path"], state, params["state_dir"], host_warnings)
        except (OSError, ValueError) as exc:  # a warning, never a failed pass (as in plot_info)
            host_warnings.append("metrics_path %s: not written: %s" % (params["metrics_path"], exc))
    warnings.extend(host_warnings)
    return state


def gather_again(params):
    """The state after a step changed the host (for the next step only: no metrics, no warnings again)."""
    return hoststate.gather(params)


def dir_problems(state, dir_variables):
    """Configured dirs the gather found missing or unusable, each message naming its setting (the
    messages of the reconcile role's dir_problems filter)."""
    by_path = dict(((entry.get("path") or "").rstrip("/") or "/", entry) for entry in state.get("dirs") or []
                   if isinstance(entry, dict) and entry.get("path"))
    problems = []
    for variable in sorted(dir_variables or {}):
        for path in dir_variables[variable] or []:
            entry = by_path.get(str(path).rstrip("/") or "/")
            if entry is None:
                said = [w for w in state.get("host_warnings") or [] if str(path) in w]
                problems.extend("%s: %s" % (variable, said[0]) for _ in said[:1])
            elif entry.get("exists") is False or entry.get("error"):
                problems.append("%s: %s: %s" % (variable, path, entry.get("error") or "does not exist"))
    return problems


def dead_temp_files(state):
    """Temp files that dead, failed or stopped jobs left (the reconcile role's old `when`)."""
    return [path for entry in state.get("history") or [] if entry.get("state") in ENDED_STATES
            for path in entry.get("tmp_files") or []]


def clean_dead_tmp(params, state, check_mode):
    """plot_stop ended=true cleanup=true, when the pass's gather shows a dead job's temp files."""
    if not params["cleanup_dead_tmp"]:
        return skipped("cleanup_dead_tmp is false")
    if not dead_temp_files(state):
        return skipped("no dead job left temp files")
    # Imported here: most passes have no dead job's temp files (AnsiballZ still ships it).
    from ansible_collections.plotfleet.chia.plugins.module_utils import stopping
    stop_params = dict(params, plot_id=None, all=False, ended=True, action="terminate", timeout=30,
                       graceful_timeout=0, kill=False, cleanup=True)
    try:
        return stopping.run(stop_params, check_mode, hoststate.gather)
    except stopping.StopError as exc:
        raise PassError(str(exc), changed=False) from None


def start_plots(params, state, check_mode, now=None):
    """plot_start on the pass's state: when its policy starts nothing, that is the answer; otherwise
    plot_start's own run (host lock, gather again, decide, probe the plotter, launch)."""
    if not params["start_enabled"]:
        return skipped("start_enabled is false")
    if params["start_problems"]:  # the caller's own checks, named as its user wrote them
        raise PassError("; ".join(params["start_problems"]), errors=params["start_problems"], changed=False)
    from ansible_collections.plotfleet.chia.plugins.module_utils import starting
    errors, binary = starting.validate(params)
    if errors:
        raise PassError("; ".join(errors), errors=errors, changed=False)
    params["_binary"] = binary
    _, decision = starting.decide_on(params, state, now or time.time())
    if not decision["start"]:
        return {"changed": False, "started": [], "would_start": [], "reasons": decision["reasons"],
                "decision": decision, "warnings": []}
    try:
        return starting.run(params, check_mode, hoststate.gather, starting.install_driver)
    except starting.StartError as exc:
        raise PassError(exc.msg, **exc.result) from None


def move_plots(params, state, check_mode, warnings):
    """plot_move on the given state (plot_move too gathers before its lock and decides under it). With
    defer_move, nothing that needs destinations moves here (see waiting_plots)."""
    if not params["move_enabled"]:
        return skipped("move_enabled is false")
    defer = params["defer_move"] and params["mode"] == "plotter"
    if not params["destinations"] and not defer:
        return skipped("no destinations")
    from ansible_collections.plotfleet.chia.plugins.module_utils import moving
    move_params = dict(params, python=params["python"] or sys.executable)
    try:
        procs = processes.list_processes()
    except Exception as exc:  # the process table only refines liveness checks (as in plot_move)
        warnings.append("process table unavailable (%s); checking pids directly" % exc)
        procs = None
    if defer:
        # Its own storage dirs become local destinations with the offers: plots there stay (as in plot_move).
        sources = own_sources(params)
        waiting = waiting_plots(dict(params, dst_dirs=sources, source_dirs=[]), state, procs)
        if waiting:
            return dict(skipped(DEFERRED), deferred=True, plots=waiting)
        move_params.update(destinations=[], dst_dirs=sources, source_dirs=[], no_destination_reason=LATE_REASON)
    try:
        return moving.run_pass(move_params, state, procs, check_mode, warnings)
    except (IOError, OSError) as exc:
        raise PassError("plot_move failed: %s" % exc, warnings_list=warnings) from None


def own_sources(params):
    """The dirs plot_move takes plots from (dst_dirs, source_dirs) without the host's own storage dirs."""
    own = set(os.path.realpath(d) for d in params["storage_dirs"])
    return [d for d in list(params["dst_dirs"]) + list(params["source_dirs"]) if os.path.realpath(d) not in own]


def waiting_plots(params, state, procs, now=None):
    """Paths of the finished plots in the source dirs that plot_move would try to place now: those whose
    transfer record (current or archived) does not forbid a move (policy.move: running, done, failed and
    not yet due). Read-only and without the lock: it only tells whether the move round is needed; that
    round decides again under the lock, as plot_move does."""
    from ansible_collections.plotfleet.chia.plugins.module_utils import transfer
    from ansible_collections.plotfleet.chia.plugins.module_utils.policy import move as move_policy
    now = now or time.time()
    busy_dirs, busy_files = transfer.busy_from_state(state)
    candidates, _reasons = transfer.find_candidates(params["dst_dirs"], busy_dirs, busy_files, now)
    if not candidates:
        return []
    quiet = []  # the move step reports the records' warnings; this look repeats none
    transfers = transfer.load_transfers(params["state_dir"], procs, quiet, now)
    known = transfers + transfer.archived_for(params["state_dir"], candidates, transfers, quiet)
    by_plot = dict((rec.get("plot_id"), rec) for rec in known)
    return [cand["path"] for cand in sorted(candidates, key=lambda c: (c["mtime"], c["name"]))
            if move_policy.record_blocks(by_plot.get(cand["plot_id"]), now, params["retry_after_s"],
                                          params["max_attempts"]) is None]


def changed(*results):
    return any(result.get("changed") for result in results)
