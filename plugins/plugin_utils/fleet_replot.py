# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side: replot in the status document (issue 13, docs/replot.md "Status").

A storage host's plot_info returns `replot_status` ({dir: replot_status.dir_status(...)}) for the dirs where
replot is on. Here each such dir row of the status document gets it as `replot`, and a host, the fleet
(and the report) get the sums: old and new plots, percent replotted, the last day's deletions and
arrivals, and an ETA from the summed arrival rate. Without replot nothing is added (`replot`: null).
"""

from __future__ import absolute_import, division, print_function

from collections.abc import Mapping

from ansible_collections.plotfleet.chia.plugins.module_utils import replot_status

__metaclass__ = type

COUNTS = ("old", "new", "arrived", "deleted", "deleted_total")
RECENT_SHOWN = 20   # journal outcomes of the whole fleet in the report, newest first


def _key(path):
    return str(path).rstrip("/") or "/"


def attach(rows, state):
    """Give each dir row plot_info reported replot for its `replot` (a copy; the rows are changed)."""
    try:
        found = state["replot_status"]
    except Exception:   # no state, no such key, or an undefined value in hostvars: replot is off there
        return rows
    if not isinstance(found, Mapping):
        return rows
    by_path = dict((_key(path), value) for path, value in found.items() if isinstance(value, Mapping))
    for row in rows:
        value = by_path.get(_key(row.get("path")))
        if value is not None:
            row["replot"] = dict(value)
    return rows


def totals(rows):
    """The sums over the dir rows that have `replot`, or None when none has (replot off everywhere)."""
    shown = [row["replot"] for row in rows if isinstance(row, dict) and isinstance(row.get("replot"), dict)]
    if not shown:
        return None
    out = {"dirs": len(shown)}
    for key in COUNTS:
        out[key] = {"count": sum(int((r.get(key) or {}).get("count") or 0) for r in shown),
                    "bytes": sum(int((r.get(key) or {}).get("bytes") or 0) for r in shown)}
    out["arrival_rate_bps"] = round(sum(float(r.get("arrival_rate_bps") or 0) for r in shown), 3)
    out["unfinished_count"] = sum(int(r.get("unfinished_count") or 0) for r in shown)
    out["paused_dirs"] = sum(1 for r in shown if r.get("paused"))
    plot_bytes = out["old"]["bytes"] + out["new"]["bytes"]
    out["percent"] = round(100.0 * out["new"]["bytes"] / plot_bytes, 1) if plot_bytes else None
    out["eta_s"] = replot_status.eta_seconds(out["old"]["bytes"], out["arrival_rate_bps"])   # the summed arrival rate
    return out


def replot_dirs(hosts):
    """[(host name, dir row)] of every dir with replot, in the document's order."""
    return [(host.get("name"), row) for host in hosts or [] for row in host.get("dirs") or []
            if isinstance(row.get("replot"), dict)]


def recent(hosts, limit=RECENT_SHOWN):
    """The newest journal outcomes over the fleet: each with `host` and `dir` added, newest first."""
    entries = [dict(entry, host=name, dir=row.get("path")) for name, row in replot_dirs(hosts)
               for entry in row["replot"].get("recent") or [] if isinstance(entry, dict)]
    return sorted(entries, key=lambda e: float(e.get("t") or 0), reverse=True)[:limit]


def unfinished(hosts):
    """The interrupted deletions over the fleet, each with `host` and `dir` added."""
    return [dict(entry, host=name, dir=row.get("path")) for name, row in replot_dirs(hosts)
            for entry in row["replot"].get("unfinished") or [] if isinstance(entry, dict)]
