# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side: `analyze`, statistics over what plot_info returned for each host this pass.

No second parser: the input is each host's plot_info result (its `history`, `jobs` and
`transfers`), as the reconcile role registers it (`plotfleet_host_state`). Keys of the result:
docs/reporting.md and plugins/filter/fleet_analysis.yml; keep them in step with ANALYSIS_VERSION.
"""

from __future__ import absolute_import, division, print_function

import math
import time

from ansible_collections.plotfleet.chia.plugins.plugin_utils import fleet_status as status_doc

__metaclass__ = type

ANALYSIS_VERSION = 1
DAY = 86400.0
PHASES = ("1", "2", "3", "4")
ENDED_BADLY = ("failed", "dead", "stopped")
RATE_MIN_WINDOW_S = 3600.0   # a shorter history gives a count and its window, no per-day rate


def stats(values):
    """{n, mean, median, p90, p25, p75, min, max} of the numbers in values (None when there are none).
    Percentiles interpolate linearly between the two nearest ranks (numpy's default)."""
    numbers = sorted(float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool))
    if not numbers:
        return None
    return {"n": len(numbers), "mean": round(sum(numbers) / len(numbers), 3),
            "median": round(percentile(numbers, 50), 3), "p90": round(percentile(numbers, 90), 3),
            "p25": round(percentile(numbers, 25), 3), "p75": round(percentile(numbers, 75), 3),
            "min": numbers[0], "max": numbers[-1]}


def percentile(sorted_numbers, pct):
    if len(sorted_numbers) == 1:
        return sorted_numbers[0]
    rank = (len(sorted_numbers) - 1) * pct / 100.0
    low = int(math.floor(rank))
    high = min(low + 1, len(sorted_numbers) - 1)
    return sorted_numbers[low] + (sorted_numbers[high] - sorted_numbers[low]) * (rank - low)


def host_states(hostvars, hosts):
    """[(host name, plot_info result)] for the hosts whose state was gathered this pass."""
    found = []
    for name in hosts:
        state = status_doc.host_value(hostvars, name, "plotfleet_host_state")
        if state and status_doc._get(state, "history") is not None:
            found.append((name, state))
    return found


def _items(state, key):
    return [item for item in status_doc._as_list(status_doc._get(state, key)) if isinstance(item, dict)]


def _group_key(host, entry):
    return (host, entry.get("tmp_dir"), entry.get("plotter"), entry.get("k"))


def _finished_ts(entry):
    return entry.get("finished_ts") or (entry.get("ended") if entry.get("state") == "finished" else None)


def _started_ts(entry):
    return entry.get("started_ts") or entry.get("started")


def plot_group(key, entries, now):
    """Statistics of one (host, tmp dir, plotter, k) group of history entries."""
    host, tmp_dir, plotter, k = key
    finished = [e for e in entries if e.get("state") == "finished"]
    phases = dict((p, stats([(e.get("phase_seconds") or {}).get(p) for e in finished])) for p in PHASES)
    phases["total"] = stats([e.get("total_seconds") for e in finished])
    phases["copy"] = stats([e.get("copy_seconds") for e in finished])
    return {
        "host": host, "tmp_dir": tmp_dir, "plotter": plotter, "k": k,
        "plots": len(finished),
        "failed": sum(1 for e in entries if e.get("state") == "failed"),
        "dead": sum(1 for e in entries if e.get("state") == "dead"),
        "stopped": sum(1 for e in entries if e.get("state") == "stopped"),
        "plots_last_24h": sum(1 for e in finished if (_finished_ts(e) or 0) > now - DAY),
        "first_started": min([_started_ts(e) for e in finished if _started_ts(e)] or [None]),
        "last_finished": max([_finished_ts(e) for e in finished if _finished_ts(e)] or [None]),
        "phase_seconds": phases,
        **throughput(entries, now)
    }


def throughput(entries, now):
    """Plots per day without extrapolating a few minutes' history: {plots_per_day, window_s, plots_in_window}.

    The window is what the history covers: from the oldest entry's start (any state) to now, at most
    24 h. A history covering 24 h gives the plots finished in the last 24 h (that is the rate); a
    shorter one gives its plots and the window, and a rate (plots x 86400 / window) only from
    RATE_MIN_WINDOW_S on. Overlapping plots count in full: throughput, not 1 / duration."""
    finished = [e for e in entries if e.get("state") == "finished"]
    begins = [t for t in (_started_ts(e) or _finished_ts(e) or e.get("ended") for e in entries) if t]
    if not finished or not begins:
        return {"plots_per_day": None, "window_s": None, "plots_in_window": len(finished)}
    window = min(max(now - min(begins), 0.0), DAY)
    count = sum(1 for e in finished if (_finished_ts(e) or 0) > now - DAY) if window >= DAY else len(finished)
    rate = round(count * DAY / window, 3) if window >= RATE_MIN_WINDOW_S else None
    return {"plots_per_day": rate, "window_s": round(window, 3), "plots_in_window": count}


