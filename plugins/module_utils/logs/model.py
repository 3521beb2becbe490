# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plot dict every log parser produces, the LogParser base, detection and small helpers.

One log may hold several plots (`-n N`); a parser turns lines into a list of plot dicts
(keys: see docs/ARCHITECTURE.md "Plot dict", plus `warning`). Parsers are incremental:
`state()` is JSON-serialisable and `parser_for(plotter, state)` continues exactly where the
last call stopped, so a log is read once however often plot_info runs. Feed only complete
(newline-terminated) lines: when reading a growing log, keep a trailing partial line for the next
call (a half-written `Renamed final file ... "x.pl` would otherwise be taken as written).

Progress model (shared by all plotters): every phase 1..4 plus 5 (final copy/rename) has a
weight (PHASE_WEIGHTS, normalised); inside a phase the sub-steps of the step grid (tables)
share the phase equally, and bucket lines (chiapos) subdivide a sub-step. Progress never
decreases within a plot.
"""

from __future__ import absolute_import, division, print_function

import re
import time

__metaclass__ = type

PLOTTERS = ("chiapos", "madmax", "bladebit", "bladebit_cuda", "gigahorse", "pos2")
STATE_VERSION = 1


def _normalised(weights):
    total = float(sum(weights))
    return tuple(w / total for w in weights)


# Default share of each phase (1, 2, 3, 4, 5 = final copy/rename) in a whole plot.
# chiapos: the project's defaults; madMAx and BladeBit: from the real k32 logs in the fixtures.
PHASE_WEIGHTS = {
    "chiapos": _normalised((44, 18, 35, 2, 1)),
    "madmax": _normalised((44, 27, 25, 2, 2)),
    "bladebit": _normalised((50, 8, 38, 1, 3)),
    # pos2 (plotfleet's chia_rs driver): one silent plotting step, then the copy/rename.
    "pos2": _normalised((95, 0, 0, 0, 5)),
    # GPU plotters: from the timings in the excerpts of reference/gpu-plotters.md (bladebit #417: P1 43 s,
    # P2 13 s, P3 190 s, write 0..208 s by disk; gigahorse #109/#301: P1 >> P3 > P2; the copy overlaps the next plot).
    "bladebit_cuda": _normalised((17, 5, 66, 1, 11)),
    "gigahorse": _normalised((45, 5, 40, 2, 8)),
}
def spans(*weights):
    """(start, end) of each sub-step inside its phase, indexed by minor; minor 0 (phase started) = (0, 0)."""
    total = float(sum(weights))
    out, done = [(0.0, 0.0)], 0
    for weight in weights:
        out.append((done / total, (done + weight) / total))
        done += weight
    return tuple(out)


# Where each step M:m lies inside phase M (a minor past the end counts as the last entry).
STEP_SPANS = {
    1: spans(*(1,) * 7),                   # tables 1..7
    2: spans(*(1,) * 6) + ((1.0, 1.0),),   # backpropagate tables 7..2, then 2:7 = done
    3: spans(*(1,) * 6),                   # compress table pairs 1..6
    4: spans(0.9, 0.1) + ((1.0, 1.0),),    # C1+C3 (the bucketed bulk), C2, then 4:3 = pointers written
    5: ((0.0, 1.0),),                       # final copy / rename: `sub` alone says how far, at every minor
}
_MINORS = {}   # step text -> its minor (a few distinct steps, parsed once)
_STEP_AT = {}  # plotter -> {step text -> LogParser._step_at} (a plotter's weights and spans never change)


def step_minor(step):
    """The minor of a step text ('2:1' -> 1), parsed once per distinct step."""
    minor = _MINORS.get(step)
    if minor is None:
        minor = _MINORS[step] = step_tuple(step)[1]
    return minor


PLOT_KEYS = ("id", "plotter", "k", "index", "count", "phase", "step", "progress", "state", "error", "warning",
             "tmp_dir", "tmp2_dir", "dst_dir", "plot_name", "plot_file", "phase_seconds", "total_seconds",
             "copy_seconds", "started_ts", "finished_ts", "buckets", "threads", "buffer_mib")

# One leading literal (no top-level alternation), so a search skips to each ESC at C speed.
ANSI_RE = re.compile(r"\x1b(?:\[[0-9;?]*[A-Za-z]|[()][A-Za-z0-9])?")
# Optional per-line timestamp prefixes: ISO (python logging, `ts '%Y-%m-%dT%H:%M:%S'`) and `ts` default.
_TS_ISO_RE = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)? ?")
_TS_MON_RE = re.compile(r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d ")
_MONTHS = dict((m, i + 1) for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")))
# `Sat Nov 28 20:21:09 2026` at the end of a line (chiapos phase boundaries).
_DATE_RE = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d\d?) "
                      r"(\d\d):(\d\d):(\d\d) (\d{4})\s*$")
# The same date as the line's last 24 characters (no trailing space; the day as `dd` or ` d`): matched at one place.
_DATE_END_RE = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                          r"([ \d]\d) (\d\d):(\d\d):(\d\d) (\d{4})\Z")
# plot-k32-2021-07-14-21-56-<id>  (also plot-k32-c05-..., Gigahorse unpadded plot-k32-c8-...): k, local start minute, id
PLOT_NAME_RE = re.compile(r"plot-k(\d\d)-(?:c\d\d?-)?(\d{4})-(\d\d)-(\d\d)-(\d\d)-(\d\d)-([0-9a-f]{64})")


def round4(value):
    """round(value, 4) for 0 <= value < 2**40, in ~1/3 of its time: an integer division gives the same
    nearest float whenever value * 10000 is not within 1e-6 of a tie (round() decides those)."""
    scaled = value * 10000.0
    tenths = int(scaled + 0.5)
    if 1e-6 < scaled + 0.5 - tenths < 1 - 1e-6:
        return tenths / 10000.0
    return round(value, 4)


def clean_line(line):
    """One raw log line -> text without newline, carriage-return overdraws, ANSI codes or ts prefix."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    if "\r" in line:
        line = line.rstrip("\r\n")
        if "\r" in line:
            line = line.rsplit("\r", 1)[-1]  # a terminal would only show the last overdraw
    elif line.endswith("\n"):
        line = line[:-1]
    if "\x1b" in line:
        line = ANSI_RE.sub("", line)
    if "\x00" in line:
        line = line.replace("\x00", "")
    return strip_ts(line)


