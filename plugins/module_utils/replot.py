# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replot on the storage host: which old plots of a full storage dir may make room for an arrival,
the choice of the fewest of them, their deletion and the journal that explains every deletion.

Runs on the storage host beside the storage agent, under its lock (the same flock that reserves
slots and bytes for incoming copies), so two senders never free the same room twice. Standard
library only and it imports nothing from the collection: it is shipped to the storage host as is.
The plot header reading is a small copy of plotfile.py's (v1 "Proof of Space Plot", BladeBit's
compressed "PLOT" and PoS2 "PoS2" headers); only the memo's LENGTH is read (128 bytes: OG pool key,
112 bytes: plot NFT contract), never its bytes, which hold the plot's secret key.

Steps (docs/replot.md):
  policy_for(config, dir)        the effective policy of one storage dir (None: replot is off there)
  enabled_anywhere(config)       whether some dir may have replot on (the controller's gate)
  plan(dir, policy, arrival, shortfall, journal)
                                 what would go for one arrival: a pure choice among scan(dir)
  delete(plan, journal)          re-check each chosen file, journal "deleting", unlink, "deleted"
  explain_unfinished(journal)    after a kill: each "deleting" without an outcome gets one
  progress(dir, policy, journal) old and new plots, percent replotted, ETA from the deletion rate
  room(dir, policy, journal)     what replot could free for one arrival now (for choosing destinations)
  make_room(places, config, arrival), preview(...)
                                 what the storage agent calls under its lock (replot-session, replot-plan)
"""

from __future__ import absolute_import, division, print_function

import calendar
import fnmatch
import hashlib
import json
import os
import re
import stat
import struct
import time

__metaclass__ = type

DEFAULTS = {
    "enabled": False,        # off unless the farmer turns it on
    "paused": False,         # true: plan and report, never delete
    "formats": ["v1"],       # old plots that may go: v1 (.plot), v2 (.plot2, PoS2)
    "arrivals": ["v2"],      # incoming plots that may make room: v1 (.plot), v2 (.plot2)
    "compression_below": None,  # only .plot compressed below this level (None: any level)
    "k": [],                 # only these k (empty: any k)
    "pool": "any",           # og (OG pool key), nft (plot NFT contract) or any
    "older_than": None,      # "YYYY-MM-DD": only plots dated (in the name) before that day
    "protect": [],           # names or shell patterns of plots never deleted
    "reserve_bytes": 0,      # freed beyond what the arrival needs
    "max_per_hour": 8,       # deletions per dir in any hour
    "max_per_pass": 4,       # deletions per dir for one arrival
    "keep_min": 0,           # replaceable plots that always stay in the dir
}
FORMATS = ("v1", "v2")
POOLS = ("og", "nft", "any")
HOUR_S = 3600
JOURNAL_NAME = "replot-journal.jsonl"
CLOCK_SLACK_S = HOUR_S   # room() reads the journal back this far beyond the hour (a clock stepped back)
STATE_ENV = "PLOTFLEET_STORAGE_STATE"   # the storage agent's state dir, when the storage host's sshd sets it
OFFER_KEY = "offered_at"   # added by the controller's storage_offer: which offer a sender used (an identity)
MEMO_POOL = {128: "og", 112: "nft"}  # memo length -> pool binding (pool public key vs contract puzzle hash)

# plot-k32-2021-06-01-12-30-<id>.plot, plot-k32-c05-2023-...-<id>.plot; the date part is optional.
PLOT_NAME_RE = re.compile(r"^plot-k(?P<k>\d{2})-(?:c(?P<c>\d{1,2})-)?"
                          r"(?:(?P<date>\d{4}-\d{2}-\d{2}-\d{2}-\d{2})-)?(?P<id>[0-9a-fA-F]{64})\.plot$")
PLOT2_NAME_RE = re.compile(r"^plot-k(?P<k>\d{2})-(?P<id>[0-9a-fA-F]{64})\.plot2$")
V1_MAGIC, V2_MAGIC, POS2_MAGIC = b"Proof of Space Plot", b"PLOT", b"PoS2"
HEADER_READ_BYTES = 4096
TABLE_COUNT = 10


# ---------------------------------------------------------------- policy

def policy_problems(config):
    """Why a plotfleet_replot value is unusable (list of str); [] when it is fine."""
    if not isinstance(config, dict):
        return ["plotfleet_replot must be a dict"]
    problems = _policy_problems(config, "plotfleet_replot")
    dirs = config.get("dirs") or {}
    if not isinstance(dirs, dict):
        return problems + ["plotfleet_replot.dirs must map storage dirs to settings"]
    for path, override in sorted(dirs.items()):
        if not isinstance(override, dict):
            problems.append("plotfleet_replot.dirs[%s] must be a dict" % path)
        else:
            problems += _policy_problems(override, "plotfleet_replot.dirs[%s]" % path)
    return problems


def _policy_problems(values, where):
    values = _given(values)
    problems = ["%s.%s is not a replot setting" % (where, key) for key in sorted(values)
                if key not in DEFAULTS and key not in ("dirs", "storage_dirs", "journal", OFFER_KEY)]
    for key in ("enabled", "paused"):
        if key in values and not isinstance(values[key], bool):
            problems.append("%s.%s must be true or false" % (where, key))
    for key in ("formats", "arrivals"):
        if key in values and not (isinstance(values[key], list) and set(values[key]) <= set(FORMATS)):
            problems.append("%s.%s must be a list of %s" % (where, key, ", ".join(FORMATS)))
    for key, low in (("reserve_bytes", 0), ("max_per_hour", 0), ("max_per_pass", 0), ("keep_min", 0)):
        if key in values and not _is_int(values[key], low):
            problems.append("%s.%s must be an integer >= %d" % (where, key, low))
    if values.get("compression_below") is not None and not _is_int(values["compression_below"], 1):
        problems.append("%s.compression_below must be an integer >= 1 or null" % where)
    if "k" in values and not (isinstance(values["k"], list) and all(_is_int(k, 18) for k in values["k"])):
        problems.append("%s.k must be a list of k values" % where)
    if "pool" in values and values["pool"] not in POOLS:
        problems.append("%s.pool must be one of %s" % (where, ", ".join(POOLS)))
    if values.get("older_than") is not None and _day(values["older_than"]) is None:
        problems.append("%s.older_than must be a date YYYY-MM-DD" % where)
    if "protect" in values and not (isinstance(values["protect"], list)
                                    and all(isinstance(p, str) and p for p in values["protect"])):
        problems.append("%s.protect must be a list of names or patterns" % where)
    return problems


def _given(values):
    """The settings given; null means "not set" (the host's value, else the default)."""
    return dict((key, value) for key, value in values.items() if value is not None)


def _is_int(value, low):
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _day(text):
    """Epoch seconds of a YYYY-MM-DD day (UTC), or None."""
    try:
        return calendar.timegm(time.strptime(str(text), "%Y-%m-%d"))
    except ValueError:
        return None


def policy_for(config, directory):
    """The effective policy of one storage dir: the host's settings, then the dir's own
    (config["dirs"][dir]); None when replot is off there, the policy is unusable, or the dir is not
    one of config["storage_dirs"] (the host's configured storage dirs, compared by real path)."""
    if not isinstance(config, dict) or policy_problems(config):
        return None
    real = os.path.realpath(directory)
    if real not in [os.path.realpath(d) for d in config.get("storage_dirs") or []]:
        return None
    policy = _merged(config, real, os.path.realpath)
    return policy if policy["enabled"] else None


def _merged(config, directory, same_path):
    """The defaults, then the host's settings, then those of the dir (config["dirs"] keys compared
    through same_path)."""
    policy = dict(DEFAULTS)
    policy.update((k, v) for k, v in _given(config).items() if k in DEFAULTS)
    for path, override in (config.get("dirs") or {}).items():
        if same_path(path) == same_path(directory):
            policy.update((k, v) for k, v in _given(override).items() if k in DEFAULTS)
    return policy


def arrivals_for(config, directory):
    """The arrival formats that may make room in one storage dir, for the controller's offer (the dir
    keys compared as written: the controller cannot see the storage host's symlinks)."""
    if not isinstance(config, dict) or policy_problems(config):
        return []
    return list(_merged(config, directory, os.path.normpath)["arrivals"])


def enabled_anywhere(config):
    """Whether replot may be on in some storage dir: the host's enabled, or one dir's own enabled: true
    (a host off with one dir on is on there). Decided without the storage host's file system (the
    controller asks this before it gathers); policy_for decides per dir on the storage host."""
    if not isinstance(config, dict) or policy_problems(config):
        return False
    overrides = [o for o in (config.get("dirs") or {}).values() if isinstance(o, dict)]
    return config.get("enabled") is True or any(o.get("enabled") is True for o in overrides)


# ---------------------------------------------------------------- plot files of a dir

def name_fields(name):
    """{"format", "k", "compression", "plot_id", "date"} of a finished plot's name, else None.
    A temp file (.tmp, .partial, hidden) never matches."""
    match = PLOT_NAME_RE.match(name)
    if match:
        date = match.group("date")
        return {"format": "v1", "k": int(match.group("k")), "plot_id": match.group("id").lower(),
                "compression": int(match.group("c")) if match.group("c") else 0,
                "date": "%s %s:%s" % (date[:10], date[11:13], date[14:]) if date else None}
    match = PLOT2_NAME_RE.match(name)
    if match:
        return {"format": "v2", "k": int(match.group("k")), "plot_id": match.group("id").lower(),
                "compression": 0, "date": None}
    return None


def parse_header(data):
    """{"header", "plot_id", "k", "memo_bytes", "compression", "last_pointer"} or None.
    Duplicated (smaller) from plotfile.parse_header: this file ships alone."""
    try:
        if data.startswith(V1_MAGIC):
            return _v1_header(data)
        if data.startswith(V2_MAGIC):
            return _v2_header(data)
        if data.startswith(POS2_MAGIC):
            return _pos2_header(data)
    except (struct.error, IndexError, ValueError):
        return None
    return None


def _v1_header(data):
    pos = len(V1_MAGIC)
    plot_id, k = data[pos:pos + 32], data[pos + 32]
    pos += 33
    (fmt_len,) = struct.unpack(">H", data[pos:pos + 2])
    pos += 2 + fmt_len
    (memo_len,) = struct.unpack(">H", data[pos:pos + 2])
    pos += 2 + memo_len   # the memo is skipped, never read
    pointers = struct.unpack(">%dQ" % TABLE_COUNT, data[pos:pos + 8 * TABLE_COUNT])
    return _header("v1.0", plot_id, k, memo_len, 0, pointers)


def _v2_header(data):
    pos = len(V2_MAGIC) + 4
    plot_id, k = data[pos:pos + 32], data[pos + 32]
    pos += 33
    (memo_len,) = struct.unpack(">H", data[pos:pos + 2])
    pos += 2 + memo_len
    (flags,) = struct.unpack("<I", data[pos:pos + 4])
    pos += 4
    compression = 0
    if flags & 1:
        compression, pos = data[pos], pos + 1
    pointers = struct.unpack(">%dQ" % TABLE_COUNT, data[pos:pos + 8 * TABLE_COUNT])
    return _header("v2", plot_id, k, memo_len, compression, pointers)


def _pos2_header(data):
    pos = len(POS2_MAGIC)
    group_id, k, meta_group = data[pos + 1:pos + 33], data[pos + 33], data[pos + 37]
    (offset,) = struct.unpack("<Q", data[pos + 38:pos + 46])
    memo_len = data[pos + 46]
    if len(group_id) != 32 or k % 2 or not 18 <= k <= 32 or memo_len not in (112, 128):
        return None
    plot_id = hashlib.sha256(group_id + struct.pack(">HB", 0, meta_group)).digest()
    return _header("pos2", plot_id, k, memo_len, 0, (offset,))


def _header(kind, plot_id, k, memo_len, compression, pointers):
    if len(plot_id) != 32:
        raise ValueError("short plot id")
    return {"header": kind, "plot_id": plot_id.hex(), "k": k, "memo_bytes": memo_len,
            "compression": compression, "last_pointer": max(pointers) if all(pointers) else None}


def examine(directory, name):
    """The plot file `name` of `directory` as the policy sees it, or (None, why not).

    Only a regular file (never a symlink, never followed), directly in the dir, named as a finished
    plot, whose header is complete and agrees with its name (plot id, k, format, level)."""
    fields = name_fields(name)
    if fields is None:
        return None, "not a plot name"
    path = os.path.join(directory, name)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return None, "cannot open (%s)" % exc.strerror   # ELOOP: a symlink
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, "not a regular file"
        if st.st_nlink != 1:
            return None, "%d hard links (deleting one frees nothing)" % st.st_nlink
        header = parse_header(os.read(fd, HEADER_READ_BYTES))
    finally:
        os.close(fd)
    why = _header_disagrees(header, fields, st.st_size)
    if why:
        return None, why
    plot = dict(fields, name=name, size=st.st_size, dev=st.st_dev, ino=st.st_ino, mtime_ns=st.st_mtime_ns,
                pool=MEMO_POOL.get(header["memo_bytes"], "unknown"))
    plot["age"] = calendar.timegm(time.strptime(plot["date"], "%Y-%m-%d %H:%M")) if plot["date"] else int(st.st_mtime)
    return plot, None


def _header_disagrees(header, fields, size):
    if header is None:
        return "no plot header"
    if header["last_pointer"] is None or header["last_pointer"] >= size:
        return "plot incomplete"
    if header["plot_id"] != fields["plot_id"] or header["k"] != fields["k"]:
        return "header and name disagree (plot id or k)"
    if (header["header"] == "pos2") != (fields["format"] == "v2"):
        return "header and name disagree (format)"
    if header["compression"] != fields["compression"]:
        return "header and name disagree (compression level)"
    return None


def scan(directory):
    """(plots, skipped): the finished plots of a dir (examine()), and {name: why} for the
    plot-named entries that are not such plots. Other entries are not even looked at."""
    plots, skipped = [], {}
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return [], {}
    for name in names:
        if name_fields(name) is None:
            continue
        plot, why = examine(directory, name)
        if plot is None:
            skipped[name] = why
        else:
            plots.append(plot)
    return plots, skipped


# ---------------------------------------------------------------- which may go, and the choice

def arrival_fields(arrival):
    """The incoming plot described from its name, or None if it is no plot name. arrival: {"name",
    "bytes" (its size), "head" (arrival_head(): hex of its first bytes, memo zeroed, read from the source
    once it was verified complete there)}: a plot whose header is not complete and in agreement with its name and size
    makes no room."""
    fields = name_fields(os.path.basename(str(arrival.get("name") or "")))
    if fields is None:
        return None
    return dict(fields, name=arrival["name"], bytes=int(arrival.get("bytes") or 0), head=arrival.get("head"))


def memo_span(data):
    """(start, end) of the memo's bytes in a plot's first bytes, or None if they are no plot header."""
    try:
        if data.startswith(V1_MAGIC):
            pos = len(V1_MAGIC) + 33
            pos += 2 + struct.unpack(">H", data[pos:pos + 2])[0]
        elif data.startswith(V2_MAGIC):
            pos = len(V2_MAGIC) + 4 + 33
        elif data.startswith(POS2_MAGIC):
            return (len(POS2_MAGIC) + 47, len(POS2_MAGIC) + 47 + data[len(POS2_MAGIC) + 46])
        else:
            return None
        return (pos + 2, pos + 2 + struct.unpack(">H", data[pos:pos + 2])[0])
    except (struct.error, IndexError):
        return None


def arrival_head(data):
    """The hex "head" a sender puts in a replot request: the plot's first bytes with the memo zeroed (its
    length stays, which is all the policy reads). The memo holds the plot's secret key and the request
    travels as an argument (ps, logs); an unparseable head is sent as nothing (the arrival is refused)."""
    span = memo_span(data)
    if span is None or span[1] > len(data):
        return ""
    start, end = span
    return (data[:start] + b"\0" * (end - start) + data[end:]).hex()


def not_replaceable(plot, policy, incoming):
    """Why this plot may not make room for `incoming` under the policy (str), or None if it may."""
    for pattern in policy["protect"]:
        if fnmatch.fnmatchcase(plot["name"], pattern):
            return "protected (%s)" % pattern
    if plot["format"] not in policy["formats"]:
        return "%s plots are not replaced" % plot["format"]
    if policy["k"] and plot["k"] not in policy["k"]:
        return "k%d is not replaced" % plot["k"]
    below = policy["compression_below"]
    if below is not None and plot["format"] == "v1" and plot["compression"] >= below:
        return "compression level %d is not below %d" % (plot["compression"], below)
    if policy["pool"] != "any" and plot["pool"] != policy["pool"]:
        return "pool binding %s is not replaced" % plot["pool"]
    if policy["older_than"] is not None:
        if plot["date"] is None:
            return "no date in the name"
        if plot["age"] >= _day(policy["older_than"]):
            return "not older than %s" % policy["older_than"]
    if same_kind(plot, incoming):
        return "same kind as the arrival (%s)" % kind_text(plot)
    return None


def same_kind(plot, incoming):
    """A plot is never replaced by one of its own kind: that would churn, not replot."""
    return all(plot[key] == incoming[key] for key in ("format", "k", "compression"))


def kind_text(plot):
    level = "c%02d" % plot["compression"] if plot["compression"] else "uncompressed"
    return "%s k%d %s" % (plot["format"], plot["k"], level)


def why_text(plot, incoming):
    dated = plot["date"] or "undated"
    return "%s plot (%s, %s) replaced by %s" % (kind_text(plot), plot["pool"], dated, kind_text(incoming))


def fewest(candidates, need):
    """The fewest candidates whose sizes add up to `need` bytes; among as few, the oldest first,
    then by name. [] when need <= 0, None when all of them together are not enough."""
    if need <= 0:
        return []
    ordered = sorted(candidates, key=lambda p: (p["age"], p["name"]))
    largest = sorted((p["size"] for p in ordered), reverse=True)
    count = next((n for n in range(1, len(largest) + 1) if sum(largest[:n]) >= need), None)
    if count is None:
        return None
    chosen, total = [], 0
    for index, plot in enumerate(ordered):
        left = count - len(chosen) - 1
        rest = sorted((p["size"] for p in ordered[index + 1:]), reverse=True)[:left]
        if total + plot["size"] + sum(rest) >= need:
            chosen.append(plot)
            total += plot["size"]
            if len(chosen) == count:
                return chosen
    return None  # not reached: the count was reachable


# ---------------------------------------------------------------- the plan for one arrival

def plan(directory, policy, arrival, shortfall, journal, now=None):
    """What one arrival would delete in `directory` (nothing is touched).

    shortfall: bytes the dir lacks for the arrival (the caller's arithmetic: its size, what the other
    copies still have to write, the bytes kept free, minus the free space); the reserve is added here.
    Returns {"dir", "for", "need_bytes", "delete": [plot...], "freed_bytes", "refused": why or None,
    "arrival_refused" (the refusal is about this arrival, not the dir: other plots may make room there),
    "replaceable", "skipped"}; "delete" is exactly what delete() would remove."""
    now = time.time() if now is None else now
    out = {"dir": directory, "for": str(arrival.get("name")), "need_bytes": 0, "delete": [],
           "freed_bytes": 0, "refused": None, "arrival_refused": False, "replaceable": 0, "skipped": {}}
    if int(shortfall) <= 0:
        return out   # room enough: nothing to delete
    incoming = arrival_fields(arrival)
    if policy is None:
        return dict(out, refused="replot is off for this dir")
    refused = _refusal(policy, incoming)
    if refused:
        return dict(out, refused=refused, arrival_refused=True)
    plots, out["skipped"] = scan(directory)
    candidates = [p for p in plots if not_replaceable(p, policy, incoming) is None]
    out["replaceable"] = len(candidates)
    out["need_bytes"] = need = int(shortfall) + int(policy["reserve_bytes"])
    entries = read_journal(journal, directory)
    if already_made_room_for(entries, incoming["name"]):
        return dict(out, refused="room was already made once for %s here" % incoming["name"], arrival_refused=True)
    chosen = fewest(candidates, need)
    if chosen is None:
        return dict(out, refused="the replaceable plots (%d) cannot free %d bytes" % (len(candidates), need))
    allowed, limit = allowance(policy, len(candidates), recent_deletions(entries, now))
    if len(chosen) > allowed:
        return dict(out, refused="%d plots needed, %s" % (len(chosen), limit))
    out["delete"] = [dict(p, why=why_text(p, incoming)) for p in chosen]
    out["freed_bytes"] = sum(p["size"] for p in chosen)
    return out


def _refusal(policy, incoming):
    """Why this arrival may make no room under the policy (its name, format or header), or None."""
    if incoming is None:
        return "the arrival has no plot name"
    if incoming["format"] not in policy["arrivals"]:
        return "%s arrivals do not replace plots" % incoming["format"]
    try:
        header = parse_header(bytes.fromhex(incoming["head"] or ""))
    except ValueError:
        header = None
    why = _header_disagrees(header, incoming, incoming["bytes"])
    if why:
        return "the arrival is not a verified plot (%s)" % why
    return None


def allowance(policy, replaceable, recent):
    """(how many plots this arrival may delete, the limit that says so)."""
    limits = [
        (0 if policy["paused"] else replaceable, "deleting is paused"),
        (policy["max_per_pass"], "at most %d per pass (max_per_pass)" % policy["max_per_pass"]),
        (policy["max_per_hour"] - recent, "%d of max_per_hour %d deleted in the last hour" % (
            recent, policy["max_per_hour"])),
        (replaceable - policy["keep_min"], "keep_min %d of %d replaceable plots stay" % (
            policy["keep_min"], replaceable)),
    ]
    allowed, limit = min(limits, key=lambda item: item[0])
    return max(0, allowed), limit


# ---------------------------------------------------------------- the journal

def default_journal():
    """Beside the storage agent's slots: $PLOTFLEET_STORAGE_STATE (when the sshd sets it), else ~/.plotfleet."""
    base = os.environ.get(STATE_ENV) or os.path.join(os.path.expanduser("~"), ".plotfleet")
    return os.path.join(base, JOURNAL_NAME)


def read_journal(journal, directory=None):
    """The journal's entries, oldest first (a torn last line, from a kill mid-write, is skipped);
    with `directory`, only that dir's (the other lines are not even parsed: a farm's journal grows
    by two lines a deletion, and it is read under the storage host's lock)."""
    return read_journal_of(journal, None if directory is None else [directory])


def read_journal_of(journal, directories=None):
    """read_journal for several dirs in one read: their entries, oldest first (all with None)."""
    reals = None if directories is None else set(os.path.realpath(d) for d in directories)
    if reals is not None and not reals:
        return []
    # the lines of other dirs are not parsed: '"dir": "<dir>"' as append_journal writes it, one search a line
    wanted = None if reals is None else re.compile("|".join(re.escape('"dir": %s' % json.dumps(r)) for r in reals))
    entries = []
    try:
        with open(journal) as handle:
            for line in handle:
                if wanted is not None and not wanted.search(line):
                    continue
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    continue
    except (IOError, OSError):
        return []
    return entries if reals is None else [e for e in entries if e.get("dir") in reals]


def read_journal_since(journal, directory, since):
    """One dir's journal entries, oldest first, from the first line before `since` (epoch s) on: what
    read_journal(journal, directory) returns minus older lines. The journal is read from its end back
    (append_journal appends under the storage host's lock, each line stamped with the clock as it is
    appended, so the lines are in time order), so a pass costs the last hour's lines, not the farm's
    history. For counts over a recent window only (room()): a check that must see every entry of a plot,
    however old (already_made_room_for), reads the whole journal."""
    try:
        with open(journal, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            start = _offset_before(handle, handle.tell(), since)
            handle.seek(start)
            data = handle.read()
    except (IOError, OSError):
        return []
    real = os.path.realpath(directory)
    marker = ('"dir": %s' % json.dumps(real)).encode("utf-8")
    entries = []
    for line in data.split(b"\n"):
        if marker in line:
            try:
                entries.append(json.loads(line.decode("utf-8")))
            except ValueError:
                continue   # a torn line (a kill mid-write), as read_journal skips it
    return [e for e in entries if isinstance(e, dict) and e.get("dir") == real]


def _offset_before(handle, end, since, block=1 << 16):
    """The start of a line stamped before `since`, found from the end back (0: read it all)."""
    pos = end
    while pos > 0:
        start = max(0, pos - block)
        handle.seek(start)
        data = handle.read(pos - start)
        if start == 0:
            return 0
        first = data.find(b"\n")
        if first < 0:
            pos = start   # one line longer than a block: read further back
            continue
        line_start = start + first + 1
        stamp = _first_stamp(data[first + 1:])
        if stamp is not None and stamp < since:
            return line_start
        pos = line_start
    return 0


def _first_stamp(data):
    """The "t" of the first parseable journal line in data, or None."""
    for line in data.split(b"\n"):
        try:
            entry = json.loads(line.decode("utf-8"))
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("t"), (int, float)):
            return float(entry["t"])
    return None


def append_journal(journal, entry, now=None):
    """Append one entry, on disk (fsync) before this returns."""
    now = time.time() if now is None else now
    entry = dict(entry, t=round(now, 3), at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)))
    parent = os.path.dirname(journal)
    if parent and not os.path.isdir(parent):
        os.makedirs(parent, 0o700)
    fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(entry, sort_keys=True) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return entry


