# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side: the report document, the JSON written beside the HTML report.

Built from the status document (fleet_status.build_status) and from what plot_info returned for each
host (history with phase times, transfers): summary, v1/v2 plots per dir and per fleet, running
jobs, a timeline of jobs with their phases, transfers, unreachable hosts and the analysis
(fleet_analyze). Keys: docs/reporting.md; keep them in step with REPORT_VERSION.
"""

from __future__ import absolute_import, division, print_function

import time

from ansible_collections.plotfleet.chia.plugins.plugin_utils import fleet_analyze
from ansible_collections.plotfleet.chia.plugins.plugin_utils import fleet_status as status_doc

__metaclass__ = type

REPORT_VERSION = 1
TIMELINE_WINDOW_S = 2 * 86400   # jobs that ended longer ago are left out of the timeline
TIMELINE_MAX_PER_HOST = 200
DIR_KEYS = ("path", "role", "exists", "error", "free_bytes", "total_bytes", "temp_bytes", "plots_v1",
            "plot_bytes_v1", "plots_v2", "plot_bytes_v2", "incoming", "mount_point", "replot")


def dir_row(row):
    """A status dir row with the v1/v2 split (plot_count/plot_bytes are v1 for older plot_info) and its v2 share."""
    out = dict((key, row.get(key)) for key in DIR_KEYS)
    if out["plots_v1"] is None:
        out["plots_v1"], out["plot_bytes_v1"] = row.get("plot_count") or 0, row.get("plot_bytes") or 0
    formats = status_doc.plot_formats([row])
    out.update(plots_v2=formats["plots_v2"], plot_bytes_v2=formats["plot_bytes_v2"], v2_share=formats["v2_share"])
    return out


def phase_parts(entry, end):
    """[{phase, start, end}] from the phase times the log gave; the phase under way runs to `end`."""
    start = entry.get("started_ts") or entry.get("started")
    seconds = entry.get("phase_seconds") or {}
    parts, at = [], start
    for phase in ("1", "2", "3", "4"):
        if seconds.get(phase) is None:
            break
        parts.append({"phase": phase, "start": at, "end": at + float(seconds[phase])})
        at += float(seconds[phase])
    if entry.get("copy_seconds") is not None:
        parts.append({"phase": "5", "start": at, "end": at + float(entry["copy_seconds"])})
        at += float(entry["copy_seconds"])
    if end is not None and end > at:
        current = str(entry.get("phase") or (len(parts) + 1))
        if entry.get("state") != "finished" or not parts:
            parts.append({"phase": current if current in "12345" else "1", "start": at, "end": end})
    return parts


def timeline_entry(host, entry, now, live):
    start = entry.get("started_ts") or entry.get("started")
    if start is None:
        return None
    if live:
        end = now
    else:
        end = entry.get("finished_ts") or entry.get("ended")
    if end is None or end < start:
        return None
    return {"host": host, "id": entry.get("id"), "id_short": (entry.get("id") or "")[:8] or "new",
            "plotter": entry.get("plotter"), "k": entry.get("k"), "state": entry.get("state"),
            "tmp_dir": entry.get("tmp_dir"), "start": float(start), "end": float(end), "live": live,
            "phases": phase_parts(entry, end)}


def timeline(states, now):
    rows = []
    for host, state in states:
        found = [timeline_entry(host, job, now, True) for job in _items(state, "jobs")]
        found += [timeline_entry(host, entry, now, False) for entry in _items(state, "history")]
        found = [row for row in found if row and row["end"] >= now - TIMELINE_WINDOW_S]
        rows += sorted(found, key=lambda row: row["start"])[-TIMELINE_MAX_PER_HOST:]
    return rows


def _items(state, key):
    return [item for item in status_doc._as_list(status_doc._get(state, key)) if isinstance(item, dict)]


def transfer_rows(status, finished_at):
    rows = []
    for t in status.get("transfers") or []:
        delay = None
        if t.get("finished") and finished_at.get(t.get("plot_id")):
            delay = max(float(t["finished"]) - finished_at[t["plot_id"]], 0.0)
        row = dict((key, t.get(key)) for key in (
            "host_from", "plot_id", "source", "destination", "host", "state", "method", "bytes_total", "bytes_done",
            "rate_bps", "started", "finished", "failure", "reason"))
        row["delay_s"] = delay
        rows.append(row)
    return rows


def host_row(entry, state):
    dirs = [dir_row(row) for row in entry.get("dirs") or []]
    queue = len([h for h in _items(state, "history") if h.get("state") == "finished" and h.get("plot_file")
                 and not any(t.get("plot_id") == h.get("id") and t.get("state") == "running"
                             for t in entry.get("transfers") or [])])
    return {"name": entry["name"], "roles": entry.get("roles") or [], "ok": entry.get("ok"),
            "error": entry.get("error"), "load": entry.get("load") or {}, "warnings": entry.get("warnings") or [],
            "dirs": dirs, "plots": status_doc.plot_formats(dirs), "replot": entry.get("replot"),
            "jobs": entry.get("jobs") or [],
            "transfer_queue": queue,
            "transfers_running": sum(1 for t in entry.get("transfers") or [] if t.get("state") == "running"),
            "start_reasons": (entry.get("start") or {}).get("reasons") or []}


def build_report(hostvars, status, now=None):
    """The report document (JSON beside the HTML; keys in docs/reporting.md)."""
    now = float(status.get("generated") or time.time()) if now is None else float(now)
    names = [entry["name"] for entry in status.get("hosts") or []]
    states = fleet_analyze.host_states(hostvars, names)
    by_name = dict(states)
    finished_at = dict((e["id"], e.get("finished_ts") or e.get("ended")) for _, s in states
                       for e in _items(s, "history") if e.get("id") and e.get("state") == "finished")
    host_rows = [host_row(entry, by_name.get(entry["name"])) for entry in status.get("hosts") or []]
    return {
        "version": REPORT_VERSION,
        "generated": now,
        "generated_iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "check_mode": bool(status.get("check_mode")),
        "summary": status.get("summary") or {},
        "plots": status_doc.plot_formats([row for host in host_rows for row in host["dirs"]]),
        "hosts": host_rows,
        "jobs": status.get("jobs") or [],
        "timeline": timeline(states, now),
        "transfers": transfer_rows(status, finished_at),
        "failures": status.get("failures") or [],
        "analysis": fleet_analyze.analyze(hostvars, names, now),
    }
