# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side: render the fleet status document as text for a terminal (default 100 columns).

One row per job (host, id prefix, plotter, k, tmp -> dst, phase:step, bar + %, elapsed, ETA,
state), then one block per host: disks, transfers, what this pass did and why nothing started.
Every line fits in `width` columns; long reasons wrap, long paths keep their tail.
"""

from __future__ import absolute_import, division, print_function

import textwrap
import time

__metaclass__ = type

UNICODE = {"full": u"\u2588", "empty": u"\u2591", "parts": u" \u258f\u258e\u258d\u258c\u258b\u258a\u2589",
           "ellipsis": u"\u2026", "arrow": u"\u2192", "rule": u"\u2500"}
ASCII = {"full": "#", "empty": ".", "parts": "", "ellipsis": "~", "arrow": ">", "rule": "-"}
BAR_WIDTH = 10
# (header, width) of the fixed columns; the tmp -> dst column takes what is left.
COLUMNS = (("HOST", 10), ("ID", 8), ("PLOTTER", 7), ("K", 2), ("TMP -> DST", None), ("STEP", 4),
           ("PROGRESS", BAR_WIDTH + 5), ("ELAPSED", 7), ("ETA", 6), ("STATE", 8))
MIN_WIDTH = 90  # narrower and the tmp -> dst column has no room left
STATE_LABELS = {"stalled": "STALLED!", "failed": "FAILED!", "dead": "DEAD!"}


def bar(progress, width=BAR_WIDTH, ascii=False):
    """A progress bar of exactly `width` characters (eighth blocks in unicode)."""
    glyphs = ASCII if ascii else UNICODE
    try:
        fraction = min(max(float(progress), 0.0), 1.0)
    except (TypeError, ValueError):
        return " " * width
    if not glyphs["parts"]:
        filled = int(round(fraction * width))
        return glyphs["full"] * filled + glyphs["empty"] * (width - filled)
    eighths = int(round(fraction * width * 8))
    full, part = divmod(eighths, 8)
    text = glyphs["full"] * full
    if part and full < width:
        text += glyphs["parts"][part]
    return text + glyphs["empty"] * (width - len(text))


def duration(seconds):
    """Compact duration that fits in 6 columns: 45s, 12m05s, 3h07m, 2d04h."""
    if seconds is None:
        return "-"
    try:
        seconds = int(round(float(seconds)))
    except (TypeError, ValueError):
        return "-"
    if seconds < 0:
        seconds = 0
    if seconds < 60:
        return "%ds" % seconds
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return "%dm%02ds" % (minutes, secs)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return "%dh%02dm" % (hours, minutes)
    days, hours = divmod(hours, 24)
    return "%dd%02dh" % (days, hours)


def size(num):
    """Bytes in binary units: 3.6 MiB, 101.4 GiB."""
    if num is None:
        return "?"
    value = float(num)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024.0
    return "?"


def shorten(text, width, ascii=False):
    """Keep the tail of a path (the part that tells dirs apart), marking the cut."""
    text = "" if text is None else str(text)
    if len(text) <= width:
        return text
    if width <= 1:
        return text[-width:] if width > 0 else ""
    mark = (ASCII if ascii else UNICODE)["ellipsis"]
    return mark + text[-(width - 1):]


def _fit(text, width):
    return (text + " " * width)[:width]


def _first(mapping, *keys):
    for key in keys:
        value = mapping.get(key) if isinstance(mapping, dict) else None
        if value is not None:
            return value
    return None


def _path_width(width):
    fixed = sum(w for _, w in COLUMNS if w) + len(COLUMNS) - 1
    return max(width - fixed, 11)


def _tmp_dst(job, width, ascii):
    arrow = " %s " % (ASCII if ascii else UNICODE)["arrow"]
    half = (width - len(arrow)) // 2
    tmp = shorten(job.get("tmp_dir") or "-", half, ascii)
    dst = shorten(job.get("dst_dir") or "-", width - len(arrow) - len(tmp), ascii)
    return tmp + arrow + dst


def _progress(job, ascii):
    progress = job.get("progress")
    pct = "  - " if progress is None else "%3d%%" % int(float(progress) * 100)
    return bar(progress, BAR_WIDTH, ascii) + " " + pct


def job_line(job, width=100, ascii=False):
    path_width = _path_width(width)
    cells = [
        job.get("host") or "", job.get("id_short") or "-", job.get("plotter") or "?",
        "" if job.get("k") is None else str(job.get("k")),
        _tmp_dst(job, path_width, ascii), job.get("step") or "-", _progress(job, ascii),
        duration(job.get("elapsed_s")), duration(job.get("eta_s")) if job.get("eta_s") is not None else "-",
        "started" if job.get("just_started") else STATE_LABELS.get(job.get("state"), job.get("state") or "?"),
    ]
    widths = [w if w else path_width for _, w in COLUMNS]
    host = cells[0]
    cells[0] = shorten(host, widths[0], ascii) if len(host) > widths[0] else host
    return " ".join(_fit(cell, w) for cell, w in zip(cells, widths)).rstrip()


def header_line(width=100):
    widths = [w if w else _path_width(width) for _, w in COLUMNS]
    return " ".join(_fit(name, w) for (name, _), w in zip(COLUMNS, widths)).rstrip()


def _wrap(label, text, width):
    prefix = "  %-6s " % label
    return textwrap.wrap(str(text), width=width, initial_indent=prefix, subsequent_indent=" " * len(prefix),
                         break_on_hyphens=False) or [prefix.rstrip()]


def _load_text(load):
    if not isinstance(load, dict) or not load:
        return ""
    one = _first(load, "load1", "load_1", "loadavg_1")
    if one is None and isinstance(load.get("loadavg"), (list, tuple)) and load["loadavg"]:
        one = load["loadavg"][0]
    cpus = _first(load, "cpus", "cpu_count", "ncpu")
    parts = []
    if one is not None:
        parts.append("load %.2f" % float(one) + ("/%s cpu" % cpus if cpus else ""))
    idle = _first(load, "cpu_idle_percent", "cpu_idle")
    if idle is not None:
        parts.append("idle %s%%" % idle)
    return "  ".join(parts)


def _dir_line(entry, width, ascii):
    path = shorten(entry.get("path"), 33, ascii)
    free = _first(entry, "free_bytes", "free")
    total = _first(entry, "total_bytes", "total")
    text = "%-7s %-33s %10s free of %s" % (entry.get("role", "dir"), path, size(free), size(total))
    extra = []
    temp = _first(entry, "temp_bytes", "tmp_bytes")
    if temp:
        extra.append("temp %s" % size(temp))
    plots = _first(entry, "plot_count", "plots")
    if isinstance(plots, int) and plots:
        extra.append("%d plot%s" % (plots, "" if plots == 1 else "s"))
    incoming = entry.get("incoming") or {}
    if incoming.get("transfers"):
        extra.append("%d incoming %s" % (incoming["transfers"], size(incoming.get("bytes"))))
    if entry.get("error"):
        extra.append("ERROR %s" % entry["error"])
    if extra:
        text += "  " + ", ".join(extra)
    return _wrap("disk", text, width)


def _transfer_line(transfer, width, ascii):
    arrow = (ASCII if ascii else UNICODE)["arrow"]
    total = _first(transfer, "bytes_total") or 0
    done = _first(transfer, "bytes_done") or 0
    pct = ("%3d%%" % int(100.0 * done / total)) if total else "  ?%"
    rate = _first(transfer, "rate_bps")
    dest = transfer.get("destination") or "?"
    if transfer.get("host"):
        dest = "%s:%s" % (transfer["host"], dest)
    text = "%s %s %s %s %s %s %s" % (
        (transfer.get("plot_id") or transfer.get("id") or "-")[:8], shorten(transfer.get("source"), 28, ascii),
        arrow, shorten(dest, 28, ascii), pct, ("%s/s" % size(rate)) if rate else "", transfer.get("state") or "?")
    return _wrap("xfer", " ".join(text.split()), width)


def _where(path):
    """A plot file's dir (the file name repeats the id shown next to it)."""
    path = str(path)
    if path.endswith(".plot") and "/" in path:
        return path.rsplit("/", 1)[0] or "/"
    return path


