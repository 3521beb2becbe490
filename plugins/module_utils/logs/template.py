# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parser for the logs of `custom` plotters (plot_start's plotter.custom template).

The log describes itself: its first line, written by plotfleet just before it exec()s the plotter,
is `plotfleet-custom: {json}` (name, k, count, dirs, and the template's regexes; custom_plotter.py).
That line opens plot 1 with the job's k and dirs; then each line is tried against the patterns:
- `start`: a new plot begins (also: an `id` line when the current plot already has an id);
- `id`: the plot id (named group `id`, else group 1);
- `phase`: the plot enters phase N (group `phase`, 1..4, 5 = final copy), else the next phase;
- `progress`: the fraction done (group `progress`; a value above 1 is a percentage);
- `finished`: the plot is complete (optional group `file`: its path or name);
- `failed`: the plot failed (optional group `error`; the whole line otherwise).
Without patterns the plot stays `plotting` while the process lives (plot_info tracks the process)
and is `dead` once it is gone. The compiled patterns are rebuilt from the JSON state on resume.
"""

from __future__ import absolute_import, division, print_function

import os
import re

from ansible_collections.plotfleet.chia.plugins.module_utils import custom_plotter
from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

__metaclass__ = type

# A template plotter's phases have unknown lengths: the default (chiapos-like) weights.
WEIGHTS = model.PHASE_WEIGHTS["chiapos"]
_ID_RE = re.compile(r"[0-9a-fA-F]{64}")


def _group(match, name):
    """The named group if the pattern has it, else its first group, else None."""
    if name in match.re.groupindex:
        return match.group(name)
    return match.group(1) if match.re.groups else None


class TemplateParser(model.LogParser):
    plotter = "custom"

    def __init__(self, state=None):
        # model.LogParser.__init__ looks the plotter up in PHASE_WEIGHTS; a template has no entry there.
        self.plots, self.ctx = [], {"sub": 0.0}
        if isinstance(state, dict) and state.get("version") == model.STATE_VERSION and state.get("plotter") == "custom":
            if isinstance(state.get("plots"), list) and isinstance(state.get("ctx"), dict):
                self.plots = [dict(p, phase_seconds=dict(p.get("phase_seconds") or {})) for p in state["plots"]]
                self.ctx = dict(state["ctx"])
        self.weights = WEIGHTS
        self._compiled = None

    @property
    def patterns(self):
        if self._compiled is None:
            self._compiled = []
            for name in custom_plotter.PATTERN_NAMES:
                text = (self.ctx.get("patterns") or {}).get(name)
                if not text:
                    continue
                try:
                    self._compiled.append((name, re.compile(text)))
                except re.error:
                    continue   # plot_start refuses a bad regex; a hand-edited header just loses that pattern
        return self._compiled

    def _line(self, line):
        if "head" not in self.ctx:
            doc = custom_plotter.parse_header(line)
            if doc is not None:
                self._header(doc)
                return
        for name, regex in self.patterns:
            match = regex.search(line)
            if match:
                getattr(self, "_on_" + name)(match, line)

    def _header(self, doc):
        self.ctx["head"] = dict((key, doc.get(key)) for key in ("name", "k", "count", "tmp_dir", "tmp2_dir", "dst_dir"))
        self.ctx["patterns"] = dict((k, v) for k, v in (doc.get("patterns") or {}).items() if isinstance(v, str))
        self._compiled = None
        self._new_plot()

    def _new_plot(self):
        head = self.ctx.get("head") or {}
        previous = self.current
        if previous is not None and previous["state"] == "plotting" and "finished" not in self.ctx["patterns"]:
            self.finish(previous)   # no completion line to wait for: the next plot starting is the sign
        count = head.get("count") if isinstance(head.get("count"), int) else None
        plot = self.start_plot(count=count)
        plot["k"] = head.get("k")
        plot["tmp_dir"] = model.strip_dir(head.get("tmp_dir"))
        plot["tmp2_dir"] = model.strip_dir(head.get("tmp2_dir"))
        plot["dst_dir"] = model.strip_dir(head.get("dst_dir"))
        plot["custom"] = head.get("name")
        return plot

    def _open(self):
        """The plot that new lines are about: the current one; a new one once the current has finished (a
        multi-plot process goes on to its next plot), or for a log without a header."""
        plot = self.current
        if plot is None:
            self.ctx.setdefault("patterns", {})
            plot = self._new_plot()
        elif plot["state"] == "finished":
            plot = self._new_plot()
        return plot

    @staticmethod
    def _untouched(plot):
        return plot["id"] is None and plot["phase"] == 0 and plot["progress"] == 0 and plot["state"] == "plotting"

    def _on_start(self, match, line):
        if not self._untouched(self._open()):
            self._new_plot()

    def _on_id(self, match, line):
        value = _group(match, "id") or ""
        found = _ID_RE.search(value) or _ID_RE.search(line)
        if not found:
            return
        plot = self._open()
        if plot["id"] is not None and plot["id"] != found.group(0).lower():
            plot = self._new_plot()
        plot["id"] = found.group(0).lower()

    def _on_phase(self, match, line):
        plot = self._open()
        value = _group(match, "phase")
        try:
            phase = int(value) if value is not None else plot["phase"] + 1
        except ValueError:
            return
        if 1 <= phase <= 5:
            self.set_step(plot, phase, 0)

    def _on_progress(self, match, line):
        plot = self._open()
        try:
            value = float(_group(match, "progress"))
        except (TypeError, ValueError):
            return
        if value > 1.0:
            value /= 100.0   # a percentage
        self._recover(plot)
        self.bump(plot, max(0.0, value))

    def _on_finished(self, match, line):
        plot = self._open()
        path = (_group(match, "file") or "").strip().strip("\"'")
        if path and not os.path.isabs(path) and plot["dst_dir"]:
            path = os.path.join(plot["dst_dir"], path)
        self.finish(plot, plot_file=path or None)
        found = _ID_RE.search(os.path.basename(path)) if path else None
        if plot["id"] is None and found:
            plot["id"] = found.group(0).lower()   # plot names carry the id (plot-k28-<id>.plot2)

    def _on_failed(self, match, line):
        error = _group(match, "error")
        self.fail(self._open(), (error or line).strip()[:300])
