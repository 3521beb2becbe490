# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side: render the fleet status document as text for a terminal (default 100 columns).

One row per job (host, id prefix - `*` marks an adopted job, `new:<launch id>` a job whose plot id
is not known yet -, plotter, k, pid, tmp -> dst, phase:step, bar + %, elapsed, ETA, its temp files'
size, state: plotting, copying, suspended, STALLED!, FAILED!), then one block per host: disks,
transfers, what this pass did and why nothing started, the jobs that ended badly or were stopped
(id, when, why), history counts. Where a storage host replots: a replot line under each such dir's
disk line and a fleet replot line under the title. Every line fits in `width` columns; long reasons wrap, long paths
keep their tail. The tmp -> dst column takes the width the other columns leave; when that is too
little for useful paths (below 122 columns) the paths go on a line of their own under the
row, where they get the whole width. Disk and transfer lines widen with `width` as well.
"""

from __future__ import absolute_import, division, print_function

import re
import textwrap
import time

__metaclass__ = type

UNICODE = {"full": u"\u2588", "empty": u"\u2591", "parts": u" \u258f\u258e\u258d\u258c\u258b\u258a\u2589",
           "ellipsis": u"\u2026", "arrow": u"\u2192", "rule": u"\u2500"}
ASCII = {"full": "#", "empty": ".", "parts": "", "ellipsis": "~", "arrow": ">", "rule": "-"}
BAR_WIDTH = 9
PATHS = "TMP -> DST"
# (header, width) of the columns; the tmp -> dst column (width None) takes what is left.
COLUMNS = (("HOST", 10), ("ID", 9), ("PLOTTER", 8), ("K", 2), ("PID", 7), (PATHS, None), ("STEP", 4),
           ("PROGRESS", BAR_WIDTH + 5), ("ELAPSED", 7), ("ETA", 6), ("TEMP", 4), ("STATE", 9))
MIN_WIDTH = 90  # narrower and the other columns have no room left
# Below this the paths leave the row for a line of their own (a cut path tells dirs apart no more).
MIN_INLINE_PATHS = 31
PATH_INDENT = 11  # the paths line starts under the ID column
STATE_LABELS = {"stalled": "STALLED!", "failed": "FAILED!", "dead": "DEAD!"}
ENDED_SHOWN = ("dead", "failed", "stopped")   # history entries listed by id, when and why
MAX_ENDED_SHOWN = 3
ADOPTED_MARK = "*"
PLOT_ID_IN_NAME = re.compile(r"[0-9a-f]{64}")   # v1 and v2 plot names end with the id


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


def compact_size(num):
    """Bytes in at most 4 columns: 239G, 3.6M, 12K, 0."""
    if num is None:
        return "-"
    value = float(num)
    for unit in ("", "K", "M", "G", "T", "P"):
        if round(abs(value)) < 1000 or unit == "P":
            break
        value /= 1024.0
    if not unit:
        return "%d" % value
    return ("%.1f%s" % (value, unit)) if round(value, 1) < 10 else ("%d%s" % (round(value), unit))


def _path_width(width):
    """Columns left for tmp -> dst in the row (None: the paths get a line of their own)."""
    fixed = sum(w for _, w in COLUMNS if w) + len(COLUMNS) - 1
    left = width - fixed
    return left if left >= MIN_INLINE_PATHS else None


def _tmp_dst(job, width, ascii):
    arrow = " %s " % (ASCII if ascii else UNICODE)["arrow"]
    tmp_dir = job.get("tmp_dir") or "-"
    if job.get("tmp2_dir") and job["tmp2_dir"] != job.get("tmp_dir"):
        tmp_dir = "%s + %s" % (tmp_dir, job["tmp2_dir"])
    tmp, dst = two_paths(tmp_dir, job.get("dst_dir") or "-", width - len(arrow), ascii)
    return tmp + arrow + dst


def two_paths(first, second, width, ascii=False):
    """Both paths in `width` columns together: whole when they fit, else the longer one (or both,
    half each) loses its head. Keeping tails keeps what tells dirs apart."""
    first, second = str(first), str(second)
    if len(first) + len(second) <= width:
        return first, second
    half = width // 2
    if len(first) <= half:
        return first, shorten(second, width - len(first), ascii)
    if len(second) <= width - half:
        return shorten(first, width - len(second), ascii), second
    return shorten(first, half, ascii), shorten(second, width - half, ascii)


def _progress(job, ascii):
    progress = job.get("progress")
    pct = "  - " if progress is None else "%3d%%" % int(float(progress) * 100)
    return bar(progress, BAR_WIDTH, ascii) + " " + pct


def _id_cell(job):
    """Plot id prefix; a job whose plot id is not known yet shows its launch id; `*`: adopted."""
    text = job.get("id_short")
    if not text:
        text = "new:%s" % job["launch_id"][:4] if job.get("launch_id") else "new"
    return text + (ADOPTED_MARK if job.get("adopted") else "")


def _state_cell(job):
    if job.get("just_started"):
        return "started"
    return STATE_LABELS.get(job.get("state"), job.get("state") or "?")


def job_lines(job, width=100, ascii=False):
    """The job's row, and under it its paths when the row has no room for them."""
    path_width = _path_width(width)
    cells = [
        job.get("host") or "", _id_cell(job), job.get("plotter") or "?",
        "" if job.get("k") is None else str(job.get("k")), "-" if job.get("pid") is None else str(job["pid"]),
        _tmp_dst(job, path_width, ascii) if path_width else None, job.get("step") or "-", _progress(job, ascii),
        duration(job.get("elapsed_s")), duration(job.get("eta_s")) if job.get("eta_s") is not None else "-",
        compact_size(job.get("tmp_bytes")), _state_cell(job),
    ]
    widths = [w if w else path_width for _, w in COLUMNS]
    host = cells[0]
    cells[0] = shorten(host, widths[0], ascii) if len(host) > widths[0] else host
    row = " ".join(_fit(cell, w) for cell, w in zip(cells, widths) if cell is not None).rstrip()
    if path_width:
        return [row]
    return [row, " " * PATH_INDENT + _tmp_dst(job, width - PATH_INDENT, ascii)]


