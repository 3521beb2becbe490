# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parser for madMAx `chia_plot` logs (table-level progress on the chiapos step grid).

Step grid (plotman 0.5.3's, line for line: tested against its madmax.marked): `Plot Name:` -> 1:1
(table 1 starts); `[P1] Table N took` -> 1:N+1 (table N done; table 7 stays 1:7, `Phase 1 took` too);
`[P2] max_table_size` -> 2:1; `[P2] Table N scan took` -> half of 2:(8-N), `[P2] Table N rewrite
took` -> 2:(9-N) (table 2 -> 2:7); `Phase 2 took` -> 3:0; `Wrote plot header` -> 3:1; `[P3-1] Table
N took` -> half of 3:(N-1), `[P3-2] Table N took` -> 3:N; `Phase 3 took` -> 4:0, `[P4] Starting to
write C1 and C3` -> 4:1, `[P4] Writing C2` -> 4:2; `Phase 4 took` -> 5:0 (copying); `Started copy
to` -> 5:1; `Renamed final plot to` / `Copy to X finished` -> finished 5:2.

Completion: madMAx renames `<tmp2>/<name>.plot.tmp` to `<tmp2>/<name>.plot` before it prints
`Total plot creation time`, and copies only when the final dir differs from tmp2 (tmp2 defaults
to tmp). So with `-d` equal to `-2` (fixture plotman__2021-07-11..., where -t = -2 = -d) the plot
is finished at `Total plot creation time` with plot_file = <dst>/<name>.plot; otherwise it stays
copying until `Renamed final plot to X` or `Copy to X finished, took S sec`, which may arrive
while the next plot of the same process (`-n N`) is already running: X is matched to the plot by
file name. Header values (dirs, threads, buckets, count) carry over to the next plot.
"""

from __future__ import absolute_import, division, print_function

import os
import re
import sys

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

__metaclass__ = type

_TABLE_RE = re.compile(r"\[P(\d)(?:-(\d))?\] Table (\d+) (scan|rewrite|took)")
_SECONDS_RE = re.compile(r"took ([0-9.]+) sec")
_COPY_DONE_RE = re.compile(r"^Copy to (.*) finished, took ([0-9.]+) sec")
# The lines _line can act on, for block scanning (the rest: keys, network port, table sizes...), one group
# per kind, so _scan calls the kind's method itself (_BRANCHES, each taking the match); `line`: a timestamp
# prefix (_line after strip_ts). The lines that only move the step (_STEP_KEYS: most of a log) come first, read
# by _scan itself: their start is the key of the step they set (_step_of), and the match ends there (the
# search skips the rest of the line faster than `[^\n]*` reads it); other spellings are `bracket`. `took`:
# `Phase 1..4 took S sec` with its numbers, which _scan folds into the step it moves to where it can. The
# once-a-plot lines in madMAx's own spelling come with their values read by the selector (`dir`, `threads`,
# `plots`, `buckets`, `k`, `crafting`, `named`, `total`), so _scan does what _line does without cutting the
# line up again (each distinct step costs ~5-30 us on a cold call: see BENCHMARKS.md, parser round 5b);
# any other spelling of them falls to the generic groups after them (`header`, `name`, `phase`...).
_STEP_KEYS = (r"\[P[1-3](?:-[12]|)\] Table [0-9]{1,3} (?:scan|rewrite|took)|\[P2\] max_table_size"
              r"|\[P4\] (?:Starting to write C1|Writing C2|Finished writing C[12])|Wrote plot header")
# A plot in its usual shape, in up to three runs of lines, each line whole in the order madMAx prints it:
# the header (from `Multi-threaded pipelined Chia` or from `Crafting plot`, to `Plot Name`), phase 1's run
# (`[P1] Table 1 took` .. `Phase 1 took`) and phases 2 to 4 (`[P2] max_table_size` .. `Phase 4 took`); each
# run takes the ones after it where they follow, so a whole plot's computation is one match. Each line is
# spelled as the selector's group for it takes it (the step lines: their _STEP_KEYS key, then the rest of
# the line; `Phase N took S sec`, with S a plain decimal); the lines between that the selector takes none of
# (`(Sponsored ...`, the blank line, `Process ID`, the keys) are matched by their start only. _scan then does
# what it does for those lines one by one, computed once for the shape (see there); a run in any other shape
# (a line between, changed or missing, a chunk that ends inside it) fails the pattern, and its lines are read
# one by one.
# An optional part is written `(?:X|)`, not `(?:X)?` (the same matches, in the same order): sre runs `(?:X)?` of a
# multi-character X as a REPEAT, whose try of X pushes a copy of every capture mark set so far onto its data stack,
# and each `[^\n]*` inside one pushes another (a run of runs nested so: ~30 KB a match, the stack, freed after each
# match of a finditer, regrown by realloc); an alternation outside any repeat copies none.
_NUM = r"[0-9]+(?:\.[0-9]+|)"
# The rest of a line, possessive where sre has it (3.11+): the same match (a newline follows), without a context
# pushed for each of a run's lines (-6 % instructions for the selector over the madMAx fixtures).
_REST = r"[^\n]*+\n" if sys.version_info >= (3, 11) else r"[^\n]*\n"
_P1_RUN = ("".join(r"\[P1\] Table %d took " % table + _REST for table in range(1, 8))
           + r"Phase 1 took (?P<{p}1>" + _NUM + r") sec[^\n]*")
_P24_RUN = (r"\[P2\] max_table_size" + _REST
            + "".join(r"\[P2\] Table %d scan took " % table + _REST + r"\[P2\] Table %d rewrite took " % table
                      + _REST for table in range(7, 1, -1))
            + r"Phase 2 took (?P<{p}2>" + _NUM + r") sec" + _REST + r"Wrote plot header" + _REST
            + "".join(r"\[P3-1\] Table %d took " % table + _REST + r"\[P3-2\] Table %d took " % table
                      + _REST for table in range(2, 8))
            + r"Phase 3 took (?P<{p}3>" + _NUM + r") sec" + _REST
            + r"\[P4\] Starting to write C1" + _REST + r"\[P4\] Finished writing C1" + _REST
            + r"\[P4\] Writing C2" + _REST + r"\[P4\] Finished writing C2" + _REST
            + r"Phase 4 took (?P<{p}4>" + _NUM + r") sec[^\n]*")
# model.PLOT_NAME_RE with its groups named, prefixed (_NAME: test_madmax_fast_lines checks that it is the same pattern).
_NAME_AT = (r"plot-k(?P<{p}name_k>\d\d)-(?:c\d\d?-)?(?P<{p}name_y>\d{{4}})-(?P<{p}name_mo>\d\d)-(?P<{p}name_d>\d\d)"
          r"-(?P<{p}name_h>\d\d)-(?P<{p}name_mi>\d\d)-(?P<{p}name_id>[0-9a-f]{{64}})")
_NAME = _NAME_AT.format(p="")
_HEAD_START = (r"Multi-threaded pipelined Chia k(?P<{p}k>[0-9]+) " + _REST + r"(?:\([^\n]*\n|)\n?"
               r"Final Directory: (?P<{p}dst>[^\n]*)\nNumber of Plots: (?P<{p}count>[0-9]+)\n")
_HEAD = (r"Crafting plot [0-9]+ out of (?P<{p}crafting>[0-9]+)\nProcess ID: " + _REST
         + r"Number of Threads: (?P<{p}threads>[0-9]+)\nNumber of Buckets P1: +2\^[0-9]+ \((?P<{p}b1>[0-9]+)\)\n"
         r"Number of Buckets P3\+P4: +2\^[0-9]+ \((?P<{p}b3>[0-9]+)\)\nPool " + _REST + r"Farmer Public Key: " + _REST
         + r"Working Directory: (?P<{p}tmp>[^\n]*)\nWorking Directory 2: (?P<{p}tmp2>[^\n]*)\n"
         r"Plot Name: (?P<{p}named>" + _NAME_AT + r")(?![^\n])")


def _run(prefix, *parts):
    """The pattern of runs of a plot from `parts` on (each run taken where it follows), the groups prefixed; the
    empty group closing it names it (the match's lastgroup)."""
    pattern = ""
    for part in reversed(parts[1:]):
        pattern = r"(?:(?P<{p}%s>\n%s%s)|)" % (part, _PARTS[part], pattern)
    return (_PARTS[parts[0]] + pattern + r"(?P<{p}run>)").format(p=prefix)


_PARTS = {"start": _HEAD_START + _HEAD, "head": _HEAD, "p1": _P1_RUN, "p24": _P24_RUN}
# Four alternatives, each starting with a literal (sre skips one at a line that starts otherwise in a few
# instructions): from the header's first line, from `Crafting plot` (a later plot of the log), from phase 1, from
# phase 2.
RUNS = "|".join((_run("a_", "start", "p1", "p24"), _run("b_", "head", "p1", "p24"), _run("c_", "p1", "p24"),
                 _run("d_", "p24")))
_RUN_KINDS = {"a_run": "a_", "b_run": "b_", "c_run": "c_", "d_run": "d_"}
_SELECT = (
    r"\n(?:(?P<step>%s)"
    r"|(?P<bracket>\[[^\n]*)|(?P<took>Phase (?P<took_n>[1-4]) took (?P<took_s>[0-9.]+) sec[^\n]*)"
    r"|(?P<dir>(?P<dir_key>Final Directory|Working Directory|Working Directory 2): (?P<dir_value>[^\n]*))"
    r"|Number of (?:Threads: (?P<threads>[0-9]+)|Plots: (?P<plots>[0-9]+)"
    r"|Buckets (?P<buckets_p3>P1|P3\+P4): +2\^[0-9]+ \((?P<buckets>[0-9]+)\))(?![^\n])"
    r"|Multi-threaded pipelined Chia k(?P<k>[0-9]+) [^\n]*"
    r"|Crafting plot [0-9]+ out of (?P<crafting>[0-9]+)(?![^\n])"
    r"|Plot Name: (?P<named>%s)(?![^\n])"
    r"|(?P<total>Total plot creation time was (?P<total_s>[0-9.]+) sec[^\n]*)"
    r"|(?P<phase>Phase [^\n]*)|(?P<name>Plot Name: [^\n]*)"
    r"|(?P<generic_crafting>Crafting plot [^\n]*)|(?P<generic_total>Total plot creation time was[^\n]*)"
    r"|(?P<renamed>Renamed final plot to [^\n]*)|(?P<copy>Copy to [^\n]*)|(?P<started>Started copy to [^\n]*)"
    r"|(?P<header>(?:Multi-threaded pipelined Chia k|Number of "
    r"|[^\S\n]*(?:Final Directory|Working Directory|Number of Threads))[^\n]*)"
    r"|(?P<line>(?:%s)[^\n]*))" % (_STEP_KEYS, _NAME, model.TS_START))
_LINES_RE = re.compile(_SELECT)   # the lines one by one (a run in another shape)
_SELECT_RE = re.compile(r"\n(?:" + RUNS + "|" + _SELECT[len(r"\n(?:"):])
_HEADER = {
    "Final Directory:": "dst_dir",
    "Working Directory:": "tmp_dir",
    "Working Directory 2:": "tmp2_dir",
    "Number of Threads:": "threads",
}


def _seconds(line):
    m = _SECONDS_RE.search(line)
    return float(m.group(1)) if m else None


_C2_WRITTEN = "set_sub 0.5"   # `[P4] Finished writing C2`: half of 4:2
_HEADER_WRITTEN = (3, 1, 0.0)
_P1_DONE = (1, 7, 1.0)   # `[P1] Table 7 took`
_P4_DONE = (5, 0, 0.0)   # `Phase 4 took`: where it moves to
_STEPS = {}   # step line start (a _STEP_KEYS match) -> (phase, minor, sub), as _step_of gives it, or None


def _step_of(line):
    """What a `[...]` line sets: (phase, minor, sub) for set_step, _C2_WRITTEN, or None (nothing)."""
    m = _TABLE_RE.match(line)
    if m:
        phase, part, table, what = int(m.group(1)), m.group(2), int(m.group(3)), m.group(4)
        if phase == 1:
            return (1, 7, 1.0) if table >= 7 else (1, table + 1, 0.0)
        if phase == 2:
            if what == "scan":
                return 2, max(1, min(8 - table, 6)), 0.5
            return 2, max(2, min(9 - table, 7)), 0.0
        if phase == 3:
            pair = max(1, min(table - 1, 6))
            if part == "1":
                return 3, pair, 0.5
            return (3, 6, 1.0) if table >= 7 else (3, pair + 1, 0.0)
        return None
    if line.startswith("[P2] max_table_size"):
        return 2, 1, 0.0
    if line.startswith("[P4] Starting to write C1"):
        return 4, 1, 0.0
    if line.startswith("[P4] Writing C2"):
        return 4, 2, 0.0
    if line.startswith("[P4] Finished writing C2"):
        return _C2_WRITTEN
    return None


def _step_entry(key):
    """_STEPS[key], computed once (keys are bounded: _STEP_KEYS allows at most ~12,000)."""
    step = _HEADER_WRITTEN if key == "Wrote plot header" else _step_of(key)
    _STEPS[key] = step
    return step


class MadmaxParser(model.LogParser):
    plotter = "madmax"
    FINAL_STEP = "5:2"
    SELECT = _SELECT_RE

    def _line(self, line):
        if line[0] == "[":
            self._bracket_line(line)
        elif line.startswith("Phase "):
            self._phase_took(line)
        elif line.startswith("Plot Name: "):
            self._name_line(line)
        elif line.startswith("Crafting plot "):
            self._crafting(line)
        elif line.startswith("Total plot creation time was"):
            self._total(line)
        elif line.startswith("Renamed final plot to "):
            self._renamed_line(line)
        elif line.startswith("Copy to "):
            self._copy_line(line)
        elif line.startswith("Started copy to "):
            self._started_copy_line(line)
        elif line.startswith("Wrote plot header"):
            plot = self.current
            if plot is not None:
                self.set_step(plot, *_HEADER_WRITTEN)
        else:
            self._header(line)

    def _bracket_line(self, line):
        plot = self.current
        if plot is not None:
            self._bracket(plot, line)

    def _name_line(self, line):
        self._plot_name(line[11:].strip())

    def _renamed_line(self, line):
        self._copied(line[22:].strip(), None)

    def _copy_line(self, line):
        m = _COPY_DONE_RE.match(line)
        if m:
            self._copied(m.group(1).strip(), float(m.group(2)))
        else:  # `Copy to X failed ...`: madMAx retries; keep the plot copying with a warning
            plot = self._by_name(line[8:].split(" ", 1)[0]) or self.current
            if plot is not None:
                plot["warning"] = line.strip()

    def _started_copy_line(self, line):
        plot = self._by_name(line[16:].strip()) or self.current
        if plot is not None:
            self.set_step(plot, 5, 1, 0.1)

    # -- header ------------------------------------------------------------------------------------
    def _header(self, line):
        if line.startswith("Multi-threaded pipelined Chia k"):
            try:
                self.ctx["k"] = int(line[31:].split(None, 1)[0])
            except (IndexError, ValueError):
                pass
            return
        if line.startswith("Number of Plots:"):
            try:
                self.ctx["count"] = int(line.split(":", 1)[1])
            except ValueError:
                self.ctx["count"] = None  # "infinite" (-n -1)
            return
        if line.startswith("Number of Buckets"):
            if "P3" in line.split(":", 1)[0] and self.ctx.get("buckets"):
                return  # keep the P1 bucket count
            try:
                self.ctx["buckets"] = int(line.rsplit("(", 1)[1].rstrip(")"))
            except (IndexError, ValueError):
                pass
            self._apply_header()
            return
        key, sep, value = line.partition(": ")
        field = _HEADER.get(key.strip() + ":") if sep else None
        if field:
            value = value.strip()
            if field == "threads":
                try:
                    value = int(value)
                except ValueError:
                    return
            else:
                value = model.strip_dir(value)
            self.ctx[field] = value
            self._apply_header()

    def _apply_header(self):
        plot = self.current
        if plot is not None and plot["phase"] == 0:
            self._inherit(plot)

    def _inherit(self, plot):
        ctx = self.ctx
        for field in ("dst_dir", "tmp_dir", "tmp2_dir", "threads", "buckets"):
            if ctx.get(field) is not None:
                plot[field] = ctx[field]
        if plot["k"] is None:
            plot["k"] = ctx.get("k")

    def _crafting(self, line):
        parts = line.split()
        count = self.ctx.get("count")
        try:
            count = int(parts[-1])
        except (IndexError, ValueError):
            pass
        plot = self.start_plot(count)
        self._inherit(plot)

    def _plot_name(self, name):
        plot = self.current
        if plot is None or plot["plot_name"]:
            plot = self.start_plot(self.ctx.get("count"))
        self._inherit(plot)
        plot["plot_name"] = name + ".plot"
        info = model.plot_name_info(name)
        if info:
            plot["k"], plot["started_ts"], plot["id"] = info
        self.set_step(plot, 1, 1)

    # -- progress ----------------------------------------------------------------------------------
    def _bracket(self, plot, line):
        step = _step_of(line)
        if step is _C2_WRITTEN:
            self.set_sub(plot, 0.5)
        elif step is not None:
            self.set_step(plot, *step)

    def _scan(self, text, start, end, select=_SELECT_RE):
        """_line of each selected line; a run of step lines (_STEP_KEYS) of one plot costs one set_step: the
        highest (phase, minor, sub) of the run, which is where set_step of each line in turn ends (it never
        moves back; at the same step it keeps the highest sub; progress is monotonic in the step and sub).
        The header lines in madMAx's spelling are read here, not by a method each (_dir_match, _threads_match,
        _plots_match, _buckets_match, _k_match, _crafting_match do the same): on a cold call each distinct
        function costs more than its work (BENCHMARKS.md, parser round 6)."""
        plots = self.plots
        plot = plots[-1] if plots else None
        ctx = self.ctx
        best = None
        for match in select.finditer(text, start, end):
            kind = match.lastgroup
            prefix = _RUN_KINDS.get(kind)
            if prefix is not None:   # RUNS: a plot's runs in their usual shape
                if best is not None:
                    self.set_step(plot, *best)
                    best = None
                if prefix == "a_" or prefix == "b_":   # the header
                    if prefix == "a_":
                        if plot is not None and plot["phase"] == 0:   # `Final Directory` goes to that plot too
                            self._scan(text, match.start(), match.end(), _LINES_RE)
                            plot = plots[-1] if plots else None
                            continue
                        ctx["k"] = int(match.group("a_k"))
                        value = match.group("a_dst").strip()
                        ctx["dst_dir"] = value.rstrip("/") or "/" if len(value) > 1 else value   # model.strip_dir
                        ctx["count"] = int(match.group("a_count"))
                    plot = self.start_plot(int(match.group(prefix + "crafting")))
                    # the lines up to `Plot Name`, each _inherit of them but the last (_named_match's) left out:
                    # ctx only gains values, and the plot's k is the name's
                    ctx["threads"] = int(match.group(prefix + "threads"))
                    ctx["buckets"] = int(match.group(prefix + "b1"))
                    if not ctx["buckets"]:   # else the P3+P4 line keeps the P1 count
                        ctx["buckets"] = int(match.group(prefix + "b3"))
                    for field, group in (("tmp_dir", "tmp"), ("tmp2_dir", "tmp2")):
                        value = match.group(prefix + group).strip()
                        ctx[field] = value.rstrip("/") or "/" if len(value) > 1 else value   # model.strip_dir
                    self._inherit(plot)   # _named_match, the plot being new
                    plot["plot_name"] = match.group(prefix + "named") + ".plot"
                    k, year, month, day, hour, minute, plot["id"] = match.group(
                        prefix + "name_k", prefix + "name_y", prefix + "name_mo", prefix + "name_d",
                        prefix + "name_h", prefix + "name_mi", prefix + "name_id")
                    plot["k"] = int(k)
                    plot["started_ts"] = model.local_epoch(
                        int(year), int(month), int(day), int(hour), int(minute), 0)
                    self.set_step(plot, 1, 1)
                    if match.start(prefix + "p1") < 0:
                        continue
                elif plot is None:
                    continue   # nothing in phase runs changes anything before a plot
                if prefix != "d_":   # phase 1: the run's highest step (1:7 done), then `Phase 1 took` (_took_match)
                    self.set_step(plot, *_P1_DONE)
                    plot["phase_seconds"]["1"] = float(match.group(prefix + "1"))
                    if plot["phase"] != 1 or plot["step"] != "1:7" or "retry_error" in ctx:
                        self.set_sub(plot, 1.0)   # else it changes nothing: set_step(1, 7, 1.0) has done it
                    run = match.start(prefix + "p24")
                    if run < 0:
                        continue
                else:
                    run = match.start()
                if plot["phase"] < 3 and "retry_error" not in ctx:
                    # `Phase 2 took` and `Phase 3 took` fold (their phase is ahead of the plot and of the run's
                    # steps), `[P4] Finished writing C2` sets 4:2 and its sub, `Phase 4 took` folds into 5:0:
                    # what is left is the phase times and 5:0 as the run's step (the 4:2 and its sub are below it)
                    seconds = plot["phase_seconds"]
                    # not a generator expression: a function and a generator made and run, first used in a cold call
                    two, three, four = match.group(prefix + "2", prefix + "3", prefix + "4")
                    seconds["2"], seconds["3"], seconds["4"] = float(two), float(three), float(four)
                    best = _P4_DONE
                else:   # a plot further on, or in a retried error: the lines one by one
                    self._scan(text, run, match.end(), _LINES_RE)
                continue
            if kind == "step":
                step = _STEPS.get(match.group(kind), False)
                if step is False:
                    step = _step_entry(match.group(kind))
                if step is _C2_WRITTEN:   # `[P4] Finished writing C2` (_bracket): set_sub(0.5) after the run so far
                    if plot is not None:
                        if best is not None:
                            self.set_step(plot, *best)
                            best = None
                        self.set_sub(plot, 0.5)
                elif step is not None and plot is not None and (best is None or step > best):
                    best = step
                continue
            if kind == "took" and plot is not None:
                phase, seconds = match.group("took_n", "took_s")
                nxt = int(phase) + 1
                if nxt > 2 and nxt > plot["phase"] and (best is None or nxt > best[0]):
                    # _phase_took: set_sub(1.0), then set_step(nxt, 0) moves on, so only the latter counts
                    plot["phase_seconds"][phase] = float(seconds)
                    best = (nxt, 0, 0.0)
                    continue
            if best is not None:
                self.set_step(plot, *best)
                best = None
            if kind == "dir":   # _dir_match
                value = match.group("dir_value").strip()
                if len(value) > 1:   # model.strip_dir
                    value = value.rstrip("/") or "/"
                ctx[_HEADER[match.group("dir_key") + ":"]] = value
            elif kind == "threads":   # _threads_match
                ctx["threads"] = int(match.group("threads"))
            elif kind == "buckets":   # _buckets_match
                if match.group("buckets_p3") != "P1" and ctx.get("buckets"):
                    continue   # keep the P1 bucket count
                ctx["buckets"] = int(match.group("buckets"))
            elif kind == "plots":   # _plots_match
                ctx["count"] = int(match.group("plots"))
                continue
            elif kind == "k":   # _k_match
                ctx["k"] = int(match.group("k"))
                continue
            elif kind == "crafting":   # _crafting_match
                plot = self.start_plot(int(match.group("crafting")))
            elif kind == "total":   # _total_match
                if plot is not None:
                    self._total_at(plot, float(match.group("total_s")))
                continue
            elif kind == "started" or kind == "renamed" or kind == "copy":   # their _line methods, no lambda
                _LINE_METHODS[kind](self, match.group(kind))
                plot = plots[-1] if plots else None
                continue
            else:
                _BRANCHES[kind](self, match)
                plot = plots[-1] if plots else None
                continue
            if plot is not None and plot["phase"] == 0:   # _apply_header (and _crafting's _inherit)
                self._inherit(plot)
        if best is not None:
            self.set_step(plot, *best)

    # -- the once-a-plot lines as madMAx spells them, their values read by the selector (what _line does) ------
    def _took_match(self, match):
        """`Phase N took S sec` that _scan did not fold (phase 1: it only completes the sub-step)."""
        plot = self.plots[-1] if self.plots else None
        if plot is not None:
            phase = match.group("took_n")
            plot["phase_seconds"][phase] = float(match.group("took_s"))
            self.set_sub(plot, 1.0)
            if phase != "1":
                self.set_step(plot, int(phase) + 1, 0)

    def _dir_match(self, match):
        value = match.group("dir_value").strip()
        if len(value) > 1:   # model.strip_dir
            value = value.rstrip("/") or "/"
        self.ctx[_HEADER[match.group("dir_key") + ":"]] = value
        self._apply_header()

    def _threads_match(self, match):
        self.ctx["threads"] = int(match.group("threads"))
        self._apply_header()

    def _plots_match(self, match):
        self.ctx["count"] = int(match.group("plots"))

    def _buckets_match(self, match):
        if match.group("buckets_p3") != "P1" and self.ctx.get("buckets"):
            return  # keep the P1 bucket count
        self.ctx["buckets"] = int(match.group("buckets"))
        self._apply_header()

    def _k_match(self, match):
        self.ctx["k"] = int(match.group("k"))

    def _crafting_match(self, match):
        self._inherit(self.start_plot(int(match.group("crafting"))))

    def _named_match(self, match):
        """`Plot Name: plot-k32-...`: _plot_name, the name's fields read by the selector (model.plot_name_info)."""
        plot = self.plots[-1] if self.plots else None
        if plot is None or plot["plot_name"]:
            plot = self.start_plot(self.ctx.get("count"))
        self._inherit(plot)
        plot["plot_name"] = match.group("named") + ".plot"
        k, year, month, day, hour, minute, plot_id = match.group(
            "name_k", "name_y", "name_mo", "name_d", "name_h", "name_mi", "name_id")
        plot["k"] = int(k)
        plot["started_ts"] = model.local_epoch(int(year), int(month), int(day), int(hour), int(minute), 0)
        plot["id"] = plot_id
        self.set_step(plot, 1, 1)

    def _total_match(self, match):
        plot = self.plots[-1] if self.plots else None
        if plot is not None:
            self._total_at(plot, float(match.group("total_s")))

    def _phase_took(self, line):
        plot = self.current
        if plot is None:
            return
        try:
            phase = int(line[6])
        except (IndexError, ValueError):
            return
        seconds = _seconds(line)
        if seconds is not None:
            plot["phase_seconds"][str(phase)] = seconds
        self.set_sub(plot, 1.0)
        if 1 < phase < 5:   # plotman moves on from phase 1 at `[P2] max_table_size`; no phase 6 (was a KeyError)
            self.set_step(plot, phase + 1, 0)

    def _total(self, line):
        plot = self.current
        if plot is not None:
            self._total_at(plot, _seconds(line.replace(" was ", " took ", 1)))

    def _total_at(self, plot, seconds):
        plot["total_seconds"] = seconds
        self.set_step(plot, 5, 0)
        dst, tmp2 = plot["dst_dir"], plot["tmp2_dir"] or plot["tmp_dir"]
        name = plot["plot_name"]
        if dst and tmp2 and name and (dst == tmp2 or _same_dir(dst, tmp2)):
            # posixpath.join(dst, name) for a relative name and a dst without a trailing slash (the usual case)
            self.finish(plot, dst + "/" + name if name[0] != "/" and dst[-1] != "/" else os.path.join(dst, name))

    def _by_name(self, path):
        path = path.strip()
        name = path[path.rfind("/") + 1:]   # os.path.basename (posixpath: the workers are Linux/macOS)
        for plot in reversed(self.plots):
            if plot["plot_name"] == name:
                return plot
        return None

    def _copied(self, path, seconds):
        plot = self._by_name(path)
        if plot is None:  # unknown name: the oldest plot still copying
            plot = next((p for p in self.plots if p["state"] == "copying"), None)
        if plot is None:
            return
        if seconds is not None:
            plot["copy_seconds"] = seconds
        self.finish(plot, path)


def _same_dir(one, other):
    """os.path.normpath(one) == os.path.normpath(other), without normpath where both are already normal."""
    if one == other:
        return True
    if _normal(one) and _normal(other):
        return False
    return os.path.normpath(one) == os.path.normpath(other)


def _normal(path):
    """True where os.path.normpath(path) == path for sure: no empty, `.` or `..` part, no trailing slash."""
    return path[:1] != "." and path[-1:] != "/" and "//" not in path and "/." not in path


def _on_line(method, group):
    """A _BRANCHES entry for a _line branch: the method on the group's text."""
    return lambda parser, match: method(parser, match.group(group))


# _SELECT_RE's groups -> what _line does for such a line (a method of the parser and the match)
_BRANCHES = {"took": MadmaxParser._took_match, "dir": MadmaxParser._dir_match,
             "threads": MadmaxParser._threads_match, "plots": MadmaxParser._plots_match,
             "buckets": MadmaxParser._buckets_match, "k": MadmaxParser._k_match,
             "crafting": MadmaxParser._crafting_match, "named": MadmaxParser._named_match,
             "total": MadmaxParser._total_match}
# The lines _scan hands to their _line method itself (no _BRANCHES lambda: a frame less on each one's cold call).
_LINE_METHODS = {"started": MadmaxParser._started_copy_line, "renamed": MadmaxParser._renamed_line,
                 "copy": MadmaxParser._copy_line}
for _group, _method in (("bracket", MadmaxParser._bracket_line), ("phase", MadmaxParser._phase_took),
                        ("name", MadmaxParser._name_line), ("generic_crafting", MadmaxParser._crafting),
                        ("generic_total", MadmaxParser._total), ("renamed", MadmaxParser._renamed_line),
                        ("copy", MadmaxParser._copy_line), ("started", MadmaxParser._started_copy_line),
                        ("header", MadmaxParser._header), ("line", MadmaxParser._selected)):
    _BRANCHES[_group] = _on_line(_method, _group)