def strip_ts(line):
    """line without a leading timestamp prefix (ISO or `ts` default)."""
    c = line[:1]
    if c.isdigit():
        m = _TS_ISO_RE.match(line)
        if m:
            line = line[m.end():]
    elif c.isupper() and line[3:4] == " " and line[:3] in _MONTHS:
        m = _TS_MON_RE.match(line)
        if m:
            line = line[m.end():]
    return line


# Every non-empty line of a block (a "\n" before each line).
_ANY_LINE_RE = re.compile(r"\n([^\n]+)")
# Selectors (LogParser.SELECT) must also take the lines that may start with a timestamp prefix.
TS_START = r"\d|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "


def _overdraw(line):
    if "\r" in line:
        line = line.rstrip("\r\n")
        if "\r" in line:
            line = line.rsplit("\r", 1)[-1]
    return line


def _strip_ansi(text):
    """ANSI_RE.sub over the lines that hold an ESC only (a log has a few: chia's coloured logging lines)."""
    parts, done = [], 0
    esc = text.find("\x1b")
    while esc >= 0:
        start = text.rfind("\n", done, esc) + 1 or done
        end = text.find("\n", esc)
        if end < 0:
            end = len(text)
        parts.append(text[done:start])
        parts.append(ANSI_RE.sub("", text[start:end]))
        done = end
        esc = text.find("\x1b", end)
    parts.append(text[done:])
    return "".join(parts)