def job_line(job, width=100, ascii=False):
    return "\n".join(job_lines(job, width, ascii))


def header_lines(width=100):
    path_width = _path_width(width)
    columns = [(name, w or path_width) for name, w in COLUMNS if w or path_width]
    lines = [" ".join(_fit(name, w) for name, w in columns).rstrip()]
    if not path_width:
        lines.append(" " * PATH_INDENT + PATHS)
    return lines


def header_line(width=100):
    return "\n".join(header_lines(width))


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


# A disk line: "  disk   " + role (7) + path + free (10) + " free of " + total (10); the path gets the rest.
DIR_LINE_FIXED = 9 + 8 + 1 + 10 + 9 + 10
MIN_DIR_PATH = 33


def _dir_path_width(dirs, width):
    """The path column of a host's disk lines: as wide as its longest path, as far as the width allows."""
    longest = max([len(str(entry.get("path") or "")) for entry in dirs] or [0])
    return max(min(longest, width - DIR_LINE_FIXED), min(longest, MIN_DIR_PATH))


def _dir_line(entry, width, ascii, path_width=MIN_DIR_PATH):
    path = shorten(entry.get("path"), path_width, ascii)
    free = _first(entry, "free_bytes", "free")
    total = _first(entry, "total_bytes", "total")
    text = "%-7s %-*s %10s free of %s" % (entry.get("role", "dir"), path_width, path, size(free), size(total))
    extra = []
    temp = _first(entry, "temp_bytes", "tmp_bytes")
    if temp:
        extra.append("temp %s" % size(temp))
    plots = _plots_text(_first(entry, "plot_count", "plots"), entry.get("plots_v2"))
    if plots:
        extra.append(plots)
    incoming = entry.get("incoming") or {}
    if incoming.get("transfers"):
        extra.append("%d incoming %s" % (incoming["transfers"], size(incoming.get("bytes"))))
    if entry.get("error"):
        extra.append("ERROR %s" % entry["error"])
    if extra:
        text += "  " + ", ".join(extra)
    return _wrap("disk", text, width)


