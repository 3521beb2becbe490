# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side: the analysis document (fleet_analyze.analyze) as text, like plotman's `analyze`.

One block per (host, tmp dir, plotter, k): plots, plots/day with its window (rate_text), then a line per phase with
mean / median / p90 / n; then one line per storage dir (transfers, time, MB/s, delay from finish
to storage) and the failures by kind per host.
"""

from __future__ import absolute_import, division, print_function

from ansible_collections.plotfleet.chia.plugins.plugin_utils.fleet_analyze import DAY, RATE_MIN_WINDOW_S
from ansible_collections.plotfleet.chia.plugins.plugin_utils.fleet_table import duration

__metaclass__ = type

ROWS = (("1", "phase 1"), ("2", "phase 2"), ("3", "phase 3"), ("4", "phase 4"), ("total", "total"),
        ("copy", "copy"))


def _stat_cells(stat, unit=duration):
    if not stat:
        return "%10s %10s %10s %5s" % ("-", "-", "-", 0)
    return "%10s %10s %10s %5d" % (unit(stat["mean"]), unit(stat["median"]), unit(stat["p90"]), stat["n"])


def rate_text(found):
    """Throughput with its window (fleet_analyze.throughput): `2.0/day (last 24 h)`, `18.0/day (3 in 4h00m)`,
    or under an hour of history only the count, `3 in 14m00s (no rate under 1h00m)`."""
    window, count, rate = found.get("window_s"), found.get("plots_in_window") or 0, found.get("plots_per_day")
    if window is None:
        return "-/day (no finished plots)"
    if window >= DAY:
        return "%.1f/day (last 24 h)" % rate
    if rate is not None:
        return "%.1f/day (%d in %s)" % (rate, count, duration(window))
    return "%d in %s (no rate under %s)" % (count, duration(window), duration(RATE_MIN_WINDOW_S))


def group_lines(group):
    title = "%s  tmp %s  %s k%s: %d plots, %s, %d failed, %d dead" % (
        group["host"], group["tmp_dir"] or "-", group["plotter"] or "?", group["k"], group["plots"],
        rate_text(group), group["failed"], group["dead"])
    lines = [title, "  %-8s %10s %10s %10s %5s" % ("", "MEAN", "MEDIAN", "P90", "N")]
    for key, label in ROWS:
        lines.append("  %-8s %s" % (label, _stat_cells(group["phase_seconds"].get(key))))
    return lines


def transfer_line(row):
    mbps = row["mb_per_s"]
    return "  %s:%s  %d done, %d running, %d failed; time %s; MB/s %s; finish to storage %s" % (
        row["host"], row["destination"], row["done"], row["running"], row["failed"],
        duration(row["seconds"]["median"]) if row["seconds"] else "-",
        ("%.1f median, %.1f p90" % (mbps["median"], mbps["p90"])) if mbps else "-",
        duration(row["delay_s"]["median"]) if row["delay_s"] else "-")


def render(analysis):
    plots = analysis.get("plots") or {}
    lines = ["plotfleet analyze: %d finished plots over %d hosts, plots %s" % (
        plots.get("finished", 0), len(analysis.get("hosts") or []), rate_text(plots))]
    for group in analysis.get("groups") or []:
        lines += [""] + group_lines(group)
    if analysis.get("transfers"):
        lines += ["", "transfers per storage dir (median):"] + [transfer_line(r) for r in analysis["transfers"]]
    bad = [row for row in analysis.get("failures") or [] if row["total"]]
    if bad:
        lines += ["", "failures by kind:"]
        for row in bad:
            kinds = ", ".join("%d %s" % (n, kind) for kind, n in sorted(row["kinds"].items()))
            lines.append("  %s: %s%s" % (row["host"], kinds, (" (%s)" % row["msg"]) if row.get("msg") else ""))
    return "\n".join(lines)
