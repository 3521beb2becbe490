# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host side: the host state as Prometheus text metrics for node_exporter's textfile collector.

plot_info writes them (option metrics_path) right after it gathered the state, so a pass costs no
extra module call. Counters (plots finished, bytes moved) survive restarts in
<state_dir>/metrics-counters.json: an id is counted once, when it is first seen finished (done).
Metric names and labels: docs/reporting.md. Standard library only (runs on the worker's Python).
"""

from __future__ import absolute_import, division, print_function

import json
import os
import tempfile
import time

__metaclass__ = type

COUNTERS_NAME = "metrics-counters.json"
COUNTERS_VERSION = 1
# Ids are remembered for this long after the newest time seen: an entry older than that is never
# counted again (e.g. when a larger history_limit brings old logs back into the history).
REMEMBER_S = 7 * 86400
ADOPTED_KEY = "/adopted"   # counter key suffix of plots plotfleet did not start
LIVE_STATES = ("plotting", "copying", "stalled", "suspended", "failed")


def escape(value):
    """A label value in the text format: backslash, double quote and newline escaped."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels):
    if not labels:
        return ""
    return "{%s}" % ",".join('%s="%s"' % (key, escape(value)) for key, value in labels)


def _number(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


class Family(object):
    """One metric family: # HELP, # TYPE and its samples."""

    def __init__(self, name, kind, help_text):
        self.name, self.kind, self.help_text = name, kind, help_text
        self.samples = []

    def add(self, value, labels=()):
        if value is not None:
            self.samples.append((tuple(labels), value))
        return self

    def lines(self):
        suffix = "_total" if self.kind == "counter" else ""
        name = self.name + suffix
        lines = ["# HELP %s %s" % (name, self.help_text), "# TYPE %s %s" % (name, self.kind)]
        for labels, value in self.samples:
            lines.append("%s%s %s" % (name, _labels(labels), _number(value)))
        return lines


def _count_by(items, keys):
    counts = {}
    for item in items:
        key = tuple((name, "" if item.get(name) is None else item.get(name)) for name in keys)
        counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), key=lambda pair: str(pair[0]))


def job_families(state):
    jobs = [j for j in state.get("jobs") or [] if isinstance(j, dict)]
    running = Family("plotfleet_jobs", "gauge",
                     "Live plot jobs by phase (0 before phase 1, 5 = final copy), plotter and state.")
    for labels, n in _count_by(jobs, ("phase", "plotter", "state")):
        running.add(n, labels)
    return [running]


def queue_length(state):
    """Finished plots still in the plotter's dirs (plot_file set) with no running transfer."""
    moving = set(t.get("plot_id") for t in state.get("transfers") or [] if t.get("state") == "running")
    return sum(1 for h in state.get("history") or [] if h.get("state") == "finished" and h.get("plot_file")
               and h.get("id") not in moving)


def transfer_families(state):
    transfers = [t for t in state.get("transfers") or [] if isinstance(t, dict)]
    by_state = Family("plotfleet_transfers", "gauge", "Transfer records by state (done ones for 24 h).")
    for labels, n in _count_by(transfers, ("state",)):
        by_state.add(n, labels)
    queue = Family("plotfleet_transfer_queue", "gauge",
                   "Finished plots waiting to be moved (still where the plotter wrote them, no running transfer).")
    running = Family("plotfleet_transfers_running", "gauge", "Transfers in flight.")
    return [by_state, queue.add(queue_length(state)),
            running.add(sum(1 for t in transfers if t.get("state") == "running"))]


DIR_GAUGES = (("free_bytes", "plotfleet_dir_free_bytes", "Bytes free for the user in the dir's filesystem."),
              ("total_bytes", "plotfleet_dir_size_bytes", "Size of the dir's filesystem."),
              ("temp_bytes", "plotfleet_dir_temp_bytes", "Bytes of temp files in the dir."))