def _plots_text(v1, v2):
    """`3 plots` (v1 only, as before PoS2), `3 v1 + 2 v2 plots` once a dir holds PoS2 `.plot2` files."""
    v1 = v1 if isinstance(v1, int) else 0
    v2 = v2 if isinstance(v2, int) else 0
    if not v2:
        return "%d plot%s" % (v1, "" if v1 == 1 else "s") if v1 else ""
    counts = (["%d v1" % v1] if v1 else []) + ["%d v2" % v2]
    return "%s plot%s" % (" + ".join(counts), "" if v1 + v2 == 1 else "s")


# Columns a transfer line and a start/move line need beside their two paths.
TRANSFER_LINE_FIXED = 9 + 9 + 3 + 5 + 14 + 12
ACTION_LINE_FIXED = 9 + 14 + 9 + 4 + 30


def _transfer_line(transfer, width, ascii):
    arrow = (ASCII if ascii else UNICODE)["arrow"]
    total = _first(transfer, "bytes_total") or 0
    done = _first(transfer, "bytes_done") or 0
    pct = ("%3d%%" % int(100.0 * done / total)) if total else "  ?%"
    rate = _first(transfer, "rate_bps")
    dest = transfer.get("destination") or "?"
    if transfer.get("host"):
        dest = "%s:%s" % (transfer["host"], dest)
    source, dest = two_paths(transfer.get("source"), dest, max(width - TRANSFER_LINE_FIXED, 56), ascii)
    text = "%s %s %s %s %s %s %s" % ((transfer.get("plot_id") or transfer.get("id") or "-")[:8], source, arrow,
                                     dest, pct, ("%s/s" % size(rate)) if rate else "", transfer.get("state") or "?")
    lines = _wrap("xfer", " ".join(text.split()), width)
    conflict = transfer.get("conflict") or {}
    if transfer.get("failure") == "conflict" and conflict:
        # both paths in full: a person decides which file is the plot
        lines += _wrap("xfer", "conflict: %s is in the way (%s); the plot stays at %s" % (
            conflict.get("destination"), conflict.get("problem"), conflict.get("source")), width)
    return lines


def _dir_of(path, names):
    """A file's dir when the file is the plot itself (its name is shown once, beside the paths).
    By name, not by suffix: `.plot`, `.plot2` or a custom plotter's format all read alike."""
    path = str(path)
    if "/" in path and path.rsplit("/", 1)[1] in names:
        return path.rsplit("/", 1)[0] or "/"
    return path


def _plot_names(item, src, dst):
    """The plot's file name: the item's `plot`, or the name both ends share (a rename's source and final path)."""
    names = set([str(item["plot"])] if item.get("plot") else [])
    tails = [str(p).rsplit("/", 1)[-1] for p in (src, dst) if p and "/" in str(p)]
    if len(tails) == 2 and tails[0] == tails[1]:
        names.add(tails[0])
    return names


def _name_cell(item):
    """The id prefix, else (a check-mode move has no id) the plot's file name."""
    found = [str(item[k])[:8] for k in ("plot_id", "id", "launch_id") if item.get(k)]
    if found or not item.get("plot"):
        return found[:1]
    plot_id = PLOT_ID_IN_NAME.search(str(item["plot"]))
    return [plot_id.group(0)[:8] if plot_id else str(item["plot"])]


def _describe(item, ascii=False, width=100):
    if isinstance(item, dict):
        parts = _name_cell(item)
        src = item.get("tmp_dir") or item.get("source")
        dst = item.get("dst_dir") or item.get("destination")
        if src or dst:
            names = _plot_names(item, src, dst)
            dst_text = _dir_of(dst or "?", names)
            if dst and item.get("host"):   # a transfer's destination: host:dir
                dst_text = "%s:%s" % (item["host"], dst_text)
            parts.append("%s -> %s" % two_paths(_dir_of(src or "?", names), dst_text,
                                                max(width - ACTION_LINE_FIXED, 72), ascii))
        if item.get("method"):
            parts.append("(%s)" % item["method"])
        if item.get("host") and not dst:
            parts.append("on %s" % item["host"])
        if item.get("pid"):
            parts.append("pid %s" % item["pid"])
        return " ".join(parts) or str(item)
    return str(item)