def recent_deletions(entries, now, window=HOUR_S):
    """Deletions started in the last `window` seconds among one dir's journal entries ("deleting":
    a killed deletion may have happened, so it counts)."""
    return sum(1 for e in entries if e.get("event") == "deleting" and now - float(e.get("t") or 0) < window)


def already_made_room_for(entries, incoming_name):
    """Whether one dir's journal entries show deletions for this arrival (a retry after a failed copy
    uses that room; it never deletes a second time for the same plot)."""
    return any(e.get("event") == "deleting" and e.get("for") == incoming_name for e in entries)


def unfinished(journal, directories=None):
    """The "deleting" entries (of these dirs, or all) that have no outcome ("deleted", "failed",
    "kept") after them; for given dirs grouped by dir (in sorted order), each in journal order. The
    journal is read once for all of them (it is read under the storage host's lock)."""
    entries = read_journal_of(journal, directories)
    done = set((e.get("dir"), e.get("name"), e.get("ino")) for e in entries
               if e.get("event") in ("deleted", "failed", "kept"))
    left = [e for e in entries if e.get("event") == "deleting"
            and (e.get("dir"), e.get("name"), e.get("ino")) not in done]
    if directories is not None:
        left.sort(key=lambda e: e["dir"])   # the dirs in sorted order; stable: journal order within one
    return left


