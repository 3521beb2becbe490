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

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

__metaclass__ = type

_TABLE_RE = re.compile(r"\[P(\d)(?:-(\d))?\] Table (\d+) (scan|rewrite|took)")
_SECONDS_RE = re.compile(r"took ([0-9.]+) sec")
_COPY_DONE_RE = re.compile(r"^Copy to (.*) finished, took ([0-9.]+) sec")
# The lines _line can act on, for block scanning (the rest: keys, network port, table sizes...), one group
# per branch of _line, so _scan calls the branch's method itself (_BRANCHES); `line`: a timestamp prefix
# (_line after strip_ts). The lines that only move the step (_STEP_KEYS: most of a log) come first, read
# by _scan itself: their start is the key of the step they set (_step_of), and the match ends there (the
# search skips the rest of the line faster than `[^\n]*` reads it); other spellings are `bracket`. `took`:
# `Phase 2..4 took S sec` with its numbers, which _scan folds into the step it moves to where it can.
_STEP_KEYS = (r"\[P[1-3](?:-[12])?\] Table [0-9]{1,3} (?:scan|rewrite|took)|\[P2\] max_table_size"
              r"|\[P4\] (?:Starting to write C1|Writing C2|Finished writing C1)|Wrote plot header")
_SELECT_RE = re.compile(
    r"\n(?:(?P<step>%s)"
    r"|(?P<bracket>\[[^\n]*)|(?P<took>Phase (?P<took_n>[2-4]) took (?P<took_s>[0-9.]+) sec[^\n]*)"
    r"|(?P<phase>Phase [^\n]*)|(?P<name>Plot Name: [^\n]*)"
    r"|(?P<crafting>Crafting plot [^\n]*)|(?P<total>Total plot creation time was[^\n]*)"
    r"|(?P<renamed>Renamed final plot to [^\n]*)|(?P<copy>Copy to [^\n]*)|(?P<started>Started copy to [^\n]*)"
    r"|(?P<header>(?:Multi-threaded pipelined Chia k|Number of "
    r"|[^\S\n]*(?:Final Directory|Working Directory|Number of Threads))[^\n]*)"
    r"|(?P<line>(?:%s)[^\n]*))" % (_STEP_KEYS, model.TS_START))
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

    def _scan(self, text, start, end):
        """_line of each selected line; a run of step lines (_STEP_KEYS) of one plot costs one set_step: the
        highest (phase, minor, sub) of the run, which is where set_step of each line in turn ends (it never
        moves back; at the same step it keeps the highest sub; progress is monotonic in the step and sub)."""
        plots = self.plots
        plot = plots[-1] if plots else None
        best = None
        for match in _SELECT_RE.finditer(text, start, end):
            kind = match.lastgroup
            if kind == "step":
                step = _STEPS.get(match.group(kind), False)
                if step is False:
                    step = _step_entry(match.group(kind))
                if step is not None and plot is not None and (best is None or step > best):
                    best = step
                continue
            if kind == "took" and plot is not None:
                phase, seconds = match.group("took_n", "took_s")
                nxt = int(phase) + 1
                if nxt > plot["phase"] and (best is None or nxt > best[0]):
                    # _phase_took: set_sub(1.0), then set_step(nxt, 0) moves on, so only the latter counts
                    plot["phase_seconds"][phase] = float(seconds)
                    best = (nxt, 0, 0.0)
                    continue
            if best is not None:
                self.set_step(plot, *best)
                best = None
            _BRANCHES[kind](self, match.group(kind))
            plot = plots[-1] if plots else None
        if best is not None:
            self.set_step(plot, *best)

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
        if plot is None:
            return
        plot["total_seconds"] = _seconds(line.replace(" was ", " took ", 1))
        self.set_step(plot, 5, 0)
        dst, tmp2 = plot["dst_dir"], plot["tmp2_dir"] or plot["tmp_dir"]
        if dst and tmp2 and os.path.normpath(dst) == os.path.normpath(tmp2) and plot["plot_name"]:
            self.finish(plot, os.path.join(dst, plot["plot_name"]))

    def _by_name(self, path):
        name = os.path.basename(path.strip())
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


# _SELECT_RE's groups -> the method _line runs for such a line
_BRANCHES = {"bracket": MadmaxParser._bracket_line, "phase": MadmaxParser._phase_took, "took": MadmaxParser._phase_took,
             "name": MadmaxParser._name_line, "crafting": MadmaxParser._crafting, "total": MadmaxParser._total,
             "renamed": MadmaxParser._renamed_line, "copy": MadmaxParser._copy_line,
             "started": MadmaxParser._started_copy_line, "header": MadmaxParser._header,
             "line": MadmaxParser._selected}