def _seen_under_lock(reason, host_jobs, jobs):
    """The start decision gathers again under the host lock, after the gather this table shows: plots
    another manager started meanwhile count there only. Said on its max_jobs reason (host_jobs: the
    rule's count, status start.host_jobs) where that count differs from the rows' processes."""
    seen = len(set(row.get("pid") or ("row", n) for n, row in enumerate(jobs)))   # a -n N process: one job
    if not isinstance(host_jobs, dict) or reason != host_jobs.get("detail") or host_jobs.get("count") == seen:
        return ""
    between = "started" if host_jobs["count"] > seen else "ended"
    return " - the start decision's count under the host lock; the gather above saw %d (jobs %s in between, " \
        "e.g. by another manager)" % (seen, between)


def ended_jobs(entry):
    """The host's recent jobs that died, failed or were stopped, newest first."""
    return [job for job in entry.get("recent") or [] if job.get("state") in ENDED_SHOWN]


def ended_text(job, now=None):
    """`4d3c2b1a stopped 14:05 (12m05s ago) by plot_stop (terminate) at 2:3` - id, when, why."""
    name = job.get("id_short") or ("launch %s" % job["launch_id"][:8] if job.get("launch_id") else "?")
    name += ADOPTED_MARK if job.get("adopted") else ""
    text = "%s %s" % (name, STATE_LABELS.get(job.get("state"), job.get("state")))
    ended = job.get("ended")
    if isinstance(ended, (int, float)):
        text += " " + time.strftime("%Y-%m-%d %H:%M", time.localtime(ended))
        if now is not None:
            text += " (%s ago)" % duration(max(0.0, now - ended))
    return text + " " + _why_ended(job)


def _why_ended(job):
    state = job.get("state")
    where = " at %s" % job["step"] if job.get("step") else ""
    if state == "stopped":
        stopped = job.get("stopped") or {}
        return "by %s (%s)%s" % (stopped.get("by") or "plot_stop", stopped.get("action") or "terminate", where)
    if state == "failed":
        return "%s: %s" % (where.strip() or "error", job.get("error") or "the plotter reported an error")
    return "no process and no completion line (crashed, killed or rebooted)%s" % where


def host_block(entry, width=100, ascii=False, now=None):
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
    dir_path_width = _dir_path_width(entry.get("dirs", []), width)
    for item in entry.get("dirs", []):
        lines += _dir_line(item, width, ascii, dir_path_width)
        lines += replot_dir_lines(item.get("replot"), width, ascii)
    for item in entry.get("transfers", []):
        if item.get("state") in ("running", "interrupted", "failed"):
            lines += _transfer_line(item, width, ascii)
    start, move = entry.get("start", {}), entry.get("move", {})
    for item in start.get("started", []):
        lines += _wrap("start", "started " + _describe(item, ascii, width), width)
    for item in start.get("would_start", []):
        lines += _wrap("start", "would start " + _describe(item, ascii, width), width)
    # "landed": a background copy that finished since the last pass (not moved by this pass, which
    # matters in check mode, where nothing moves)
    verbs = (("moved", "moved"), ("completed", "landed"), ("started", "sending"), ("would_move", "would move"))
    for key, verb in verbs:
        for item in move.get(key, []):
            lines += _wrap("move", "%s %s" % (verb, _describe(item, ascii, width)), width)
    if "plotter" in (entry.get("roles") or []) and entry.get("ok") and not start.get("started"):
        for reason in start.get("reasons", []):
            lines += _wrap("wait", reason + _seen_under_lock(reason, start.get("host_jobs"), entry.get("jobs") or []),
                           width)
    for reason in move.get("reasons", []):
        lines += _wrap("move", reason, width)
    lines += _cleanup_lines(entry.get("cleanup") or {}, width)
    for job in ended_jobs(entry)[:MAX_ENDED_SHOWN]:
        lines += _wrap("ended", ended_text(job, now), width)
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


