# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side: build the fleet status document from what each host returned in a pass.

The document is plain JSON (it is written to a file for AWX and scripts, and JMESPath queries run
over it). Its keys are documented in plugins/filter/plotfleet_status.yml and docs/configuration.md;
keep the two in step with STATUS_VERSION.
"""

from __future__ import absolute_import, division, print_function

import time

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.plotfleet.chia.plugins.plugin_utils import fleet_replot

__metaclass__ = type

STATUS_VERSION = 1
BAD_STATES = ("stalled", "failed", "dead")
# Keys copied from a plot_info job into a status row (everything a table or a query needs).
JOB_KEYS = ("id", "plotter", "k", "index", "count", "pid", "state", "phase", "step", "progress", "elapsed_s", "eta_s",
            "tmp_dir", "tmp2_dir", "dst_dir", "plot_file", "log", "error", "launch_id", "adopted",
            "tmp_bytes", "process_state", "started", "ended", "stopped")
RECENT = 5  # history entries per host kept in the document (plot_info's history_limit bounds the rest)
NO_RESULT = "no result: unreachable or failed before its state was gathered (see the play output)"
STARTS_DISABLED = "starts disabled (plotfleet_start_enabled=false): no new plots this pass"
MOVES_DISABLED = "moves disabled (plotfleet_move_enabled=false): finished plots stay where they are"
STORAGE_NOT_IN_PASS = "storage host %s not in this pass (--limit?): no destination there"
STORAGE_FAILED = "storage host %s failed this pass: no destination there"


def _get(mapping, key, default=None):
    """Read a key from a dict-like value (hostvars entries are not plain dicts)."""
    if mapping is None:
        return default
    try:
        value = mapping[key]
    except Exception:  # missing key, or an undefined template value in hostvars: treat as unset
        return default
    return default if value is None else value


def _host_warnings(state):
    """plot_info's warnings: `host_warnings` (Ansible strips a result's `warnings` key), else `warnings`."""
    return [str(w) for w in _as_list(_get(state, "host_warnings") or _get(state, "warnings"))]


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def job_row(host, job):
    row = dict((key, _get(job, key)) for key in JOB_KEYS)
    row["host"] = host
    row["id_short"] = (row["id"] or "")[:8] or None
    row["bad"] = row["state"] in BAD_STATES
    return row


def _dir_rows(state, roles):
    """dirs from plot_info, each labelled tmp / dst / storage by the host's settings."""
    rows = []
    seen = set()
    for entry in _as_list(_get(state, "dirs")):
        path = _get(entry, "path")
        if path is None or path in seen:
            continue
        seen.add(path)
        row = dict(entry) if isinstance(entry, dict) else {"path": path}
        row.setdefault("role", roles.get(path, _get(entry, "role", "dir")))
        if roles.get(path):
            row["role"] = roles[path]
        rows.append(row)
    return rows


def _roles_of(host_vars):
    roles = {}
    for key, role in (("plotfleet_tmp_dirs", "tmp"), ("plotfleet_dst_dirs", "dst"),
                      ("plotfleet_storage_dirs", "storage")):
        for path in _as_list(_get(host_vars, key)):
            roles.setdefault(str(path).rstrip("/") or "/", role)
            roles.setdefault(str(path), role)
    return roles


def _failure_of(host_vars, state):
    failure = _get(host_vars, "plotfleet_failure")
    if failure:
        return {"task": _get(failure, "task"), "msg": str(_get(failure, "msg", "failed"))}
    if state is None:
        return {"task": None, "msg": NO_RESULT}
    if _get(state, "unreachable"):
        return {"task": "gather", "msg": "unreachable: %s" % _get(state, "msg", "")}
    if _get(state, "failed"):
        return {"task": "gather", "msg": str(_get(state, "msg", "failed"))}
    return None


def _count_states(jobs):
    counts = {}
    for job in jobs:
        state = _get(job, "state", "unknown")
        counts[state] = counts.get(state, 0) + 1
    return counts