def dir_families(state):
    dirs = [d for d in state.get("dirs") or [] if isinstance(d, dict) and d.get("path")]
    families = []
    for key, name, help_text in DIR_GAUGES:
        family = Family(name, "gauge", help_text)
        for entry in dirs:
            family.add(entry.get(key), (("path", entry["path"]),))
        families.append(family)
    plots = Family("plotfleet_dir_plots", "gauge", "Plot files in the dir by format (v1 .plot, v2 .plot2).")
    plot_bytes = Family("plotfleet_dir_plot_bytes", "gauge", "Bytes of plot files in the dir by format.")
    for entry in dirs:
        for fmt in ("v1", "v2"):
            labels = (("path", entry["path"]), ("format", fmt))
            plots.add(entry.get("plots_" + fmt), labels)
            plot_bytes.add(entry.get("plot_bytes_" + fmt), labels)
    return families + [plots, plot_bytes]


REPLOT_GAUGES = (
    ("plotfleet_replot_old_plots", "Plots the replot policy would replace in the storage dir.", "old", "count"),
    ("plotfleet_replot_old_bytes", "Bytes of those old plots.", "old", "bytes"),
    ("plotfleet_replot_new_plots", "Plots of an arrival format in the storage dir (not old).", "new", "count"),
    ("plotfleet_replot_new_bytes", "Bytes of those new plots.", "new", "bytes"),
    ("plotfleet_replot_arrived_plots", "New plots that landed in the dir in the last 24 h.", "arrived", "count"),
    ("plotfleet_replot_arrived_bytes", "Bytes of the new plots that landed in the last 24 h.", "arrived", "bytes"),
)
REPLOT_COUNTERS = (
    ("plotfleet_replot_deleted", "Old plots replot deleted in the dir (the storage host's journal).", "count"),
    ("plotfleet_replot_deleted_bytes", "Bytes of old plots replot deleted in the dir (the journal).", "bytes"),
)


def replot_families(state):
    """Per storage dir where replot is on (plot_info's replot_status); nothing at all with replot off."""
    found = state.get("replot_status")
    if not isinstance(found, dict) or not found:
        return []
    rows = sorted((path, row) for path, row in found.items() if isinstance(row, dict))
    families = []
    for name, help_text, part, field in REPLOT_GAUGES:
        family = Family(name, "gauge", help_text)
        for path, row in rows:
            family.add((row.get(part) or {}).get(field), (("path", path),))
        families.append(family)
    ratio = Family("plotfleet_replot_progress_ratio", "gauge", "New bytes of old + new bytes (0 to 1).")
    eta = Family("plotfleet_replot_eta_seconds", "gauge",
                 "Seconds until the old plots are replaced at the last 24 h's arrival rate (absent without arrivals).")
    unfinished = Family("plotfleet_replot_unfinished_deletions", "gauge",
                        "Deletions the journal started without an outcome (a killed storage agent).")
    for path, row in rows:
        labels = (("path", path),)
        ratio.add(None if row.get("percent") is None else round(float(row["percent"]) / 100.0, 4), labels)
        eta.add(row.get("eta_s"), labels)
        unfinished.add(row.get("unfinished_count"), labels)
    families += [ratio, eta, unfinished]
    for name, help_text, field in REPLOT_COUNTERS:
        family = Family(name, "counter", help_text)
        for path, row in rows:
            family.add((row.get("deleted_total") or {}).get(field), (("path", path),))
        families.append(family)
    return families


def _empty_counters():
    return {"version": COUNTERS_VERSION, "finished": {}, "moved_bytes": 0, "moved_plots": 0,
            "seen_finished": {}, "seen_moved": {}, "newest": 0}


def load_counters(path):
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return _empty_counters()
    if not isinstance(data, dict) or data.get("version") != COUNTERS_VERSION:
        return _empty_counters()
    return data


def _finished_at(entry):
    return entry.get("finished_ts") or entry.get("ended") or 0