def explain_unfinished(journal, directories=None, now=None):
    """After a kill between "deleting" and its outcome: "deleted" if that file (same inode) is gone,
    "kept" if it is still there. Returns the entries written."""
    written = []
    for entry in unfinished(journal, directories):
        present = _same_file(os.path.join(entry["dir"], entry["name"]), entry)
        outcome = {"event": "kept" if present else "deleted", "found_after": "an interrupted deletion"}
        keep = dict((k, entry.get(k)) for k in ("dir", "name", "size", "plot_id", "for", "ino"))
        written.append(append_journal(journal, dict(keep, **outcome), now))
    return written


def _same_file(path, entry):
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_ino == entry.get("ino") and st.st_size == entry.get("size")


# ---------------------------------------------------------------- the deletion

def delete(chosen_plan, journal, now=None):
    """Delete what plan() chose, each file re-checked first: still a regular file (not a symlink)
    directly in the dir, the same device, inode, size and modification time as when chosen, one link.
    A file that changed stops the whole deletion before anything goes (the room would not be made).
    For each file: journal
    "deleting" (on disk), unlink, fsync the dir, journal "deleted" - so a kill at any point leaves
    nothing deleted that the journal does not explain. Returns {"deleted": [names], "freed_bytes",
    "error": why or None}."""
    directory = chosen_plan["dir"]
    result = {"deleted": [], "freed_bytes": 0, "error": None}
    if chosen_plan.get("refused") or not chosen_plan.get("delete"):
        return result
    try:
        dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        return dict(result, error="cannot open %s (%s)" % (directory, exc.strerror))
    try:
        changed = [why for why in (_changed(dir_fd, p) for p in chosen_plan["delete"]) if why]
        if changed:
            return dict(result, error="nothing deleted: %s" % "; ".join(changed))
        for plot in chosen_plan["delete"]:
            why = _delete_one(dir_fd, directory, plot, chosen_plan["for"], journal, now)
            if why:
                return dict(result, error=why)
            result["deleted"].append(plot["name"])
            result["freed_bytes"] += plot["size"]
    finally:
        os.close(dir_fd)
    return result


