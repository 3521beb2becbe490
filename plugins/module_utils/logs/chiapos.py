# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parser for chiapos logs (`chia plots create`, `chia plotters chiapos`, the chiapos Python module).

Step grid (plotman 0.5.3's, line for line: tested against its chianetwork.marked): `Starting phase
K/4` -> K:0; P1 `Computing table N` -> 1:N; P2 `Backpropagating on table N` (7..2) -> 2:(8-N),
`table 1 new size` -> 2:7; P3 `Compressing tables N and N+1` -> 3:N; P4 `Starting to write C1 and C3
tables` -> 4:1, `Writing C2 table` -> 4:2, `Final table pointers:` -> 4:3; `Approximate working space
used` -> 5:0 (state copying: the final rename, or a cross-device copy then the rename); `Copied final
file` -> 5:1, `Removed temp2 file` -> 5:2, `Renamed final file` -> finished 5:3.
Tab-indented `Bucket N` lines subdivide a sub-step by N+1 / `Using N buckets`
(P3: first and second computation pass are each half of the table pair); `Progress update: x`
(newer chiapos) raises progress, never lowers it.

A new plot starts at `Starting plot i/N` (chia's Python logging) or, in logs without those
lines, at a `Starting plotting progress` / `ID:` line when the current plot already has an id.
Errors: `Caught plotting error` fails the plot; `Only wrote`/`Only read`/`Could not open`/
`Could not copy` fail it too, but chiapos retries those every five minutes, so the plot comes
back to life if progress lines follow; `Could not rename ... Retrying` only sets `warning`.
"""

from __future__ import absolute_import, division, print_function

import re

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import chiapos_blocks, chiapos_phases, model

__metaclass__ = type

_START_PLOT_RE = re.compile(r"Starting plot (\d+)/(\d+)")
_CREATING_RE = re.compile(r"Creating (\d+) plots? of size (\d+)")
_FROM_TO_RE = re.compile(r'final file from "?(.*?)"? to "?(.*?)"?\s*$')
_SECONDS_RE = re.compile(r"= *([0-9.]+) seconds")
_PHASE_TIME_RE = re.compile(r"Time for phase (\d) = ([0-9.]+) seconds")
_DIRS_PREFIX = "Starting plotting progress into temporary dirs: "
_FATAL = ("Caught plotting error",)
_RETRIED = ("Only wrote", "Only read", "Could not open", "Could not copy")
# Block scanning (feed_text): the lines _line acts on, by their start (a superset: _line decides).
# Between two of them: `\tBucket N` lines (most of a log) and lines that change nothing. A line that is none
# of these but holds `Starting plot ` or `Creating ` (chia's logging lines, see _python_line) is selected too
# (the last alternative, which only the few unselected non-tab lines reach: one scan of the line back to each
# `g ` (sre skips to a literal after a greedy repeat), the two words told apart by lookbehinds).
# A run of bucket lines counts as its highest bucket (as feed() of each line does), found without a
# Python step per line: the last line's number when it is the last bucket (nothing counts more), else a
# regex search for a line with a higher one (a sort numbers its buckets in order, but phase 3 interleaves
# two sorts, and a chunk may end inside a run). The lookahead
# rejects a bucket line at its second character (the alternatives would cost ~1 us a line); a negative
# one is ~12 % cheaper for the whole pass than `(?=[^\t\n]|\t[FSW])` (the same lines: no alternative
# takes an empty line or a tab line but for `\t[FSW]`).
# The most frequent selected lines (progress within a phase) come first, as named groups: _scan dispatches
# on `lastgroup` with the number already read, as _line would (a number followed by anything else than a
# space, a tab or the end of the line falls through to the generic alternative).
# Newer chiapos follows each of the table lines with `Progress update: x`: one match reads both (p1..p3).
# (An optional part is written `(?:X|)`, not `(?:X)?`: see chiapos_blocks.)
_NUMBER_END = r"(?P<n%d>[0-9]+)(?![^ \t\n])[^\n]*(?:\nProgress update: (?P<p%d>[^\n]*)|)"
# The line starts of the generic alternative, each with what _scan does with such a line: the handler _line
# would call (the start's first word is that handler's key in _HANDLERS, and no timestamp prefix can start
# so), a tab line's action (as _tab_line), or None: _selected (_line after strip_ts; a timestamp prefix starts
# with a digit or a month, see model.TS_START).
_MONTHS = ("Jan ", "Feb ", "Mar ", "Apr ", "May ", "Jun ", "Jul ", "Aug ", "Sep ", "Oct ", "Nov ", "Dec ")
_LINE_STARTS = tuple((month, None) for month in _MONTHS) + (
    ("Starting ", "Starting"), ("ID: ", "ID:"), ("ID:", None), ("Plot size is: ", "Plot"),
    ("Buffer size is: ", "Buffer"), ("Using ", "Using"), ("Final Directory is: ", "Final"),
    ("Computing table ", "Computing"), ("Backpropagating on table ", "Backpropagating"),
    ("Compressing tables ", "Compressing"), ("Time for phase ", "Time"), ("Total time = ", "Total"),
    ("Copy time = ", "Copy"), ("Copied final file from ", "Copied"), ("Renamed final file from ", "Renamed"),
    ("Caught ", "Caught"), ("Only ", "Only"), ("Could ", "Could"), ("Progress update: ", None),
    ("table 1 new size", "table"), ("Approximate working space used", "Approximate"),
    ("Removed temp2 file", "Removed"), ("\tFirst computation pass", None), ("\tSecond computation pass", None),
    ("\tStarting to write C1 and C3", "\tc1c3"), ("\tWriting C2 table", "\tc2"),
    ("\tFinished writing C2 table", "\tc2done"), ("\tFinal table pointers", "\tpointers"))
_KINDS = {}   # regex group name -> a _LINE_STARTS action


def _alternatives(words, kinds=None, plain=False):
    """A regex for any of words, grouped by first character: sre tries a group's alternatives one by one,
    so a line that matches none fails after ~15 character tests instead of ~45. kinds: word -> a name for an
    empty group right after it (the match's lastgroup), or None; registered in _KINDS. plain: a word whose kind
    is None gets a group too, registered as None (read by _selected, see _PLAIN)."""
    kinds = kinds or {}
    by_first = {}
    for word in words:
        by_first.setdefault(word[:1], []).append(word[1:])
    out, empty = [], False
    for first, rests in by_first.items():
        if not first:
            empty = True   # tried last: an empty alternative always matches
            continue
        sub = dict((rest, kinds.get(first + rest)) for rest in rests)
        if len(rests) == 1:
            out.append(re.escape(first + rests[0]) + _kind_group(sub[rests[0]], plain))
        else:
            out.append(re.escape(first) + "(?:" + _alternatives(rests, sub, plain) + ")")
    if empty:
        out.append(_kind_group(kinds.get(""), plain))
    return "|".join(out)


def _kind_group(kind, plain=False):
    if kind is None and not plain:
        return ""
    name = "k%d" % len(_KINDS)
    _KINDS[name] = kind
    return "(?P<%s>)" % name


# Every alternative starts with a literal or a character set, never a group: sre's alternation skips such an
# alternative in a few instructions where the line's first character does not match, but enters every one that
# starts with a group (~150 instructions each, for each of the ~1,200 non-bucket lines a round that nothing
# selects). So a kind's group starts after its first character (the groups' text is not read, their subgroups
# are), and the generic starts name their own groups (_alternatives, _PLAIN).
_SELECT_RE = re.compile(
    r"\n(?!\tB)(?:"
    r"C(?P<computing>omputing table " + _NUMBER_END % (1, 1) + ")"
    r"|B(?P<backprop>ackpropagating on table " + _NUMBER_END % (2, 2) + ")"
    r"|C(?P<compressing>ompressing tables " + _NUMBER_END % (3, 3) + ")"
    r"|\t(?P<first_pass>First computation pass[^\n]*)|\t(?P<second_pass>Second computation pass[^\n]*)"
    r"|Progress update: (?P<progress>[^\n]*)"
    r"|" + chiapos_blocks.HEADER + "|" + chiapos_phases.PHASE2 + "|" + chiapos_blocks.BOUNDARY +
    "|" + chiapos_blocks.BOUNDARY_TABLE1 + "|" + chiapos_blocks.ENDING +
    r"|\d(?P<line>)[^\n]*|(?:" + _alternatives([w for w, _k in _LINE_STARTS], dict(_LINE_STARTS), plain=True) +
    r")[^\n]*"
    r"|[^\t\n](?=[^\n]*g (?:(?<=Creating )|plot (?<=Starting plot )))(?P<mark>)[^\n]*)")
_PLAIN = frozenset(["line", "mark"] + [name for name, kind in _KINDS.items() if kind is None])
_BUCKET = "\n\tBucket "
_BUCKET_INDEX_RE = re.compile(r"\n\tBucket ([^ \n]*) ")
_ABOVE = {}   # number -> compiled _above(number)


def _target(line):
    """_FROM_TO_RE.search(line).group(2) (a copy's or rename's target), or None where it does not match; by str
    methods where the line holds no newline (the regex's lazy groups try each character: ~5.5 us a line warm,
    ~0.6 us this way). Its groups: the first `final file from ` (a match from a later one also needs a ` to `
    after it), a quote; the source up to the first ` to ` (without a quote right before it) then a quote; the
    target, the rest but for trailing whitespace (\\s and str.rstrip() take the same characters) and one quote
    before it."""
    at = line.find("final file from ")
    if at < 0:
        return None
    if "\n" in line:   # `$` may match before a last newline
        m = _FROM_TO_RE.search(line)
        return m.group(2) if m else None
    start = at + 16
    if line[start:start + 1] == '"':
        start += 1
    to = line.find(" to ", start)
    if to < 0:
        return None
    rest = to + 4
    if line[rest:rest + 1] == '"':
        rest += 1
    target = line[rest:].rstrip()
    return target[:-1] if target[-1:] == '"' else target


def _int_after(line, prefix):
    try:
        return int(line[len(prefix):].split(None, 1)[0].rstrip("MiB"))
    except (IndexError, ValueError):
        return None


def _int_or_none(text):
    try:
        return int(text)
    except ValueError:
        return None


def _bucket_number(text, at):
    """N of the `\tBucket N ...` line at text[at] (its "\n"), as _tab_line reads it, or None."""
    end = text.find(" ", at + 9)
    newline = text.find("\n", at + 9)
    if end < 0 or 0 <= newline < end:
        return None
    return _int_or_none(text[at + 9:end])


def _highest_bucket(text, start, end, last):
    """The highest bucket number in text[start:end] as _tab_line reads them, the line at `last` included."""
    high = _bucket_number(text, last)
    if high is None:
        found = [n for n in map(_int_or_none, _BUCKET_INDEX_RE.findall(text, start, end)) if n is not None]
        return max(found) if found else None
    pos = start
    while True:
        match = _above(high).search(text, pos, end)
        if match is None:
            return high
        pos = match.end()
        number = _bucket_number(text, match.start())   # None or not higher: written another way ("007")
        if number is not None and number > high:
            high = number


def _above(number):
    """A regex for a bucket line whose number is not written as a plain decimal <= number."""
    pattern = _ABOVE.get(number)
    if pattern is None:
        if len(_ABOVE) > 1000:
            _ABOVE.clear()
        # A number of fewer digits than `number` is smaller: a cheap first lookahead rejects those lines
        # without trying the alternatives (~30 % less per line; `number` < 10 has no such lines).
        shorter = r"(?![0-9]{1,%d} )" % (len(str(number)) - 1) if number >= 10 else ""
        pattern = _ABOVE[number] = re.compile(r"\n\tBucket %s(?!(?:%s) )" % (shorter, _at_most(number)))
    return pattern


def _at_most(number):
    """Regex alternatives matching exactly the plain decimals 0..number."""
    digits = str(number)
    if len(digits) == 1:
        return "[0-%d]" % number
    alternatives = [r"\d"] + [r"[1-9]\d{%d}" % (n - 1) for n in range(2, len(digits))]
    for i, digit in enumerate(digits):
        low, below = (1 if i == 0 else 0), int(digit) - 1
        if below >= low:
            rest = len(digits) - i - 1
            alternatives.append(digits[:i] + "[%d-%d]" % (low, below) + (r"\d{%d}" % rest if rest else ""))
    alternatives.append(digits)
    return "|".join(alternatives)


_TABLE_GROUPS = {"computing": ("n1", "p1"), "backprop": ("n2", "p2"), "compressing": ("n3", "p3")}


def _table_step(kind, n):
    """The step of a table line with number n > 0, as _computing/_backprop/_compressing set it: min(n, 7),
    min(max(8 - n, 1), 6), min(n, 6)."""
    if kind == "computing":
        return (1, n if n < 7 else 7)
    if kind == "backprop":
        return (2, 1 if n > 7 else 8 - n if n > 2 else 6)
    return (3, n if n < 6 else 6)


# A bucket run right before a line that moves the plot to a later step (or sets its sub-step done) is
# skipped unread: set_step resets the sub-step and the new step starts where the current one ends (spans are
# contiguous within phases 1..4; a later phase starts after the current one ends), so progress ends at least
# where any bucket line of the run would put it, and set_sub/_recover run in the line's own call.
def _moves_forward(plot, step):
    phase, minor = step
    now = plot["phase"]
    if phase != now:
        return now < phase <= 5
    return phase <= 4 and minor > model.step_minor(plot["step"])


# Handlers whose date only sets ctx["last_ts"] (_scan defers it), and those that read it.
_DATED = ("Time", "Total", "Copy")
_READS_LAST_DATE = ("Copied", "Renamed")
_FIXED_STEPS = {"table": (2, 7), "Approximate": (5, 0), "Total": (5, 0), "\tc1c3": (4, 1), "\tc2": (4, 2),
                "\tpointers": (4, 3)}


def _line_dominates(plot, action, line):
    """Whether the line (read by `action`) counts at least as much as any bucket run right before it."""
    step = _FIXED_STEPS.get(action)
    if step is not None:
        return _moves_forward(plot, step)
    if action == "Time":   # a phase's time: its last sub-step done (set_sub(1.0))
        return _PHASE_TIME_RE.match(line) is not None
    if action == "Starting" and line.startswith("Starting phase "):
        phase = line[15:16]
        return phase in "12345" and phase != "" and _moves_forward(plot, (int(phase), 0))
    return False


def _dirname(path, cut=None):
    """posixpath.dirname(path) (workers are Linux/macOS; as model's finish splits a path); cut: the index after its
    last "/", if known."""
    if cut is None:
        cut = path.rfind("/") + 1
    head = path[:cut]
    return head.rstrip("/") or head   # without its trailing slashes, unless all slashes


def _float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


class ChiaposParser(model.LogParser):
    plotter = "chiapos"
    FINAL_STEP = "5:3"

    def _line(self, line):
        plot = self.current
        first = line[0]
        if first == "\t":
            if plot is not None:
                self._tab_line(plot, line)
            return
        if line.startswith("Progress update: "):
            if plot is not None:
                value = _float(line[17:].strip())
                if value is not None and 0 <= value <= 1:
                    self.bump(plot, value)
            return
        head = line.split(" ", 1)[0]
        handler = _HANDLERS.get(head)
        if handler is not None:
            handler(self, plot, line)
        elif "Starting plot " in line or "Creating " in line:
            self._python_line(plot, line)

    def _scan(self, text, start, end):
        dates = []   # the date lines read since ctx["last_ts"] was last set (see _last_date)
        try:
            self._scan_lines(text, start, end, dates)
        finally:
            if dates:
                self._last_date(dates)

    def _scan_lines(self, text, start, end, dates):
        done = start
        plots = self.plots
        for match in _SELECT_RE.finditer(text, start, end):
            at = match.start()
            kind = match.lastgroup
            plot = plots[-1] if plots else None
            run = plot is not None and at > done   # bucket lines (and lines of no effect) before this one
            run_from, done = done, match.end()
            steps = _TABLE_STEPS.get(kind)
            if steps is not None and plot is not None:   # a table line (and the progress line after it), its
                number, progress = match.group(*_TABLE_GROUPS[kind])   # number as written in chiapos' logs
                step = steps.get(number)
                # The most frequent lines, read here (set_step inline where it only moves the newest plot forward):
                # step = (phase, minor, step text, progress at its start) from _TABLE_STEPS; text[run_from:at]: the
                # lines before it since the last selected one (none: run_from == at).
                if step is not None:
                    phase, minor, step_text, start = step
                    now = plot["phase"]
                    if phase != now:   # _moves_forward
                        forward = now < phase
                    else:
                        was = _MINORS.get(plot["step"])
                        forward = minor > (was if was is not None else model.step_minor(plot["step"]))
                    if run_from < at and not forward:
                        self._run(text, run_from, at)
                    ctx = self.ctx
                    if kind == "compressing":
                        ctx["pass"] = 0
                    if forward and "retry_error" not in ctx:   # set_step: moved; set_sub(0.0): the step's start
                        plot["phase"] = phase
                        plot["step"] = step_text
                        ctx["sub"] = 0.0
                        if start > plot["progress"]:
                            plot["progress"] = start
                    else:
                        self.set_step(plot, phase, minor)
                    if progress is not None:
                        self._progress(plot, progress)
                    continue
            elif kind == "first_pass" or kind == "second_pass":   # phase 3's half-way and end of a table pair
                if plot is not None:   # as _tab_line reads them (set_sub 0.5 and 1.0)
                    ctx = self.ctx
                    if kind == "first_pass":
                        # Phase 3 prints part of a sort's buckets before each computation pass line (~half of all
                        # bucket lines, never up to the last bucket): the first pass line's set_sub(0.5) is at least
                        # what any bucket line before it sets (0.5 * (N + 1) / buckets with pass 0), in the same
                        # step of the same plot, with nothing between them; so that run is skipped unread (set_sub
                        # keeps the maximum; its other effects happen here).
                        if run_from < at and (plot["phase"] != 3 or ctx.get("pass")):
                            self._run(text, run_from, at)
                        ctx["pass"] = 1
                        sub = 0.5
                    else:
                        sub = 1.0
                    # set_sub(plot, sub) of the newest plot, its progress looked up (_SUB_VALUES: phases 1..4, below
                    # phase 5's weight, so a finished plot's 1.0 cap never applies)
                    value = _SUB_VALUES.get((plot["step"], sub))
                    if value is None or ctx.get("sub", 0.0) > sub or "retry_error" in ctx or plot["phase"] < 1:
                        self.set_sub(plot, sub)
                    else:
                        ctx["sub"] = sub
                        if value > plot["progress"]:
                            plot["progress"] = value
                continue
            if kind in _PLAIN:
                if run:
                    self._run(text, run_from, at)
                if dates:
                    self._last_date(dates)
                self._selected(text[at + 1:done])
                continue
            action = _KINDS.get(kind)
            if action is not None:   # what _line does with the line, without its dispatch
                line = text[at + 1:done]
                if run and not _line_dominates(plot, action, line):
                    self._run(text, run_from, at)
                if action in _DATED:
                    if plot is not None:
                        self._dated(plot, action, line, dates)
                elif action[0] != "\t":
                    if dates and action in _READS_LAST_DATE:
                        self._last_date(dates)
                    _HANDLERS[action](self, plot, line)
                elif plot is not None:
                    _TAB_ACTIONS[action](self, plot)
                continue
            if kind == "header":   # a run of once-a-plot lines (chiapos_blocks); a new plot: the run counts
                if run:
                    self._run(text, run_from, at)
                chiapos_blocks.read_header(self, match)
                continue
            reader = _READERS.get(kind)
            if reader is not None:   # a boundary, phase 2 (chiapos_phases) or the end; a bucket run before: skipped
                if plot is not None:
                    reader(self, plot, match, dates)
                continue
            step = progress = None   # what _line does with these lines, without its dispatch
            if kind == "progress":
                progress = match.group(kind)
            else:   # a table line (and the progress line right after it)
                n, progress = match.group(*_TABLE_GROUPS[kind])
                n = int(n)
                if n:
                    step = _table_step(kind, n)
                    run = run and not _moves_forward(plot, step)
            if run:
                self._run(text, run_from, at)
            if plot is None:
                continue
            if step is not None:
                if kind == "compressing":
                    self.ctx["pass"] = 0
                self.set_step(plot, step[0], step[1])
            if progress is not None:
                value = _float(progress.strip())
                if value is not None and 0 <= value <= 1:
                    self.bump(plot, value)
        if end > done and plots:
            self._run(text, done, end)

    def _progress(self, plot, progress):
        """A `Progress update: x` line's text after a table line (bump(plot, value), for 0 <= value <= 1)."""
        try:   # _float inline: a function less on each cold call of a newer chiapos' log
            value = float(progress.strip())
        except ValueError:
            return
        if 0 <= value <= 1:
            if value > 0.9999 and plot["state"] != "finished":
                value = 0.9999
            value = model.round4(value)
            if value > plot["progress"]:
                plot["progress"] = value

    def _dated(self, plot, action, line, dates):
        """_time, _total or _copy, but for ctx["last_ts"]: the line joins `dates`, parsed when needed (only
        the last date before a plot is finished counts: most of these lines' dates are never read)."""
        if action == "Time":
            m = _PHASE_TIME_RE.match(line)
            if m:
                plot["phase_seconds"][m.group(1)] = float(m.group(2))
                dates.append((line, False))
                self.set_sub(plot, 1.0)
            return
        m = _SECONDS_RE.search(line)   # `Total time = ` / `Copy time = `: the selector took only these starts
        if action == "Total":
            if m:
                plot["total_seconds"] = float(m.group(1))
            dates.append((line, True))
            self.set_step(plot, 5, 0)
        else:
            if m:
                plot["copy_seconds"] = float(m.group(1))
            dates.append((line, True))
            self.set_sub(plot, 0.9)

    def _last_date(self, dates):
        """Set ctx["last_ts"] as the date lines in dates (oldest first) would have, one after the other:
        a phase time sets it to its date (or None), a total or copy time to its date if it has one."""
        for i in range(len(dates) - 1, -1, -1):
            line, keeps_previous = dates[i]
            value = model.parse_date(line)
            if value or not keeps_previous:
                break
        else:
            value = self.ctx.get("last_ts")
        self.ctx["last_ts"] = value
        del dates[:]

    def _run(self, text, start, end):
        """text[start:end]: lines none of which is selected; its bucket lines count (if it has any)."""
        last = text.rfind(_BUCKET, start, end)
        if last >= 0:
            self._bucket_run(text, start, end, last)

    def _bucket_run(self, text, start, end, last):
        """text[start:end] holds no selected line and its last bucket line starts at `last`."""
        plot = self.plots[-1] if self.plots else None
        if plot is None or not plot["buckets"] or plot["phase"] < 1:
            return
        high = _bucket_number(text, last)
        if high is None or high + 1 < plot["buckets"]:   # at the last bucket no other line can count more
            high = _highest_bucket(text, start, end, last)
        if high is not None:
            self._bucket(plot, high)

    # -- bucket and other tab-indented lines ----------------------------------------------------
    def _bucket(self, plot, index):
        frac = (index + 1) / float(plot["buckets"])
        if frac > 1.0:   # min(1.0, frac), without the builtin's call
            frac = 1.0
        if plot["phase"] == 3:
            frac = 0.5 * self.ctx.get("pass", 0) + 0.5 * frac
        self.set_sub(plot, frac)

    def _tab_line(self, plot, line):
        if line.startswith("\tBucket "):
            if not plot["buckets"] or plot["phase"] < 1:
                return
            try:
                index = int(line[8:line.index(" ", 8)])
            except ValueError:
                return
            self._bucket(plot, index)
        elif line.startswith("\tFirst computation pass"):
            self.ctx["pass"] = 1
            self.set_sub(plot, 0.5)
        elif line.startswith("\tSecond computation pass"):
            self.set_sub(plot, 1.0)
        elif line.startswith("\tStarting to write C1 and C3"):
            self.set_step(plot, 4, 1)
        elif line.startswith("\tWriting C2 table"):
            self.set_step(plot, 4, 2)
        elif line.startswith("\tFinished writing C2 table"):
            self.set_sub(plot, 0.5)
        elif line.startswith("\tFinal table pointers"):
            self.set_step(plot, 4, 3)

    # -- chia's Python logging lines (preamble of `chia plots create`) --------------------------
    def _python_line(self, plot, line):
        m = _START_PLOT_RE.search(line)
        if m:
            count = int(m.group(2))
            if plot is None or plot["id"] or plot["phase"] > 0:
                plot = self.start_plot(count)
            plot["count"] = count
            return
        m = _CREATING_RE.search(line)
        if m:
            self.ctx["count"] = int(m.group(1))

    # -- header ------------------------------------------------------------------------------------
    def _starting(self, plot, line):
        if line.startswith("Starting phase "):
            if plot is None:
                return
            try:
                phase = int(line[15])
            except (IndexError, ValueError):
                return
            if phase == 1 and plot["started_ts"] is None:
                plot["started_ts"] = model.parse_date(line)
            if phase == 3:
                self._phase3_path(plot, line)
            self.ctx["pass"] = 0
            self.set_step(plot, phase, 0)
        elif line.startswith(_DIRS_PREFIX):
            if plot is None or plot["id"]:
                plot = self.start_plot(self.ctx.get("count"))
            text = line[len(_DIRS_PREFIX):].strip()
            self.ctx["dirs_text"] = text
            a, sep, b = text.partition(" and ")
            plot["tmp_dir"] = a
            plot["tmp2_dir"] = b if sep else a
        elif line.startswith("Starting plot "):
            self._python_line(plot, line)

    def _phase3_path(self, plot, line):
        """The tmp2 file path fixes tmp2_dir exactly (dir names may contain ' and ') and the plot name."""
        # _QUOTED_RE.search(line).group(1) and posixpath's split, by str methods: each is a first use in a cold
        # call (the regex's program, three posixpath functions of another module)
        quote = line.find('"')
        close = line.find('"', quote + 1) if quote >= 0 else -1
        if close < 0:
            return
        path = line[quote + 1:close]
        cut = path.rfind("/") + 1
        tmp2 = _dirname(path, cut)
        name = path[cut:]   # posixpath.basename
        if name.endswith(".2.tmp"):
            plot["plot_name"] = name[:-6]
        text = self.ctx.get("dirs_text") or ""
        if tmp2 and text.endswith(" and " + tmp2):
            plot["tmp_dir"] = text[:-len(" and " + tmp2)]
            plot["tmp2_dir"] = tmp2

    def _id(self, plot, line):
        if plot is None or plot["id"]:
            plot = self.start_plot(self.ctx.get("count"))
        plot["id"] = line[4:].strip().lower()[:64]

    def _plot_size(self, plot, line):
        if plot is not None and line.startswith("Plot size is: "):
            plot["k"] = _int_after(line, "Plot size is: ")

    def _buffer(self, plot, line):
        if plot is not None and line.startswith("Buffer size is: "):
            plot["buffer_mib"] = _int_after(line, "Buffer size is: ")

    def _using(self, plot, line):
        if plot is None:
            return
        parts = line.split()
        if len(parts) >= 3 and parts[2] == "buckets":
            plot["buckets"] = _int_after(line, "Using ")
        elif len(parts) >= 3 and parts[2] == "threads":
            plot["threads"] = _int_after(line, "Using ")

    def _final(self, plot, line):
        if plot is not None and line.startswith("Final Directory is: "):
            plot["dst_dir"] = line[20:].strip()

    # -- progress markers --------------------------------------------------------------------------
    def _computing(self, plot, line):
        if plot is not None and line.startswith("Computing table "):
            n = _int_after(line, "Computing table ")
            if n:
                self.set_step(plot, 1, min(max(n, 1), 7))

    def _backprop(self, plot, line):
        if plot is not None and line.startswith("Backpropagating on table "):
            n = _int_after(line, "Backpropagating on table ")
            if n:
                self.set_step(plot, 2, min(max(8 - n, 1), 6))

    def _compressing(self, plot, line):
        if plot is not None and line.startswith("Compressing tables "):
            n = _int_after(line, "Compressing tables ")
            if n:
                self.ctx["pass"] = 0
                self.set_step(plot, 3, min(max(n, 1), 6))

    def _time(self, plot, line):
        if plot is None:
            return
        m = _PHASE_TIME_RE.match(line)
        if m:
            plot["phase_seconds"][m.group(1)] = float(m.group(2))
            self.ctx["last_ts"] = model.parse_date(line)
            self.set_sub(plot, 1.0)

    def _total(self, plot, line):
        if plot is None or not line.startswith("Total time = "):
            return
        m = _SECONDS_RE.search(line)
        if m:
            plot["total_seconds"] = float(m.group(1))
        self.ctx["last_ts"] = model.parse_date(line) or self.ctx.get("last_ts")
        self.set_step(plot, 5, 0)   # already there after `Approximate working space used`, if printed

    def _working_space(self, plot, line):
        if plot is not None and line.startswith("Approximate working space used"):
            self.set_step(plot, 5, 0)

    def _table1_size(self, plot, line):
        if plot is not None and line.startswith("table 1 new size"):
            self.set_step(plot, 2, 7)

    def _removed(self, plot, line):
        if plot is not None and line.startswith("Removed temp2 file"):
            self.set_step(plot, 5, 2, 0.95)

    def _copy(self, plot, line):
        if plot is None:
            return
        if line.startswith("Copy time = "):
            m = _SECONDS_RE.search(line)
            if m:
                plot["copy_seconds"] = float(m.group(1))
            self.ctx["last_ts"] = model.parse_date(line) or self.ctx.get("last_ts")
            self.set_sub(plot, 0.9)

    def _copied(self, plot, line):
        if plot is None or not line.startswith("Copied final file from "):
            return
        target = _target(line)
        if target is None:
            return
        self.set_step(plot, 5, 1, 0.5)
        plot["dst_dir"] = plot["dst_dir"] or _dirname(target)
        if target.endswith(".plot"):  # very old chiapos copied straight to the final name
            self.finish(plot, target, self.ctx.get("last_ts"))

    def _renamed(self, plot, line):
        if plot is None or not line.startswith("Renamed final file from "):
            return
        target = _target(line)
        if target is not None:
            if not plot["dst_dir"]:
                plot["dst_dir"] = _dirname(target)
            self.finish(plot, target, self.ctx.get("last_ts"))

    def _error(self, plot, line):
        if line.startswith("Could not rename"):
            if plot is not None:
                plot["warning"] = line.strip()
            return
        for prefix in _FATAL:
            if line.startswith(prefix):
                self.fail(self.ensure_plot(), line.strip())
                return
        for prefix in _RETRIED:
            if line.startswith(prefix):
                self.fail(self.ensure_plot(), line.strip(), retryable=True)
                return


_HANDLERS = {
    "Starting": ChiaposParser._starting,
    "ID:": ChiaposParser._id,
    "Plot": ChiaposParser._plot_size,
    "Buffer": ChiaposParser._buffer,
    "Using": ChiaposParser._using,
    "Final": ChiaposParser._final,
    "Computing": ChiaposParser._computing,
    "Backpropagating": ChiaposParser._backprop,
    "Compressing": ChiaposParser._compressing,
    "Time": ChiaposParser._time,
    "Total": ChiaposParser._total,
    "Copy": ChiaposParser._copy,
    "Copied": ChiaposParser._copied,
    "Renamed": ChiaposParser._renamed,
    "Caught": ChiaposParser._error,
    "Only": ChiaposParser._error,
    "Could": ChiaposParser._error,
    "Approximate": ChiaposParser._working_space,
    "table": ChiaposParser._table1_size,
    "Removed": ChiaposParser._removed,
}


def _table_steps():
    """kind -> {number as printed: (phase, minor, step text, set_sub(0.0)'s progress at the step's start)},
    for the numbers chiapos prints (1..7); the steps as _scan's generic path computes them."""
    probe = ChiaposParser()
    steps = {}
    for kind in _TABLE_GROUPS:
        steps[kind] = {}
        for n in range(1, 8):
            step = _table_step(kind, n)
            text = "%d:%d" % step
            at = probe._at.get(text) or probe._step_at(text)
            value = at[0] + at[1] * (at[2] + at[3] * 0.0)   # set_sub's sum for sub 0 (below 0.9999 in phases 1..3)
            steps[kind][str(n)] = step + (text, model.round4(value))
    return steps


_TABLE_STEPS = _table_steps()
_MINORS = model._MINORS


def _sub_values():
    """(step text, sub) -> the progress set_sub(plot, sub) gives at that step, for the pass lines' subs (0.5,
    1.0) at the steps of phases 1..4 (the formula and rounding of set_sub; test_parser_round7 checks the cap)."""
    probe = ChiaposParser()
    values = {}
    for phase in (1, 2, 3, 4):
        for minor in range(8):
            text = "%d:%d" % (phase, minor)
            at = probe._at.get(text) or probe._step_at(text)
            for sub in (0.5, 1.0):
                values[(text, sub)] = model.round4(min(at[0] + at[1] * (at[2] + at[3] * sub), 0.9999))
    return values


_SUB_VALUES = _sub_values()
_READERS = dict(chiapos_blocks.READERS, **chiapos_phases.READERS)
chiapos_phases.set_high(ChiaposParser)
# The tab lines _tab_line acts on, but for bucket and computation pass lines (_scan reads those itself).
_TAB_ACTIONS = {
    "\tc1c3": lambda parser, plot: parser.set_step(plot, 4, 1),
    "\tc2": lambda parser, plot: parser.set_step(plot, 4, 2),
    "\tc2done": lambda parser, plot: parser.set_sub(plot, 0.5),
    "\tpointers": lambda parser, plot: parser.set_step(plot, 4, 3),
}
