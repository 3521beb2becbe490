# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parser for BladeBit CUDA logs (`bladebit_cuda ... cudaplot`, BladeBit 3.x).

A file of its own: cudaplot shares only the `Generating plot` line with the RAM/disk plotters
(bladebit.py); its phase, table and write lines are worded differently (`cuda/CudaPlotter.cu`,
`CudaPlotPhase2/3.cu`, `PlotWriter.cpp`, `PlotChecker.cpp`; excerpts in reference/gpu-plotters.md §2.2).

Step grid: `Generating plot i / N: <id>` (or `Generating plot i: <id>` with `-n 0`) starts a plot;
`Plot temporary file: <dir>/<name>.plot.tmp` names it; `Generating F1` -> 1:1, `Finished F1` -> 1:2,
`Table N completed` -> 1:N+1 (table 7 -> 1:7 done); `Completed Phase 1` -> 2:1; `Marked Table N`
-> 2:(8-N) done; `Completed Phase 2` -> 3:1; `Compressing tables N and N+1` -> 3:N, its `Step s
completed` lines a third each, `Completed table N` -> 3:N done; `Completed Phase 3` -> 4:0;
`Completed Plot 1 in` (always "1", whatever the plot's ordinal) -> 5:0, the write (state copying);
`Checking N random proofs` -> half of 5:0. Done: the rename line `<x>.plot.tmp -> <x>.plot`, or
`Completed writing plot in` without one. `WARNING: Deleting plot` (a failed `--check`) fails the
plot; `No space left in plot output directory ... Waiting` is a warning: the plotter retries.
"""

from __future__ import absolute_import, division, print_function

import os
import re

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

__metaclass__ = type

_GEN_RE = re.compile(r"^Generating plot (\d+)(?: / (\d+))?: ([0-9a-fA-F]{64})")
# The step lines, one alternative each (their starts differ, so at most one matches); the group that
# closes last names the handler (_STEP_HANDLERS).
_STEP_LINE_RE = re.compile(
    r"Table (?P<table_done>\d) completed in|Completed Phase (?P<phase_n>\d) in (?P<phase_done>[0-9.]+) seconds"
    r"|Marked Table (?P<marked>\d) in|Compressing [Tt]ables? (?P<compressing>\d) and"
    r"|Step (?P<compress_step>\d) completed step in|Completed table (?P<compressed>\d) in"
    r"|Completed Plot \d+ in (?P<computed>[0-9.]+) seconds")
_WRITTEN_RE = re.compile(r"^Completed writing plot in ([0-9.]+) seconds")
_RENAME_RE = re.compile(r"^(.+\.plot)\.tmp -> (.+\.plot)$")
_COUNT_RE = re.compile(r"^Will create (\d+) plots")
# Optional wrapper prefixes: `[Sep 24 10:50:53] ` (ts), `host bladebit_cuda[4991]: ` (journald, after
# model.clean_line took the date), `STDERR: ` (chia's Python wrapper).
_PREFIX_RE = re.compile(r"^(?:\[[A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d\] |\S+ bladebit\w*\[\d+\]: |STDERR: )")
_FATAL = ("*** Panic", "Fatal Error", "CUDA error", "Failed to write to plot", "*** Crashed",
          "[PlotWriter] Error: Failed to to rename", "[PlotWriter] Error: Failed to rename")
_WARNINGS = ("No space left in plot output directory", "[PlotWriter] Error: Could not rename",
             "[PlotWriter] Retrying", "Error ")
# The lines _line can act on, for block scanning (group 1: the line): a wrapper prefix (a line starting with
# `[`, `STDERR: ` or `<host> bladebit`), a timestamp prefix (the line goes to _line after strip_ts), or text
# (after blanks) starting with one of these; the rest of a log (progress updates, sizes, GPU details) changes
# nothing. The rename line can start anywhere: that alternative (a look at every line to its end) is only in
# the selector of a block that holds one (_scan).
_STARTS = (r"\[|STDERR: |\S+ bladebit|[^\S\n]*(?:Generating |Will create |Completed |\*\*\* |Fatal Error|CUDA error"
           r"|Failed to write to plot|\[PlotWriter\] |Plot temporary file: |No space left in plot output directory"
           r"|Error |WARNING: Deleting plot|Table |Marked Table |Compressing |Step |Finished F1 in|Checking )")
_RENAMED = ".plot.tmp -> "
_SELECT_RE = re.compile(r"\n((?:%s|%s)[^\n]*)" % (_STARTS, model.TS_START))
_SELECT_RENAMED_RE = re.compile(r"\n((?:%s|%s|[^\n]*\.plot\.tmp -> )[^\n]*)" % (_STARTS, model.TS_START))


class BladebitCudaParser(model.LogParser):
    plotter = "bladebit_cuda"
    SELECT = _SELECT_RE

    def _scan(self, text, start, end):
        select = _SELECT_RENAMED_RE if text.find(_RENAMED, start, end) >= 0 else _SELECT_RE
        for match in select.finditer(text, start, end):
            self._selected(match.group(1))

    def _line(self, line):
        if line[:1] == "[" or " bladebit" in line or line[:8] == "STDERR: ":   # else _PREFIX_RE cannot match
            line = _PREFIX_RE.sub("", line, count=1)
        text = line.strip()
        if not text or text.startswith("Progress update:"):
            return
        if text.startswith("Generating plot "):
            self._generating(text)
            return
        m = _COUNT_RE.match(text)
        if m:
            self.ctx["count"] = int(m.group(1)) or None  # -n 0: forever
            return
        plot = self.current
        if plot is None:
            return
        if plot["state"] == "finished":
            self._write_time(plot, text)  # printed after the rename line
            return
        if text.startswith(_FATAL):
            self.fail(plot, text)
        elif plot["state"] == "failed":
            return  # a --check deletion: the rest of this plot's lines change nothing
        elif text.startswith("Plot temporary file: "):
            self._temp_file(plot, text[21:].strip())
        elif text.startswith(_WARNINGS):
            plot["warning"] = text
        elif text.startswith("WARNING: Deleting plot"):
            self.fail(plot, text)
        elif not self._progress(plot, text):
            self._done(plot, text)

    def _generating(self, text):
        m = _GEN_RE.match(text)
        count = self.ctx.get("count")
        if m and m.group(2):
            count = int(m.group(2)) or None
        plot = self.start_plot(count)
        plot["k"] = 32
        if m:
            plot["id"] = m.group(3).lower()

    def _temp_file(self, plot, path):
        name = os.path.basename(path)
        if name.endswith(".tmp"):
            name = name[:-4]
        plot["plot_name"] = name
        plot["dst_dir"] = model.strip_dir(os.path.dirname(path)) or None
        info = model.plot_name_info(name)
        if info:
            plot["k"], plot["started_ts"] = info[0], info[1]

    def _step(self, plot, phase, minor, sub=0.0):
        plot["warning"] = None
        self.set_step(plot, phase, minor, sub)

    def _progress(self, plot, text):
        """Handle a step line of the current plot; False when the line is not one."""
        m = _STEP_LINE_RE.match(text)
        if m:
            _STEP_HANDLERS[m.lastgroup](self, plot, m)
            return True
        if text.startswith("Generating F1"):
            self._step(plot, 1, 1)
        elif text.startswith("Finished F1 in"):
            self._step(plot, 1, 2)
        elif text.startswith("Checking ") and " random proofs" in text:
            self._step(plot, 5, 0, 0.5)
        else:
            return False
        return True

    def _table_done(self, plot, m):
        table = int(m.group("table_done"))
        if table >= 7:
            self._step(plot, 1, 7, 1.0)
        else:
            self._step(plot, 1, table + 1)

    def _phase_done(self, plot, m):
        phase = int(m.group("phase_n"))
        plot["phase_seconds"][m.group("phase_n")] = float(m.group("phase_done"))
        self._step(plot, phase + 1, 1 if phase < 3 else 0)

    def _marked(self, plot, m):
        self._step(plot, 2, max(1, min(8 - int(m.group("marked")), 6)), 1.0)

    def _compressing(self, plot, m):
        self._step(plot, 3, max(1, min(int(m.group("compressing")), 6)))

    def _compress_step(self, plot, m):
        if plot["phase"] == 3:
            self._step(plot, 3, int(plot["step"].split(":")[1]), min(int(m.group("compress_step")), 3) / 3.0)

    def _compressed(self, plot, m):
        self._step(plot, 3, max(1, min(int(m.group("compressed")), 6)), 1.0)

    def _computed(self, plot, m):
        plot["total_seconds"] = float(m.group("computed"))
        self._step(plot, 5, 0)

    def _write_time(self, plot, text):
        m = _WRITTEN_RE.match(text)
        if m and plot["copy_seconds"] is None:
            plot["copy_seconds"] = float(m.group(1))

    def _done(self, plot, text):
        m = _RENAME_RE.match(text)
        if m:
            self.finish(plot, m.group(2).strip())
            return
        m = _WRITTEN_RE.match(text)
        if m and plot["phase"] == 5:
            plot["copy_seconds"] = float(m.group(1))
            path = os.path.join(plot["dst_dir"], plot["plot_name"]) if plot["dst_dir"] and plot["plot_name"] else None
            self.finish(plot, path)


_STEP_HANDLERS = {"table_done": BladebitCudaParser._table_done, "phase_done": BladebitCudaParser._phase_done,
                  "marked": BladebitCudaParser._marked, "compressing": BladebitCudaParser._compressing,
                  "compress_step": BladebitCudaParser._compress_step, "compressed": BladebitCudaParser._compressed,
                  "computed": BladebitCudaParser._computed}