def _changed(dir_fd, plot):
    """Why the file chosen as `plot` is no longer that file, or None."""
    name = plot["name"]
    if os.sep in name or name_fields(name) is None:
        return "%s is not a plot name" % name
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError as exc:
        return "%s: %s" % (name, exc.strerror)
    if not stat.S_ISREG(st.st_mode):
        return "%s is no longer a regular file" % name
    if (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_nlink) != (
            plot["dev"], plot["ino"], plot["size"], plot["mtime_ns"], 1):
        return "%s changed since it was chosen" % name
    return None


def _delete_one(dir_fd, directory, plot, incoming_name, journal, now):
    entry = {"dir": os.path.realpath(directory), "name": plot["name"], "size": plot["size"],
             "plot_id": plot["plot_id"], "why": plot.get("why"), "for": incoming_name, "ino": plot["ino"]}
    why = _changed(dir_fd, plot)   # again, just before: the check and the unlink are in one place
    if why:
        return why
    append_journal(journal, dict(entry, event="deleting"), now)
    try:
        os.unlink(plot["name"], dir_fd=dir_fd)
        os.fsync(dir_fd)
    except OSError as exc:
        append_journal(journal, dict(entry, event="failed", error=exc.strerror), now)
        return "could not delete %s: %s" % (plot["name"], exc.strerror)
    append_journal(journal, dict(entry, event="deleted"), now)
    return None