def _enabled(host_vars, key):
    """A plotfleet_*_enabled switch (true unless set; `-e key=false` arrives as a string)."""
    return boolean(_get(host_vars, key, True), strict=False)


def _start_view(result, check_mode, enabled=True):
    """What plot_start did, or in check mode would do (outside check mode would_start is its plan)."""
    if not result or _get(result, "skipped"):
        return {"started": [], "would_start": [], "reasons": [] if enabled else [STARTS_DISABLED], "host_jobs": None}
    return {
        "started": _as_list(_get(result, "started")),
        "would_start": _as_list(_get(result, "would_start")) if check_mode else [],
        "reasons": [str(r) for r in _as_list(_get(result, "reasons"))],
        "host_jobs": _host_jobs(result),
    }


def _host_jobs(result):
    """{count, limit, detail} of plot_start's max_jobs check (its own gather, under the host lock), or None."""
    for check in _as_list(_get(_get(result, "decision"), "checks")):
        if isinstance(check, dict) and check.get("rule") == "max_jobs" and isinstance(check.get("count"), int):
            return {"count": check["count"], "limit": check.get("limit"), "detail": str(check.get("detail"))}
    return None


def _move_view(result, enabled=True, missing_storage=()):
    """What plot_move did; `missing_storage`: reasons why some storage hosts offered no destination."""
    ran = bool(result) and not _get(result, "skipped")
    reasons = [str(r) for r in _as_list(_get(result, "reasons"))] if ran else []
    return {
        "moved": _as_list(_get(result, "moved")) if ran else [],
        "started": _as_list(_get(result, "started")) if ran else [],
        "completed": _as_list(_get(result, "completed")) if ran else [],
        "would_move": _as_list(_get(result, "would_move")) if ran else [],
        "reasons": reasons + (list(missing_storage) if enabled else [MOVES_DISABLED]),
    }


def _missing_storage(name, pass_hosts, storage, hostvars):
    """Why storage hosts other than this plotter offer it nothing this pass: left out of the pass
    (--limit), or failed before their offer was made."""
    reasons = []
    for other in storage:
        if other == name:
            continue  # the plotter's own storage dirs are local destinations
        if other not in pass_hosts:
            reasons.append(STORAGE_NOT_IN_PASS % other)
        elif _failure_of(_get(hostvars, other), _get(_get(hostvars, other), "plotfleet_host_state")):
            reasons.append(STORAGE_FAILED % other)
    return reasons


def _cleanup_view(result, history, enabled, check_mode=False):
    """Temp files of dead jobs: deleted this pass (or, in check mode, would be), and those still on disk."""
    ran = bool(result) and not _get(result, "skipped")
    deleted = [str(p) for p in _as_list(_get(result, "deleted"))] if ran else []
    would = [str(p) for p in _as_list(_get(result, "temp_files"))] if ran and check_mode else []
    gone = set(deleted)
    left, left_bytes = [], 0
    for entry in history:
        if _get(entry, "state") not in ("dead", "failed", "stopped"):
            continue
        files = [str(p) for p in _as_list(_get(entry, "tmp_files")) if str(p) not in gone]
        if files:
            left.extend(files)
            left_bytes += int(_get(entry, "tmp_bytes") or 0)
    return {"enabled": bool(enabled), "deleted": deleted, "would_delete": would, "left": left,
            "left_bytes": left_bytes}


def _transfers(state, host_vars):
    """Transfer records: plot_move's (after this pass's moves) when it ran, else plot_info's."""
    move = _get(host_vars, "plotfleet_move_result")
    if move and not _get(move, "skipped") and _get(move, "transfers") is not None:
        return _as_list(_get(move, "transfers"))
    return _as_list(_get(state, "transfers"))