def _describe(item, ascii=False):
    if isinstance(item, dict):
        parts = [str(item[k])[:8] for k in ("plot_id", "id", "launch_id") if item.get(k)][:1]
        src = item.get("tmp_dir") or item.get("source")
        dst = item.get("dst_dir") or item.get("destination")
        if src or dst:
            parts.append("%s -> %s" % (shorten(_where(src or "?"), 36, ascii), shorten(_where(dst or "?"), 36, ascii)))
        if item.get("method"):
            parts.append("(%s)" % item["method"])
        if item.get("host"):
            parts.append("on %s" % item["host"])
        if item.get("pid"):
            parts.append("pid %s" % item["pid"])
        return " ".join(parts) or str(item)
    return str(item)


def host_block(entry, width=100, ascii=False):
    rule = (ASCII if ascii else UNICODE)["rule"]
    title = "%s %s (%s)" % (rule * 2, entry["name"], ", ".join(entry.get("roles") or ["-"]))
    load = _load_text(entry.get("load"))
    if load:
        title += "  " + load
    lines = [_fit(title + " " + rule * width, width)]
    if entry.get("error"):
        error = entry["error"]
        where = " in %s" % error["task"] if error.get("task") else ""
        lines += _wrap("FAILED", "%s%s" % (error.get("msg"), where), width)
    for item in entry.get("dirs", []):
        lines += _dir_line(item, width, ascii)
    for item in entry.get("transfers", []):
        if item.get("state") in ("running", "interrupted", "failed"):
            lines += _transfer_line(item, width, ascii)
    start, move = entry.get("start", {}), entry.get("move", {})
    for item in start.get("started", []):
        lines += _wrap("start", "started " + _describe(item), width)
    for item in start.get("would_start", []):
        lines += _wrap("start", "would start " + _describe(item), width)
    for key, verb in (("moved", "moved"), ("completed", "moved"), ("started", "sending"), ("would_move", "would move")):
        for item in move.get(key, []):
            lines += _wrap("move", "%s %s" % (verb, _describe(item)), width)
    if "plotter" in (entry.get("roles") or []) and entry.get("ok") and not start.get("started"):
        for reason in start.get("reasons", []):
            lines += _wrap("wait", reason, width)
    for reason in move.get("reasons", []):
        lines += _wrap("move", reason, width)
    lines += _cleanup_lines(entry.get("cleanup") or {}, width)
    counts = entry.get("history_counts") or {}
    if counts:
        lines += _wrap("done", ", ".join("%d %s" % (n, s) for s, n in sorted(counts.items())) + " (history)", width)
    for warning in entry.get("warnings", []):
        lines += _wrap("warn", warning, width)
    return lines