def plots_line(summary, width=100):
    """The fleet's v1 and v2 plots and the replot progress (v2 share of the plot bytes); none without plots."""
    v1, v2 = summary.get("plots_v1") or 0, summary.get("plots_v2") or 0
    if not v1 and not v2:
        return []
    text = "plots %d v1 (%s) + %d v2 (%s)" % (v1, size(summary.get("plot_bytes_v1") or 0), v2,
                                             size(summary.get("plot_bytes_v2") or 0))
    if summary.get("v2_share") is not None:
        text += ", replot %.1f%% (v2 share of plot bytes)" % (100.0 * summary["v2_share"])
    return textwrap.wrap(text, width=width, subsequent_indent="  ")


def tib(num):
    """Plot bytes of a farm: TiB from a quarter TiB on, else the nearest binary unit."""
    num = num or 0
    return "%.2f TiB" % (num / 2.0 ** 40) if num >= 2 ** 38 else size(num)


def replot_text(replot, ascii=False):
    """`old 40 (4.00 TiB), new 10 (1.00 TiB), ####...... 20.0%, ETA 13d08h`: the old plots the policy
    would replace, the new ones, the share replotted (bytes) and the ETA from the arrival rate."""
    old, new, pct = replot.get("old") or {}, replot.get("new") or {}, replot.get("percent")
    eta = replot.get("eta_s")
    eta_text = "done" if eta == 0 else ("ETA %s" % duration(eta) if eta is not None else "no ETA (no arrivals in 24 h)")
    return "old %d (%s), new %d (%s), %s %s, %s" % (
        old.get("count") or 0, tib(old.get("bytes")), new.get("count") or 0, tib(new.get("bytes")),
        bar(None if pct is None else pct / 100.0, BAR_WIDTH, ascii), "-" if pct is None else "%.1f%%" % pct, eta_text)


def _last_day(replot):
    arrived, deleted = replot.get("arrived") or {}, replot.get("deleted") or {}
    return "24 h: %d arrived (%s), %d deleted (%s)" % (arrived.get("count") or 0, tib(arrived.get("bytes")),
                                                      deleted.get("count") or 0, tib(deleted.get("bytes")))


def replot_dir_lines(replot, width=100, ascii=False):
    """Under a storage dir's disk line: its replot progress, the last day, and each interrupted deletion."""
    if not isinstance(replot, dict):
        return []
    paused = "; deleting paused" if replot.get("paused") else ""
    text = "%s; %s%s" % (replot_text(replot, ascii), _last_day(replot), paused)
    lines = _wrap("replot", text, width)
    for entry in replot.get("unfinished") or []:
        found = "file gone" if entry.get("found") == "gone" else "file still there"
        lines += _wrap("replot", "interrupted deletion of %s (%s, for %s): %s; the storage agent records it "
                       "at its next session" % (entry.get("name"), entry.get("at"), entry.get("for"), found), width)
    return lines


def replot_fleet_lines(summary, width=100, ascii=False):
    """The fleet's replot line (sums over every dir with replot; ETA from the fleet's arrival rate)."""
    replot = summary.get("replot")
    if not isinstance(replot, dict):
        return []
    text = "replot %s; %d dir%s; %s" % (replot_text(replot, ascii), replot.get("dirs") or 0,
                                        "" if replot.get("dirs") == 1 else "s", _last_day(replot))
    if replot.get("unfinished_count"):
        text += "; %d interrupted deletions" % replot["unfinished_count"]
    return textwrap.wrap(text, width=width, subsequent_indent="  ")


def render(status, width=100, ascii=False):
    """The whole status screen as one string."""
    width = max(int(width), MIN_WIDTH)
    lines = title_line(status, width)
    lines += plots_line(status.get("summary") or {}, width)
    lines += replot_fleet_lines(status.get("summary") or {}, width, ascii)
    lines += header_lines(width)
    jobs = status.get("jobs") or []
    for job in jobs:
        lines += job_lines(job, width, ascii)
    if not jobs:
        lines.append("(no plotting jobs)")
    if any(job.get("adopted") for job in jobs):
        lines.append("%s adopted: started without plotfleet (found in the process table)" % ADOPTED_MARK)
    for entry in status.get("hosts", []):
        lines += host_block(entry, width, ascii, status.get("generated"))
    return "\n".join(line.rstrip() for line in lines)
