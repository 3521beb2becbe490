# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host side (plot_info on a storage host): the replot status of each storage dir where replot is on,
for the fleet status (docs/replot.md "Status"): old and new plots, percent replotted, the last day's
deletions and arrivals, the ETA from the arrival rate, and the journal's recent outcomes and interrupted
deletions.

Read-only for the storage: the dirs and the journal are read, never written. plot_info runs in every
pass, and a farm's journal grows by two lines a deletion (20,000 lines once 10,000 plots were replaced;
parsing them all took 0.5-0.9 s a call), so a summary of the journal per dir is kept in
<state_dir>/cache/replot-journal.json with the offset read up to: each call reads only the lines appended
since (the journal is append-only; a journal replaced or shorter than that offset is read again from its
start). Standard library only.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import stat
import tempfile
import time

from ansible_collections.plotfleet.chia.plugins.module_utils import replot

__metaclass__ = type

CACHE_NAME = os.path.join("cache", "replot-journal.json")
CACHE_VERSION = 1
WINDOW_S = 24 * 3600   # deletions and arrivals counted over the last day
RECENT = 10            # journal outcomes listed per dir (newest first)
UNFINISHED = 10        # interrupted deletions listed per dir
OUTCOMES = ("deleted", "failed", "kept")
# The journal keys the status shows: a journal line never holds the memo, and nothing that is not listed gets out.
SHOWN_KEYS = ("event", "name", "size", "plot_id", "why", "for", "at", "t", "error", "found_after")


# ---------------------------------------------------------------- the journal, summarised per dir

def _empty(st=None):
    return {"version": CACHE_VERSION, "dev": st.st_dev if st else None, "ino": st.st_ino if st else None,
            "offset": 0, "dirs": {}}


def _new_dir():
    return {"deleted_total": {"count": 0, "bytes": 0}, "deleted_window": [], "recent": [], "open": []}


def shown(entry):
    return dict((key, entry.get(key)) for key in SHOWN_KEYS if key in entry)


def add_entry(dirs, entry, recent=RECENT):
    """Fold one journal entry into its dir's summary: a "deleting" stays open until an outcome for the
    same file (name and inode) follows, as replot.unfinished() decides."""
    summary = dirs.setdefault(str(entry.get("dir")), _new_dir())
    event, key = entry.get("event"), [entry.get("name"), entry.get("ino")]
    if event == "deleting":
        summary["open"].append({"key": key, "entry": shown(entry)})
    elif event in OUTCOMES:
        summary["open"] = [o for o in summary["open"] if o["key"] != key]
        summary["recent"] = (summary["recent"] + [shown(entry)])[-recent:]
        if event == "deleted":
            size = int(entry.get("size") or 0)
            summary["deleted_total"]["count"] += 1
            summary["deleted_total"]["bytes"] += size
            summary["deleted_window"].append([float(entry.get("t") or 0), size])


def journal_summary(journal, cache_path=None, now=None, window=WINDOW_S, recent=RECENT):
    """{real dir: {"deleted_total", "deleted_window" [[t, size]], "recent", "open"}} of the journal, reading
    only what was appended since the cached offset (everything without a cache_path). A missing journal:
    nothing was deleted."""
    now = time.time() if now is None else now
    try:
        st = os.stat(journal)
    except OSError:
        return {}
    cache = _load(cache_path) if cache_path else None
    if cache is None or (cache["dev"], cache["ino"]) != (st.st_dev, st.st_ino) or st.st_size < cache["offset"]:
        cache = _empty(st)
    start = cache["offset"]
    if st.st_size > start:
        cache["offset"] = start + _read_from(journal, start, st.st_size, cache["dirs"], recent)
    for summary in cache["dirs"].values():
        summary["deleted_window"] = [d for d in summary["deleted_window"] if now - d[0] < window]
    if cache_path and cache["offset"] != start:
        _save(cache_path, cache)
    return cache["dirs"]


def _read_from(journal, start, end, dirs, recent):
    """Fold the complete lines between start and end into dirs; returns the bytes consumed (a torn last
    line, from a writer killed mid-line or still writing, is left for the next call)."""
    with open(journal, "rb") as handle:
        handle.seek(start)
        data = handle.read(end - start)
    used = data.rfind(b"\n") + 1
    for line in data[:used].splitlines():
        try:
            entry = json.loads(line.decode("utf-8"))
        except ValueError:
            continue   # a torn line that a later append ran into: read_journal() skips it as well
        if isinstance(entry, dict):
            add_entry(dirs, entry, recent)
    return used