def _cleanup_lines(cleanup, width):
    lines = []
    if cleanup.get("deleted"):
        lines += _wrap("clean", "deleted %d temp files of dead jobs" % len(cleanup["deleted"]), width)
    if cleanup.get("would_delete"):
        lines += _wrap("clean", "would delete %d temp files of dead jobs" % len(cleanup["would_delete"]), width)
    if cleanup.get("left"):
        why = "" if cleanup.get("enabled") else " (plotfleet_cleanup_dead_tmp is off)"
        lines += _wrap("clean", "%d temp files of dead jobs hold %s%s" % (
            len(cleanup["left"]), size(cleanup.get("left_bytes") or 0), why), width)
    return lines


def title_line(status, width=100):
    summary = status.get("summary", {})
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(status.get("generated") or time.time()))
    states = summary.get("jobs_by_state") or {}
    detail = ", ".join("%d %s" % (n, s) for s, n in sorted(states.items()))
    text = "plotfleet %s  hosts %d/%d ok  jobs %d%s  started %d  moved %d" % (
        stamp, summary.get("hosts_ok", 0), summary.get("hosts", 0), summary.get("jobs", 0),
        " (%s)" % detail if detail else "", summary.get("started", 0), summary.get("moved", 0))
    if status.get("check_mode"):
        text += "  [check mode: would start %d, would move %d]" % (
            summary.get("would_start", 0), summary.get("would_move", 0))
    return textwrap.wrap(text, width=width, subsequent_indent="  ")


def render(status, width=100, ascii=False):
    """The whole status screen as one string."""
    width = max(int(width), MIN_WIDTH)
    lines = title_line(status, width)
    lines.append(header_line(width))
    jobs = status.get("jobs") or []
    for job in jobs:
        lines.append(job_line(job, width, ascii))
    if not jobs:
        lines.append("(no plotting jobs)")
    for entry in status.get("hosts", []):
        lines += host_block(entry, width, ascii)
    return "\n".join(line.rstrip() for line in lines)
