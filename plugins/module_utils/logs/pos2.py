# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parser for the logs of plotfleet's PoS2 driver (pos2_driver.py: chia_rs makes `.plot2` plots).

chia_rs prints nothing while it plots, so the step grid is coarse: `Starting plot i/N at <date>`
opens plot i (0:0); `Writing <tmp file>` -> 1:1 (plotting, tmp dir known); `Plotted in S seconds`
-> 5:0 (copying: the copy to the final dir and/or the rename); `Copied in S seconds` sets
copy_seconds; `Plot i/N done in S seconds: <file>` -> finished 5:1 with its plot_file.
`plotfleet-pos2: plot i/N failed: <error>` fails plot i (the driver stops there).
"""

from __future__ import absolute_import, division, print_function

import os
import re

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

__metaclass__ = type

_HEADER_RE = re.compile(r"^plotfleet-pos2: chia_rs \S+, k (\d+), strength (\d+), (\d+) plot\(s\), "
                        r"tmp (.*), final (.*)$")
_START_RE = re.compile(r"^Starting plot (\d+)/(\d+)")
_ID_RE = re.compile(r"^ID: ([0-9a-fA-F]{64})\s*$")
_NAME_RE = re.compile(r"^Plot name: (plot-k(\d+)-[0-9a-f]{64}\.plot2)\s*$")
_WRITING_RE = re.compile(r"^Writing (.*\.plot2\.tmp) \(k \d+, strength \d+\)$")
_PLOTTED_RE = re.compile(r"^Plotted in ([0-9.]+) seconds")
_COPIED_RE = re.compile(r"^Copied in ([0-9.]+) seconds")
_DONE_RE = re.compile(r"^Plot (\d+)/(\d+) done in ([0-9.]+) seconds: (.*\.plot2)$")
_FAILED_RE = re.compile(r"^plotfleet-pos2: plot (\d+)/(\d+) failed: (.*)$")


class Pos2Parser(model.LogParser):
    plotter = "pos2"

    def _line(self, line):
        for pattern, handler in self._HANDLERS:
            match = pattern.match(line)
            if match:
                handler(self, match, line)
                return

    def _header(self, match, line):
        self.ctx.update(k=int(match.group(1)), count=int(match.group(3)),
                        tmp_dir=model.strip_dir(match.group(4)), dst_dir=model.strip_dir(match.group(5)))

    def _start(self, match, line):
        plot = self.start_plot(count=int(match.group(2)))
        plot["index"] = int(match.group(1))
        plot["k"] = self.ctx.get("k")
        plot["tmp_dir"] = plot["tmp2_dir"] = self.ctx.get("tmp_dir")
        plot["dst_dir"] = self.ctx.get("dst_dir")
        plot["started_ts"] = model.parse_date(line)

    def _id(self, match, line):
        self.ensure_plot()["id"] = match.group(1).lower()

    def _name(self, match, line):
        plot = self.ensure_plot()
        plot["plot_name"] = match.group(1)
        plot["k"] = int(match.group(2))

    def _writing(self, match, line):
        plot = self.ensure_plot()
        plot["tmp_dir"] = plot["tmp2_dir"] = model.strip_dir(os.path.dirname(match.group(1))) or plot["tmp_dir"]
        self.set_step(plot, 1, 1)

    def _plotted(self, match, line):
        plot = self.ensure_plot()
        plot["phase_seconds"]["1"] = float(match.group(1))
        self.set_step(plot, 5, 0)

    def _copied(self, match, line):
        self.ensure_plot()["copy_seconds"] = float(match.group(1))

    def _done(self, match, line):
        plot = self._plot_numbered(int(match.group(1)))
        total = float(match.group(3))
        plot["total_seconds"] = total - (plot["copy_seconds"] or 0.0)
        self.finish(plot, plot_file=match.group(4))
        plot["dst_dir"] = model.strip_dir(os.path.dirname(match.group(4))) or plot["dst_dir"]

    def _failed(self, match, line):
        self.fail(self._plot_numbered(int(match.group(1))), match.group(3))

    def _plot_numbered(self, index):
        """The plot the driver numbers `index` (a line names its plot), else the current one."""
        for plot in reversed(self.plots):
            if plot["index"] == index:
                return plot
        return self.ensure_plot()

    _HANDLERS = (
        (_HEADER_RE, _header), (_START_RE, _start), (_ID_RE, _id), (_NAME_RE, _name),
        (_WRITING_RE, _writing), (_PLOTTED_RE, _plotted), (_COPIED_RE, _copied), (_DONE_RE, _done),
        (_FAILED_RE, _failed),
    )
