# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Moving finished plots to storage: which plots may move, where to, and the transfers in flight.

One pass (plot_move) under records.host_lock(state_dir):
  find_candidates()  complete .plot files in the source dirs that nothing writes or still owns
  describe_transfers()  transfer records joined with the process table
  plan()             pure: candidates + destinations + transfers -> actions + reasons
  act: same filesystem -> os.rename here and now; otherwise a transfer record and a detached
       transfer_worker (copy/rsync to a hidden temp name, verify, rename, delete the source).
A plot has one transfer record, named by its plot id, so it is never transferred twice.
"""

from __future__ import absolute_import, division, print_function

import hashlib
import os
import re
import sys
import time

from ansible_collections.plotfleet.chia.plugins.module_utils import (
    cpu,
    detach,
    openfiles,
    plotfile,
    records,
    transfer_worker,
)

__metaclass__ = type

WORKER_DIR_PREFIX = "plotfleet-transfer-"
FULL_HOLD_S = 1800        # a destination found full is skipped this long
RETRY_AFTER_S = 600       # default: a failed transfer is retried after this long ...
MAX_ATTEMPTS = 5          # ... at most this many times (then a human looks at the reason)
DONE_SHOWN_S = 86400      # finished transfers stay in describe_transfers() this long
ARCHIVE_AFTER_S = 7 * 86400  # then, acknowledged, they move to transfers/done/ (out of every pass's reads)
ARCHIVE = "done"
STARTING_GRACE_S = 60     # a record written just before its worker got a pid is still "running"
PID_START_SLACK_S = 2.0   # pid alive with a start time further away: a reused pid
QUIET_S = 120             # without /proc (macOS): a plot modified this recently may be written
LIVE_JOB_STATES = ("plotting", "copying", "stalled", "suspended")  # a suspended plotter still owns its files
# Plotters whose own copy thread moves finished plots out of their temp dirs: never take a plot from there.
SELF_COPYING_PLOTTERS = ("madmax", "gigahorse")
PROGRESS_RE = re.compile(r"^\s*([\d,.']+)\s+\d+%\s")


# ---- processes

process_start = transfer_worker.process_start  # the worker stamps its own start time with it


# ---- the worker script, installed content-addressed into <state_dir>/bin/

def _source_of(module):
    loader = getattr(module, "__loader__", None)
    if loader is not None and hasattr(loader, "get_source"):
        text = loader.get_source(module.__name__)
        if text:
            return text
    with open(module.__file__) as handle:
        return handle.read()


def install_worker(state_dir):
    """Path of transfer_worker.py installed (with plotfile.py and records.py) in a dir named by
    the hash of the three files; installed once, atomically."""
    files = [("transfer_worker.py", _source_of(transfer_worker)), ("plotfile.py", _source_of(plotfile)),
             ("records.py", _source_of(records))]
    digest = hashlib.sha256("\0".join(text for _, text in files).encode("utf-8")).hexdigest()[:16]
    bin_dir = records.ensure_dir(os.path.join(state_dir, "bin"))
    target = os.path.join(bin_dir, WORKER_DIR_PREFIX + digest)
    if not os.path.isdir(target):
        staging = "%s.%d.tmp" % (target, os.getpid())
        records.ensure_dir(staging)
        for name, text in files:
            with open(os.path.join(staging, name), "w") as handle:
                handle.write(text)
        try:
            os.rename(staging, target)
        except OSError:  # another pass installed it first
            for name, _ in files:
                os.unlink(os.path.join(staging, name))
            os.rmdir(staging)
    return os.path.join(target, "transfer_worker.py")


# ---- transfers in flight

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


def failure_of(rec):
    """The failure kind of a failed record (transfer_worker.FAILURES), None otherwise. Records written
    before the kind was stored say it only in their reason: read that once, here."""
    if rec.get("state") != "failed":
        return None
    return rec.get("failure") or legacy_failure(rec.get("reason"), "error")


def legacy_failure(reason, otherwise):
    """The failure kind an old record or hold (written before kinds were stored) says in its reason."""
    reason = reason or ""
    if "mount point" in reason:
        return "unmounted"
    return "full" if "full" in reason else otherwise


def _worker_alive(rec, by_pid, now):
    """The transfer lives while its worker does, or, once the worker is gone, while any process of
    its process group does (a killed worker's rsync keeps copying; the worker leads its group)."""
    pid = rec.get("pid")
    if not pid:
        return now - (rec.get("started") or 0) < STARTING_GRACE_S
    if by_pid is not None:
        proc = by_pid.get(pid)
        if proc is None:
            return transfer_worker.group_alive(pid)
        if proc.get("argv") and not any(WORKER_DIR_PREFIX in arg for arg in proc["argv"]):
            return False  # the pid was reused: its old group is empty (no live group keeps a reused number)
        start = proc.get("start")
    else:
        start = process_start(pid)
        if start is None:
            return transfer_worker.group_alive(pid)
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


# ---- what may move

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


# ---- destinations

def full_marks(state_dir):
    data = records.read_json(os.path.join(state_dir, transfer_worker.FULL_STATE)) or {}
    return data.get("full") or {}


def measure_destinations(destinations, marks, now=None, hold_s=FULL_HOLD_S):
    """Destination dicts (module option) with key, local dev/mount/free measured, and the problem
    that rules each out before any choice: unavailable, not a mount point (a remote dir's mount state
    comes from its storage host's plot_info this pass), or held by a worker's earlier finding."""
    now = now or time.time()
    result = []
    for index, dest in enumerate(destinations):
        entry = dict(dest, index=index, key=transfer_worker.destination_key(dest.get("host"), dest["path"]),
                     dev=None, mounted=dest.get("mounted") if dest.get("host") else None, problem=None)
        if dest.get("problem"):  # the storage host's own plot_info found the dir unusable this pass
            entry["problem"] = "unavailable on %s (%s)" % (dest.get("host") or "this host", dest["problem"])
        elif not dest.get("host"):
            _measure_local(entry)
        if entry["problem"] is None and dest.get("must_be_mount") and entry["mounted"] is False:
            entry["problem"] = "not a mount point"
        mark = marks.get(entry["key"])
        if entry["problem"] is None and mark and now - mark.get("since", 0) < hold_s:
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


def _held(mark, now):
    """The reason a destination held in destinations.json is skipped, in the words of its failure."""
    minutes = (now - mark["since"]) // 60
    kind = mark.get("failure") or legacy_failure(mark.get("reason"), "full")
    if kind == "unmounted":
        return "not a mount point (found %d min ago)" % minutes
    if kind == "missing":
        return "missing (found %d min ago: %s)" % (minutes, mark.get("reason"))
    return "marked full %d min ago (%s)" % (minutes, mark.get("reason"))


# ---- the plan (pure)

def plan(candidates, destinations, transfers, max_per_destination=1, max_per_source=1, now=None,
         retry_after_s=RETRY_AFTER_S, max_attempts=MAX_ATTEMPTS):
    """Decide what moves where. Returns {"actions": [...], "reasons": [...]}.

    actions: {"kind": "rename"|"transfer", "candidate", "destination", "record" (existing or None)}.
    destinations come from measure_destinations(); transfers from load_transfers() (with "source_dev").
    """
    now = now or time.time()
    by_plot = dict((t.get("plot_id"), t) for t in transfers)
    reserved, per_dest, per_source = {}, {}, {}
    for rec in transfers:
        if rec["state"] == "running":
            key = transfer_worker.destination_key(rec.get("host"), rec["destination"])
            reserved[key] = reserved.get(key, 0) + max(0, rec["bytes_total"] - (rec.get("bytes_done") or 0))
            per_dest[key] = per_dest.get(key, 0) + 1
            per_source[rec.get("source_dev")] = per_source.get(rec.get("source_dev"), 0) + 1
    actions, reasons = [], []
    for cand in sorted(candidates, key=lambda c: (c["mtime"], c["name"])):
        rec = by_plot.get(cand["plot_id"])
        why = _record_blocks(rec, now, retry_after_s, max_attempts)
        if why:
            reasons.append("%s: %s" % (cand["path"], why))
            continue
        ranked, notes = _choose(cand, destinations, rec, reserved, per_dest, per_source,
                                max_per_destination, max_per_source)
        if not ranked:
            reasons.append("%s: not moved: %s" % (cand["path"], "; ".join(notes) or "no destination configured"))
            continue
        choice = ranked[0]
        kind = "rename" if choice["dev"] is not None and choice["dev"] == cand["dev"] else "transfer"
        if kind == "transfer":
            key = choice["key"]
            reserved[key] = reserved.get(key, 0) + cand["size"]
            per_dest[key] = per_dest.get(key, 0) + 1
            per_source[cand["dev"]] = per_source.get(cand["dev"], 0) + 1
        actions.append({"kind": kind, "candidate": cand, "destination": choice, "record": rec,
                        "alternatives": [d for d in ranked[1:] if _same_host(d, choice)] if kind == "transfer" else []})
    return {"actions": actions, "reasons": reasons}


def _same_host(a, b):
    """Both dirs are on one storage host reached the same way (its session can arbitrate between them)."""
    return bool(a.get("host")) and all(a.get(key) == b.get(key) for key in ("host", "user", "port", "ssh_key"))


def _record_blocks(rec, now, retry_after_s=RETRY_AFTER_S, max_attempts=MAX_ATTEMPTS):
    """Why an existing transfer record of this plot forbids starting one now (or None)."""
    if rec is None:
        return None
    state = rec["state"]
    if state == "running":
        return "transfer %s running (pid %s)" % (rec["id"], rec.get("pid"))
    if state == "done":
        return "already transferred to %s (record %s): not sent twice" % (_where(rec), rec["id"])
    if state == "failed":
        if (rec.get("attempt") or 0) - (rec.get("refused") or 0) >= max_attempts:  # a refused slot is no failure
            return "transfer failed %d times (last: %s); remove %s to retry" % (
                rec.get("attempt"), rec.get("reason"), rec.get("_path"))
        failure = failure_of(rec)
        if failure == "conflict" and retry_after_s > 0:
            found = rec.get("conflict") or {}
            return ("conflict: %s is not this plot (%s) and stays; source %s kept. Move one of them away, then "
                    "retry with plotfleet_move_retry_after_s=0" % (
                        found.get("destination") or _where(rec), found.get("problem") or rec.get("reason"),
                        found.get("source") or rec.get("source")))
        wait = retry_after_s - (now - (rec.get("finished") or 0))
        if wait > 0 and failure not in transfer_worker.HELD_FAILURES + ("busy",):
            return "transfer failed (%s); retry in %d s" % (rec.get("reason"), wait)
    return None  # interrupted: resume; failed long enough ago or at a held destination: retry (elsewhere)


def _where(rec):
    return "%s:%s" % (rec["host"], rec["destination"]) if rec.get("host") else rec["destination"]


def _choose(cand, destinations, rec, reserved, per_dest, per_source, max_per_destination, max_per_source):
    """The usable destinations for one plot, best first (or None), and the notes on the others. Best:
    same filesystem (a rename), an interrupted transfer's own destination next (to resume its partial
    copy), then the fewest transfers running there, then the most free space after reservations."""
    notes, usable = [], []
    for dest in destinations:
        if dest["problem"]:
            notes.append("%s %s" % (dest["key"], dest["problem"]))
            continue
        if dest["dev"] is not None and dest["dev"] == cand["dev"]:
            return [dest], notes  # a rename needs no room and no transfer slot
        free = dest.get("free_bytes")
        incoming = int(dest.get("incoming_bytes") or 0)  # what other plotters are still sending there
        room = None if free is None else (free - reserved.get(dest["key"], 0) - incoming
                                          - int(dest.get("min_free_bytes") or 0))
        if room is not None and room < cand["size"]:
            notes.append("%s has no room (%d bytes free after reservations%s, %d needed)" % (
                dest["key"], max(room, 0), " and %d bytes other hosts are sending" % incoming if incoming else "",
                cand["size"]))
            continue
        if per_dest.get(dest["key"], 0) >= max_per_destination:
            notes.append("%s has %d transfers running (cap %d)" % (
                dest["key"], per_dest.get(dest["key"], 0), max_per_destination))
            continue
        usable.append((dest, room))
    if not usable:
        return None, notes
    if per_source.get(cand["dev"], 0) >= max_per_source:
        return None, ["source disk has %d transfers running (cap %d)" % (per_source[cand["dev"]], max_per_source)]
    resume_key = transfer_worker.destination_key(rec.get("host"), rec["destination"]) if rec else None

    def rank(item):
        dest, room = item
        return (dest["key"] != resume_key, per_dest.get(dest["key"], 0), room is None, -(room or 0), dest["index"])
    return [dest for dest, _room in sorted(usable, key=rank)], notes


# ---- one pass: decide and act under the host lock

RECORD_VERSION = 1
COMPUTED_KEYS = ("_path", "rate_bps", "source_dev")


def run_pass(params, state, procs, check_mode, warnings, now=None):
    """The body of plot_move. params: the module's params; state: hoststate.gather() or None."""
    now = now or time.time()
    state_dir = params["state_dir"]
    destinations = [dict(d) for d in params.get("destinations") or []]
    local_dests = set(_real(d["path"]) for d in destinations if not d.get("host"))
    source_dirs = [d for d in list(params.get("dst_dirs") or []) + list(params.get("source_dirs") or [])
                   if _real(d) not in local_dests]  # plots already at a destination stay there
    busy_dirs, busy_files = busy_from_state(state)
    result = {"changed": False, "moved": [], "started": [], "completed": [], "would_move": [], "reasons": []}
    if check_mode and not os.path.isdir(state_dir):
        lock = _no_lock()
    else:
        lock = records.host_lock(state_dir)
    with lock:
        transfers = load_transfers(state_dir, procs, warnings, now)
        candidates, reasons = find_candidates(source_dirs, busy_dirs, busy_files, now)
        retry_now = params.get("retry_after_s", RETRY_AFTER_S) == 0
        if retry_now and not check_mode:
            transfer_worker.clear_marks(state_dir)  # "storage is back, retry now" also ends the holds
        dests = measure_destinations(destinations, full_marks(state_dir), now, 0 if retry_now else FULL_HOLD_S)
        known = transfers + archived_for(state_dir, candidates, transfers, warnings)
        decided = plan(candidates, dests, known, params.get("max_transfers_per_destination") or 1,
                       params.get("max_transfers_per_source") or 1, now,
                       retry_after_s=params.get("retry_after_s", RETRY_AFTER_S),
                       max_attempts=params.get("max_attempts", MAX_ATTEMPTS))
        result["reasons"] = reasons + decided["reasons"]
        for rec in transfers:
            if rec["state"] == "done" and not rec.get("acknowledged"):
                result["completed"].append(_summary(rec))
                if not check_mode:
                    _acknowledge(rec, now)
            elif rec["state"] == "failed" and not rec.get("acknowledged"):
                warnings.append("transfer %s of %s failed: %s" % (rec["id"], rec["source"], rec.get("reason")))
                if not check_mode:
                    _acknowledge(rec, now)
        if not check_mode:
            archive_old(state_dir, transfers, now, warnings)
        for action in decided["actions"]:
            if check_mode:
                result["would_move"].append(_would(action))
            elif action["kind"] == "rename":
                _rename(action, state_dir, now, result)
            else:
                _start(action, params, now, result, warnings)
    result["changed"] = bool(result["moved"] or result["started"] or result["completed"] or result["would_move"])
    result["transfers"] = describe_transfers(state_dir, procs, warnings) if os.path.isdir(state_dir) else []
    return result


class _no_lock(object):
    def __enter__(self):
        return True

    def __exit__(self, *exc):
        return False


def _method(dest, kind):
    if kind == "rename":
        return "rename"
    return "rsync" if dest.get("host") else "copy"


def _would(action):
    cand, dest = action["candidate"], action["destination"]
    return {"plot": cand["name"], "source": cand["path"], "destination": dest["path"], "host": dest.get("host"),
            "method": _method(dest, action["kind"]), "resume": bool(action["record"] and
                                                                    action["record"]["state"] == "interrupted")}


def _summary(rec):
    return dict((key, rec.get(key)) for key in ("id", "plot_id", "source", "destination", "host", "method",
                                                   "bytes_total", "started", "finished"))


def _stored(rec):
    return dict((key, value) for key, value in rec.items() if key not in COMPUTED_KEYS)


def archive_old(state_dir, transfers, now, warnings):
    """Move acknowledged done records older than ARCHIVE_AFTER_S to transfers/done/: a pass reads
    only the recent ones, and archived_for() still finds a plot's record if the plot shows up again."""
    old = [rec for rec in transfers if rec["state"] == "done" and rec.get("acknowledged")
           and now - (rec.get("finished") or now) > ARCHIVE_AFTER_S]
    if not old:
        return
    folder = os.path.join(records.record_dir(state_dir, records.TRANSFERS), ARCHIVE)
    records.ensure_dir(folder)
    for rec in old:
        try:
            os.rename(rec["_path"], os.path.join(folder, os.path.basename(rec["_path"])))
        except OSError as exc:
            warnings.append("cannot archive %s: %s" % (rec["_path"], exc.strerror))


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


def _acknowledge(rec, now):
    data = _stored(rec)
    data.update(acknowledged=True, acknowledged_at=now)
    records.write_json_atomic(rec["_path"], data)


def _base_record(cand, dest, method, now):
    return {"version": RECORD_VERSION, "id": cand["plot_id"], "plot_id": cand["plot_id"], "plot_name": cand["name"],
            "k": cand["k"], "source": cand["path"], "source_dir": cand["dir"], "source_dev": cand["dev"],
            "destination": dest["path"], "host": dest.get("host"), "method": method, "bytes_total": cand["size"],
            "started": now, "finished": None, "state": "running", "reason": None, "pid": None,
            "proc_start": None, "acknowledged": False}


# AES-GCM first (cheapest with AES in hardware on both ends), then what OpenSSH offers by default,
# so a server without AES-GCM still agrees on a cipher.
AES_FIRST_CIPHERS = ("aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,"
                     "aes128-ctr,aes192-ctr,aes256-ctr")


def ssh_ciphers(choice, dest, local_aes=None):
    """The ssh Ciphers list for a transfer, or None for ssh's own default.

    choice "auto" (the default): AES-GCM first when this host and the destination host both have AES
    instructions (the destination's `cpu_aes` comes from its plot_info; unknown counts as no);
    "default": ssh's choice; anything else: that list, as given."""
    choice = choice or "auto"
    if choice == "default" or not dest.get("host"):
        return None
    if choice != "auto":
        return choice
    if local_aes is None:
        local_aes = cpu.has_aes()
    return AES_FIRST_CIPHERS if local_aes and dest.get("cpu_aes") is True else None


ENDPOINT_KEYS = ("destination", "host", "user", "port", "ssh_key", "ssh_options")


def abandoned_destinations(old, rec):
    """Earlier destinations of this plot that may hold a partial copy of it, other than the new one:
    the worker removes those partial copies once the plot is safe at the new destination."""
    out = []
    for place in list((old or {}).get("abandoned") or []) + ([old] if old and old.get("method") != "rename" else []):
        endpoint = dict((key, place.get(key)) for key in ENDPOINT_KEYS)
        same_as_new = (endpoint["destination"], endpoint["host"]) == (rec["destination"], rec.get("host"))
        if endpoint["destination"] and not same_as_new and endpoint not in out:
            out.append(endpoint)
    return out


def _rename(action, state_dir, now, result):
    cand, dest = action["candidate"], action["destination"]
    final = os.path.join(dest["path"], cand["name"])
    if os.path.exists(final):
        result["reasons"].append("%s: not moved: %s already exists" % (cand["path"], final))
        return
    os.rename(cand["path"], final)
    transfer_worker.fsync_dir(dest["path"])
    transfer_worker.fsync_dir(cand["dir"])
    rec = _base_record(cand, dest, "rename", now)
    rec.update(state="done", finished=time.time(), bytes_done=cand["size"], acknowledged=True, attempt=1)
    records.write_record(state_dir, records.TRANSFERS, rec["id"], rec)
    result["moved"].append({"plot": cand["name"], "plot_id": cand["plot_id"], "source": cand["path"],
                            "destination": final, "method": "rename"})


def _start(action, params, now, result, warnings):
    cand, dest, old = action["candidate"], action["destination"], action["record"]
    state_dir = params["state_dir"]
    method = _method(dest, "transfer")
    rec = _base_record(cand, dest, method, now)
    rec.update(user=dest.get("user"), port=dest.get("port"), ssh_key=dest.get("ssh_key"),
               ssh_options=list(params.get("ssh_options") or []), must_be_mount=bool(dest.get("must_be_mount")),
               ssh_ciphers=ssh_ciphers(params.get("ssh_ciphers"), dest),
               min_free_bytes=int(dest.get("min_free_bytes") or 0), rsync_path=params.get("rsync_path"),
               bwlimit_kbps=params.get("bwlimit_kbps"), delete_source=params.get("delete_source", True),
               state_dir=state_dir, attempt=((old or {}).get("attempt") or 0) + 1,
               log=os.path.join(params["log_dir"], "transfer-%s.log" % cand["plot_id"]))
    if old and old.get("destination") == rec["destination"] and old.get("host") == rec["host"]:
        rec["bytes_resumed"] = old.get("bytes_done") or 0
    if old and old.get("pid"):
        rec["previous"] = {"pid": old["pid"], "proc_start": old.get("proc_start")}  # the worker ends what is left
    if dest.get("host"):  # the storage host arbitrates its dirs between all plotters (transfer_worker)
        rec["slot_cap"] = params.get("max_transfers_per_destination") or 1
        rec["alternatives"] = [{"destination": alt["path"], "host": alt.get("host")}
                               for alt in action.get("alternatives") or []]  # same host, best first
    rec["refused"] = ((old or {}).get("refused") or 0) + (1 if old and failure_of(old) == "busy" else 0)
    if old and old.get("fingerprint"):
        rec["fingerprint"] = old["fingerprint"]  # checks a copy found in place should the source be gone
    rec["abandoned"] = abandoned_destinations(old, rec)
    records.ensure_dir(params["log_dir"])
    path = records.write_record(state_dir, records.TRANSFERS, rec["id"], rec)
    python = params.get("python") or sys.executable
    argv = [python, "-S", install_worker(state_dir), path]  # -S: stdlib only, no site start-up
    # The worker stamps its own pid and start time into the record: nothing here writes the record
    # once it may run (it could already have finished). Unit name per attempt: an old one may linger.
    try:
        spawned = detach.detach(argv, rec["log"], unit="plotfleet-transfer-%s-%d" % (rec["id"], rec["attempt"]),
                                warnings=warnings)
    except OSError as exc:
        rec.update(state="failed", reason="cannot start the transfer worker: %s" % exc, finished=time.time())
        records.write_json_atomic(path, rec)
        warnings.append("%s: %s" % (cand["path"], rec["reason"]))
        return
    pid = spawned["pid"]
    result["started"].append({"id": rec["id"], "plot": cand["name"], "plot_id": cand["plot_id"],
                              "source": cand["path"], "destination": dest["path"], "host": dest.get("host"),
                              "method": method, "pid": pid, "log": rec["log"],
                              "resumed": bool(old and old["state"] == "interrupted")})