# ---------------------------------------------------------------- the storage agent's entry points

def journal_of(config):
    """The journal file a plotfleet_replot value names (default: ~/.plotfleet/replot-journal.jsonl)."""
    given = config.get("journal") if isinstance(config, dict) else None
    return os.path.expanduser(given) if given else default_journal()


def make_room(places, config, arrival):
    """One arrival offered some dirs of this host, best first: [(dir, shortfall)] (shortfall: bytes the
    dir lacks for it beside the copies running there; <= 0: room enough). Returns (dir or None,
    outcome): the first dir with room as it is (nothing deleted, outcome None), else the first where
    the policy makes the room (deleted now; outcome {"for", "dir", "deleted", "freed_bytes", "error",
    "refused", "room"}), else None with each dir's refusal ("refused": [[dir, why]], "room": {dir: bytes
    replot could free there now, room()}, "arrival_refused": [the dirs that refused this arrival
    itself]). The caller holds the storage host's lock and reserves the arrival's bytes in the granted
    dir before it lets go, so no other sender frees or takes the same room."""
    for directory, short in places:
        if short <= 0:
            return directory, None
    outcome = {"for": str(arrival.get("name")), "refused": []}
    journal = journal_of(config)
    if any(policy_for(config, directory) for directory, _short in places):
        explain_unfinished(journal, [d for d, _short in places])   # a killed agent's deletion, first
    for directory, short in places:
        policy = policy_for(config, directory)
        chosen = plan(directory, policy, arrival, short, journal)
        if chosen["refused"] or not chosen["delete"]:
            outcome["refused"].append([directory, chosen["refused"]])
            if chosen["arrival_refused"]:
                outcome.setdefault("arrival_refused", []).append(directory)
            # what replot could free there now: a sender that then finds the dir full holds it only
            # until the storage host offers more than this (transfer.measure_destinations)
            outcome.setdefault("room", {})[directory] = room(directory, policy, journal)["bytes"]
            continue
        result = delete(chosen, journal)
        outcome.update(dir=directory, deleted=result["deleted"], freed_bytes=result["freed_bytes"],
                       error=result["error"])
        return (directory if result["error"] is None else None), outcome
    return None, outcome