def plot_groups(states, now):
    groups = {}
    for host, state in states:
        for entry in _items(state, "history"):
            groups.setdefault(_group_key(host, entry), []).append(entry)
    ordered = sorted(groups.items(), key=lambda item: tuple(str(part) for part in item[0]))
    return [plot_group(key, entries, now) for key, entries in ordered]


def _transfer_seconds(transfer):
    started, finished = transfer.get("started"), transfer.get("finished")
    if isinstance(started, (int, float)) and isinstance(finished, (int, float)) and finished > started:
        return finished - started
    return None


def transfer_dirs(states):
    """Per storage dir (host, dir): completed transfers, their time, MB/s and the delay from the plot's
    finish (its log) to its arrival. Local moves (host null) belong to the plotter they ran on."""
    finished_at = {}
    for _, state in states:
        for entry in _items(state, "history"):
            if entry.get("id") and _finished_ts(entry):
                finished_at[entry["id"]] = _finished_ts(entry)
    dirs = {}
    for host, state in states:
        for transfer in _items(state, "transfers"):
            key = (transfer.get("host") or host, transfer.get("destination"))
            dirs.setdefault(key, []).append(transfer)
    rows = []
    for (host, destination), transfers in sorted(dirs.items(), key=lambda item: tuple(map(str, item[0]))):
        done = [t for t in transfers if t.get("state") == "done"]
        seconds = [_transfer_seconds(t) for t in done]
        rates = [t.get("bytes_total") / s / 1e6 for t, s in zip(done, seconds) if s and t.get("bytes_total")]
        delays = [t["finished"] - finished_at[t.get("plot_id")] for t in done
                  if t.get("plot_id") in finished_at and isinstance(t.get("finished"), (int, float))]
        rows.append({
            "host": host, "destination": destination, "done": len(done),
            "running": sum(1 for t in transfers if t.get("state") in ("running", "interrupted")),
            "failed": sum(1 for t in transfers if t.get("state") == "failed"),
            "bytes_done": sum(int(t.get("bytes_total") or 0) for t in done),
            "seconds": stats(seconds), "mb_per_s": stats(rates),
            "delay_s": stats([d for d in delays if d >= 0]),
        })
    return rows


def failures(states, failed_hosts):
    """Failures by kind, per host: plots (failed, dead, stopped, stalled now), transfers by their
    failure kind, and the host itself when it failed this pass."""
    rows = []
    for host, state in states:
        kinds = {}
        for entry in _items(state, "history"):
            if entry.get("state") in ENDED_BADLY:
                kinds["plot_" + entry["state"]] = kinds.get("plot_" + entry["state"], 0) + 1
        for job in _items(state, "jobs"):
            if job.get("state") == "stalled":
                kinds["plot_stalled"] = kinds.get("plot_stalled", 0) + 1
        for transfer in _items(state, "transfers"):
            if transfer.get("state") == "failed":
                kind = "transfer_" + str(transfer.get("failure") or "error")
                kinds[kind] = kinds.get(kind, 0) + 1
        rows.append({"host": host, "kinds": kinds, "total": sum(kinds.values())})
    for failure in failed_hosts:
        rows.append({"host": failure["host"], "kinds": {"host_unreachable" if "unreachable" in failure["msg"]
                                                         else "host_failed": 1}, "total": 1, "msg": failure["msg"]})
    return rows


def per_day(states):
    """Finished plots per UTC day and host: [{day, host, plots}] in day order."""
    counts = {}
    for host, state in states:
        for entry in _items(state, "history"):
            ts = _finished_ts(entry)
            if entry.get("state") == "finished" and ts:
                day = time.strftime("%Y-%m-%d", time.gmtime(ts))
                counts[(day, host)] = counts.get((day, host), 0) + 1
    return [{"day": day, "host": host, "plots": n} for (day, host), n in sorted(counts.items())]


def failed_hosts(hostvars, hosts):
    found = []
    for name in hosts:
        host_vars = status_doc._get(hostvars, name, {})
        failure = status_doc._failure_of(host_vars, status_doc._get(host_vars, "plotfleet_host_state"))
        if failure:
            found.append(dict(failure, host=name))
    return found


def analyze(hostvars, hosts, now=None):
    """The analysis document (keys: docs/reporting.md)."""
    now = time.time() if now is None else float(now)
    hosts = list(hosts or [])
    states = host_states(hostvars, hosts)
    groups = plot_groups(states, now)
    return {
        "version": ANALYSIS_VERSION,
        "generated": now,
        "hosts": [name for name, _ in states],
        "plots": fleet_plots(states, groups, now),
        "groups": groups,
        "per_day": per_day(states),
        "transfers": transfer_dirs(states),
        "failures": failures(states, failed_hosts(hostvars, hosts)),
    }


def fleet_plots(states, groups, now):
    """The fleet's finished plots and its throughput, by the same rule as a group's over every host's history."""
    plots = {"finished": sum(g["plots"] for g in groups), "plots_last_24h": sum(g["plots_last_24h"] for g in groups)}
    plots.update(throughput([entry for _, state in states for entry in _items(state, "history")], now))
    return plots