def _load(path):
    try:
        with open(path) as handle:
            cache = json.load(handle)
    except (IOError, OSError, ValueError):
        return None
    if not isinstance(cache, dict) or cache.get("version") != CACHE_VERSION:
        return None
    return cache


def _save(path, cache):
    """Replace the cache atomically; a cache that cannot be written is read again next time (never an error)."""
    directory = os.path.dirname(path)
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
        fd, tmp = tempfile.mkstemp(prefix=".replot-journal.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "w") as handle:
            json.dump(cache, handle, sort_keys=True)
        os.replace(tmp, path)
    except (IOError, OSError):
        pass


# ---------------------------------------------------------------- one dir

def dir_status(directory, policy, summary, now=None, window=WINDOW_S, unfinished=UNFINISHED):
    """What the status shows of one dir where replot is on (summary: its journal_summary entry, or None).

    "old" (plots the policy would replace) and "new" (of an arrival format, not old), each {"count",
    "bytes"}; "percent" new of old + new by bytes; "arrived" (new plots whose inode changed - the rename
    that lands a copy - in the last `window` s) and "deleted" (journal) over that window; "deleted_total"
    (the whole journal); "arrival_rate_bps"; "eta_s" = old bytes / arrival rate; "recent": the last
    outcomes, newest first; "unfinished": "deleting" entries without an outcome, each with "found":
    "gone" or "present" (the storage agent writes the outcome at its next session)."""
    now = time.time() if now is None else now
    summary = summary or _new_dir()
    plots, _skipped = replot.scan(directory)
    anything = {"format": None, "k": None, "compression": None}   # as replot.progress(): no kind is the arrival's
    old = [p for p in plots if replot.not_replaceable(p, policy, anything) is None]
    old_names = set(p["name"] for p in old)
    new = [p for p in plots if p["format"] in policy["arrivals"] and p["name"] not in old_names]
    arrived = _count([p for p in new if now - _changed_at(directory, p["name"]) < window])
    deleted = [size for t, size in summary["deleted_window"] if now - t < window]
    out = {"dir": directory, "old": _count(old), "new": _count(new), "percent": None, "arrived": arrived,
           "deleted": {"count": len(deleted), "bytes": sum(deleted)}, "deleted_total": dict(summary["deleted_total"]),
           "window_s": window, "paused": bool(policy["paused"]), "keep_min": policy["keep_min"],
           "arrival_rate_bps": round(float(arrived["bytes"]) / window, 3)}
    total = out["old"]["bytes"] + out["new"]["bytes"]
    if total:
        out["percent"] = round(100.0 * out["new"]["bytes"] / total, 1)
    out["eta_s"] = eta_seconds(out["old"]["bytes"], out["arrival_rate_bps"])
    out["recent"] = list(reversed(summary["recent"]))
    out["unfinished_count"] = len(summary["open"])
    out["unfinished"] = [dict(o["entry"], found="present" if _same_file(directory, o) else "gone")
                         for o in summary["open"][-unfinished:]] if unfinished > 0 else []
    return out


def eta_seconds(old_bytes, rate_bps):
    """Seconds until the old bytes are replaced at this arrival rate (a full dir: each arrival replaces its
    size of old plots): 0 when none are left, None without arrivals."""
    if not old_bytes:
        return 0
    return int(old_bytes / rate_bps) if rate_bps else None


def _count(plots):
    return {"count": len(plots), "bytes": sum(p["size"] for p in plots)}


def _changed_at(directory, name):
    """The inode change time of a plot (a copy lands by a rename, which sets it), 0 if it is gone."""
    try:
        return os.lstat(os.path.join(directory, name)).st_ctime
    except OSError:
        return 0


def _same_file(directory, opened):
    """Whether the file an open "deleting" names is still there (same inode and size, not a symlink)."""
    name, ino = opened["key"]
    try:
        st = os.lstat(os.path.join(directory, str(name)))
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_ino == ino and st.st_size == opened["entry"].get("size")
