# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side: the report document (fleet_report.build_report) as one self-contained HTML page.

Rendered with ansible-core's own Jinja2 (autoescaped); charts are inline SVG from fleet_svg; no
script, no external file, no network. The element ids (summary, running, timeline, per-day, phases,
transfers, disks, replot, hosts-failed) are stable: tests and users' scrapers find the sections by them.
"""

from __future__ import absolute_import, division, print_function

import os
import time

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader
from markupsafe import Markup

from ansible_collections.plotfleet.chia.plugins.plugin_utils import fleet_replot
from ansible_collections.plotfleet.chia.plugins.plugin_utils import fleet_svg as svg
from ansible_collections.plotfleet.chia.plugins.plugin_utils.fleet_analyze_text import rate_text
from ansible_collections.plotfleet.chia.plugins.plugin_utils.fleet_table import duration, size

__metaclass__ = type

# The page: fleet_report.html.j2 beside this file (HTML is easier to read there than in a string).
TEMPLATE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fleet_report.html.j2")


def _tib(num, unit=None):
    if num is None:
        return "-"
    if unit == "TiB":
        return "%.2f TiB" % (float(num) / 2 ** 40) if num >= 2 ** 38 else size(num)
    return size(num)


def _pct(fraction):
    return "-" if fraction is None else "%.1f%%" % (100.0 * float(fraction))


def _fraction(transfer):
    total = transfer.get("bytes_total") or 0
    return float(transfer.get("bytes_done") or 0) / total if total else 0.0


def _charts(report):
    hosts = [h["name"] for h in report["hosts"]]
    analysis = report["analysis"]
    return {
        "timeline": Markup(svg.timeline(report["timeline"], hosts, report["generated"])),
        "legend": Markup(svg.legend([(svg.PHASE_COLOURS[p], "phase %s" % p if p != "5" else "copy")
                                     for p in sorted(svg.PHASE_COLOURS)])),
        "host_legend": Markup(svg.legend([(svg.HOST_COLOURS[i % len(svg.HOST_COLOURS)], name)
                                          for i, name in enumerate(hosts)])),
        "per_day": Markup(svg.per_day(analysis["per_day"], hosts)),
        "phases": Markup(svg.phase_boxes(analysis["groups"])),
        "disk_legend": Markup(svg.legend([(c, label) for _, c, label in svg.DISK_PARTS]
                                         + [("#bab0ac", "other used"), ("#e8e8e8", "free")])),
    }


def _replot_context(report):
    """The replot section's rows (empty with replot off: the section is left out)."""
    hosts = report.get("hosts") or []
    return {"replot_dirs": fleet_replot.replot_dirs(hosts), "replot_recent": fleet_replot.recent(hosts),
            "replot_unfinished": fleet_replot.unfinished(hosts),
            "replot_bar": lambda r: Markup(svg.replot_bar(r)),
            "eta": lambda s: "done" if s == 0 else duration(s)}


def _template():
    """The page's template, its compiled code from Jinja's bytecode cache when it is usable: compiling it took
    ~40 % of a pass's report (every pass runs in a new process). The cache is Jinja's default one, a dir of the
    user's own (mode 0700, owner checked by Jinja); keyed by the template's source, so an edit recompiles."""
    loader = FileSystemLoader(os.path.dirname(TEMPLATE_PATH))
    try:
        cache = FileSystemBytecodeCache()
    except (OSError, RuntimeError):   # no safe cache dir: compile every time
        cache = None
    env = Environment(autoescape=True, loader=loader, bytecode_cache=cache)
    return env.get_template(os.path.basename(TEMPLATE_PATH))


def render(report, json_name="report.json"):
    template = _template()
    context = dict(_charts(report), r=report, s=report["summary"], a=report["analysis"], json_name=json_name,
                   running_transfers=[t for t in report["transfers"] if t.get("state") == "running"],
                   local=lambda ts: time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)),
                   dur=duration, size=_tib, pct=_pct, frac=_fraction,
                   rate=rate_text,   # plots/day with its window, as analyze prints it
                   progress=lambda f: Markup(svg.progress(f)), disk=lambda d: Markup(svg.disk_bar(d)),
                   **_replot_context(report))
    return template.render(context)
