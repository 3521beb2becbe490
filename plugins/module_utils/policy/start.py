# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The start policy: host state + rules + now -> which plots to start, and why not.

Pure: no I/O, no clock (``now`` is passed in), so every rule is unit-tested with plain dicts.
The keys read from the host state are listed in docs/ARCHITECTURE.md ("What the start policy reads").
Every rule that says no adds a human reason, e.g. ``tmp /mnt/nvme1: 2 jobs before phase 2:1 (limit 2)``.
"""

from __future__ import absolute_import, division, print_function

import os
import re
import time

__metaclass__ = type

GIB = 1024 ** 3

# Rules and their defaults; plot_start's argument_spec (RULES_SUBOPTIONS) and the doc fragment
# plotfleet.chia.rules use the same values. None means "rule off".
DEFAULT_RULES = dict(
    max_jobs=4,
    max_jobs_per_tmp=2,
    max_jobs_per_tmp_overrides={},
    stagger_step="2:1",
    max_before_step=1,
    min_start_interval_minutes=0.0,
    max_phase1_jobs=None,
    check_free_space=True,
    tmp_space_bytes=None,
    dst_space_bytes=None,
    max_load_per_cpu=None,
    min_cpu_idle_percent=None,
    min_mem_available_bytes=None,
    time_windows=[],
    crash_window_minutes=10.0,
    backoff_base_minutes=5.0,
    backoff_max_minutes=240.0,
)

RULES_SUBOPTIONS = dict(
    max_jobs=dict(type="int", default=DEFAULT_RULES["max_jobs"]),
    max_jobs_per_tmp=dict(type="int", default=DEFAULT_RULES["max_jobs_per_tmp"]),
    max_jobs_per_tmp_overrides=dict(type="dict", default={}),
    stagger_step=dict(type="str", default=DEFAULT_RULES["stagger_step"]),
    max_before_step=dict(type="int", default=DEFAULT_RULES["max_before_step"]),
    min_start_interval_minutes=dict(type="float", default=DEFAULT_RULES["min_start_interval_minutes"]),
    max_phase1_jobs=dict(type="int"),
    check_free_space=dict(type="bool", default=True),
    tmp_space_bytes=dict(type="int"),
    dst_space_bytes=dict(type="int"),
    max_load_per_cpu=dict(type="float"),
    min_cpu_idle_percent=dict(type="float"),
    min_mem_available_bytes=dict(type="int"),
    time_windows=dict(type="list", elements="str", default=[]),
    crash_window_minutes=dict(type="float", default=DEFAULT_RULES["crash_window_minutes"]),
    backoff_base_minutes=dict(type="float", default=DEFAULT_RULES["backoff_base_minutes"]),
    backoff_max_minutes=dict(type="float", default=DEFAULT_RULES["backoff_max_minutes"]),
)

LIVE_STATES = ("plotting", "copying", "stalled", "suspended")
CRASH_STATES = ("failed", "dead")
STOPPED = "stopped"   # ended on purpose by plot_stop: never a crash
STEP_RE = re.compile(r"^\s*(\d+):(\d+)\s*$")
WINDOW_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

# BladeBit compression levels: final k32 size in GiB (Chia docs); other k scale the same way.
COMPRESSED_K32_GIB = {0: 101.4, 1: 87.5, 2: 86.0, 3: 84.4, 4: 82.8, 5: 81.2, 6: 79.6, 7: 78.0, 8: 76.4, 9: 74.8}
# Working space on the tmp dir, as a multiple of the final size. chiapos: Chia docs give 239 GiB for
# k32 (2.36x; the often-quoted 2.2x is too tight); madMAx ~220 GiB for k32 with a separate -2;
# BladeBit diskplot ~416 GiB; BladeBit RAM/CUDA need no tmp dir.
# bladebit_cuda plots in RAM (its --disk-128/16 cache is the user's choice); gigahorse caches about one
# finished plot per copy still queued in its -t dir.
TMP_FACTOR = {"chiapos": 2.4, "chia": 2.4, "madmax": 2.2, "diskplot": 4.1, "ramplot": 0.0, "cudaplot": 0.0,
              "bladebit_cuda": 0.0, "gigahorse": 1.0, "pos2": 1.0}  # pos2: its .plot2.tmp on tmp


# ---------------------------------------------------------------- sizes

# PoS2 (.plot2) plotters: their plots grow about x4.3 per k+2 (measured with chia_rs 0.53: k18 0.65 MB,
# k20 2.9 MB, k22 12.5 MB), which gives the ~1 GiB of a mainnet k28.
V2_KINDS = ("pos2", "xchplot2")
V2_K22_BYTES = 12.5e6


def final_size(k, compression=0, kind=None, plot_format=None):
    """Approximate final plot size in bytes: 101.4 GiB for k32, x2 per k (and k/32 for the entry width).

    Matches the sizes measured here within 4 %: k18 3.6 MB, k20 17 MB, k22 73 MB, k25 677 MB,
    and Chia's table for k33 (208.8 GiB) and k34 (429.8 GiB). PoS2 kinds, and a custom template whose
    file pattern names `.plot2` (plot_format "v2", custom_plotter.plot_format): see V2_K22_BYTES.
    """
    if kind in V2_KINDS or plot_format == "v2":
        return int(V2_K22_BYTES * 4.3 ** ((int(k or 28) - 22) / 2.0))
    k = int(k or 32)
    k32 = COMPRESSED_K32_GIB.get(int(compression or 0), COMPRESSED_K32_GIB[9]) * GIB
    return int(k32 * (2.0 ** (k - 32)) * k / 32.0)


def tmp_space(plot):
    """Working space one plot of this spec needs on its tmp dir (bytes)."""
    kind = plot.get("kind") or "chiapos"
    if kind == "bladebit":
        kind = plot.get("bladebit_mode") or "ramplot"
    factor = TMP_FACTOR.get(kind, TMP_FACTOR["chiapos"])
    return int(final_size(plot.get("k"), plot.get("compression"), plot.get("kind"), plot.get("plot_format")) * factor)


def fmt_bytes(value):
    value = float(value)
    for unit, size in (("TiB", 1024 ** 4), ("GiB", GIB), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if abs(value) >= size:
            return "%.1f %s" % (value / size, unit)
    return "%d B" % value


def _n(count, word):
    return "%d %s%s" % (count, word, "" if count == 1 else "s")


def fmt_minutes(value):
    value = round(float(value), 1)
    return ("%d" % value) if value == int(value) else ("%.1f" % value)


# ---------------------------------------------------------------- reading the state

def step_tuple(step):
    match = STEP_RE.match(str(step)) if step is not None else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def _job_step(job):
    step = step_tuple(job.get("step"))
    if step is not None:
        return step
    phase = job.get("phase")
    return (int(phase), 0) if isinstance(phase, int) else (0, 0)


def _norm(path):
    return os.path.normpath(path) if path else path


def _num(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def started_at(entry, now=None):
    """Start time (epoch) of a job or history entry, or None."""
    for key in ("started", "started_ts"):
        if _num(entry.get(key)) is not None:
            return float(entry[key])
    if now is not None and _num(entry.get("elapsed_s")) is not None:
        return float(now) - float(entry["elapsed_s"])
    return None


def ended_at(entry):
    """End time (epoch) of a history entry, or None."""
    for key in ("ended", "finished_ts", "log_mtime"):
        if _num(entry.get(key)) is not None:
            return float(entry[key])
    start = started_at(entry)
    if start is not None and _num(entry.get("elapsed_s")) is not None:
        return start + float(entry["elapsed_s"])
    return None


def _dir_free(state):
    free = {}
    for item in state.get("dirs") or []:
        value = item.get("free_bytes", item.get("free"))
        if item.get("path") and _num(value) is not None:
            free[_norm(item["path"])] = int(value)
    return free


def _job_plot(job, default_plot):
    """The plot spec of a running job, for its space reservations."""
    kind = job.get("plotter") or default_plot.get("kind")
    spec = dict(default_plot, kind=kind, k=job.get("k") or default_plot.get("k"))
    # A running custom job without a format of its own is sized like the custom plot being started (the
    # host's template); any other kind by its kind.
    same_template = kind == "custom" and default_plot.get("kind") == "custom"
    spec["plot_format"] = job.get("plot_format") or (default_plot.get("plot_format") if same_template else None)
    if kind == "bladebit":
        spec["bladebit_mode"] = "diskplot" if job.get("tmp_dir") else "ramplot"
    return spec


def _remaining_plots(job):
    count, index = job.get("count"), job.get("index")
    if isinstance(count, int) and isinstance(index, int) and count >= index:
        return count - index + 1
    return 1


# ---------------------------------------------------------------- processes

def _index(job):
    index = job.get("index")
    return index if isinstance(index, int) and not isinstance(index, bool) else 1


def _process_key(job, position):
    pid = job.get("pid")
    if isinstance(pid, int) and not isinstance(pid, bool):
        return ("pid", pid, job.get("proc_start"))
    return ("job", position)   # no pid (a start decided this pass, a plain dict): its own process


def processes(jobs):
    """The plotter processes behind the jobs, in order: [(current plot, [all its plots])].

    A multi-plot process (Gigahorse, BladeBit CUDA `-n N`) holds several plots at once, e.g. plot 1
    waiting for its copy while plot 2 plots (same pid): it is one job, and its current plot (the
    highest index; the one plotting on a tie) is the one whose phase/step/tmp dir the rules count.
    """
    groups = {}
    for position, job in enumerate(jobs):
        groups.setdefault(_process_key(job, position), []).append(job)
    return [(max(plots, key=lambda j: (_index(j), j.get("state") != "copying")), plots)
            for plots in groups.values()]


def _current_plots(jobs):
    return [current for current, _plots in processes(jobs)]


def _process_started(current, plots, now):
    """When the process started: a later plot of a multi-plot process is not a start of its own."""
    if _index(current) > 1 and _num(current.get("proc_start")) is not None:
        return float(current["proc_start"])
    starts = [started_at(p, now) for p in plots]
    starts = [s for s in starts if s is not None]
    return min(starts) if starts else None


# ---------------------------------------------------------------- validation

def validate_rules(rules):
    """Return a list of error strings for rules that cannot be understood (named by rule)."""
    errors = []
    merged = merge_rules(rules)
    if step_tuple(merged.get("stagger_step")) is None:
        errors.append("rules.stagger_step must look like '2:1' (phase:step), got %r" % merged.get("stagger_step"))
    for window in merged.get("time_windows") or []:
        if _parse_window(window) is None:
            errors.append("rules.time_windows: %r is not HH:MM-HH:MM (e.g. 22:00-06:00)" % window)
    for path, limit in (merged.get("max_jobs_per_tmp_overrides") or {}).items():
        try:
            if int(limit) < 0:
                errors.append("rules.max_jobs_per_tmp_overrides[%s] must be >= 0, got %s" % (path, limit))
        except (TypeError, ValueError):
            errors.append("rules.max_jobs_per_tmp_overrides[%s] must be an integer, got %r" % (path, limit))
    for name in ("max_jobs", "max_jobs_per_tmp", "max_before_step", "max_phase1_jobs"):
        value = merged.get(name)
        if value is not None and value < 0:
            errors.append("rules.%s must be >= 0, got %s" % (name, value))
    for name in ("crash_window_minutes", "backoff_base_minutes", "backoff_max_minutes", "min_start_interval_minutes"):
        value = merged.get(name)
        if value is not None and value < 0:
            errors.append("rules.%s must be >= 0, got %s" % (name, value))
    return errors


def merge_rules(rules):
    merged = dict(DEFAULT_RULES)
    for key, value in (rules or {}).items():
        if value is not None or DEFAULT_RULES.get(key) is None:
            merged[key] = value
    return merged


def _parse_window(text):
    match = WINDOW_RE.match(str(text))
    if not match:
        return None
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
        return None
    return h1 * 60 + m1, h2 * 60 + m2


def _in_window(minute, window):
    start, end = window
    if start == end:
        return True
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end  # crosses midnight


# ---------------------------------------------------------------- host-wide rules

def _check(rule, ok, detail, directory=None):
    item = {"rule": rule, "ok": bool(ok), "detail": detail}
    if directory is not None:
        item["dir"] = directory
    return item


def _host_checks(state, jobs, rules, now, local_tm):
    checks, not_before = [], []

    if state.get("pause_file_exists"):
        checks.append(_check("pause", False, "pause file %s exists: draining, no new starts"
                             % (state.get("pause_file") or "")))
    else:
        checks.append(_check("pause", True, "no pause file"))

    windows = rules.get("time_windows") or []
    if windows:
        minute = local_tm.tm_hour * 60 + local_tm.tm_min
        parsed = [_parse_window(w) for w in windows]
        inside = any(w is not None and _in_window(minute, w) for w in parsed)
        now_text = "%02d:%02d" % (local_tm.tm_hour, local_tm.tm_min)
        if inside:
            checks.append(_check("time_windows", True, "%s is inside %s" % (now_text, ", ".join(windows))))
        else:
            checks.append(_check("time_windows", False, "outside time window %s (now %s)"
                                 % (", ".join(windows), now_text)))

    backoff = crash_backoff(state, rules, now)
    if backoff["blocked"]:
        not_before.append(backoff["until"])
    checks.append(_check("crash_backoff", not backoff["blocked"], backoff["detail"]))

    procs = processes(jobs)
    limit = rules.get("max_jobs")
    if limit is not None:
        ok = len(procs) < limit
        checks.append(dict(_check("max_jobs", ok, "host: %s running (limit %d)" % (_n(len(procs), "job"), limit)),
                           count=len(procs), limit=limit))   # the numbers, for readers of the result (status)

    limit = rules.get("max_phase1_jobs")
    if limit is not None:
        count = sum(1 for current, _plots in procs if _job_step(current)[0] <= 1)
        checks.append(_check("max_phase1_jobs", count < limit, "host: %s in phase 1 (limit %d)"
                             % (_n(count, "job"), limit)))

    interval = float(rules.get("min_start_interval_minutes") or 0)
    if interval > 0:
        starts = [_process_started(current, plots, now) for current, plots in procs]
        starts += [started_at(e, now) for e in state.get("history") or [] if _index(e) <= 1]
        starts = [s for s in starts if s is not None]
        if starts:
            ago = (now - max(starts)) / 60.0
            ok = ago >= interval
            if not ok:
                not_before.append(max(starts) + interval * 60)
            checks.append(_check("min_start_interval", ok, "host: last start %s min ago (limit %s min)"
                                 % (fmt_minutes(ago), fmt_minutes(interval))))
        else:
            checks.append(_check("min_start_interval", True, "no earlier start"))

    checks.extend(_idle_checks(state.get("load") or {}, rules))
    return checks, not_before


def _idle_checks(load, rules):
    """The idle gates. A measure the host could not give is reported as not checked, never a block."""
    load1, cpus = _num(load.get("load1")), _num(load.get("cpus"))
    per_cpu = load1 / cpus if load1 is not None and cpus else None
    gates = (
        ("max_load_per_cpu", per_cpu, "load average", lambda value, limit: value <= limit,
         lambda value, limit, ok: "host: load %.2f per cpu (%.2f on %d cpus) %s limit %.2f"
         % (value, load1, cpus, "within" if ok else "above", limit)),
        ("min_cpu_idle_percent", _num(load.get("cpu_idle_percent")), "cpu idle", lambda value, limit: value >= limit,
         lambda value, limit, ok: "host: cpu idle %.0f%% %s %.0f%%" % (value, "at least" if ok else "below", limit)),
        ("min_mem_available_bytes", _num(load.get("mem_available_bytes")), "available memory",
         lambda value, limit: value >= limit,
         lambda value, limit, ok: "host: memory available %s %s %s"
         % (fmt_bytes(value), "at least" if ok else "below", fmt_bytes(limit))),
    )
    checks = []
    for name, value, what, passes, describe in gates:
        limit = rules.get(name)
        if limit is None:
            continue
        if value is None:
            checks.append(_check(name, True, "%s unknown: not checked" % what))
        else:
            ok = passes(value, limit)
            checks.append(_check(name, ok, describe(value, limit, ok)))
    return checks


def crash_backoff(state, rules, now):
    """Crash-loop backoff: n jobs in a row that died within the crash window block starts for
    base * 2^(n-1) minutes (capped) after the last of them. A finished job, or one that lived past
    the window, ends the streak. A job stopped on purpose (plot_stop) within the window is neither:
    it is left out, so stopping plots neither starts a backoff nor lifts one. A multi-plot process
    (`-n N`) that dies leaves several dead plots: one crash, n counts processes (_history_process)."""
    window = float(rules.get("crash_window_minutes") or 0) * 60
    events = []
    for position, entry in enumerate(state.get("history") or []):
        start, end = started_at(entry), ended_at(entry)
        if start is None:
            continue
        short = end is not None and end - start <= window
        if entry.get("state") == STOPPED and short:
            continue
        crashed = entry.get("state") in CRASH_STATES and short
        events.append((start, "crash" if crashed else "healthy", end, _history_process(entry, position)))
    for job in state.get("jobs") or []:
        start = started_at(job, now)
        if start is not None:
            events.append((start, "healthy" if now - start > window else "young", None, None))
    events.sort(key=lambda item: item[0], reverse=True)
    crashes, crashed_processes = [], set()
    for _start, kind, end, process in events:
        if kind == "healthy":
            break
        if kind == "crash":
            crashes.append(end)
            crashed_processes.add(process)
    if window <= 0 or not crashes:
        return {"blocked": False, "crashes": 0, "until": None, "detail": "no crash loop"}
    n = len(crashed_processes)
    delay = min(float(rules.get("backoff_base_minutes") or 0) * 2 ** (n - 1),
                float(rules.get("backoff_max_minutes") or 0))
    until = max(crashes) + delay * 60
    blocked = now < until
    detail = "%d job%s died within %s min of starting: waiting %s min after the last" % (
        n, "" if n == 1 else "s", fmt_minutes(window / 60), fmt_minutes(delay))
    if blocked:
        detail += " (%s min left)" % fmt_minutes((until - now) / 60)
    else:
        detail += " (waited)"
    return {"blocked": blocked, "crashes": n, "until": until, "detail": "backoff: " + detail}


def _history_process(entry, position):
    """The process that made a history entry's plot: its launch record, else its log (a process writes
    one log; the plots of a `-n N` process share it); an entry with neither is a process of its own.
    History entries carry no pid (the process is gone), so this is how its plots are told together."""
    for key in ("launch_id", "log"):
        if isinstance(entry.get(key), str) and entry[key]:
            return (key, entry[key])
    return ("entry", position)


# ---------------------------------------------------------------- per-dir rules

def _tmp_checks(path, jobs, rules, free, plot, need_tmp):
    checks = []
    here = [job for job in _current_plots(jobs) if _norm(job.get("tmp_dir")) == path]
    overrides = dict((_norm(p), int(v)) for p, v in (rules.get("max_jobs_per_tmp_overrides") or {}).items())
    limit = overrides.get(path, rules.get("max_jobs_per_tmp"))
    if limit is not None:
        checks.append(_check("max_jobs_per_tmp", len(here) < limit, "tmp %s: %s (limit %d)"
                             % (path, _n(len(here), "job"), limit), path))
    limit = rules.get("max_before_step")
    stagger = step_tuple(rules.get("stagger_step"))
    if limit is not None and stagger is not None:
        early = sum(1 for job in here if _job_step(job) < stagger)
        checks.append(_check("stagger", early < limit, "tmp %s: %s before phase %d:%d (limit %d)"
                             % (path, _n(early, "job"), stagger[0], stagger[1], limit), path))
    free_after = None
    if rules.get("check_free_space", True):
        reserved = 0
        for job in here:   # a process's current plot: its earlier plots' files are on the disk already
            work = rules.get("tmp_space_bytes") or tmp_space(_job_plot(job, plot))
            reserved += max(0, int(work) - int(_num(job.get("tmp_bytes")) or 0))
        checks.append(_space_check("tmp_free_space", "tmp", path, free.get(path), reserved, need_tmp))
        free_after = None if free.get(path) is None else free[path] - reserved
    return checks, len(here), free_after


def _space_check(rule, label, path, free, reserved, need):
    if free is None:
        return _check(rule, False, "%s %s: free space unknown" % (label, path), path)
    after = free - reserved
    detail = "%s %s: %s free, %s reserved by running jobs, plot needs %s" % (
        label, path, fmt_bytes(free), fmt_bytes(reserved), fmt_bytes(need))
    return _check(rule, after >= need, detail, path)


def _final_reserved(jobs, key, path, plot):
    """Final plots still to arrive in path: per process, its current plot and those it has still to
    make; an earlier plot of the same process (its copy in flight) counts once, as itself."""
    total = 0
    for current, plots in processes(jobs):
        for job in plots:
            if _norm(job.get(key)) == path and job.get("state", "plotting") in LIVE_STATES:
                spec = _job_plot(job, plot)
                size = final_size(spec["k"], spec.get("compression"), spec["kind"], spec["plot_format"])
                total += size * (_remaining_plots(job) if job is current else 1)
    return total


# ---------------------------------------------------------------- the decision

def normalise_plot(plot):
    spec = dict(kind="chiapos", k=32, compression=0, bladebit_mode="ramplot", count=1)
    spec.update(dict((k, v) for k, v in (plot or {}).items() if v is not None))
    return spec


def decide(state, rules, now, tmp_dirs=None, dst_dirs=None, plot=None, tmp2_dir=None, max_starts=1,
           local_tm=None):
    """Return {"start": [{tmp_dir, tmp2_dir, dst_dir}], "reasons": [...], "checks": [...], "next_start_after"}.

    tmp_dirs/dst_dirs: the configured dirs (order breaks ties). plot: the plot to start
    ({kind, k, compression, bladebit_mode, count}; kind custom: plot_format "v1"/"v2"). Starts are decided
    one at a time, each counted as a new running job before the next one is considered, so max_starts > 1
    never overshoots.
    """
    rules = merge_rules(rules)
    plot = normalise_plot(plot)
    tmp_dirs = [_norm(p) for p in (tmp_dirs or [])]
    dst_dirs = [_norm(p) for p in (dst_dirs or [])]
    tmp2_dir = _norm(tmp2_dir) if tmp2_dir else None
    local_tm = local_tm or time.localtime(now)
    free = _dir_free(state)
    jobs = [dict(job) for job in state.get("jobs") or []]
    counter = int(state.get("start_counter") or 0)
    one_plot = rules.get("dst_space_bytes") or final_size(plot["k"], plot["compression"], plot.get("kind"),
                                                          plot.get("plot_format"))
    need_final = int(one_plot) * int(plot["count"])
    need_tmp = int(rules.get("tmp_space_bytes") or tmp_space(plot))
    starts, checks, reasons, not_before = [], [], [], []

    while True:
        checks, not_before = _host_checks(state, jobs, rules, now, local_tm)
        host_ok = all(c["ok"] for c in checks)
        tmp_ok = []
        if not tmp_dirs:
            checks.append(_check("tmp_dirs", False, "no tmp_dirs configured"))
        for path in tmp_dirs:
            dir_checks, njobs, free_after = _tmp_checks(path, jobs, rules, free, plot, need_tmp)
            checks.extend(dir_checks)
            if all(c["ok"] for c in dir_checks):
                tmp_ok.append((njobs, -(free_after or 0), tmp_dirs.index(path), path))
        tmp2_ok = True
        if tmp2_dir and rules.get("check_free_space", True) and tmp2_dir not in tmp_dirs:
            reserved = _final_reserved(jobs, "tmp2_dir", tmp2_dir, plot)
            check = _space_check("tmp2_free_space", "tmp2", tmp2_dir, free.get(tmp2_dir), reserved, need_final)
            checks.append(check)
            tmp2_ok = check["ok"]
        dst_choice = _choose_dst(jobs, rules, free, plot, dst_dirs, need_final, counter, checks)

        tmp_choice = sorted(tmp_ok)[0][3] if tmp_ok else None
        if not (host_ok and tmp_choice and tmp2_ok and (dst_choice or not dst_dirs)):
            reasons = _reasons(checks, bool(tmp_choice), bool(dst_choice))
            break
        start = {"tmp_dir": tmp_choice, "tmp2_dir": tmp2_dir or tmp_choice, "dst_dir": dst_choice or tmp_choice}
        starts.append(start)
        counter += 1
        jobs.append(dict(start, phase=0, step="0:0", k=plot["k"], plotter=plot["kind"], state="plotting",
                         started=now, tmp_bytes=0, count=plot["count"], index=1))
        if len(starts) >= max_starts:
            reasons = []
            break
    return {"start": starts, "reasons": reasons, "checks": checks,
            "next_start_after": max(not_before) if not_before and not starts else None}


def _reasons(checks, have_tmp, have_dst):
    """Why nothing (more) starts: host-wide noes, and per-dir noes only when no dir of that kind is usable."""
    skip = set()
    if have_tmp:
        skip.update(("max_jobs_per_tmp", "stagger", "tmp_free_space"))
    if have_dst:
        skip.add("dst_free_space")
    return [c["detail"] for c in checks if not c["ok"] and c["rule"] not in skip]


def _choose_dst(jobs, rules, free, plot, dst_dirs, need_final, counter, checks):
    """Most free after reservations; dirs less than one plot apart tie and take turns (counter)."""
    if not dst_dirs:
        checks.append(_check("dst_free_space", True, "no dst_dirs: the plot stays in its tmp dir"))
        return None
    candidates = []
    for index, path in enumerate(dst_dirs):
        reserved = _final_reserved(jobs, "dst_dir", path, plot)
        if rules.get("check_free_space", True):
            check = _space_check("dst_free_space", "dst", path, free.get(path), reserved, need_final)
            checks.append(check)
            if not check["ok"]:
                continue
        candidates.append((free.get(path, 0) - reserved, index, path))
    if not candidates:
        return None
    best = max(c[0] for c in candidates)
    tied = sorted((c for c in candidates if best - c[0] < need_final), key=lambda c: c[1])
    return tied[counter % len(tied)][2]