def preview(directory, config, arrival, short):
    """Check mode: what make_room would delete in this dir for the arrival now (nothing is touched)."""
    chosen = plan(directory, policy_for(config, directory), arrival, short, journal_of(config))
    return {"dir": directory, "for": chosen["for"], "need_bytes": chosen["need_bytes"],
            "delete": [p["name"] for p in chosen["delete"]], "freed_bytes": chosen["freed_bytes"],
            "refused": chosen["refused"], "listing": listing(chosen)}


# ---------------------------------------------------------------- progress (status)

def progress(directory, policy, journal, now=None, window=24 * HOUR_S):
    """Replot progress of one dir: "old" (plots the policy would replace), "new" (plots of an arrival
    format that are not old), each {"count", "bytes"}; "percent" new of old + new by bytes; "eta_s"
    from the bytes deleted in the last `window` seconds (None without deletions there)."""
    now = time.time() if now is None else now
    plots, _skipped = scan(directory)
    anything = {"format": None, "k": None, "compression": None}   # an arrival of no kind: same_kind never holds
    old = [p for p in plots if not_replaceable(p, policy, anything) is None]
    new = [p for p in plots if p["format"] in policy["arrivals"] and p not in old]
    out = {"dir": directory, "old": _count(old), "new": _count(new), "percent": None, "eta_s": None}
    total = out["old"]["bytes"] + out["new"]["bytes"]
    if total:
        out["percent"] = round(100.0 * out["new"]["bytes"] / total, 1)
    freed = sum(int(e.get("size") or 0) for e in read_journal(journal, directory) if e.get("event") == "deleted"
                and now - float(e.get("t") or 0) < window)
    if freed:
        out["eta_s"] = int(out["old"]["bytes"] * window / freed)
    return out


