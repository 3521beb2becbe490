# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""gather(): the whole host state that plot_info returns (jobs, history, transfers, dirs, load).

1. Processes: launch records joined with the process table by pid and start time (a pid whose
   start time is more than 2 s away from the record's was reused by another program); plotter
   processes without a record are adopted (their log is their fd 1, or an unfinished log in the
   same dirs).
2. Logs: every file in log_dir plus the logs of live jobs, parsed incrementally (logcache).
3. Jobs: the unfinished plots of live processes (plotting / copying / stalled / suspended: the
   process is stopped by SIGSTOP, state T). History: all other plots (finished / failed / dead /
   stopped: ended by plot_stop, which notes it in the launch record or a stop record first), newest
   first. ETA from this host's finished plots (eta.py).
4. Dirs, load, transfers.
Nothing here raises on bad input: missing dirs, garbage logs and bad records become warnings.
"""

from __future__ import absolute_import, division, print_function

import heapq
import os
import time

from ansible_collections.plotfleet.chia.plugins.module_utils import (
    custom_plotter,
    dirs,
    eta,
    logcache,
    processes,
    records,
    transfer,
)
from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import temps

__metaclass__ = type

PID_START_TOLERANCE_S = 2.0
STALL_FLOOR_S = 600
STALL_STEPS = 5
# Sub-steps per phase on the shared step grid (logs/model.py): expected step = phase mean / steps.
STEPS_PER_PHASE = {0: 1, 1: 7, 2: 6, 3: 6, 4: 2, 5: 1}
TOTAL_STEPS = 22
# Recent unfinished logs are candidates for adopted processes whose fd 1 is not a file.
ADOPT_LOG_WINDOW_S = 86400
MAX_NOTE_WARNINGS = 5
LIVE_STATES = ("plotting", "copying")
# History entries that may have left temp files behind (plot_info lists them in tmp_files).
LEFT_FILES_STATES = ("dead", "failed", "stopped")


def gather(params, now=None):
    now = time.time() if now is None else float(now)
    warnings = []
    state_dir = params["state_dir"]
    log_dir = params["log_dir"]
    history_limit = params.get("history_limit")
    history_limit = 50 if history_limit is None else max(0, int(history_limit))
    cache = logcache.LogCache(state_dir, warnings)

    procs = processes.list_processes(warnings)
    live = _live_jobs(state_dir, procs, warnings)
    _add_run_states(live)
    stop_notes = StopNotes(records.list_records(state_dir, records.STOPS, warnings))

    # -- logs: log_dir + logs of live jobs + logs of launch records --------------------------------
    log_dir_real = os.path.realpath(log_dir)
    stats = _scan_log_dir(log_dir_real, warnings)
    for entry in live:
        _add_log(stats, entry.get("log"))
    for rec in live.dead_records:
        _add_log(stats, rec.get("log"))
    live_logs = dict((entry["log"], entry) for entry in live if entry.get("log") in stats)
    infos = {}
    for path, st in stats.items():
        owner = live_logs.get(path)
        hint = owner["plotter"] if owner else None
        info = cache.refresh(path, st, plotter=hint, keep_state=owner is not None)
        if info is not None:
            infos[path] = info
    _report_notes(infos, live_logs, warnings)
    _match_logless_adoptions(live, infos, now)
    live_logs = dict((entry["log"], entry) for entry in live if entry.get("log") in infos)

    means = _phase_means(cache, live_logs)

    # -- dirs ------------------------------------------------------------------------------------
    dir_scans = {}
    dirs_out = _dirs(params, dir_scans)

    # -- jobs --------------------------------------------------------------------------------------
    jobs, history = [], []
    seen_suspended = cache.header.get("suspended") if isinstance(cache.header.get("suspended"), dict) else {}
    for entry in live:
        info = infos.get(entry.get("log"))
        plots = list(info.plots) if info is not None else []
        mine, earlier = _split_live_plots(plots, entry)
        for plot in mine:
            jobs.append(_job(plot, entry, info, means, params, now, dir_scans, stop_notes, seen_suspended))
        for plot in earlier:
            history.append(_history_entry(plot, info, entry.get("record"), now, dir_scans, with_files=False,
                                          stop_notes=stop_notes))

    # -- history: logs with no live process, newest first (payloads decoded only as needed) --------
    records_by_log = dict((os.path.realpath(rec["log"]), rec) for rec in live.dead_records
                          if isinstance(rec.get("log"), str) and rec.get("log"))
    closed = [info for path, info in infos.items() if path not in live_logs and info.plotter]
    closed.sort(key=lambda i: i.ended or 0, reverse=True)
    newest = [h.get("ended") or 0 for h in history]   # min-heap of the newest `history_limit` ends
    heapq.heapify(newest)
    while len(newest) > history_limit:
        heapq.heappop(newest)
    for info in closed:
        # a log's plots all ended no later than the log's `ended`: stop once enough newer ones are in
        if history_limit == 0 or (len(newest) >= history_limit and (info.ended or 0) <= newest[0]):
            break
        for plot in info.plots:
            entry = _history_entry(plot, info, records_by_log.get(info.path), now, dir_scans, with_files=True,
                                   stop_notes=stop_notes)
            history.append(entry)
            heapq.heappush(newest, entry["ended"] or 0)
            if len(newest) > history_limit:
                heapq.heappop(newest)
    history.extend(_records_without_plots(live.dead_records, infos, now))
    history.sort(key=lambda h: h.get("ended") or 0, reverse=True)
    history = history[:history_limit]

    transfers = transfer.describe_transfers(state_dir, procs, warnings)
    load, cpu_sample = dirs.load(cache.header.get("cpu"))
    cache.save({"cpu": cpu_sample, "means": _means_to_json(means),
                "suspended": _suspended_seen(jobs, seen_suspended, now)})
    return {"jobs": jobs, "history": history, "transfers": transfers, "dirs": dirs_out, "load": load,
            "warnings": warnings}


# ---------------------------------------------------------------------------------------------
# Processes and launch records

class _LiveList(list):
    dead_records = ()


def _live_jobs(state_dir, procs, warnings):
    """Live plotter jobs: [{"pid", "proc", "info", "record", "log", "plotter", "adopted"}]."""
    by_pid = dict((p["pid"], p) for p in procs)
    # Templates plot_start kept: a custom plotter started by hand is recognised too.
    plotters = processes.plotter_processes(procs, custom=custom_plotter.load_templates(state_dir, warnings))
    plotter_by_pid = dict((p["pid"], (p, info)) for p, info in plotters)
    wrapper_of = {}
    for p, info in plotters:
        for wpid in info.get("wrapper_pids") or ():
            wrapper_of[wpid] = p["pid"]
    live = _LiveList()
    dead = []
    claimed = set()
    for rec in records.list_records(state_dir, records.JOBS, warnings):
        pid = rec.get("pid")
        proc = by_pid.get(pid) if isinstance(pid, int) and not isinstance(pid, bool) else None
        alive = False
        if proc is not None:
            recorded = rec.get("proc_start")
            if isinstance(recorded, (int, float)) and not isinstance(recorded, bool):
                alive = abs(proc["start"] - recorded) <= PID_START_TOLERANCE_S
            else:   # an old record without a start time: trust it only if a plotter runs there
                alive = pid in plotter_by_pid or pid in wrapper_of
            if not alive:
                warnings.append("launch record %s: pid %d now belongs to another program (%s, started %s); "
                                "that job is not running" % (rec.get("launch_id") or rec.get("_path"), pid,
                                                             _short(proc.get("command")), _iso(proc["start"])))
        if not alive:
            dead.append(rec)
            continue
        target = pid
        if pid in wrapper_of:
            target = wrapper_of[pid]
        elif pid not in plotter_by_pid:
            child = _plotter_descendant(pid, plotters, by_pid)
            if child is not None:
                target = child
        claimed.update([pid, target])
        pinfo = plotter_by_pid.get(target, (proc, None))[1] or {}
        claimed.update(pinfo.get("wrapper_pids") or ())
        log = rec.get("log")
        log = os.path.realpath(log) if isinstance(log, str) and log else processes.log_path_of(target)
        live.append({"pid": target, "proc": by_pid.get(target, proc), "info": pinfo, "record": rec, "log": log,
                     "plotter": rec.get("plotter") or pinfo.get("plotter"), "adopted": False})
    for proc, info in plotters:
        if proc["pid"] in claimed or any(w in claimed for w in info.get("wrapper_pids") or ()):
            continue
        log = processes.log_path_of(proc["pid"])
        for wpid in info.get("wrapper_pids") or ():
            if log is None:
                log = processes.log_path_of(wpid)
        live.append({"pid": proc["pid"], "proc": proc, "info": info, "record": None,
                     "log": os.path.realpath(log) if log else None, "plotter": info["plotter"], "adopted": True})
    live.dead_records = dead
    return live


def _plotter_descendant(pid, plotters, by_pid):
    for proc, _info in plotters:
        parent, depth = proc["ppid"], 0
        while parent and depth < 5:
            if parent == pid:
                return proc["pid"]
            parent = by_pid.get(parent, {}).get("ppid")
            depth += 1
    return None


def _add_run_states(live):
    """entry["run_state"]: the process state letter(s) (T = suspended); /proc gave them with the table."""
    missing = [entry["pid"] for entry in live if not (entry.get("proc") or {}).get("state")]
    asked = processes.run_states(missing) if missing else {}
    for entry in live:
        entry["run_state"] = (entry.get("proc") or {}).get("state") or asked.get(entry["pid"])


class StopNotes(object):
    """plot_stop's notes on adopted jobs (<state_dir>/stops/): found by plot id, log, or pid + start."""

    def __init__(self, notes):
        self.by_id, self.by_log, self.by_pid = {}, {}, {}
        for note in notes:
            if note.get("plot_id"):
                self.by_id[str(note["plot_id"]).lower()] = note
            if isinstance(note.get("log"), str) and note["log"]:
                self.by_log[os.path.realpath(note["log"])] = note
            if isinstance(note.get("pid"), int):
                self.by_pid.setdefault(note["pid"], []).append(note)

    def for_plot(self, plot_id, log):
        found = self.by_id.get((plot_id or "").lower()) if plot_id else None
        return found or (self.by_log.get(os.path.realpath(log)) if log else None) or {}

    def for_process(self, pid, start, plot_id):
        for note in self.by_pid.get(pid, ()):
            recorded = note.get("proc_start")
            if isinstance(recorded, (int, float)) and isinstance(start, (int, float)) \
                    and abs(recorded - start) <= PID_START_TOLERANCE_S:
                return note
        return self.by_id.get((plot_id or "").lower()) if plot_id else {}


def _note_time(note, key):
    """The epoch of a plot_stop note ({"at", "by", "action"}) in a record, or None."""
    value = (note or {}).get(key)
    at = value.get("at") if isinstance(value, dict) else None
    return at if isinstance(at, (int, float)) and not isinstance(at, bool) else None


def _short(text, limit=80):
    text = text or ""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _iso(ts):
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
    except (TypeError, ValueError, OverflowError):
        return "?"


# ---------------------------------------------------------------------------------------------
# Logs

def _scan_log_dir(log_dir, warnings):
    stats = {}
    try:
        with os.scandir(log_dir) as it:
            for item in it:
                if item.name.startswith("."):
                    continue
                try:
                    if item.is_file():
                        stats[item.path] = item.stat()
                except OSError:
                    continue
    except OSError as exc:
        warnings.append("log_dir %s: %s" % (log_dir, exc.strerror or exc))
    return stats


def _add_log(stats, path):
    if not path or path in stats:
        return
    try:
        st = os.stat(path)
    except OSError:
        return
    if not os.path.isdir(path):
        stats[path] = st


def _report_notes(infos, live_logs, warnings):
    notes = {}
    for path, info in infos.items():
        note = info.note if (info.plotter is None or path in live_logs) else None
        if note in ("binary", "unrecognised"):
            notes.setdefault(note, []).append(path)
    for note, paths in sorted(notes.items()):
        paths.sort()
        what = "binary file" if note == "binary" else "not a plotter log (no chiapos, madMAx or BladeBit lines)"
        shown = ", ".join(paths[:MAX_NOTE_WARNINGS])
        more = " and %d more" % (len(paths) - MAX_NOTE_WARNINGS) if len(paths) > MAX_NOTE_WARNINGS else ""
        warnings.append("ignored %d log file(s), %s: %s%s" % (len(paths), what, shown, more))


def _match_logless_adoptions(live, infos, now):
    """An adopted plotter whose fd 1 is a pipe: take the newest unfinished log naming its dirs."""
    taken = set(entry.get("log") for entry in live if entry.get("log"))
    for entry in live:
        if entry.get("log") or not entry["adopted"]:
            continue
        info = entry["info"]
        best = None
        for path, log in infos.items():
            if path in taken or log.plotter != entry["plotter"] or (log.ended or 0) < now - ADOPT_LOG_WINDOW_S:
                continue
            plots = log.plots
            if not plots or plots[-1].get("state") not in LIVE_STATES:
                continue
            last = plots[-1]
            same = [key for key in ("tmp_dir", "dst_dir") if info.get(key) and last.get(key) == info.get(key)]
            if same and (info.get("k") in (None, last.get("k"))) and (best is None or log.ended > best.ended):
                best = log
        if best is not None:
            entry["log"] = best.path
            taken.add(best.path)


def _phase_means(cache, live_logs):
    """eta means over the finished plots of closed logs: the cache's exact sums over every log,
    minus those of the logs of live jobs (their earlier plots are history, but not yet closed)."""
    sums = eta.add_sums({}, cache.totals())
    for path in live_logs:
        info = cache.seen.get(path)
        if info is not None:
            eta.add_sums(sums, info.sums(), -1)
    return eta.means_from_sums(sums)


def _means_to_json(means):
    return [[key[0], key[1], per] for key, per in sorted(means.items(), key=lambda kv: (str(kv[0][0]), kv[0][1] or 0))]


# ---------------------------------------------------------------------------------------------
# Jobs and history entries

def _split_live_plots(plots, entry):
    """(plots of the live process, earlier plots of the same log that are over)."""
    if not plots:
        return [_placeholder(entry, 1)], []
    mine = [p for p in plots if p.get("state") in LIVE_STATES]
    last = plots[-1]
    if last.get("state") == "failed":
        mine.append(last)   # the plotter may still retry (e.g. a failed copy): the process holds it
    if not mine:
        count = last.get("count") or _entry_count(entry)
        index = last.get("index") or len(plots)
        if count is None or count < 0 or index < count:
            mine.append(_placeholder(entry, index + 1))   # between plots of `-n N`
    earlier = [p for p in plots if not any(p is m for m in mine)]
    return mine, earlier


def _entry_count(entry):
    rec = entry.get("record") or {}
    return rec.get("count") if rec.get("count") is not None else (entry.get("info") or {}).get("count")


def _placeholder(entry, index):
    """A plot the process has not printed yet (just launched, or between plots)."""
    plot = model.new_plot(entry.get("plotter") or "chiapos", index)
    rec = entry.get("record") or {}
    if index == 1 and rec.get("plot_id"):
        plot["id"] = rec["plot_id"]
    plot["count"] = _entry_count(entry)
    return plot


def _fill_from(plot, sources):
    for key in ("k", "tmp_dir", "tmp2_dir", "dst_dir", "count"):
        if plot.get(key) is None:
            for src in sources:
                if src and src.get(key) is not None:
                    plot[key] = src[key]
                    break


def _process_key(pid, proc_start):
    return "%s-%d" % (pid, int(proc_start or 0))


def _suspended_seen(jobs, seen_before, now):
    """{pid-start: when a pass last saw the process suspended}, kept while that process lives: a job
    resumed by hand (kill -CONT) then counts its stall time from there, not from its log's last line."""
    seen = {}
    for job in jobs:
        key = _process_key(job.get("pid"), job.get("proc_start"))
        if job.get("state") == "suspended":
            seen[key] = now
        elif isinstance(seen_before.get(key), (int, float)):
            seen[key] = seen_before[key]
    return seen


def _job(plot, entry, info, means, params, now, dir_scans, stop_notes, seen_suspended):
    job = dict(plot)
    rec = entry.get("record") or {}
    proc_start = (entry.get("proc") or {}).get("start")
    note = rec or stop_notes.for_process(entry["pid"], proc_start, plot.get("id")) or {}
    _fill_from(job, (rec, entry.get("info")))
    job["plotter"] = job.get("plotter") or entry.get("plotter")
    job["pid"] = entry["pid"]
    job["log"] = entry.get("log")
    job["launch_id"] = rec.get("launch_id")
    job["adopted"] = entry["adopted"]
    job["log_mtime"] = _mtime(info)
    job["proc_start"] = proc_start
    job["process_state"] = entry.get("run_state")
    started = None
    if (plot.get("index") or 1) == 1:
        started = rec.get("started") or proc_start
    started = started or plot.get("started_ts") or proc_start
    job["started"] = started
    job["ended"] = None
    job["elapsed_s"] = round(max(0.0, now - started), 1) if started else None
    job["eta_s"] = eta.estimate(plot, means, job["elapsed_s"])
    if processes.is_suspended(job["process_state"]):
        job["state"], job["eta_s"] = "suspended", None   # SIGSTOP: no progress to wait for, no stall
    elif job["state"] in LIVE_STATES and job["log_mtime"] is not None:
        limit = params.get("stall_after_s") or _auto_stall(job, means)
        job["stall_after_s"] = limit
        # A resumed job counts from its resume (plot_stop's note, else the last pass that saw it
        # suspended): its log could not grow while it was stopped.
        last_suspended = seen_suspended.get(_process_key(entry["pid"], proc_start))
        quiet_since = max(job["log_mtime"], _note_time(note, "resumed") or 0,
                          last_suspended if isinstance(last_suspended, (int, float)) else 0)
        if now - quiet_since > limit:
            job["state"] = "stalled"
    job["tmp_bytes"], _files = _temp_usage(job, dir_scans)
    return job


def _auto_stall(job, means):
    """max(10 min, 5 x the expected duration of one step), from history, else from the rate so far."""
    phase = job.get("phase") or 0
    per = (means or {}).get((job.get("plotter"), job.get("k"))) or {}
    step = None
    if phase and str(phase) in per:
        step = per[str(phase)] / STEPS_PER_PHASE.get(phase, 1)
    elif per:
        step = sum(per.values()) / TOTAL_STEPS
    elif (job.get("progress") or 0) > 0.01 and job.get("elapsed_s"):
        step = job["elapsed_s"] / job["progress"] / TOTAL_STEPS
    return int(max(STALL_FLOOR_S, STALL_STEPS * (step or 0)))


def _mtime(info):
    if info is None:
        return None
    try:
        return int(info.sig.split(":")[3]) / 1e9
    except (IndexError, ValueError):
        return None


def _history_entry(plot, info, rec, now, dir_scans, with_files, stop_notes):
    entry = dict(plot)
    rec = rec or {}
    _fill_from(entry, (rec,))
    state = plot.get("state")
    if state in LIVE_STATES:
        state = "dead"   # no live process and no completion line
        stopped = _stopped_by(rec or stop_notes.for_plot(plot.get("id"), info.path if info is not None else None))
        if stopped:
            state, entry["stopped"] = "stopped", stopped   # ended on purpose: not a crash
    entry["state"] = state
    if state == "finished":
        entry["plot_file"] = _existing_plot_file(plot)
    entry["pid"] = None
    entry["log"] = info.path if info is not None else rec.get("log")
    entry["launch_id"] = rec.get("launch_id")
    entry["adopted"] = False
    entry["log_mtime"] = _mtime(info)
    started = plot.get("started_ts")
    if started is None and (plot.get("index") or 1) == 1:
        started = rec.get("started")
    entry["started"] = started
    ended = plot.get("finished_ts")
    if ended is None:
        ended = entry["log_mtime"]
    entry["ended"] = ended
    if plot.get("total_seconds") is not None and state == "finished":
        entry["elapsed_s"] = round(plot["total_seconds"] + (plot.get("copy_seconds") or 0), 1)
    elif started is not None and ended is not None:
        entry["elapsed_s"] = round(max(0.0, ended - started), 1)
    else:
        entry["elapsed_s"] = None
    entry["eta_s"] = None
    if state in LEFT_FILES_STATES and with_files:
        entry["tmp_bytes"], entry["tmp_files"] = _temp_usage(entry, dir_scans)
    else:
        entry["tmp_bytes"] = 0
    return entry


def _existing_plot_file(plot):
    """The plot's final path if it is still there; None once it was moved away."""
    candidates = []
    if plot.get("plot_file"):
        candidates.append(plot["plot_file"])
    if plot.get("dst_dir") and plot.get("plot_name"):
        candidates.append(os.path.join(plot["dst_dir"], plot["plot_name"]))
    for path in candidates:
        if os.path.isfile(path):
            return path
    return None


def _stopped_by(note):
    """plot_stop's {"at", "by", "action"} note when the job was terminated on purpose, else None."""
    stopped = (note or {}).get("stopped")
    return stopped if isinstance(stopped, dict) and _note_time(note, "stopped") is not None else None


def _records_without_plots(dead_records, infos, now):
    """Launch records whose process died before its log named a plot: history says so."""
    out = []
    for rec in dead_records:
        log = rec.get("log")
        info = infos.get(os.path.realpath(log)) if isinstance(log, str) and log else None
        if info is not None and info.plotter and info.plots:
            continue
        started = rec.get("started") if isinstance(rec.get("started"), (int, float)) else None
        plot = model.new_plot(rec.get("plotter") or "chiapos", 1)
        _fill_from(plot, (rec,))
        plot["id"] = rec.get("plot_id")
        tail = info.tail if info is not None else None
        if tail:
            plot["state"] = "failed"
            plot["error"] = tail
        elif _stopped_by(rec):
            plot["state"], plot["stopped"] = "stopped", _stopped_by(rec)
        else:
            plot["state"] = "dead"
        plot.update(pid=None, log=log, launch_id=rec.get("launch_id"), adopted=False,
                    log_mtime=_mtime(info), started=started, eta_s=None, tmp_bytes=0)
        plot["ended"] = plot["log_mtime"] or started
        plot["elapsed_s"] = round(max(0.0, plot["ended"] - started), 1) if started and plot["ended"] else None
        out.append(plot)
    return out


# ---------------------------------------------------------------------------------------------
# Dirs and temp files

def _dirs(params, dir_scans):
    roles = {}
    order = []
    for role, key in (("tmp", "tmp_dirs"), ("dst", "dst_dirs")):
        for path in params.get(key) or ():
            path = _norm(path)
            if path not in roles:
                roles[path] = []
                order.append(path)
            if role not in roles[path]:
                roles[path].append(role)
    out = []
    for path in order:
        scan = _scan(path, dir_scans)
        item = dict((k, v) for k, v in scan.items() if not k.startswith("_"))
        item["roles"] = roles[path]
        item["free"] = item["free_bytes"]
        out.append(item)
    return out


def _norm(path):
    return path.rstrip("/") or "/" if path else path


def _scan(path, dir_scans):
    path = _norm(path)
    if path not in dir_scans:
        dir_scans[path] = _with_plot_formats(dirs.scan_dir(path))
    return dir_scans[path]


def _with_plot_formats(scan):
    """Name v1 (`.plot`, what plot_count/plot_bytes count) apart from v2 (PoS2 `.plot2`, counted by scan_dir)."""
    scan.update(plots_v1=scan["plot_count"], plot_bytes_v1=scan["plot_bytes"])
    return scan


def _temp_usage(plot, dir_scans):
    """(bytes, [paths]) of the temp files that belong to this plot (policy/temps.py: the one rule)."""
    total, files = 0, []
    for key, path in temps.job_dirs(plot):
        scan = _scan(path, dir_scans)
        for name, size in scan["_temps"]:
            if temps.belongs_to_job(plot, name, key):
                total += size
                files.append(os.path.join(scan["path"], name))
    return total, files
