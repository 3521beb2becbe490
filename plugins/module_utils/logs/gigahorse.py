# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parser for Gigahorse GPU plotter logs (`cuda_plot_kNN`, v2.x and v3; closed source).

Formats: reference/gpu-plotters.md §3.2 (excerpts of gigahorse #3, #9, #109, #120, #287, #301).
Step grid: `Plot Name:` -> 1:1; `[P1] Table N took` -> 1:N+1 (table 7 -> 1:7 done); `Phase 1 took`
-> 2:1; `Phase 2 took` -> 3:1; `[P3] Table N PDSK|LPSK|NSK took` -> 3:(N-1) one third each;
`Phase 3 took` -> 4:0; `Phase 4 took` (v2) -> 4:2 done; `Total plot creation time` -> 5:0 (copying:
the plot now waits in `-t` as `<name>.plot` for the plotter's own copy thread).

The copy of plot i happens while plot i+1 computes, so its lines arrive inside plot i+1's:
`Waiting for disk flush ...` / `Flushing to disk took` carry no name and belong to the oldest plot
not yet flushed; `Started copy to X`, `Copy to X finished|failed with:` and `Renamed final plot to X`
are matched to a plot by file name (X may be `@HOST:<name>.plot` for a chia_plot_sink).
Waiting lines (`All destinations are busy or full`, `Reached maximum number of plots in tmpdir`,
`Waiting for N GiB available space on:`) set `warning` until that plot makes progress again.
"""

from __future__ import absolute_import, division, print_function

import re

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

__metaclass__ = type

_CRAFTING_RE = re.compile(r"^Crafting plot (\d+) out of (-?\d+)(?: \((\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)\))?")
_P1_RE = re.compile(r"^\[P1\] Table (\d) took")
_P3_RE = re.compile(r"^\[P3\] Table (\d) (PDSK|LPSK|NSK) took")
_PHASE_RE = re.compile(r"^Phase (\d) took ([0-9.]+) sec")
_TOTAL_RE = re.compile(r"^Total plot creation time was ([0-9.]+) sec")
_COPY_DONE_RE = re.compile(r"^Copy to (.+?) finished, took ([0-9.]+) sec")
_COPY_FAILED_RE = re.compile(r"^Copy to (.+?) failed with: ")
# Optional wrapper prefixes: `[2023/05/12 17:08:33] ` (some builds), `[Sep 24 10:50:53] ` (ts).
_PREFIX_RE = re.compile(r"^\[(?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d|[A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d)\] ")
_P3_PART = {"PDSK": 1.0 / 3, "LPSK": 2.0 / 3, "NSK": 1.0}
_WAITING = ("All destinations are busy or full", "Reached maximum number of plots in tmpdir",
            "Reached maximum number of total parallel copies", "Waiting for ")
_FATAL = ("terminate called", "Double Ctrl-C pressed")
_HEADER = {"Working Directory": "tmp_dir", "Working Directory 2": "tmp2_dir", "Final Destination": "dst_dir"}
_COPY_SHARE = {"flushing": 0.1, "flushed": 0.2, "copy": 0.3}
# The lines _line can act on, for block scanning (group 1: the line): their text after a wrapper prefix
# (any line starting with `[`) and blanks starts with one of these, or a timestamp prefix comes first (the
# line goes to _line after strip_ts); the rest of a log (keys, table sizes, sort times...) changes nothing.
# A worker thread's failure can be anywhere in a line: that alternative (a look at every line to its end)
# is only in the selector of a block that holds one (_scan).
_STARTS = (r"[^\S\n]*(?:\[|Phase |Plot Name: |Crafting plot |Total plot creation time was|Started copy to |Copy to "
           r"|Renamed final plot to |Waiting for |Flushing to disk took|All destinations are busy or full"
           r"|Reached maximum number of |terminate called|Double Ctrl-C pressed|Number of Plots:"
           r"|Working Directory|Final Destination)")
# The table lines (most of a log) come first, read by _scan itself (`step`: the match ends at `took`, the key
# of the step they set: _step_of); they only move the step of a computing plot, so a run of them folds into
# one set_step at its highest (phase, minor, sub), where set_step of each line in turn ends (it never moves back).
_STEP = r"(?P<step>\[P1\] Table [0-9] took|\[P3\] Table [0-9] (?:PDSK|LPSK|NSK) took)"
_THREAD_FAILED = " thread failed with: "
_SELECT_RE = re.compile(r"\n(?:%s|(?P<line>(?:%s|%s)[^\n]*))" % (_STEP, _STARTS, model.TS_START))
_SELECT_FAILED_RE = re.compile(r"\n(?:%s|(?P<line>(?:%s|%s|[^\n]*%s)[^\n]*))" % (
    _STEP, _STARTS, model.TS_START, _THREAD_FAILED))
_STEPS = {}   # a `step` key -> (phase, minor, sub): what _bracket sets for a line starting so


def _step_of(key):
    """(phase, minor, sub) that _bracket sets for a table line (a `step` key) of a computing plot."""
    table = int(key[11])
    if key[1:3] == "P1":
        return (1, 7, 1.0) if table >= 7 else (1, table + 1, 0.0)
    return 3, max(1, min(table - 1, 6)), _P3_PART[key[13:key.index(" ", 13)]]


def copy_target_name(target):
    """File name of a copy target: `/d/x.plot`, `D:\\d\\x.plot` or `@HOST:x.plot` -> `x.plot`."""
    for sep in ("/", "\\", ":"):
        target = target.rsplit(sep, 1)[-1]
    return target.strip()


class GigahorseParser(model.LogParser):
    plotter = "gigahorse"
    SELECT = _SELECT_RE

    def _scan(self, text, start, end):
        """_line of each selected line; a run of table lines of a computing plot costs one set_step (_STEP)."""
        select = _SELECT_FAILED_RE if text.find(_THREAD_FAILED, start, end) >= 0 else _SELECT_RE
        plot = self._computing()
        best = None
        for match in select.finditer(text, start, end):
            if match.lastgroup == "step":
                if plot is not None:
                    key = match.group("step")
                    step = _STEPS.get(key) or _STEPS.setdefault(key, _step_of(key))
                    if best is None or step > best:
                        best = step
                continue
            if best is not None:
                self._step(plot, *best)
                best = None
            self._selected(match.group("line"))
            plot = self._computing()
        if best is not None:
            self._step(plot, *best)

    def _line(self, line):
        if line[:1] == "[":   # else _PREFIX_RE cannot match
            line = _PREFIX_RE.sub("", line, count=1)
        text = line.strip()
        if not text:
            return
        if text[0] == "[":
            self._bracket(text)
        elif text.startswith("Phase "):
            self._phase_took(text)
        elif text.startswith("Plot Name: "):
            self._plot_name(text[11:].strip())
        elif text.startswith("Crafting plot "):
            self._crafting(text)
        elif text.startswith("Total plot creation time was"):
            self._total(text)
        elif text.startswith(("Started copy to ", "Copy to ", "Renamed final plot to ")):
            self._copy_line(text)
        elif text.startswith(("Waiting for disk flush", "Flushing to disk took")):
            self._flush(text)
        elif text.startswith(_WAITING):
            self._waiting(text)
        elif text.startswith(_FATAL) or " thread failed with: " in text:
            self._fatal(text)
        else:
            self._header(text)

    # -- header and plot start -------------------------------------------------------------------
    def _header(self, text):
        if text.startswith("Number of Plots:"):
            value = text.split(":", 1)[1].strip()
            self.ctx["count"] = int(value) if value.isdigit() and int(value) > 0 else None  # infinite / -1
            return
        key, sep, value = text.partition(":")
        field = _HEADER.get(key.strip()) if sep else None
        if not field:
            return
        value = value.strip()
        if field == "tmp2_dir" and value.startswith("@"):
            value = None  # @RAM: full-RAM mode, no second dir
        elif value:
            value = model.strip_dir(value)
        if field == "dst_dir" and self.ctx.get("dst_dir"):
            return  # several -d: keep the first (plotfleet gives one)
        self.ctx[field] = value
        plot = self.current
        if plot is not None and plot["phase"] == 0:
            plot[field] = value

    def _crafting(self, text):
        m = _CRAFTING_RE.match(text)
        count = self.ctx.get("count")
        if m and int(m.group(2)) > 0:
            count = int(m.group(2))
        elif m:
            count = None
        plot = self.start_plot(count)
        for field in ("tmp_dir", "tmp2_dir", "dst_dir"):
            plot[field] = self.ctx.get(field)
        if m and m.group(3):
            y, mo, d, hh, mi, ss = (int(x) for x in m.groups()[2:])
            plot["started_ts"] = model.local_epoch(y, mo, d, hh, mi, ss)

    def _plot_name(self, name):
        plot = self.current
        if plot is None or plot["plot_name"]:
            plot = self.start_plot(self.ctx.get("count"))
            for field in ("tmp_dir", "tmp2_dir", "dst_dir"):
                plot[field] = self.ctx.get(field)
        plot["plot_name"] = name + ".plot"
        info = model.plot_name_info(name)
        if info:
            plot["k"], started, plot["id"] = info
            plot["started_ts"] = plot["started_ts"] or started
        self._step(plot, 1, 1)

    # -- computing -----------------------------------------------------------------------------
    def _step(self, plot, phase, minor, sub=0.0):
        plot["warning"] = None
        self.set_step(plot, phase, minor, sub)

    def _computing(self):
        """The current plot while it computes (phases 1..4), else None."""
        plot = self.current
        if plot is not None and plot["state"] == "plotting" and 1 <= plot["phase"] <= 4:
            return plot
        return None

    def _bracket(self, text):
        plot = self._computing()
        if plot is None:
            return
        m = _P1_RE.match(text)
        if m:
            table = int(m.group(1))
            if table >= 7:
                self._step(plot, 1, 7, 1.0)
            else:
                self._step(plot, 1, table + 1)
            return
        m = _P3_RE.match(text)
        if m:
            pair = max(1, min(int(m.group(1)) - 1, 6))
            self._step(plot, 3, pair, _P3_PART[m.group(2)])
        elif text.startswith("[P3] Setup took"):
            self._step(plot, 3, 1)

    def _phase_took(self, text):
        plot = self._computing()
        m = _PHASE_RE.match(text)
        if plot is None or not m:
            return
        phase = int(m.group(1))
        plot["phase_seconds"][str(phase)] = float(m.group(2))
        if phase < 3:
            self._step(plot, phase + 1, 1)
        elif phase == 3:
            self._step(plot, 4, 0)
        else:
            self._step(plot, 4, 2, 1.0)

    def _total(self, text):
        plot = self._computing()
        if plot is None:
            return
        m = _TOTAL_RE.match(text)
        if m:
            plot["total_seconds"] = float(m.group(1))
        self._step(plot, 5, 0)
        self.ctx.setdefault("unflushed", []).append(plot["index"])

    # -- flush and copy (lines of an older plot, inside the next plot's) -----------------------
    def _copy_progress(self, plot, share):
        """Phase-5 progress of a plot that may not be the current one (set_step's ctx is the current plot's)."""
        plot["warning"] = None
        if plot["state"] == "failed":
            plot["state"], plot["error"] = "copying", None
        self.bump(plot, sum(self.weights[:4]) + self.weights[4] * share)

    def _flush(self, text):
        pending = self.ctx.get("unflushed") or []
        plot = self.plots[pending[0] - 1] if pending else None
        if plot is None:
            return
        if text.startswith("Flushing to disk took"):
            pending.pop(0)
            self._copy_progress(plot, _COPY_SHARE["flushed"])
        else:
            self._copy_progress(plot, _COPY_SHARE["flushing"])

    def _by_name(self, target):
        name = copy_target_name(target)
        for plot in reversed(self.plots):
            if plot["plot_name"] == name:
                return plot
        return None

    def _copy_line(self, text):
        m = _COPY_DONE_RE.match(text)
        failed = _COPY_FAILED_RE.match(text)
        if text.startswith("Started copy to "):
            plot = self._by_name(text[16:])
            if plot is not None and plot["state"] != "finished":
                self._copy_progress(plot, _COPY_SHARE["copy"])
        elif text.startswith("Renamed final plot to "):
            self._copied(text[22:].strip(), None)
        elif m:
            self._copied(m.group(1).strip(), float(m.group(2)))
        elif failed:  # retried by the plotter (another destination after 60 s, or the same sink)
            plot = self._by_name(failed.group(1))
            if plot is not None and plot["state"] != "finished":
                plot["warning"] = text

    def _copied(self, target, seconds):
        plot = self._by_name(target)
        if plot is None or plot["state"] == "finished":
            return
        if seconds is not None:
            plot["copy_seconds"] = seconds
        remote = target.startswith("@")
        if remote and not plot["dst_dir"]:
            plot["dst_dir"] = target.rsplit(":", 1)[0]
        self.finish(plot, None if remote else target)
        if remote:
            plot["plot_file"] = None  # on the sink's host, not a path on this one

    # -- waiting and errors --------------------------------------------------------------------
    def _waiting(self, text):
        if text.startswith("Waiting for ") and " available space on" not in text:
            return  # "Waiting for disk flush" is handled above; other waits are not back-pressure
        plot = self._waiting_plot(text)
        if plot is not None:
            plot["warning"] = text

    def _waiting_plot(self, text):
        if text.startswith("All destinations are busy"):
            # the oldest plot still waiting for its copy to start
            for plot in self.plots:
                if plot["state"] == "copying" and plot["progress"] < self._copy_floor():
                    return plot
        return self.current

    def _copy_floor(self):
        return round(sum(self.weights[:4]) + self.weights[4] * _COPY_SHARE["copy"], 4)

    def _fatal(self, text):
        plot = self.current
        if plot is None:
            return
        for other in self.plots:
            if other["state"] in ("plotting", "copying"):
                self.fail(other, text)