def update_counters(counters, state, now):
    """Count each finished plot and each done transfer once (by id); forget ids older than REMEMBER_S."""
    newest = max([counters.get("newest") or 0] + [_finished_at(h) for h in state.get("history") or []]
                 + [t.get("finished") or 0 for t in state.get("transfers") or []])
    cutoff = newest - REMEMBER_S
    seen = counters["seen_finished"]
    for entry in state.get("history") or []:
        ended = _finished_at(entry)
        if entry.get("state") != "finished" or not entry.get("id") or entry["id"] in seen or ended < cutoff:
            continue
        seen[entry["id"]] = ended
        key = "%s/%s" % (entry.get("plotter") or "", entry.get("k") or "")
        key += ADOPTED_KEY if adopted(entry) else ""
        counters["finished"][key] = counters["finished"].get(key, 0) + 1
    moved = counters["seen_moved"]
    for transfer in state.get("transfers") or []:
        ident = transfer.get("plot_id") or transfer.get("id")
        if transfer.get("state") != "done" or not ident or ident in moved or (transfer.get("finished") or 0) < cutoff:
            continue
        moved[ident] = transfer.get("finished") or now
        counters["moved_bytes"] += int(transfer.get("bytes_total") or 0)
        counters["moved_plots"] += 1
    counters["newest"] = newest
    for table in (seen, moved):
        for ident in [i for i, ts in table.items() if ts < cutoff]:
            del table[ident]
    return counters


def adopted(entry):
    """A plot plotfleet did not start: no launch record (another manager's, found by its process or log)."""
    return bool(entry.get("adopted")) or not entry.get("launch_id")


def _finished_labels(key):
    """Labels of a `plotter/k` counter key (`plotter/k/adopted` for adopted plots; older files: none adopted)."""
    is_adopted = key.endswith(ADOPTED_KEY)
    plotter, k = (key[:-len(ADOPTED_KEY)] if is_adopted else key).split("/", 1)
    return (("plotter", plotter), ("k", k), ("adopted", "true" if is_adopted else "false"))


def counter_families(counters):
    finished = Family("plotfleet_plots_finished", "counter",
                      "Plots finished on this host (counted once per plot id); adopted=\"true\": plots plotfleet "
                      "did not start (other managers', found by process or log).")
    for key in sorted(counters["finished"]):
        finished.add(counters["finished"][key], _finished_labels(key))
    return [finished,
            Family("plotfleet_moved_bytes", "counter", "Bytes of plots this host's transfers delivered.")
            .add(counters["moved_bytes"]),
            Family("plotfleet_plots_moved", "counter", "Plots this host's transfers delivered.")
            .add(counters["moved_plots"])]


def pass_families(state, now, warnings):
    return [Family("plotfleet_last_pass_timestamp_seconds", "gauge",
                   "When the last pass gathered this host's state (epoch); stale when passes fail or stop.").add(now),
            Family("plotfleet_last_pass_success", "gauge",
                   "1 when the last pass gathered this host's state (a pass that cannot reach it writes nothing).")
            .add(1),
            Family("plotfleet_host_warnings", "gauge", "Warnings the last gather found (bad records, unreadable dirs).")
            .add(len(warnings))]


def render(state, counters, now, warnings=()):
    """The whole textfile (ends with a newline)."""
    families = (job_families(state) + transfer_families(state) + dir_families(state) + replot_families(state)
                + counter_families(counters) + pass_families(state, now, warnings))
    return "\n".join(line for family in families for line in family.lines()) + "\n"


def write_atomic(path, text):
    """Write text to path through a temp file in the same dir + rename (a reader never sees half a file)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:   # the text format is UTF-8, whatever the locale
            handle.write(text)
        os.chmod(tmp, 0o644)   # node_exporter (or the web server showing the report) runs as another user
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write(path, state, state_dir, warnings=(), now=None):
    """Update the counters and write the metrics file. Returns the path written."""
    now = time.time() if now is None else now
    counters_path = os.path.join(state_dir, COUNTERS_NAME)
    counters = update_counters(load_counters(counters_path), state, now)
    text = render(state, counters, now, warnings)
    write_atomic(counters_path, json.dumps(counters, sort_keys=True))
    write_atomic(path, text)
    return path
