# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side: the HTML report's charts as inline SVG strings (standard library only).

Every chart is a plain <svg> element with a `class` naming it (timeline, per-day, phases, disks,
progress) and a <title> per mark, so the page needs no script and no network. Text is escaped here.
"""

from __future__ import absolute_import, division, print_function

import time
from html import escape

__metaclass__ = type

PHASE_COLOURS = {"1": "#4e79a7", "2": "#f28e2b", "3": "#59a14f", "4": "#b07aa1", "5": "#9c755f"}
HOST_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7")
STATE_OUTLINE = {"failed": "#d62728", "dead": "#d62728", "stalled": "#d62728", "stopped": "#7f7f7f"}
FONT = 'font-family="sans-serif" font-size="11"'


def _svg(kind, width, height, body, label):
    return ('<svg class="chart %s" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
            'viewBox="0 0 %d %d" role="img" aria-label="%s">%s</svg>' % (
                kind, width, height, width, height, escape(label), "".join(body)))


def _rect(x, y, w, h, fill, title, extra=""):
    return '<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"%s><title>%s</title></rect>' % (
        x, y, max(w, 0.5), h, fill, extra, escape(title))


def _text(x, y, text, anchor="start", extra=""):
    return '<text x="%.1f" y="%.1f" text-anchor="%s" %s%s>%s</text>' % (x, y, anchor, FONT, extra, escape(str(text)))


def _lanes(bars):
    """Assign each (start, end, ...) bar the first lane free at its start (jobs that overlap stack)."""
    ends, placed = [], []
    for bar in sorted(bars, key=lambda b: b["start"]):
        for lane, end in enumerate(ends):
            if end <= bar["start"]:
                ends[lane] = bar["end"]
                break
        else:
            lane = len(ends)
            ends.append(bar["end"])
        placed.append((lane, bar))
    return placed, max(len(ends), 1)


def timeline(entries, hosts, now, width=960):
    """Jobs per host over time, each bar split into its phases (colours as in the legend)."""
    entries = [e for e in entries if e.get("start") is not None and e.get("end") is not None]
    left, lane_h, right = 110, 14, 10
    if not entries:
        return _svg("timeline", width, 30, [_text(left, 20, "no jobs with known start times")], "timeline")
    t0 = min(e["start"] for e in entries)
    t1 = max(max(e["end"] for e in entries), now)
    scale = (width - left - right) / max(t1 - t0, 1.0)
    body, y = [], 20
    for host in hosts:
        placed, lanes = _lanes([e for e in entries if e["host"] == host])
        body.append(_text(4, y + 10, host))
        for lane, entry in placed:
            top = y + lane * lane_h
            for part in entry["phases"]:
                body.append(_rect(left + (part["start"] - t0) * scale, top, (part["end"] - part["start"]) * scale,
                                  lane_h - 3, PHASE_COLOURS.get(str(part["phase"]), "#bab0ac"),
                                  "%s %s phase %s (%s)" % (host, entry["id_short"], part["phase"], entry["state"])))
            outline = STATE_OUTLINE.get(entry["state"])
            if outline:
                body.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="none" stroke="%s"/>' % (
                    left + (entry["start"] - t0) * scale, top, max((entry["end"] - entry["start"]) * scale, 0.5),
                    lane_h - 3, outline))
        y += lanes * lane_h + 8
    body.append('<line x1="%.1f" x2="%.1f" y1="4" y2="%d" stroke="#333" stroke-dasharray="3,3"/>' % (
        left + (now - t0) * scale, left + (now - t0) * scale, y))
    body.append(_text(left, y + 12, time.strftime("%Y-%m-%d %H:%M", time.localtime(t0))))
    body.append(_text(width - right, y + 12, "now " + time.strftime("%H:%M", time.localtime(now)), "end"))
    return _svg("timeline", width, y + 18, body, "timeline of jobs per host")


def legend(items):
    """Colour swatches as inline HTML-safe SVG: [(colour, label)]."""
    body, x = [], 4
    for colour, label in items:
        body.append(_rect(x, 4, 12, 12, colour, label))
        body.append(_text(x + 16, 14, label))
        x += 24 + 7 * len(label)
    return _svg("legend", x, 20, body, "legend")


def per_day(rows, hosts, width=960, height=180):
    """Finished plots per day, stacked by host."""
    days = sorted(set(r["day"] for r in rows))
    if not days:
        return _svg("per-day", width, 30, [_text(10, 20, "no finished plots in the history yet")], "plots per day")
    totals = dict((day, sum(r["plots"] for r in rows if r["day"] == day)) for day in days)
    top = max(totals.values())
    left, bottom = 40, 30
    slot = (width - left - 10) / float(len(days))
    body = [_text(4, 14, "%d" % top), _text(4, height - bottom, "0")]
    for i, day in enumerate(days):
        y = height - bottom
        for h, host in enumerate(hosts):
            n = sum(r["plots"] for r in rows if r["day"] == day and r["host"] == host)
            if n:
                h_px = (height - bottom - 10) * n / float(top)
                y -= h_px
                body.append(_rect(left + i * slot + 2, y, max(slot - 4, 1), h_px, HOST_COLOURS[h % len(HOST_COLOURS)],
                                  "%s %s: %d plots" % (day, host, n)))
        body.append(_text(left + i * slot + slot / 2, height - bottom + 14, day[5:], "middle"))
        body.append(_text(left + i * slot + slot / 2, y - 2, totals[day], "middle"))
    return _svg("per-day", width, height, body, "plots per day")


def phase_boxes(groups, width=960):
    """Per group and phase: box p25..p75, median tick, whiskers min..max, p90 dot (seconds)."""
    rows = [(g, key, g["phase_seconds"].get(key)) for g in groups for key in ("1", "2", "3", "4", "copy", "total")
            if g["phase_seconds"].get(key)]
    if not rows:
        return _svg("phases", width, 30, [_text(10, 20, "no finished plots with phase times yet")], "phase times")
    left, row_h = 330, 16
    top = max(stat["max"] for _, _, stat in rows)
    scale = (width - left - 60) / max(top, 1.0)
    body = []
    for i, (group, key, stat) in enumerate(rows):
        y = 8 + i * row_h
        tmp_name = str(group["tmp_dir"] or "-").rstrip("/").rsplit("/", 1)[-1] or "/"
        label = "%s %s %s k%s %s" % (group["host"], tmp_name, group["plotter"], group["k"],
                                     "phase " + key if key in "1234" else key)
        colour = PHASE_COLOURS.get(key, "#555")
        body.append(_text(4, y + 10, label[-52:], extra=' class="label"'))
        body.append('<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#555"/>' % (
            left + stat["min"] * scale, left + stat["max"] * scale, y + 6, y + 6))
        body.append(_rect(left + stat["p25"] * scale, y + 1, (stat["p75"] - stat["p25"]) * scale, 10, colour,
                          "%s: median %.0f s, mean %.0f s, p90 %.0f s, n %d" % (label, stat["median"], stat["mean"],
                                                                                  stat["p90"], stat["n"])))
        body.append('<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#000" stroke-width="2"/>' % (
            left + stat["median"] * scale, left + stat["median"] * scale, y, y + 12))
        body.append('<circle cx="%.1f" cy="%.1f" r="2.5" fill="#000"/>' % (left + stat["p90"] * scale, y + 6))
        body.append(_text(width - 4, y + 10, "%.0f s" % stat["median"], "end"))
    return _svg("phases", width, 16 + len(rows) * row_h, body, "phase time distributions")


DISK_PARTS = (("plot_bytes_v1", "#4e79a7", "v1 plots"), ("plot_bytes_v2", "#59a14f", "v2 plots"),
              ("temp_bytes", "#f28e2b", "temp files"))


def disk_bar(row, width=420, height=16):
    """One dir: v1 plots, v2 plots, temp files, other used space, free (of total_bytes)."""
    total = float(row.get("total_bytes") or 0)
    if total <= 0:
        return _svg("disk", width, height, [_text(2, 12, "size unknown")], "disk")
    body, x = [], 0.0
    known = 0
    for key, colour, label in DISK_PARTS:
        value = int(row.get(key) or 0)
        known += value
        if value:
            body.append(_rect(x, 0, width * value / total, height, colour, "%s: %d bytes" % (label, value)))
            x += width * value / total
    free = min(int(row.get("free_bytes") or 0), int(total))   # a dir reported oddly still fits its bar
    other = max(total - free - known, 0)
    body.append(_rect(x, 0, width * other / total, height, "#bab0ac", "other used: %d bytes" % other))
    body.append(_rect(width - width * free / total, 0, width * free / total, height, "#e8e8e8",
                      "free: %d bytes" % free))
    return _svg("disk", width, height, body, "disk %s" % row.get("path"))


def progress(fraction, width=160, height=12):
    try:
        fraction = min(max(float(fraction), 0.0), 1.0)
    except (TypeError, ValueError):
        fraction = 0.0
    body = [_rect(0, 0, width, height, "#e8e8e8", "%.0f%%" % (100 * fraction)),
            _rect(0, 0, width * fraction, height, "#4e79a7", "%.0f%%" % (100 * fraction))]
    return _svg("progress", width, height, body, "progress %.0f%%" % (100 * fraction))


REPLOT_PARTS = (("new", "#59a14f", "new plots"), ("old", "#4e79a7", "old plots (replaceable)"))


def replot_bar(replot, width=240, height=14):
    """One dir's (or the fleet's) replot: new plots, then the old ones the policy would replace, by bytes."""
    total = float(sum(int((replot.get(key) or {}).get("bytes") or 0) for key, _, _ in REPLOT_PARTS))
    if total <= 0:
        return _svg("replot", width, height, [_text(2, 11, "no old or new plots")], "replot")
    body, x, shares = [], 0.0, {}
    for key, colour, label in REPLOT_PARTS:
        part = replot.get(key) or {}
        shares[key] = int(part.get("bytes") or 0) / total
        body.append(_rect(x, 0, width * shares[key], height, colour, "%s: %d (%d bytes, %.1f%%)" % (
            label, int(part.get("count") or 0), int(part.get("bytes") or 0), 100 * shares[key])))
        x += width * shares[key]
    return _svg("replot", width, height, body, "replot %.1f%%" % (100 * shares["new"]))