def room(directory, policy, journal, now=None):
    """What replot could free in this dir for one arrival now, for the controller's choice of a
    destination (a full dir with replaceable plots is not full): {"bytes", "plots"} of the largest
    candidates within the limits (per pass, per hour, keep_min, pause); 0 with replot off."""
    if policy is None:
        return {"bytes": 0, "plots": 0}
    now = time.time() if now is None else now
    plots, _skipped = scan(directory)
    anything = {"format": None, "k": None, "compression": None}
    candidates = [p for p in plots if not_replaceable(p, policy, anything) is None]
    entries = read_journal_since(journal, directory, now - HOUR_S - CLOCK_SLACK_S)
    allowed, _limit = allowance(policy, len(candidates), recent_deletions(entries, now))
    largest = sorted((p["size"] for p in candidates), reverse=True)[:allowed]
    return {"bytes": sum(largest), "plots": len(largest)}


def _count(plots):
    return {"count": len(plots), "bytes": sum(p["size"] for p in plots)}


# ---------------------------------------------------------------- check mode / status text

def listing(chosen_plan):
    """Check-mode lines: exactly which files the pass would delete (or why none)."""
    if chosen_plan.get("refused"):
        return ["%s: nothing deleted for %s: %s" % (chosen_plan["dir"], chosen_plan["for"], chosen_plan["refused"])]
    return ["%s: would delete %s (%d bytes, plot id %s): %s" % (
        chosen_plan["dir"], p["name"], p["size"], p["plot_id"], p["why"]) for p in chosen_plan["delete"]]