def typical_duration(history, plotter, k, last=5):
    """Mean time of the host's last finished plots of this plotter and k (newest first), else None: the
    ETA of a plot this pass started, which no log tells yet."""
    took = []
    for entry in history or []:
        if not isinstance(entry, dict) or entry.get("state") != "finished":
            continue
        started, ended = entry.get("started"), entry.get("ended")
        if entry.get("plotter") == plotter and entry.get("k") == k and isinstance(started, (int, float)) \
                and isinstance(ended, (int, float)) and ended > started:
            took.append(float(ended) - float(started))
            if len(took) == last:
                break
    return sum(took) / len(took) if took else None


def _started_rows(host, started, now, history=()):
    """Rows for plots this pass started (plot_info ran before them): phase 0, progress 0, plot 1 of its
    count, the ETA from the host's recent plots of that plotter and k (none without)."""
    rows = []
    for record in started:
        if not isinstance(record, dict):
            continue
        job = dict(record, id=record.get("plot_id"), state="plotting", phase=0, step="0:0", progress=0.0,
                   eta_s=None, adopted=False, index=1)
        elapsed = max(now - float(record["started"]), 0.0) if record.get("started") is not None else 0.0
        if record.get("started") is not None:
            job["elapsed_s"] = elapsed
        took = typical_duration(history, record.get("plotter"), record.get("k"))
        if took is not None:
            job["eta_s"] = round(max(took - elapsed, 0.0), 1)
        row = job_row(host, job)
        row["just_started"] = True
        rows.append(row)
    return rows


def host_entry(name, host_vars, plotters, storage, check_mode=False, now=None, missing_storage=()):
    state = _get(host_vars, "plotfleet_host_state")
    failure = _failure_of(host_vars, state)
    usable = state if failure is None or _get(state, "jobs") is not None else None
    roles = []
    if name in plotters:
        roles.append("plotter")
    if name in storage:
        roles.append("storage")
    plotting = name in plotters and failure is None  # only a plotter that ran its pass starts or moves
    start = _start_view(_get(host_vars, "plotfleet_start_result"), check_mode,
                        enabled=not plotting or _enabled(host_vars, "plotfleet_start_enabled"))
    move = _move_view(_get(host_vars, "plotfleet_move_result"),
                      enabled=not plotting or _enabled(host_vars, "plotfleet_move_enabled"),
                      missing_storage=missing_storage if plotting else ())
    return {
        "name": name,
        "roles": roles,
        "ok": failure is None,
        "error": failure,
        "jobs": [job_row(name, job) for job in _as_list(_get(usable, "jobs"))]
        + _started_rows(name, start["started"], time.time() if now is None else now,
                        _as_list(_get(usable, "history"))),
        "recent": [job_row(name, job) for job in _as_list(_get(usable, "history"))[:RECENT]],
        "history_counts": _count_states(_as_list(_get(usable, "history"))),
        "dirs": fleet_replot.attach(_dir_rows(usable, _roles_of(host_vars)), usable),
        "transfers": [dict(t, host_from=name) for t in _transfers(usable, host_vars) if isinstance(t, dict)],
        "load": _get(usable, "load", {}),
        "warnings": _host_warnings(usable),
        "start": start,
        "move": move,
        "cleanup": _cleanup_view(_get(host_vars, "plotfleet_cleanup_result"), _as_list(_get(usable, "history")),
                                 boolean(_get(host_vars, "plotfleet_cleanup_dead_tmp", False), strict=False),
                                 check_mode),
    }


def _mark_incoming(entries, hostvars):
    """Each storage dir row gets `incoming`: the transfers any plotter is running towards it (a
    plotter names a storage host by its offered address; its local copies by its own name)."""
    towards = _towards([t for entry in entries for t in entry["transfers"]])
    for entry in entries:
        if "storage" not in entry["roles"]:
            continue
        offer = _as_list(_get(_get(hostvars, entry["name"]), "plotfleet_storage_offer"))
        names = [entry["name"]] + [_get(item, "address") for item in offer]
        for row in entry["dirs"]:
            if row.get("role") == "storage":
                count, left = incoming_at(towards, names, row.get("path"))
                row["incoming"] = {"transfers": count, "bytes": left}


