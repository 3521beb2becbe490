# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ETA of a running plot from the host's own history (pure functions, no I/O).

Method:
1. History: for every finished plot in the host's logs, its per-phase durations
   (`phase_seconds`, phases 1-4, from the plotter's own `Time for phase` / `Phase K took` /
   `Finished Phase K` lines) and its final copy time (`copy_seconds`, as phase "5") are
   averaged per (plotter, k): `phase_means(history_plots)` (exact sums in whole microseconds:
   `phase_sums`, `add_sums`, `means_from_sums` let a cache keep them up to date incrementally).
2. With history for the plot's (plotter, k) and the current phase:
   remaining = (1 - fraction of the current phase done) x mean duration of that phase
             + sum of the mean durations of the later phases.
   The fraction of the current phase comes from the plot's progress and the plotter's phase
   weights (logs/model.py PHASE_WEIGHTS), i.e. from the step/bucket position in the log.
   A phase with no mean (e.g. no plot of that host ever needed a cross-device copy) adds 0.
3. Without history (or without a mean for the current phase): the default phase weights
   (chiapos: P1 44 %, P2 18 %, P3 35 %, P4 2 %, copy 1 %) are already built into `progress`,
   so remaining = elapsed x (1 - progress) / progress; None while progress is 0.
4. A phase its plotter spends without a line (SILENT_PHASES: pos2's phase 1, chia_rs prints nothing
   while it plots, 95 % of the plot) moves by time instead: the fraction done is the time spent in
   it (elapsed minus the means of the phases before it) over its mean, at most 1 (an overrun leaves
   the later phases). Without history it has no ETA, as in 3.
A finished plot has 0 s left; a failed one has no ETA (None).
"""

from __future__ import absolute_import, division, print_function

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

__metaclass__ = type

PHASES = ("1", "2", "3", "4", "5")
# Phases with no line of their own between start and end, per plotter: their progress cannot move.
SILENT_PHASES = {"pos2": (1,)}


def phase_means(history_plots):
    """{(plotter, k): {"1": mean_s, ..., "5": mean copy s}} over finished plots."""
    return means_from_sums(phase_sums(history_plots))


def phase_sums(history_plots):
    """{(plotter, k): {phase: [total_us, n]}} over finished plots.

    Whole microseconds (the logs print milliseconds at most), so sums kept by a cache can be added
    to and subtracted from without drift: an updated aggregate equals one computed from scratch.
    """
    sums = {}
    for plot in history_plots or ():
        if not isinstance(plot, dict) or plot.get("state") != "finished":
            continue
        seconds = dict(plot.get("phase_seconds") or {})
        if plot.get("copy_seconds") is not None:
            seconds["5"] = plot["copy_seconds"]
        per_phase = None
        for phase, value in seconds.items():
            try:
                micros = int(round(float(value) * 1e6))
            except (TypeError, ValueError, OverflowError):
                continue
            if micros >= 0 and str(phase) in PHASES:
                if per_phase is None:
                    per_phase = sums.setdefault((plot.get("plotter"), plot.get("k")), {})
                acc = per_phase.setdefault(str(phase), [0, 0])
                acc[0] += micros
                acc[1] += 1
    return sums


def add_sums(into, sums, sign=1):
    """into += sign * sums (both as phase_sums returns them); phases and keys left empty are dropped."""
    for key, per in sums.items():
        target = into.setdefault(key, {})
        for phase, (total, n) in per.items():
            acc = target.setdefault(phase, [0, 0])
            acc[0] += sign * total
            acc[1] += sign * n
            if acc[1] <= 0:
                del target[phase]
        if not target:
            del into[key]
    return into


def means_from_sums(sums):
    return dict((key, dict((ph, total / n / 1e6) for ph, (total, n) in per.items() if n > 0))
                for key, per in sums.items() if any(n > 0 for _t, n in per.values()))


def estimate(plot, means, elapsed_s):
    """Seconds remaining for `plot` (a plot dict), or None when it cannot be estimated."""
    state = plot.get("state")
    if state == "finished":
        return 0.0
    if state == "failed":
        return None
    phase = plot.get("phase") or 0
    history = (means or {}).get((plot.get("plotter"), plot.get("k"))) or {}
    current = str(phase)
    if history and (phase == 0 or current in history):
        done = model.phase_fraction(plot) if phase else 0.0
        if phase in SILENT_PHASES.get(plot.get("plotter"), ()):
            done = _time_fraction(phase, history, elapsed_s, done)
        remaining = (1.0 - done) * history.get(current, 0.0) if phase else 0.0
        remaining += sum(v for ph, v in history.items() if int(ph) > phase)
        return round(max(0.0, remaining), 1)
    progress = plot.get("progress") or 0.0
    if progress <= 0 or elapsed_s is None or elapsed_s < 0:
        return None
    return round(elapsed_s * (1.0 - progress) / progress, 1)


def _time_fraction(phase, history, elapsed_s, done):
    """Fraction of a silent phase done, by the time spent in it against its mean (never below `done`)."""
    mean = history.get(str(phase))
    if not mean or elapsed_s is None or elapsed_s < 0:
        return done
    spent = elapsed_s - sum(v for ph, v in history.items() if int(ph) < phase)
    return min(1.0, max(done, spent / mean))