def clean_block(text):
    """clean_line of every line of text at once, but for the timestamp prefixes: "\n" + the lines.

    Whole-block string operations instead of Python work per line (a log is mostly lines no parser
    needs); the leading "\n" lets every line-start pattern begin with a literal (a fast scan).
    Timestamp prefixes are stripped later, from the lines a parser selects (see LogParser._scan).
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if "\r" in text:
        text = "\n".join(_overdraw(line) for line in text.split("\n"))
    if "\x1b" in text:
        text = _strip_ansi(text)
    if "\x00" in text:
        text = text.replace("\x00", "")
    return "\n" + text


_DIRT = ("\r", "\x1b", "\x00")   # what clean_block removes: overdraws, ANSI codes, NULs


def block_pieces(text):
    """clean_block(text) as (string, start, end) pieces, in order, each from a "\n" to the end of a line.

    Without copying the block: the first line (no "\n" before it) and the few lines that hold an
    overdraw, an ANSI code or a NUL (chia's coloured logging lines, a progress bar) are cleaned into
    small strings of their own; the rest is the block itself, between those. Scanning the pieces in
    order is scanning clean_block(text) (a parser resumes a block where the previous one ended).
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    first = text.find("\n")
    if first < 0:
        first = len(text)
    small = clean_block(text[:first])
    pieces = [(small, 0, len(small))]
    done = first   # the "\n" before the next line not yet in a piece
    for start, end in _dirty_lines(text, first):
        if start > done:
            pieces.append((text, done, start))
        small = clean_block(text[start + 1:end])
        pieces.append((small, 0, len(small)))
        done = end
    if done < len(text):
        pieces.append((text, done, len(text)))
    return pieces


def _dirty_lines(text, first):
    """(the "\n" before, the end of) each run of lines after text[first] holding a _DIRT character."""
    spans = []
    for char in _DIRT:
        at = text.find(char, first)
        while at >= 0:
            start = text.rfind("\n", first, at)
            end = text.find("\n", at)
            if end < 0:
                end = len(text)
            spans.append((start, end))
            at = text.find(char, end)
    spans.sort()
    merged = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def last_nonblank_line(text):
    """The last line of text (split at "\n") that is not all whitespace, as it is; None if none."""
    line = text[text.rfind("\n") + 1:]
    if line and not line.isspace():   # a block's last line, mostly
        return line
    for size in (4096, len(text)):
        part = text[-size:]
        end = len(part.rstrip())
        if end:
            start = part.rfind("\n", 0, end) + 1
            stop = part.find("\n", end)
            line = part[start:stop if stop >= 0 else len(part)]
            if start or size >= len(text):
                return line
    return None


def parse_date(text):
    """Epoch seconds (local time) of a trailing chiapos date such as `Sat Nov 28 20:21:09 2026`, or None."""
    m = _DATE_END_RE.match(text, len(text) - 24)   # the usual shape, the line's last 24 characters
    if m is not None:
        base = _UTC_OFFSETS.get(text[-20:-11] + text[-5:])   # that hour's epoch, by its text ("Nov 28 20 2026")
        if base is None:
            base = _hour_base(text)
        minutes, seconds = int(text[-10:-8]), int(text[-7:-5])
        if base is not False and minutes <= 59 and seconds <= 59:
            return base + minutes * 60 + seconds
    m = _DATE_RE.search(text, max(0, len(text) - 64))   # the date ends the line: look at its end first
    if not m and len(text) > 64:
        m = _DATE_RE.search(text)
    if not m:
        return None
    mon, day, hh, mm, ss, year = m.groups()
    return local_epoch(int(year), _MONTHS[mon], int(day), int(hh), int(mm), int(ss))


def _hour_base(text):
    """The epoch of the hour of the date ending text (the shape _DATE_END_RE takes), cached by that hour's text;
    False where the hour goes to mktime (a DST change, an invalid date: local_epoch decides)."""
    mon, day, hh, year = _DATE_END_RE.match(text, len(text) - 24).group(1, 2, 3, 6)
    year, month, day, hh = int(year), _MONTHS[mon], int(day), int(hh)
    base = False
    if 0 <= hh <= 23 and 1 <= day <= _month_days(year, month):
        offset = _utc_offset(year, month, day, hh)
        if offset is not False:
            base = (_days_from_civil(year, month, day) * 24 + hh) * 3600.0 + offset
    _UTC_OFFSETS[text[-20:-11] + text[-5:]] = base
    return base


# (year, month, day, hour) -> seconds to add to the naive UTC epoch: time.mktime costs a few system calls
# (glibc checks /etc/localtime on each call: ~2-20 us on a loaded machine, most of a chiapos date line's cost).
# Also: the hour text of a date ("Nov 28 20 2026") -> that hour's epoch (parse_date; cleared with the offsets),
# and (year, month, day, hour, None) of a valid hour with an offset -> that hour's epoch (local_epoch).
_UTC_OFFSETS = {}


def _days_from_civil(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm, integers only)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def local_epoch(year, month, day, hh, mm, ss):
    """float(time.mktime((year, month, day, hh, mm, ss, 0, 0, -1))), or None where mktime fails.

    mktime twice per hour (the second before it, the second after it): when both give the same UTC
    offset, no DST change falls inside that hour, and every time in it is the naive epoch plus that
    offset. Values mktime would normalise (31 April, hour 24, second 60...), and the hours at a DST
    change (skipped, repeated or next to one: mktime's own guess decides those), go to mktime itself.
    """
    base = _UTC_OFFSETS.get((year, month, day, hh, None))   # a valid hour seen before: its epoch, no call below
    if base is not None and 0 <= mm <= 59 and 0 <= ss <= 59:
        return base + mm * 60 + ss   # integers in floats: the same sum as below, in another order
    if not (0 <= hh <= 23 and 0 <= mm <= 59 and 0 <= ss <= 59 and 1 <= day <= _month_days(year, month)):
        return _mktime(year, month, day, hh, mm, ss)
    offset = _utc_offset(year, month, day, hh)
    if offset is False:
        return _mktime(year, month, day, hh, mm, ss)
    base = _UTC_OFFSETS[(year, month, day, hh, None)] = (_days_from_civil(year, month, day) * 24 + hh) * 3600.0 + offset
    return base + mm * 60 + ss


def _utc_offset(year, month, day, hh):
    """Seconds to add to the naive epoch inside that (valid) hour, or False: mktime decides (see local_epoch)."""
    key = (year, month, day, hh)
    offset = _UTC_OFFSETS.get(key)
    if offset is None:
        hour = (_days_from_civil(year, month, day) * 24 + hh) * 3600
        before, after = _mktime_naive(hour - 1), _mktime_naive(hour + 3600)
        if before is not None and after is not None and before - (hour - 1) == after - (hour + 3600):
            offset = before - (hour - 1)
        else:
            offset = False   # a DST change (or a year mktime refuses) next to or inside this hour
        if len(_UTC_OFFSETS) > 4096:
            _UTC_OFFSETS.clear()
        _UTC_OFFSETS[key] = offset
    return offset


def _month_days(year, month):
    """Days in that month (0 for a month outside 1..12)."""
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    if 1 <= month <= 12:
        return 30 if month in (4, 6, 9, 11) else 31
    return 0


def _mktime_naive(seconds):
    """mktime of the wall-clock time `seconds` after 1970-01-01 00:00 (the fields written out: mktime
    normalising a -1 second would start from its own guess at a repeated hour)."""
    try:
        fields = time.gmtime(seconds)
    except (OverflowError, ValueError, OSError):
        return None
    return _mktime(*fields[:6])


def _mktime(year, month, day, hh, mm, ss):
    try:
        return float(time.mktime((year, month, day, hh, mm, ss, 0, 0, -1)))
    except (OverflowError, ValueError):
        return None


def plot_name_info(text):
    """(k, started_ts, id) from a plot name inside text, or None."""
    m = PLOT_NAME_RE.search(text)
    if not m:
        return None
    k, y, mo, d, hh, mi, pid = m.groups()
    ts = local_epoch(int(y), int(mo), int(d), int(hh), int(mi), 0)
    return int(k), ts, pid


_TUPLES = {}   # step text -> step_tuple(step text) (LogParser.finish)


def _step_tuple_entry(step):
    if len(_TUPLES) > 4096:
        _TUPLES.clear()
    value = _TUPLES[step] = step_tuple(step)
    return value


def step_tuple(step):
    """'2:1' -> (2, 1); anything unparsable -> (0, 0)."""
    try:
        major, minor = str(step).split(":", 1)
        return int(major), int(minor)
    except (TypeError, ValueError):
        return 0, 0


def strip_dir(path):
    """Directory text as printed, without a trailing slash (madMAx prints `/dir/`)."""
    if path and len(path) > 1:
        return path.rstrip("/") or "/"
    return path


def new_plot(plotter, index):
    plot = dict.fromkeys(PLOT_KEYS)
    plot.update(plotter=plotter, index=index, phase=0, step="0:0", progress=0.0, state="plotting",
                phase_seconds={})
    return plot


# "%d:%d" % (phase, minor) of phases 0..5 and minors 0..9 (set_step's steps: integers), by [phase][minor].
_STEP_TEXTS = tuple(tuple("%d:%d" % (phase, minor) for minor in range(10)) for phase in range(6))
_NEW_PLOT = new_plot(None, None)   # LogParser.start_plot copies it (fewer calls than new_plot on a cold call)


def phase_fraction(plot):
    """Fraction (0..1) of the plot's current phase already done, derived from its progress."""
    weights = PHASE_WEIGHTS.get(plot.get("plotter"), PHASE_WEIGHTS["chiapos"])
    phase = plot.get("phase") or 0
    if phase < 1:
        return 0.0
    before = sum(weights[:phase - 1])
    share = weights[phase - 1] if phase <= len(weights) else 0.0
    if share <= 0:
        return 1.0
    return min(1.0, max(0.0, ((plot.get("progress") or 0.0) - before) / share))


class LogParser(object):
    """Base: line cleaning, plot list, progress bookkeeping and state round-trip.

    Subclasses implement `_line(text)` and use the helpers below. Per-plot scratch that must
    survive a state() round-trip lives in `self.ctx` (JSON-serialisable).
    """

    plotter = None
    STEP_SPANS = STEP_SPANS
    FINAL_STEP = "5:1"   # the step of a finished plot (plotman's last step for that plotter)

    weights = None   # PHASE_WEIGHTS[plotter], set on each subclass (__init_subclass__)

    def __init__(self, state=None):
        # A fresh parser (a cold parse, the most frequent) touches nothing else: the weights are the class's.
        self.plots = []
        self.ctx = {"sub": 0.0}
        if state is not None:
            self._resume(state)

    def _resume(self, state):
        """Take the plots and ctx of a state() of this plotter (anything else: a fresh parser)."""
        if isinstance(state, dict) and state.get("version") == STATE_VERSION and state.get("plotter") == self.plotter:
            plots = state.get("plots")
            ctx = state.get("ctx")
            if isinstance(plots, list) and isinstance(ctx, dict):
                self.plots = [dict(p, phase_seconds=dict(p.get("phase_seconds") or {})) for p in plots]
                self.ctx = dict(ctx)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._at = _STEP_AT.setdefault(cls.plotter, {})
        if cls.plotter in PHASE_WEIGHTS:
            cls.weights = PHASE_WEIGHTS[cls.plotter]

    def state(self):
        return {"version": STATE_VERSION, "plotter": self.plotter,
                "plots": [dict(p, phase_seconds=dict(p["phase_seconds"])) for p in self.plots],
                "ctx": dict(self.ctx)}

    def feed(self, line):
        line = clean_line(line)
        if line:
            self._line(line)

    def feed_text(self, text):
        """Feed a block of complete lines (joined by "\n"); the same result as feed() of each line."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if "\r" in text or "\x1b" in text or "\x00" in text:
            for piece, start, end in block_pieces(text):
                self._scan(piece, start, end)
            return
        # No dirt (most logs): clean_block(text) is "\n" + text, so block_pieces' calls are skipped (each distinct
        # function costs a cold call ~5-20 us). A short block is scanned as that copy (one _scan; callgrind, cold
        # calls: a 314-char log -5.5 %, 3-6.5 KB logs even: the copy's cache misses cost what the second _scan
        # costs), a longer one as the first line, a small piece, then the block itself (no copy to pay for).
        if len(text) <= 8192:   # (a constant: no global's look-up)
            block = "\n" + text
            self._scan(block, 0, len(block))
            return
        first = text.find("\n")
        if first < 0:
            first = len(text)
        self._scan("\n" + text[:first], 0, first + 1)
        if first < len(text):
            self._scan(text, first, len(text))

    # Lines that may change anything (a regex over the cleaned block: group 1 = one line); the
    # others are skipped without a Python call. None: every non-empty line.
    SELECT = None

    def _scan(self, text, start, end):
        """The lines of text[start:end] (each after a "\n", as clean_block gives them)."""
        parse = self._line
        for match in (self.SELECT or _ANY_LINE_RE).finditer(text, start, end):
            line = match.group(1)
            c = line[0]
            if c.isdigit() or (c.isupper() and line[3:4] == " "):   # a timestamp prefix (clean_line's last step)?
                line = strip_ts(line)
                if not line:
                    continue
            parse(line)

    def _selected(self, line):
        """One line found in a block, as _scan treats it."""
        c = line[0]
        if c.isdigit() or (c.isupper() and line[3:4] == " "):
            line = strip_ts(line)
            if not line:
                return
        self._line(line)

    def _line(self, line):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- helpers for subclasses -------------------------------------------------------------
    @property
    def current(self):
        return self.plots[-1] if self.plots else None

    def start_plot(self, count=None):
        """Begin a new plot; a previous one that never completed is marked failed (the log moved on)."""
        plots = self.plots
        if plots:
            prev = plots[-1]
            if prev["state"] == "plotting" and prev["phase"] > 0:
                self.fail(prev, "log moved on to the next plot before this one completed")
        plot = _NEW_PLOT.copy()   # new_plot(), in its key order
        plot["plotter"] = self.plotter
        plot["index"] = len(plots) + 1
        plot["count"] = count
        plot["phase_seconds"] = {}
        plots.append(plot)
        ctx = self.ctx
        ctx["sub"] = 0.0
        if "retry_error" in ctx:
            del ctx["retry_error"]
        return plot

    def ensure_plot(self):
        plots = self.plots   # self.current, without the property's call
        return plots[-1] if plots else self.start_plot()

    def set_step(self, plot, phase, minor, sub=0.0):
        """Move to phase:minor with `sub` of that sub-step done; never moves backwards."""
        now = plot["phase"]
        if phase == now:
            was = _MINORS.get(plot["step"])
            if was is None:
                was = step_minor(plot["step"])
            if minor < was:
                return
            moved = minor > was
        elif phase < now:
            return
        else:
            moved = True
        ctx = self.ctx
        newest = plot is self.plots[-1]
        if moved:
            plot["phase"] = phase
            # the text from a table: a %-format is one more cold C path in a cold call (madMAx/BladeBit: -2..3 %)
            step = plot["step"] = (_STEP_TEXTS[phase][minor] if 0 <= phase <= 5 and 0 <= minor <= 9
                                   else "%d:%d" % (phase, minor))
            if newest:
                ctx["sub"] = 0.0
        else:
            step = plot["step"]
        # set_sub(plot, sub), inline (one function less on each plot's cold path)
        if newest:
            done = ctx.get("sub", 0.0)
            if sub > done:
                # min(1.0, sub), without the builtin's call (a first use in a cold call: ~5 us standalone)
                done = ctx["sub"] = sub if sub < 1.0 else 1.0
            sub = done
        else:
            sub = sub if sub < 1.0 else 1.0
        if "retry_error" in ctx:
            self._recover(plot)
        if phase >= 1:   # plot["phase"] is phase here
            at = self._at.get(step) or self._step_at(step)
            value = at[0] + at[1] * (at[2] + at[3] * sub)
            if value > 0.9999 and plot["state"] != "finished":
                value = 0.9999
            elif value > 1.0:
                value = 1.0
            scaled = value * 10000.0
            tenths = int(scaled + 0.5)
            value = tenths / 10000.0 if 1e-6 < scaled + 0.5 - tenths < 1 - 1e-6 else round(value, 4)
            if value > plot["progress"]:
                plot["progress"] = value
        if phase == 5 and plot["state"] == "plotting":
            plot["state"] = "copying"

    def set_sub(self, plot, sub):
        """Fraction done of the current sub-step (kept monotonic), then recompute progress."""
        ctx = self.ctx
        if plot is self.plots[-1]:
            done = ctx.get("sub", 0.0)
            if sub > done:
                done = ctx["sub"] = sub if sub < 1.0 else 1.0   # min(1.0, sub), as in set_step
            sub = done
        else:   # an older plot of the log (madMAx copies it while the next one plots): ctx is the newest's
            sub = sub if sub < 1.0 else 1.0
        if "retry_error" in ctx:
            self._recover(plot)
        if plot["phase"] < 1:
            return
        step = plot["step"]
        at = self._at.get(step) or self._step_at(step)
        value = at[0] + at[1] * (at[2] + at[3] * sub)
        if value > 0.9999 and plot["state"] != "finished":   # bump(), inline
            value = 0.9999
        elif value > 1.0:
            value = 1.0
        scaled = value * 10000.0   # round4(value), inline
        tenths = int(scaled + 0.5)
        value = tenths / 10000.0 if 1e-6 < scaled + 0.5 - tenths < 1 - 1e-6 else round(value, 4)
        if value > plot["progress"]:
            plot["progress"] = value

    def _step_at(self, step):
        """(progress before the phase, its weight, start and width of the sub-step in it), once per step."""
        phase, minor = step_tuple(step)
        spans = self.STEP_SPANS[phase]
        start, end = spans[minor] if minor < len(spans) else spans[-1]
        at = self._at[step] = (sum(self.weights[:phase - 1]), self.weights[phase - 1], start, end - start)
        return at

    def bump(self, plot, value):
        value = min(value, 1.0 if plot["state"] == "finished" else 0.9999)
        value = round4(value) if value >= 0 else round(value, 4)
        if value > plot["progress"]:
            plot["progress"] = value

    def finish(self, plot, plot_file=None, finished_ts=None):
        if plot_file:
            plot["plot_file"] = plot_file
            cut = plot_file.rfind("/") + 1
            plot["plot_name"] = plot_file[cut:]   # posixpath.basename (workers are Linux/macOS)
            if not plot["dst_dir"]:
                head = plot_file[:cut]   # posixpath.dirname: without its trailing slashes, unless all slashes
                plot["dst_dir"] = head.rstrip("/") or head   # (no str repeat: one C path less on a cold call)
        plot["state"] = "finished"
        plot["error"] = None
        plot["phase"] = 5
        final = self.FINAL_STEP
        step = plot["step"]
        if step != final and (_TUPLES.get(step) or _step_tuple_entry(step)) < (
                _TUPLES.get(final) or _step_tuple_entry(final)):
            plot["step"] = final
        plot["progress"] = 1.0
        if finished_ts is not None:
            plot["finished_ts"] = finished_ts
        elif plot["started_ts"] is not None and plot["total_seconds"] is not None:
            plot["finished_ts"] = plot["started_ts"] + plot["total_seconds"] + (plot["copy_seconds"] or 0)

    def fail(self, plot, error, retryable=False):
        """Mark failed. `retryable`: the plotter retries (disk full...); later progress clears it."""
        if plot["state"] == "finished":
            return
        plot["state"] = "failed"
        plot["error"] = error
        if retryable:
            self.ctx["retry_error"] = len(self.plots)
        else:
            self.ctx.pop("retry_error", None)

    def _recover(self, plot):
        if self.ctx.get("retry_error") == plot["index"] and plot["state"] == "failed":
            plot["state"] = "copying" if plot["phase"] == 5 else "plotting"
            plot["error"] = None
            self.ctx.pop("retry_error", None)


# GPU plotters first: their logs also hold madMAx-like (`Crafting plot`) or BladeBit-like lines.
_GIGAHORSE_MARKS = ("next-gen CUDA plotter - ", "Gigahorse ", "k32 CUDA plotter - ")
_BLADEBIT_CUDA_MARKS = ("[Bladebit CUDA Plotter]", "Plot temporary file: ", "Selected cuda device")
_POS2_MARK = "plotfleet-pos2: "
_MADMAX_MARKS = ("Multi-threaded pipelined Chia", "Crafting plot ", "[P1] Table ", "Plot Name: plot-")
_BLADEBIT_MARKS = ("Bladebit", "Generating plot ", "Running Phase ", "Forward propagating to table")
_CHIAPOS_MARKS = ("Starting plotting progress into temporary dirs", "chia.plotting.create_plots",
                  "src.plotting.create_plots", "Starting phase 1/4", "Caught plotting error",
                  "\nPlot size is: ", "\nID: ")


def detect_plotter(head_text):
    """One of PLOTTERS, or None, from the first few KB of a log."""
    if not head_text:
        return None
    if isinstance(head_text, bytes):
        head_text = head_text.decode("utf-8", "replace")
    head = "\n" + head_text[:16384]
    if head.startswith("\nplotfleet-custom: {"):   # custom plotters: plotfleet's header line (logs/template.py)
        return "custom"
    if "\n" + _POS2_MARK in head:
        return "pos2"
    for name, marks in (("gigahorse", _GIGAHORSE_MARKS), ("bladebit_cuda", _BLADEBIT_CUDA_MARKS),
                        ("madmax", _MADMAX_MARKS), ("bladebit", _BLADEBIT_MARKS), ("chiapos", _CHIAPOS_MARKS)):
        for mark in marks:
            if mark in head:
                return name
    if "bladebit" in head.lower():
        return "bladebit"
    return None


# plotter -> its parser class, once imported (an import statement per call costs more than parsing a short log)
_PARSERS = {}


def parser_for(plotter, state=None):
    """A fresh parser for `plotter`, or one resumed from a previous `parser.state()`."""
    cls = _PARSERS.get(plotter)
    if cls is None:
        cls = _PARSERS[plotter] = _parser_class(plotter)
    return cls(state)


def _parser_class(plotter):
    # Imported here: the plotter modules import this one.
    if plotter == "pos2":
        from ansible_collections.plotfleet.chia.plugins.module_utils.logs.pos2 import Pos2Parser
        return Pos2Parser
    if plotter == "chiapos":
        from ansible_collections.plotfleet.chia.plugins.module_utils.logs.chiapos import ChiaposParser as cls
    elif plotter == "madmax":
        from ansible_collections.plotfleet.chia.plugins.module_utils.logs.madmax import MadmaxParser as cls
    elif plotter == "bladebit":
        from ansible_collections.plotfleet.chia.plugins.module_utils.logs.bladebit import BladebitParser as cls
    elif plotter == "bladebit_cuda":
        from ansible_collections.plotfleet.chia.plugins.module_utils.logs.bladebit_cuda import BladebitCudaParser as cls
    elif plotter == "gigahorse":
        from ansible_collections.plotfleet.chia.plugins.module_utils.logs.gigahorse import GigahorseParser as cls
    elif plotter == "custom":
        from ansible_collections.plotfleet.chia.plugins.module_utils.logs.template import TemplateParser as cls
    else:
        raise ValueError("unknown plotter %r (expected one of %s)" % (plotter, ", ".join(PLOTTERS)))
    return cls


def parse_lines(lines, plotter=None):
    """Parse an iterable of lines; detect the plotter from the first lines when not given."""
    if plotter is None:
        lines = list(lines)
        head = "\n".join(clean_line(x) for x in lines[:200])
        plotter = detect_plotter(head)
        if plotter is None:
            return []
    parser = parser_for(plotter)
    for line in lines:
        parser.feed(line)
    return parser.plots