def _count_moves(move, check_mode):
    # A local rename is "moved"; a transfer that finished since the last pass is "completed", and a
    # real pass acknowledges it. Check mode acknowledges nothing (the next real pass counts it), and
    # what it would move is counted apart (would_move).
    if check_mode:
        return len(move["moved"])
    return len(move["moved"]) + len(move["completed"])


def _pass_hosts(hosts, plotters, storage):
    """The hosts this pass ran on (the play's, e.g. ansible_play_hosts_all): a host left out by
    --limit is not reported. Without a host list: every plotter and storage host."""
    names = []
    for name in list(hosts) if hosts is not None else plotters + storage:
        if name not in names:
            names.append(name)
    return names


def build_status(hostvars, hosts, plotters=None, storage=None, check_mode=False, now=None):
    """The fleet status document (see plotfleet_status.yml for every key).

    hosts: the hosts of this pass; plotters, storage: the inventory's groups (a storage host outside
    the pass is named in each plotter's move reasons)."""
    now = time.time() if now is None else float(now)
    plotters = list(plotters or [])
    storage = list(storage or [])
    names = _pass_hosts(hosts, plotters, storage)
    entries = [host_entry(name, _get(hostvars, name, {}), plotters, storage, check_mode, now,
                          _missing_storage(name, names, storage, hostvars)) for name in names]
    _mark_incoming(entries, hostvars)
    jobs = [job for entry in entries for job in entry["jobs"]]
    transfers = [t for entry in entries for t in entry["transfers"]]
    failures = [dict(entry["error"], host=entry["name"]) for entry in entries if entry["error"]]
    by_state = _count_states(jobs)
    summary = {
        "hosts": len(entries),
        "hosts_ok": sum(1 for entry in entries if entry["ok"]),
        "hosts_failed": len(failures),
        "jobs": len(jobs),
        "jobs_by_state": by_state,
        "bad_jobs": sum(1 for job in jobs if job["bad"]),
        "started": sum(len(e["start"]["started"]) for e in entries),
        "would_start": sum(len(e["start"]["would_start"]) for e in entries),
        "moved": sum(_count_moves(e["move"], check_mode) for e in entries),
        "transfers_started": sum(len(e["move"]["started"]) for e in entries),
        "would_move": sum(len(e["move"]["would_move"]) for e in entries),
        "transfers_running": sum(1 for t in transfers if _get(t, "state") == "running"),
        "temp_files_deleted": sum(len(e["cleanup"]["deleted"]) for e in entries),
        "failures": len(failures),
    }
    summary.update(plot_formats([row for entry in entries for row in entry["dirs"]]))
    for entry in entries:
        entry["replot"] = fleet_replot.totals(entry["dirs"])
    summary["replot"] = fleet_replot.totals([row for entry in entries for row in entry["dirs"]])
    return {
        "version": STATUS_VERSION,
        "generated": now,
        "generated_iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "check_mode": bool(check_mode),
        "summary": summary,
        "jobs": jobs,
        "transfers": transfers,
        "hosts": entries,
        "failures": failures,
    }


def plot_formats(dirs):
    """v1 (`.plot`) and v2 (PoS2 `.plot2`) plots in these dir rows: counts, bytes and the replot
    progress, `v2_share` = v2 bytes / all plot bytes (null without plots)."""
    totals = {"plots_v1": 0, "plot_bytes_v1": 0, "plots_v2": 0, "plot_bytes_v2": 0}
    for row in dirs:
        totals["plots_v1"] += int(_get(row, "plots_v1", _get(row, "plot_count", 0)) or 0)
        totals["plot_bytes_v1"] += int(_get(row, "plot_bytes_v1", _get(row, "plot_bytes", 0)) or 0)
        totals["plots_v2"] += int(_get(row, "plots_v2", 0) or 0)
        totals["plot_bytes_v2"] += int(_get(row, "plot_bytes_v2", 0) or 0)
    plot_bytes = totals["plot_bytes_v1"] + totals["plot_bytes_v2"]
    totals["v2_share"] = round(float(totals["plot_bytes_v2"]) / plot_bytes, 4) if plot_bytes else None
    return totals


