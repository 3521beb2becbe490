# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gather for moving (read-only): the transfers in flight and the plots that may move.

  describe_transfers() / load_transfers()  transfer records joined with the process table
  find_candidates()    complete plot files in the source dirs that nothing writes or still owns
  measure_destinations()  destinations with free space, mount state and held marks
Nothing here writes: the decision is policy/move.py (pure), the act is moving.py (plot_move's body)
and the detached worker. plot_info (hoststate) reads describe_transfers() from here.
"""

from __future__ import absolute_import, division, print_function

import os
import re
import time

from ansible_collections.plotfleet.chia.plugins.module_utils import (
    openfiles,
    plotfile,
    process_groups,
    records,
    replot,
    transfer_facts,
)

__metaclass__ = type

WORKER_DIR_PREFIX = "plotfleet-transfer-"
FULL_HOLD_S = 1800        # a destination found full is skipped this long
DONE_SHOWN_S = 86400      # finished transfers stay in describe_transfers() this long
ARCHIVE = "done"
STARTING_GRACE_S = 60     # a record written just before its worker got a pid is still "running"
PID_START_SLACK_S = 2.0   # pid alive with a start time further away: a reused pid
QUIET_S = 120             # without /proc (macOS): a plot modified this recently may be written
LIVE_JOB_STATES = ("plotting", "copying", "stalled", "suspended")  # a suspended plotter still owns its files
# Plotters whose own copy thread moves finished plots out of their temp dirs: never take a plot from there.
SELF_COPYING_PLOTTERS = ("madmax", "gigahorse")
PROGRESS_RE = re.compile(r"^\s*([\d,.']+)\s+\d+%\s")

process_start = process_groups.process_start
failure_of = transfer_facts.failure_of
legacy_failure = transfer_facts.legacy_failure


def describe_transfers(state_dir, procs, warnings, now=None):
    """Public view of the transfer records (contract in docs/ARCHITECTURE.md "Transfers")."""
    return [public_view(rec) for rec in load_transfers(state_dir, procs, warnings, now)
            if rec["state"] != "done" or (now or time.time()) - (rec.get("finished") or 0) < DONE_SHOWN_S]


def load_transfers(state_dir, procs, warnings, now=None):
    """All transfer records, each with its live state and progress worked out."""
    now = now or time.time()
    by_pid = dict((p["pid"], p) for p in procs) if procs is not None else None
    result = []
    for rec in records.list_records(state_dir, records.TRANSFERS, warnings):
        if not rec.get("id") or not rec.get("source"):
            continue
        if rec.get("state") == "running" and not _worker_alive(rec, by_pid, now):
            rec["state"] = "interrupted"
        rec["bytes_done"] = _bytes_done(rec)
        rec["source_dev"] = _dev(rec.get("source_dir"), rec.get("source_dev"))
        rec["rate_bps"] = None
        if rec["state"] == "running" and rec["bytes_done"] is not None and rec.get("started"):
            elapsed = now - rec["started"]
            if elapsed > 0:
                rec["rate_bps"] = int(max(0, rec["bytes_done"] - (rec.get("bytes_resumed") or 0)) / elapsed)
        result.append(rec)
    return result


def _dev(path, default=None):
    try:
        return os.stat(path).st_dev
    except (OSError, TypeError):
        return default


PUBLIC_KEYS = ("id", "plot_id", "source", "destination", "host", "state", "pid", "bytes_total", "bytes_done",
               "rate_bps", "started", "log", "method", "reason", "failure", "conflict", "finished", "attempt")


def public_view(rec):
    view = dict((key, rec.get(key)) for key in PUBLIC_KEYS)
    view["failure"] = failure_of(rec)
    return view


def _worker_alive(rec, by_pid, now):
    """The transfer lives while its worker does, or, once the worker is gone, while any process of
    its process group does (a killed worker's rsync keeps copying; the worker leads its group)."""
    pid = rec.get("pid")
    if not pid:
        return now - (rec.get("started") or 0) < STARTING_GRACE_S
    if by_pid is not None:
        proc = by_pid.get(pid)
        if proc is None:
            return process_groups.group_alive(pid)
        if proc.get("argv") and not any(WORKER_DIR_PREFIX in arg for arg in proc["argv"]):
            return False  # the pid was reused: its old group is empty (no live group keeps a reused number)
        start = proc.get("start")
    else:
        start = process_start(pid)
        if start is None:
            return process_groups.group_alive(pid)
    return start is None or rec.get("proc_start") is None or abs(start - rec["proc_start"]) <= PID_START_SLACK_S


def _bytes_done(rec):
    if rec.get("state") == "done":
        return rec.get("bytes_total")
    if rec.get("host"):
        return _rsync_progress(rec.get("log"))
    for name in (plotfile.partial_name(rec["plot_name"]), rec["plot_name"]):
        try:
            return os.stat(os.path.join(rec["destination"], name)).st_size
        except OSError:
            continue
    return None


def _rsync_progress(log_path):
    """Bytes done from the last rsync --progress line in the worker log (tail only)."""
    try:
        with open(log_path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4096))
            tail = handle.read().decode("utf-8", "replace")
    except (IOError, OSError, TypeError):
        return None
    for piece in reversed(re.split(r"[\r\n]", tail)):
        match = PROGRESS_RE.match(piece)
        if match:
            return int(re.sub(r"\D", "", match.group(1)))
    return None


def busy_from_state(state):
    """(dirs no plot may leave, plot paths still owned by a plotter) from hoststate.gather()."""
    busy_dirs, busy_files = set(), set()
    for job in (state or {}).get("jobs") or []:
        live = job.get("pid") and job.get("state") in LIVE_JOB_STATES
        if live and job.get("plotter") in SELF_COPYING_PLOTTERS:
            # madMAx and Gigahorse keep a finished .plot in their temp dirs until their own copy thread moves it.
            busy_dirs.update(_real(d) for d in (job.get("tmp_dir"), job.get("tmp2_dir")) if d)
        if job.get("state") == "copying" or live:
            if job.get("plot_file"):
                busy_files.add(_real(job["plot_file"]))
            if job.get("plot_name") and job.get("dst_dir"):
                busy_files.add(_real(os.path.join(job["dst_dir"], job["plot_name"])))
    return busy_dirs, busy_files


def _real(path):
    return os.path.realpath(path)


def find_candidates(source_dirs, busy_dirs, busy_files, now=None):
    """(candidates, reasons): complete plots in source_dirs that may move now."""
    now = now or time.time()
    candidates, unfinished, reasons, seen = [], [], [], set()
    for directory in source_dirs:
        real_dir = _real(directory)
        if real_dir in seen:
            continue
        seen.add(real_dir)
        try:
            names = sorted(os.listdir(directory))
        except OSError as exc:
            reasons.append("source %s: cannot list (%s)" % (directory, exc.strerror))
            continue
        for name in names:
            if not plotfile.is_plot_name(name):
                continue  # temp files (.tmp, partial copies) and anything else never move
            path = os.path.join(directory, name)
            entry, why = _candidate(path, name, directory, real_dir, busy_dirs, busy_files)
            if entry is None:
                reasons.append("%s: %s" % (path, why))
            elif entry.get("incomplete"):
                unfinished.append(entry)
            else:
                candidates.append(entry)
    writing = openfiles.held_for_writing([_real(c["path"]) for c in candidates + unfinished])
    keep = []
    for cand in candidates:
        why = _maybe_written(cand, writing, now)
        if why:
            reasons.append("%s: %s" % (cand["path"], why))
        else:
            keep.append(cand)
    for cand in unfinished:
        reasons.append("%s: %s: %s" % (cand["path"], cand["incomplete"], _maybe_written(cand, writing, now) or
                                       "incomplete and no process writes it: it will not be moved"))
    return keep, reasons


def _maybe_written(cand, writing, now):
    """Why the file may still be being written (open for writing, or recently modified where open
    files cannot be seen), else None."""
    if writing is not None and _real(cand["path"]) in writing:
        return "open for writing by a process"
    if writing is None and now - cand["mtime"] < QUIET_S:
        return "modified %d s ago, may still be written" % (now - cand["mtime"])
    return None


def _candidate(path, name, directory, real_dir, busy_dirs, busy_files):
    """(entry, None) for a plot file, with "incomplete" set when it is not a finished plot (yet);
    (None, why) when it must not be looked at."""
    if real_dir in busy_dirs:
        return None, "in a dir of a live madMAx job"
    if _real(path) in busy_files:
        return None, "still owned by a live or copying plot job"
    try:
        st = os.stat(path)
    except OSError as exc:
        return None, "cannot stat (%s)" % exc.strerror
    if not os.path.isfile(path):
        return None, "not a regular file"
    entry = {"path": path, "name": name, "dir": directory, "size": st.st_size, "dev": st.st_dev,
             "mtime": st.st_mtime}
    header = plotfile.read_header(path)
    if header is None:
        entry["incomplete"] = "no complete plot header"  # a header cut short, or not a plot at all
        return entry, None
    if not header["complete"]:
        entry["incomplete"] = "plot header incomplete (table pointers not written)"
        return entry, None
    if max(header["table_pointers"]) >= st.st_size:
        entry["incomplete"] = "shorter than its table pointers"
        return entry, None
    named = plotfile.parse_plot_name(name)
    if named["plot_id"] != header["plot_id"]:
        return None, "file name and header disagree on the plot id"
    entry.update(plot_id=header["plot_id"], k=header["k"])
    return entry, None


def full_marks(state_dir):
    data = records.read_json(os.path.join(state_dir, transfer_facts.FULL_STATE)) or {}
    return data.get("full") or {}


def measure_destinations(destinations, marks, now=None, hold_s=FULL_HOLD_S):
    """Destination dicts (module option) with key, local dev/mount/free measured, and the problem
    that rules each out before any choice: unavailable, not a mount point (a remote dir's mount state
    comes from its storage host's plot_info this pass), or held by a worker's earlier finding (a dir held
    full whose storage host now offers more replot room than then is not held: _replot_room_since)."""
    now = now or time.time()
    result = []
    for index, dest in enumerate(destinations):
        entry = dict(dest, index=index, key=transfer_facts.destination_key(dest.get("host"), dest["path"]),
                     dev=None, mounted=dest.get("mounted") if dest.get("host") else None, problem=None)
        if dest.get("problem"):  # the storage host's own plot_info found the dir unusable this pass
            entry["problem"] = "unavailable on %s (%s)" % (dest.get("host") or "this host", dest["problem"])
        elif not dest.get("host"):
            _measure_local(entry)
        if entry["problem"] is None and dest.get("must_be_mount") and entry["mounted"] is False:
            entry["problem"] = "not a mount point"
        mark = marks.get(entry["key"])
        if entry["problem"] is None and mark and now - mark.get("since", 0) < hold_s and not _replot_room_since(
                mark, dest):
            entry["problem"] = _held(mark, now)
        result.append(entry)
    return result


def _measure_local(entry):
    try:
        st = os.stat(entry["path"])
        fs = os.statvfs(entry["path"])
        entry.update(dev=st.st_dev, mounted=os.path.ismount(entry["path"]), free_bytes=fs.f_bavail * fs.f_frsize)
    except OSError as exc:
        entry["problem"] = "unavailable (%s)" % exc.strerror


def _replot_room_since(mark, dest):
    """A dir held full whose storage host now offers more replot room than when it was found full (held
    before replot was on there, while paused or at a limit): the hold is over. Not with the very offer
    the failing copy was sent with (a drain worker plans with its pass's offer: it would send again into
    the same refusal)."""
    kind = mark.get("failure") or legacy_failure(mark.get("reason"), "full")
    room = dest.get("replot") if isinstance(dest.get("replot"), dict) else {}
    offer = (room.get("policy") or {}).get(replot.OFFER_KEY) if isinstance(room.get("policy"), dict) else None
    if kind != "full" or (offer is not None and offer == mark.get("replot_offer")):
        return False
    return int(room.get("room_bytes") or 0) > int(mark.get("replot_room_bytes") or 0)


def _held(mark, now):
    """The reason a destination held in destinations.json is skipped, in the words of its failure."""
    minutes = (now - mark["since"]) // 60
    kind = mark.get("failure") or legacy_failure(mark.get("reason"), "full")
    if kind == "unmounted":
        return "not a mount point (found %d min ago)" % minutes
    if kind == "missing":
        return "missing (found %d min ago: %s)" % (minutes, mark.get("reason"))
    return "marked full %d min ago (%s)" % (minutes, mark.get("reason"))


def archived_for(state_dir, candidates, transfers, warnings):
    """Archived records of the candidate plots that have no current record (one stat per candidate)."""
    current = set(rec.get("plot_id") for rec in transfers)
    folder = os.path.join(records.record_dir(state_dir, records.TRANSFERS), ARCHIVE)
    found = []
    for cand in candidates:
        if cand["plot_id"] in current:
            continue
        path = os.path.join(folder, "%s.json" % cand["plot_id"])
        if os.path.exists(path):
            rec = records.read_json(path, warnings)
            if rec is not None:
                rec.update(_path=path, state="done")  # only done records are archived
                found.append(rec)
    return found
