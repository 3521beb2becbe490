# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parser for BladeBit logs: RAM plotter (`bladebit`) and disk plotter (`bladebit diskplot`).

Step grid (RAM plotter: plotman 0.5.3's, line for line, tested against its bladebit.marked):
`Generating plot i / N` -> a new plot at 0:2; `Running Phase K` -> K:0, `Finished Phase K` -> K+1:0;
P1 `Finished F1 generation` -> 1:1, `Forward propagating to table N` (RAM) or a bare `Table N` line
(disk) -> 1:N; P2 `Prunning table N` (RAM, tables 6..2) -> 2:(7-N), `Finished marking table N`
(disk) -> 2:(7-N) done; P3 `Compressing tables N and N+1` -> 3:N; P4 (RAM) `Writing P7|C1|C2|C3`
-> 4:1..4:4; `Finished Phase 4` -> 5:0 (copying), `Writing final plot tables to disk` -> 5:1. The
disk plotter (which plotman 0.5.3 does not read) has no phase 4: `Finished Phase 3` -> 4:0 (pending
writes), `Finished writing plot X.tmp` -> 5:0. `Finished plotting in S seconds` -> finished,
plot_file = the `Plot X finished writing` path (RAM) or output dir + plot name (disk). BladeBit prints
no k: 32 unless a plot name says otherwise. Lines of newer versions (cudaplot, v3) that are not recognised are ignored.
"""

from __future__ import absolute_import, division, print_function

import os
import re
import sys

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

__metaclass__ = type

_NUM_RE = re.compile(r"(\d+(?:\.\d+)?)")
_GEN_RE = re.compile(r"^Generating plot (\d+) / (\d+): ([0-9a-fA-F]{64})")
_PHASE_DONE_RE = re.compile(r"^Finished Phase (\d) in ([0-9.]+) seconds")
_P4_WRITES = {"P7": 1, "C1": 2, "C2": 3, "C3": 4}   # `Writing P7.`, `Writing C1 table.`...
_FATAL_PREFIXES = ("Error", "Fatal", "*** Fatal", "Failed to", "terminate called")
# The lines _line can act on (their text after strip() starts so), for block scanning; the rest of
# a log (pairing, sorting, Fx, pointer and entry-count lines) changes nothing. The lines that only move the step of a
# live plot (most of them) come first, read by _scan itself, the match ending at their key: `step` (the key
# of the step they set, _step_of), `sub` (complete the sub-step), `write` (P4's writes: a step in phase 4
# only), `done` (`Finished Phase N in S seconds`); any other line, and these for a plot that is not live,
# go to _line (timestamp-prefixed ones too: `line0`), but the header's `key: value` lines (`head`, which _line
# hands to _header in any state: _scan does so itself). `Generating F1` is not selected: _line does nothing
# with it in any state.
_STEP_KEYS = (r"(?:Running Phase |Forward propagating to table |Prunning table |Compressing tables "
              r"|Finished marking table )[0-9]{1,3}(?![0-9])|Table [0-9]{1,3}(?=[^\S\n]*(?:\n|\Z))"
              r"|Finished F1 generation|Writing final plot tables to disk")
# A first look at the line's start (each alternative begins with a literal, which sre tests without entering
# it): most unselected lines fail here instead of in every alternative below (a superset of them).
_FIRST = (r"Running Phase |F(?:inished (?:Phase |forward|marking|compressing|writing plot |plotting in|f1 |F1 )"
          r"|orward propagating to table |atal|ailed to)|Generating plot |T(?:able |emp[12] path|hread count)"
          r"|P(?:running table |lot )|C(?:ompressing tables |reating )"
          r"|W(?:riting (?:P7|C1|C2|C3|final plot tables)|ill create )|Error|\*\*\* Fatal|terminate called"
          r"|\[Bladebit Disk Plotter\]|Output path|Bucket count|[Ff](?i:inished f1 generation)")
# The leading blanks, not given back (no alternative starts with one): possessive where sre has it (3.11+).
_BLANKS = r"[^\S\n]*+" if sys.version_info >= (3, 11) else r"[^\S\n]*"
# A plot's phases in their usual shape (RUNS), each read with one selector match: the RAM plotter's four phases
# (`Running Phase 1` .. `Writing final plot tables to disk`) and the disk plotter's three (`Running Phase 1` ..
# `Finished Phase 3`), ~50 / ~35 selected lines a plot. Every line whole, in the order BladeBit prints it, with the
# indent it prints: the selected lines as the selector's group for them takes them (`Finished Phase N in S
# seconds` with S a plain decimal), the others (pairing, sorting, Fx, I/O wait, `Table N now has`...) by their
# start, which no group of the selector takes whatever follows (test_bladebit_runs checks each). A run in any
# other shape (a line between, changed, missing or indented otherwise, a chunk that ends inside it) fails the
# pattern, and its lines are read one by one. What _scan does for a run (see there) is what it does for its lines.
# `(?:X|)`, not `(?:X)?`: no REPEAT, whose tries copy the capture marks (see madmax._NUM)
_NUMBER = r"[0-9]+(?:\.[0-9]+|)"
_REST = r"[^\n]*+\n" if sys.version_info >= (3, 11) else r"[^\n]*\n"   # possessive where sre has it, as madmax._REST


def _ram_table(table):
    return (r"Forward propagating to table %d\.\.\.\n  Pairing L/R groups\.\.\.\n" % table
            + r"  Finished pairing L/R groups in " + _REST + r"  Average of " + _REST
            + r"  Computing Fx\.\.\.\n  Finished computing Fx in " + _REST
            + (r"  Sorting entries\.\.\.\n  Finished sorting in " + _REST if table < 7 else "")
            + r"Finished forward propagating table %d in " % table + _REST)


def _done(phase, prefix):
    return r"Finished Phase %d in (?P<%s%d>%s) seconds" % (phase, prefix, phase, _NUMBER)


_RAM_RUN = (
    r"F1\.\.\.\nFinished F1 generation in " + _REST + r"Sorting F1\.\.\.\nFinished F1 sort in " + _REST
    + "".join(_ram_table(table) for table in range(2, 8)) + _done(1, "ram_") + _REST
    + r"Running Phase 2\n" + "".join(r"  Prunning table %d\.\.\.\n  Finished prunning table %d in " % (table, table)
                                     + _REST for table in range(6, 1, -1)) + _done(2, "ram_") + _REST
    + r"Running Phase 3\n" + "".join(r"  Compressing tables %d and %d\.\.\.\n"
                                     r"  Finished compressing tables %d and %d in "
                                     % (table, table + 1, table, table + 1) + _REST + r"  Table %d now has " % table
                                     + _REST for table in range(1, 7)) + _done(3, "ram_") + _REST
    + r"Running Phase 4\n" + "".join(r"  Writing %s\.\n  Finished writing %s in " % (part, part) + _REST
                                     for part in ("P7", "C1 table", "C2 table", "C3 table")) + _done(4, "ram_") + _REST
    + r"Writing final plot tables to disk(?P<ram_run>)")
_DISK_RUN = (
    r"f1\.\.\.\nF1 working heap @ " + _REST + r"Minimum IO buffer size required per bucket @ " + _REST
    + r"F1 IO size @ " + _REST + r"(?P<disk_f1>Finished f1 generation in [^\n]*)\nTable 1 I/O wait time: " + _REST
    + "".join(r"Table %d\nCompleted table %d in " % (table, table) + _REST + r"Table %d I/O wait time: " % table + _REST
              for table in range(2, 8))
    + r" Phase 1 Total I/O wait time: " + _REST + r"Processing f7s and writing C tables to plot file\.\n"
    + r"Completed C processing tables in " + _REST + r"C Tables I/O wait time: " + _REST + _done(1, "disk_") + _REST
    + r"Running Phase 2\n" + "".join(r"Finished marking table %d in " % table + _REST
                                     + r"Table %d I/O wait time: " % table + _REST for table in range(6, 1, -1))
    + r" Phase 2 Total I/O wait time: " + _REST + _done(2, "disk_") + _REST
    + r"Running Phase 3\n" + "".join(r"Compressing tables %d and %d\.\nAllocated " % (table, table + 1) + _REST
                                     + r"Step 2 using " + _REST + r"Table %d now has " % table + _REST
                                     + r"Table %d I/O wait time: " % table + _REST
                                     + r"Finished compressing tables %d and %d in " % (table, table + 1) + _REST
                                     for table in range(1, 7))
    + r"Writing P7 parks\.\nFinished writing P7 parks in " + _REST + r"P7 I/O wait time: " + _REST
    + _done(3, "disk_") + r"[^\n]*(?P<disk_run>)")
# One alternative, starting with a literal (sre skips it in a few instructions at a line that starts otherwise).
RUNS = r"Running Phase 1\nGenerating (?:" + _RAM_RUN + "|" + _DISK_RUN + ")"
_LINES = (
    r"\n(?:(?P<line0>(?:%s)[^\n]*)|%s(?=%s)(?:(?P<step>%s)"
    r"|(?P<sub>Finished (?:forward propagating|compressing tables))|Writing (?P<write>P7|C1|C2|C3)"
    r"|(?P<done>Finished Phase (?P<done_n>[0-4]) in (?P<done_s>[0-9.]+) seconds)"
    r"|(?P<head>(?:Output path|Temp[12] path|Thread count|Bucket count)[^\S\n]*:[^\n]*)"
    # the plot's first and last line in BladeBit's spelling, their values read here (_scan); others go to `line`
    r"|Generating plot [0-9]+ / (?P<gen_n>[0-9]+): (?P<gen_id>[0-9a-fA-F]{64})(?P<gen>)[^\n]*"
    r"|Finished plotting in (?P<fin_s>[0-9]+(?:\.[0-9]+|)) seconds(?P<fin>)[^\n]*"
    r"|(?P<line>(?:Running Phase |Finished (?:Phase |forward propagating|marking table "
    r"|compressing tables|writing plot |plotting in)|Forward propagating to table "
    r"|Generating plot |Table \w+[^\S\n]*(?=\n|\Z)|Prunning table |Compressing tables "
    r"|Writing (?:P7|C1|C2|C3|final plot tables)|(?i:finished f1 generation)"
    r"|Plot |Error|Fatal|\*\*\* Fatal|Failed to|terminate called|\[Bladebit Disk Plotter\]|Temp[12] path"
    r"|Output path|Thread count|Bucket count|Creating |Will create )[^\n]*)))"
    % (model.TS_START, _BLANKS, _FIRST, _STEP_KEYS))
_SELECT_RE = re.compile(r"\n(?:" + RUNS + "|" + _LINES[len(r"\n(?:"):])
_LINES_RE = []   # [the selector without RUNS], compiled on first use (a run read line by line: rare)
_OWN_LINES = frozenset(("line", "line0", "head", "gen", "fin"))   # kinds _scan reads as _line would, in any state
_LIVE = ("plotting", "copying")
_HEADER = {"Output path": "dst_dir", "Temp1 path": "tmp_dir", "Temp2 path": "tmp2_dir", "Thread count": "threads",
           "Bucket count": "buckets"}
_STEPS = {}   # a `step` key -> (phase, minor, sub), or None: what _progress sets for a line starting so
_MINORS = {}  # step text -> its minor


def _first_int(text):
    m = _NUM_RE.search(text)
    return int(float(m.group(1))) if m else None


def _step_of(text):
    """(phase, minor, sub) that _progress sets for a step line (a `step` key: no other effect), or None."""
    if text.startswith("Running Phase "):
        phase = _first_int(text)
        return (phase, 0, 0.0) if phase else None
    if text.startswith("Forward propagating to table "):
        n = _first_int(text)
        return (1, max(1, min(n, 7)), 0.0) if n else None
    if text.startswith("Prunning table "):
        n = _first_int(text)
        return (2, max(1, min(7 - n, 5)), 0.0) if n else None
    if text.startswith("Compressing tables "):
        n = _first_int(text)
        return (3, max(1, min(n, 6)), 0.0) if n else None
    if text.startswith("Finished marking table "):
        n = _first_int(text)
        return (2, max(1, min(7 - n, 5)), 1.0) if n else None
    if text.startswith("Table ") and text[6:].isdigit():
        return 1, min(int(text[6:]), 7), 0.0
    if text.lower().startswith("finished f1 generation"):
        return 1, 1, 0.0
    if text.startswith("Writing final plot tables to disk"):
        return 5, 1, 0.0
    return None


def _step_entry(key):
    if len(_STEPS) > 4096:
        _STEPS.clear()
    step = _STEPS[key] = _step_of(key)
    return step


def _minor(plot):
    """The minor of the plot's step, kept in _MINORS (0 is not kept: `_MINORS.get(step) or _minor(plot)`)."""
    step = plot["step"]
    minor = _MINORS[step] = model.step_tuple(step)[1]
    return minor


def _line_at(text, match, end):
    """The whole line of a selector match in text[:end] (without its "\n")."""
    stop = text.find("\n", match.end(), end)
    return text[match.start() + 1:stop if stop >= 0 else end]


class BladebitParser(model.LogParser):
    plotter = "bladebit"
    SELECT = _SELECT_RE
    # P2 prunes tables 6..2 (five steps); P4 writes P7 (the bulk), C1, C2, C3.
    STEP_SPANS = dict(model.STEP_SPANS)
    STEP_SPANS.update({2: model.spans(*(1,) * 5), 4: model.spans(6, 1, 1, 3)})

    def _line(self, line):
        text = line.strip()
        if not text:
            return
        plots = self.plots   # self.current, without the property's call (one function less on a cold call)
        plot = plots[-1] if plots else None
        if plot is not None and plot["state"] in ("plotting", "copying") and self._progress(plot, text):
            return
        if text.startswith("Generating plot "):
            self._generating(text)
        elif text.startswith("Finished plotting in"):
            if plot is not None:
                self._finished(plot, text)
        elif text.startswith(_FATAL_PREFIXES):
            if plot is not None or self.ctx.get("header"):
                self.fail(self.ensure_plot(), text)
        else:
            self._header(text)

    def _scan(self, text, start, end, select=None, best=None):
        """_line of each selected line; a run of step lines of a live plot costs one set_step: the highest
        (phase, minor, sub) of the run, which is where set_step of each line in turn ends (it never moves
        back; at the same step it keeps the highest sub; progress is monotonic in the step and sub).
        `select`: _LINES_RE (a run's lines one by one) with `best` the step pending before them: then the step
        pending after them is returned, not set."""
        plots = self.plots
        plot = plots[-1] if plots else None
        live = plot is not None and plot["state"] in _LIVE
        # best: the highest step of the run so far, not yet set
        for match in (select or _SELECT_RE).finditer(text, start, end):
            kind = match.lastgroup
            if kind == "ram_run" or kind == "disk_run":   # RUNS: a plot's phases in their usual shape
                if best is None and live and plot["phase"] == 0:
                    # Line by line, no set_step before the disk plotter's `Finished f1 generation` (a `line`:
                    # the run's 1:0, then its own 1:1) and none after it (each sub-step completion and `Finished
                    # Phase N` comes at a step at or past the plot's, and each `Finished Phase N` moves past the
                    # steps before it: only its N+1:0 counts, P4's writes come in phase 4); so what is left is the
                    # phase times and the run's last step, pending.
                    seconds = plot["phase_seconds"]
                    if kind == "ram_run":
                        # not a generator expression: a function and a generator made and run, each first used in a
                        # cold call
                        one, two, three, four = match.group("ram_1", "ram_2", "ram_3", "ram_4")
                        seconds["1"], seconds["2"], seconds["3"], seconds["4"] = (
                            float(one), float(two), float(three), float(four))
                        best = (5, 1, 0.0)   # `Writing final plot tables to disk`
                    else:
                        self.set_step(plot, 1, 0)
                        self.set_step(plot, 1, 1)   # _progress of `Finished f1 generation`
                        one, two, three = match.group("disk_1", "disk_2", "disk_3")
                        seconds["1"], seconds["2"], seconds["3"] = float(one), float(two), float(three)
                        best = (4, 0, 0.0)   # `Finished Phase 3` of the disk plotter
                else:   # a plot further on, not live, or a step pending before the run: its lines one by one
                    if not _LINES_RE:
                        _LINES_RE.append(re.compile(_LINES))
                    best = self._scan(text, match.start(), match.end(), _LINES_RE[0], best)
                    plot = plots[-1] if plots else None
                    live = plot is not None and plot["state"] in _LIVE
                continue
            if live and kind not in _OWN_LINES:
                if kind == "step":
                    step = _STEPS.get(match.group(kind), False)
                    if step is False:
                        step = _step_entry(match.group(kind))
                    if step is not None and (best is None or step > best):
                        best = step
                    continue
                if kind == "write":   # a step in phase 4 only (else nothing)
                    phase = best[0] if best is not None and best[0] > plot["phase"] else plot["phase"]
                    if phase == 4:
                        step = (4, _P4_WRITES[match.group(kind)], 0.0)
                        if best is None or step > best:
                            best = step
                    continue
                if best is not None and best[:2] >= (plot["phase"], _MINORS.get(plot["step"]) or _minor(plot)):
                    if kind == "sub":   # set_sub(1.0) at the step the run ends on
                        best = (best[0], best[1], 1.0)
                        continue
                    nxt = int(match.group("done_n")) + 1
                    if nxt > best[0]:   # set_sub(1.0), then set_step(nxt, 0) moves on: only the latter counts
                        plot["phase_seconds"][match.group("done_n")] = float(match.group("done_s"))
                        best = (nxt, 0, 0.0)
                        continue
            if best is not None:
                self.set_step(plot, *best)
                best = None
            if kind == "gen":   # _line's way for it (no other handler takes it): _generating, the values read above
                plot = self._new_plot(int(match.group("gen_n")), match.group("gen_id").lower())
                live = True
                continue
            if kind == "fin":   # _line's way: _progress takes no such line, then _finished
                if plot is not None:
                    self._finished_at(plot, float(match.group("fin_s")))
                    live = plot["state"] in _LIVE
                continue
            if kind == "head":   # _line's way for these: _header (the line as _line_at gives it, stripped)
                stop = text.find("\n", match.end(), end)
                self._header(text[match.start() + 1:stop if stop >= 0 else end].strip())
                continue
            self._selected(_line_at(text, match, end))
            plot = plots[-1] if plots else None
            live = plot is not None and plot["state"] in _LIVE
        if select is not None:
            return best
        if best is not None:
            self.set_step(plot, *best)
        return None

    # -- header ------------------------------------------------------------------------------------
    def _header(self, text):
        ctx = self.ctx
        if text.startswith("[Bladebit Disk Plotter]") or text.startswith("Temp1 path"):
            ctx["disk"] = True
        if text.startswith("Creating ") and " plot" in text:
            ctx["count"] = _first_int(text)
        elif text.startswith("Will create ") and " plot" in text:
            ctx["count"] = _first_int(text)
        key, sep, value = text.partition(":")
        if not sep:
            return
        key = key.strip()
        value = value.strip()
        field = _HEADER.get(key)
        if field:
            ctx["header"] = True
            ctx[field] = _first_int(value) if field in ("threads", "buckets") else model.strip_dir(value)

    def _generating(self, text):
        m = _GEN_RE.match(text)
        if m:
            self._new_plot(int(m.group(2)), m.group(3).lower())
        else:
            self._new_plot(self.ctx.get("count"), None)

    def _new_plot(self, count, plot_id):
        """The plot a `Generating plot` line starts (its count and id, if read)."""
        plot = self.start_plot(count)
        ctx = self.ctx
        for field in ("dst_dir", "tmp_dir", "tmp2_dir", "threads", "buckets"):
            plot[field] = ctx.get(field)
        plot["k"] = 32
        plot["step"] = "0:2"   # plotman's step for a plot announced but not started
        if plot_id is not None:
            plot["id"] = plot_id
        return plot

    # -- progress ----------------------------------------------------------------------------------
    def _progress(self, plot, text):
        """Handle a progress line of the current plot; False when the line is not one."""
        first = text[0]
        if first == "R" and text.startswith("Running Phase "):
            phase = _first_int(text)
            if phase:
                self.set_step(plot, phase, 0)
            return True
        if first == "F":
            return self._finished_line(plot, text)
        if first == "G" and text.lower().startswith("generating f1"):
            return True
        if first == "T" and text.startswith("Table ") and text[6:].isdigit():
            self.set_step(plot, 1, min(int(text[6:]), 7))
            return True
        if first == "P" and text.startswith("Prunning table "):
            n = _first_int(text)
            if n:
                self.set_step(plot, 2, max(1, min(7 - n, 5)))
            return True
        if first == "C" and text.startswith("Compressing tables "):
            n = _first_int(text)
            if n:
                self.set_step(plot, 3, max(1, min(n, 6)))
            return True
        if first == "W":
            minor = _P4_WRITES.get(text[8:10]) if text.startswith("Writing ") else None
            if minor and plot["phase"] == 4:
                self.set_step(plot, 4, minor)
            elif text.startswith("Writing final plot tables to disk"):
                self.set_step(plot, 5, 1)
            else:
                return False
            return True
        if first == "P" and text.startswith("Plot ") and " finished writing to disk" in text:
            path = text[5:text.index(" finished writing to disk")]
            self.ctx["plot_file"] = path
            plot["plot_name"] = path[path.rfind("/") + 1:]   # posixpath.basename, no call into posixpath (cold)
            return True
        return False

    def _finished_line(self, plot, text):
        m = _PHASE_DONE_RE.match(text)
        if m:
            phase = int(m.group(1))
            plot["phase_seconds"][m.group(1)] = float(m.group(2))
            self.set_sub(plot, 1.0)
            if phase == 3 and self.ctx.get("disk"):
                self.set_step(plot, 4, 0)
            elif phase < 5:
                self.set_step(plot, phase + 1, 0)
            return True
        if text.lower().startswith("finished f1 generation"):
            self.set_step(plot, 1, 1)
            return True
        if text.startswith("Forward propagating to table "):
            n = _first_int(text)
            if n:
                self.set_step(plot, 1, max(1, min(n, 7)))
            return True
        if text.startswith("Finished forward propagating"):
            self.set_sub(plot, 1.0)
            return True
        if text.startswith("Finished marking table "):
            n = _first_int(text)
            if n:
                self.set_step(plot, 2, max(1, min(7 - n, 5)), 1.0)
            return True
        if text.startswith("Finished compressing tables"):
            self.set_sub(plot, 1.0)
            return True
        if text.startswith("Finished writing plot "):
            name = text[22:].strip().rstrip(".")
            if name.endswith(".tmp"):
                name = name[:-4]
            plot["plot_name"] = name[name.rfind("/") + 1:]   # posixpath.basename
            self.set_step(plot, 5, 0, 0.5)
            return True
        return False

    def _finished(self, plot, text):
        seconds = _NUM_RE.search(text)
        self._finished_at(plot, float(seconds.group(1)) if seconds else None)

    def _finished_at(self, plot, seconds):
        """A `Finished plotting in S seconds` line's (S: the line's first number, or None)."""
        if plot["state"] not in ("plotting", "copying"):
            return
        plot["total_seconds"] = seconds
        path = self.ctx.pop("plot_file", None)
        if not path and plot["plot_name"] and plot["dst_dir"]:
            path = os.path.join(plot["dst_dir"], plot["plot_name"])
        info = model.plot_name_info(path or "")
        if info:
            plot["k"], plot["started_ts"] = info[0], plot["started_ts"] or info[1]
        self.finish(plot, path)