def pass_summary(status):
    """The small dict the loop wrapper reads after each pass."""
    summary = dict(status.get("summary", {}))
    summary["failed_hosts"] = ["%s: %s" % (f["host"], f["msg"]) for f in status.get("failures", [])]
    summary["check_mode"] = status.get("check_mode", False)
    summary["generated"] = status.get("generated")
    summary["next_finish_in_s"] = next_finish_in_s(status.get("jobs"))
    return summary


def next_finish_in_s(jobs):
    """Seconds (from this pass's gather) until the first plotting job whose end frees its job slot is
    due, from its ETA; None when none has one. The loop wakes then instead of a whole interval later.
    A multi-plot job frees its slot only with its last plot, and count 0 (`-n 0`: for ever) never."""
    due = []
    for job in jobs or []:
        eta_s, count, index = job.get("eta_s"), job.get("count"), job.get("index")
        if job.get("state") != "plotting" or not isinstance(eta_s, (int, float)) or isinstance(eta_s, bool):
            continue
        if isinstance(count, int) and (count <= 0 or (isinstance(index, int) and index < count)):
            continue
        due.append(max(float(eta_s), 0.0))
    return min(due) if due else None


def host_value(hostvars, host, key, default=None):
    """hostvars[host][key], or default when the host or the key is missing."""
    return _get(_get(hostvars, host), key, default)


def incoming(hostvars, senders):
    """The senders' running transfers (plot_info, this pass) by destination, see incoming_at."""
    return _towards([dict(t, host_from=sender) for sender in senders or []
                     for t in _as_list(_get(host_value(hostvars, sender, "plotfleet_host_state"), "transfers"))
                     if isinstance(t, dict)])


def incoming_at(towards, host_names, path):
    """(transfers, bytes still to write) coming to path on the host known by any of host_names (its
    inventory name, the address it offers); a plotter's local copy is keyed by the plotter's name."""
    found = [towards.get((name, _dir_key(path)), (0, 0)) for name in set(n for n in host_names if n)]
    return sum(n for n, _ in found), sum(b for _, b in found)


def _towards(transfers):
    """{(host, dir): (running transfers, bytes they still have to write)}; a local transfer (host
    null) is keyed by the host it runs on (host_from)."""
    result = {}
    for t in transfers:
        if not isinstance(t, dict) or t.get("state") != "running" or not t.get("destination"):
            continue
        key = (t.get("host") or t.get("host_from"), _dir_key(t["destination"]))
        count, left = result.get(key, (0, 0))
        result[key] = (count + 1, left + max(int(t.get("bytes_total") or 0) - int(t.get("bytes_done") or 0), 0))
    return result


def _dir_key(path):
    return str(path).rstrip("/") or "/"


def dir_problems(state, configured):
    """Configured dirs that plot_info reported missing or unusable, as messages naming the variable."""
    by_path = {}
    for entry in _as_list(_get(state, "dirs")):
        if isinstance(entry, dict) and entry.get("path"):
            by_path[str(entry["path"]).rstrip("/") or "/"] = entry
    warnings = _host_warnings(state)
    problems = []
    for variable in sorted(configured or {}):
        for path in _as_list(configured[variable]):
            path = str(path)
            entry = by_path.get(path.rstrip("/") or "/")
            if entry is None:
                said = [w for w in warnings if path in w]
                if said:
                    problems.append("%s: %s" % (variable, said[0]))
                continue
            error = entry.get("error")
            if entry.get("exists") is False or error:
                problems.append("%s: %s: %s" % (variable, path, error or "does not exist"))
    return problems
