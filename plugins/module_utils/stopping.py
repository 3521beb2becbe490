# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The body of plot_stop: pick jobs, signal them (terminate / suspend / resume), delete their temp files.

Before signalling, who and when is noted ({"at", "by": "plot_stop", "action"}) under `stopped`,
`suspended` or `resumed`: in the job's launch record, or for an adopted job (no launch record) in a
stop record <state_dir>/stops/<plot id, else pid-PID-START>.json. plot_info then lists a terminated
job as `stopped` (not `dead`: crash-loop backoff does not count it), and counts a resumed job's
stall time from its resume.

Deletion is deliberately narrow: a file is deleted only if it sits directly in the job's own tmp,
tmp2 or dst dir, that dir is one of the configured tmp_dirs or dst_dirs, its name contains the job's
64-hex plot id and ends in `.tmp`, it is a regular file (not a symlink), and no process holds it open.
"""

from __future__ import absolute_import, division, print_function

import errno
import os
import re
import shutil
import signal
import stat
import subprocess
import time

from ansible_collections.plotfleet.chia.plugins.module_utils import launch, openfiles, processes, records
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import temps

__metaclass__ = type

PREFIX_RE = re.compile(r"^[0-9a-f]{4,64}$")
ID_RE = re.compile(r"^[0-9a-f]{64}$")
ACTIONS = ("terminate", "suspend", "resume")
ENDED = ("finished", "failed", "dead", "stopped")
# Ended jobs whose leftover temp files the dead-job cleanup (ended=true) deletes.
LEFT_FILES = ("dead", "failed", "stopped")
NOTE_KEYS = {"terminate": "stopped", "suspend": "suspended", "resume": "resumed"}
SETTLE_S = 5.0   # how long suspend / resume wait for the process state to follow the signal
VERBS = {"terminate": ("terminated", "would terminate"), "suspend": ("suspended", "would suspend"),
         "resume": ("resumed", "would resume")}
# ended=true looks at every ended job on the host, not only the newest history_limit ones: a job that
# died long ago (cleanup was off then) still has its temp files found and deleted.
ENDED_HISTORY_LIMIT = 1000000


class StopError(Exception):
    pass


def in_scope(job, tmp_dirs, dst_dirs):
    """A job of this host's configuration: launched through this state_dir, or using a configured dir."""
    if job.get("launch_id"):
        return True
    mine = set(os.path.normpath(d) for d in list(tmp_dirs or []) + list(dst_dirs or []))
    return any(job.get(key) and os.path.normpath(job[key]) in mine for key in ("tmp_dir", "tmp2_dir", "dst_dir"))


def select(state, plot_id, all_jobs, tmp_dirs=(), dst_dirs=(), ended_jobs=False):
    """(jobs to signal, ended entries to clean up). Raises StopError for an ambiguous or bad selection.

    A plot id prefix may name any plotter job on the host; all=true alone takes only the jobs in
    scope (see in_scope), never a plotter that belongs to someone else's setup on the same machine.
    ended_jobs=true takes the dead and failed jobs in scope (see ended_in_scope).
    """
    jobs = state.get("jobs") or []
    if ended_jobs:
        return [], ended_in_scope(state, tmp_dirs, dst_dirs)
    if plot_id:
        prefix = plot_id.lower()
        if not PREFIX_RE.match(prefix):
            raise StopError("plot_id: %r is not a plot id prefix (at least 4 hex digits)" % plot_id)
        live = [job for job in jobs if (job.get("id") or "").lower().startswith(prefix)]
        if len(live) > 1 and not all_jobs:
            raise StopError("plot_id: %s matches %d running jobs (%s); give more digits or all=true"
                            % (prefix, len(live), ", ".join(sorted(j["id"][:12] for j in live))))
        if live:
            return live, []
        ended = dict((e["id"], e) for e in state.get("history") or []
                     if e.get("state") in ENDED and (e.get("id") or "").lower().startswith(prefix))
        if len(ended) > 1 and not all_jobs:
            raise StopError("plot_id: %s matches %d ended jobs; give more digits" % (prefix, len(ended)))
        if not ended:
            raise StopError("plot_id: %s matches no job on this host" % prefix)
        return [], list(ended.values())
    if all_jobs:
        return [job for job in jobs if in_scope(job, tmp_dirs, dst_dirs)], []
    raise StopError("give plot_id (a prefix of at least 4 hex digits) or all=true")


def ended_in_scope(state, tmp_dirs, dst_dirs):
    """Dead, failed and stopped jobs of this configuration with a known plot id that no live job shares."""
    live_ids = set((job.get("id") or "").lower() for job in state.get("jobs") or [])
    out, seen = [], set()
    for entry in state.get("history") or []:
        plot_id = (entry.get("id") or "").lower()
        if entry.get("state") not in LEFT_FILES or not ID_RE.match(plot_id):
            continue
        if plot_id in live_ids or plot_id in seen or not in_scope(entry, tmp_dirs, dst_dirs):
            continue
        seen.add(plot_id)
        out.append(entry)
    return out


def unidentified_live_jobs(state, tmp_dirs=(), dst_dirs=()):
    """Live jobs whose plot id is not known and that may write into the configured dirs: their temp
    files cannot be told apart yet. A plotter of someone else's setup whose dirs are all known and
    all elsewhere cannot own a file here, so it does not hold the cleanup up (it could for ever)."""
    mine = set(os.path.realpath(d) for d in list(tmp_dirs or []) + list(dst_dirs or []))

    def may_write_here(job):
        dirs = [job.get(key) for key in ("tmp_dir", "tmp2_dir", "dst_dir") if job.get(key)]
        return job.get("launch_id") or not dirs or any(os.path.realpath(d) in mine for d in dirs)
    return [job for job in state.get("jobs") or []
            if not ID_RE.match((job.get("id") or "").lower()) and may_write_here(job)]


def _record(state_dir, job):
    if not job.get("launch_id"):
        return None
    return records.read_json(records.record_path(state_dir, records.JOBS, job["launch_id"]))


def note_key(job):
    """The stop record of an adopted job: by plot id, else by pid and process start (no pid reuse)."""
    plot_id = (job.get("id") or "").lower()
    if ID_RE.match(plot_id):
        return plot_id
    return "pid-%d-%d" % (job["pid"], int(job.get("proc_start") or 0))


def note_signal(state_dir, job, action, now=None):
    """Write who/when (atomically) before the signal goes out: the next gather reads it back."""
    note = {"at": time.time() if now is None else now, "by": "plot_stop", "action": action}
    record = _record(state_dir, job)
    if record is not None:
        record[NOTE_KEYS[action]] = note
        records.write_record(state_dir, records.JOBS, job["launch_id"], record)
        return
    key = note_key(job)
    stop = records.read_json(records.record_path(state_dir, records.STOPS, key)) or {}
    stop.update({"version": 1, "plot_id": job.get("id"), "pid": job["pid"], "proc_start": job.get("proc_start"),
                 "log": job.get("log"), NOTE_KEYS[action]: note})
    records.write_record(state_dir, records.STOPS, key, stop)


def _target(job, record):
    """Our own launches lead their process group (setsid or a systemd unit): signal the group, so
    helper processes go too. Adopted jobs may share a group with a shell: signal the pid only."""
    pid = job["pid"]
    if record and record.get("unit") and shutil.which("systemctl"):
        return ("unit", record["unit"], pid)
    try:
        if record and os.getpgid(pid) == pid:
            return ("group", pid, pid)
    except OSError:
        pass
    return ("pid", pid, pid)


def send(target, sig):
    kind, value, pid = target
    try:
        if kind == "unit":
            done = subprocess.run(["systemctl", "kill", "--signal=%d" % sig, value], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL).returncode == 0
            if not done:  # the unit is gone (or systemd is busy): the plotter still leads its group
                os.killpg(pid, sig)
        elif kind == "group":
            os.killpg(value, sig)
        else:
            os.kill(value, sig)
    except OSError as exc:
        if exc.errno != errno.ESRCH:
            raise


def wait_gone(pids, timeout, poll=0.2):
    deadline = time.time() + timeout
    alive = [pid for pid in pids if launch.pid_alive(pid)]
    while alive and time.time() < deadline:
        time.sleep(poll)
        alive = [pid for pid in alive if launch.pid_alive(pid)]
    return set(alive)


def wait_run_state(pids, suspended, timeout, poll=0.05):
    """Signals arrive asynchronously: wait (briefly) until the processes show the state asked for, so
    the result and the next gather agree. Processes that are gone count as settled."""
    deadline = time.time() + timeout
    pending = list(pids)
    while pending and time.time() < deadline:
        states = processes.run_states(pending)
        pending = [pid for pid in pending if pid in states and processes.is_suspended(states[pid]) != suspended]
        if pending:
            time.sleep(poll)
    return pending


def temp_files(entry, tmp_dirs, dst_dirs=()):
    """This job's temp files (policy/temps.py, the rule plot_info counts by), in those of its dirs that
    are configured dirs, regular files only, of a job whose plot id is known."""
    plot_id = (entry.get("id") or "").lower()
    if not ID_RE.match(plot_id):
        return []
    allowed = set(os.path.realpath(d) for d in list(tmp_dirs or []) + list(dst_dirs or []))
    found = []
    for directory, name in temps.job_temp_files(entry, lambda d: _names_in(d, allowed)):
        path = os.path.join(directory, name)
        try:
            if path not in found and stat.S_ISREG(os.lstat(path).st_mode):
                found.append(path)
        except OSError:
            pass
    return found


def _names_in(directory, allowed):
    if os.path.realpath(directory) not in allowed:
        return []
    try:
        return sorted(os.listdir(directory))
    except OSError:
        return []


def run(params, check_mode, gather):
    action, timeout = params["action"], params["timeout"]
    ended_jobs = params.get("ended")
    if params["cleanup"] and action != "terminate":
        raise StopError("cleanup: temp files are deleted only with action=terminate")
    if ended_jobs and not params["cleanup"]:
        raise StopError("ended: it only deletes the temp files of dead and failed jobs; set cleanup=true")
    if ended_jobs and (params.get("plot_id") or params["all"]):
        raise StopError("ended: selects the dead and failed jobs itself; do not give plot_id or all with it")
    with records.host_lock(params["state_dir"]):
        state = gather(dict(params, history_limit=ENDED_HISTORY_LIMIT) if ended_jobs else params)
        live, ended = select(state, params.get("plot_id"), params["all"], params.get("tmp_dirs"),
                             params.get("dst_dirs"), ended_jobs)
        result = {"changed": False, "jobs": [], "temp_files": [], "deleted": [],
                  "warnings": list(state.get("warnings") or [])}
        if ended_jobs and ended:
            waiting = unidentified_live_jobs(state, params.get("tmp_dirs"), params.get("dst_dirs"))
            if waiting:  # a live job not yet tied to its plot id might own some of these files
                result["warnings"].append("cleanup of dead jobs waits: the plot id of running pid %s is not known yet"
                                          % ", ".join(str(job.get("pid")) for job in waiting))
                ended = []
        plans = _plan_signals(params["state_dir"], live, action, result)
        for entry in ended:
            result["jobs"].append({"id": entry.get("id"), "launch_id": entry.get("launch_id"), "pid": None,
                                   "plotter": entry.get("plotter"), "action": "none", "target": None,
                                   "exited": True, "killed": False, "state": entry.get("state")})
        if params["cleanup"]:
            for entry in list(live) + list(ended):
                if not entry.get("id"):
                    result["warnings"].append("job pid %s has no known plot id: its temp files are kept"
                                              % entry.get("pid"))
                result["temp_files"].extend(_files_of(entry, params))
        if check_mode:
            result["changed"] = any(w for _, _, w in plans) or bool(result["temp_files"])
            result["summary"] = summary(result, action, check_mode)
            return result
        for job, _target, wanted in plans:
            if wanted:
                _note_or_warn(params["state_dir"], job, action, result)
        _act(plans, action, timeout, params["kill"], result, params.get("graceful_timeout") or 0)
        if params["cleanup"]:
            gone = set(r["id"] for r in result["jobs"] if r["exited"])
            doomed = [path for entry in list(live) + list(ended) if entry.get("id") in gone
                      for path in _files_of(entry, params)]
            _delete(doomed, result, must_know_open=bool(ended_jobs))
        result["summary"] = summary(result, action, check_mode)
        return result


def _note_or_warn(state_dir, job, action, result):
    """The signal goes out even when the note cannot be written (the user asked for it)."""
    try:
        note_signal(state_dir, job, action)
    except (IOError, OSError) as exc:
        result["warnings"].append("cannot note the %s of pid %s in %s (%s): plot_info will not know it was "
                                  "plot_stop" % (action, job.get("pid"), state_dir, exc.strerror or exc))


def summary(result, action, check_mode):
    """What was done, one line each; in check mode what would be done ("would terminate ...")."""
    lines = [_job_summary(job, action, check_mode) for job in result["jobs"]]
    if check_mode:
        lines += ["would delete %s" % path for path in result["temp_files"]]
    else:
        lines += ["deleted %s" % path for path in result["deleted"]]
        kept = [path for path in result["temp_files"] if path not in result["deleted"]]
        if kept:
            lines.append("kept %d temp file%s (see the warnings)" % (len(kept), "" if len(kept) == 1 else "s"))
    return lines or ["no job selected: nothing to %s" % ("do" if check_mode else "report")]


def _job_summary(job, action, check_mode):
    name = "%s (pid %s)" % ((job.get("id") or "")[:8] or "plot id not known yet", job.get("pid"))
    if job["action"] != "none":
        done, would = VERBS[job["action"]]
        text = "%s %s, %s" % (would if check_mode else done, name, job["target"])
        if not check_mode and job["action"] == "terminate":
            text += ": " + ("killed" if job["killed"] else "exited" if job["exited"] else "still running")
        return text
    if job.get("pid") is None:
        return "%s has ended (%s): nothing to signal" % ((job.get("id") or "?")[:8], job.get("state"))
    return "%s is %s: nothing to %s" % (name, "already suspended" if action == "suspend" else "not suspended",
                                        action)


def _plan_signals(state_dir, live, action, result):
    plans = []
    for job in live:
        record = _record(state_dir, job)
        target = _target(job, record)
        stopped = processes.is_suspended(processes.run_states([job["pid"]]).get(job["pid"]))
        wanted = {"terminate": True, "suspend": not stopped, "resume": stopped}[action]
        plans.append((job, target, wanted))
        result["jobs"].append({"id": job.get("id"), "launch_id": job.get("launch_id"), "pid": job["pid"],
                               "plotter": job.get("plotter"), "action": action if wanted else "none",
                               "target": "%s %s" % target[:2], "exited": False, "killed": False})
    return plans


def _files_of(entry, params):
    return temp_files(entry, params.get("tmp_dirs"), params.get("dst_dirs"))


def _delete(paths, result, must_know_open):
    """Delete the files no process holds open. must_know_open: keep them all when that cannot be told."""
    held = openfiles.held_open(paths)
    if held is None and must_know_open:
        if paths:
            result["warnings"].append("cannot tell which files are open here (no /proc, no lsof): %d temp "
                                      "files of dead jobs are kept" % len(paths))
        return
    for path in paths:
        if held and path in held:
            result["warnings"].append("%s is still open in some process: kept" % path)
            continue
        try:
            os.unlink(path)
            result["deleted"].append(path)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                result["warnings"].append("cannot delete %s: %s" % (path, exc.strerror))
    result["changed"] = result["changed"] or bool(result["deleted"])


def _act(plans, action, timeout, kill, result, graceful_timeout=0):
    sig = {"terminate": signal.SIGTERM, "suspend": signal.SIGSTOP, "resume": signal.SIGCONT}[action]
    by_pid = dict((r["pid"], r) for r in result["jobs"] if r["pid"])
    for job, target, wanted in plans:
        if not wanted:
            continue
        send(target, sig)
        if action == "terminate":
            send(target, signal.SIGCONT)  # a suspended plotter only sees SIGTERM once it runs again
            if job.get("plotter") == "madmax" and job.get("count") != 1:
                time.sleep(0.5)  # madMAx -n N: the first SIGTERM means "after this plot"; the second, now
                send(target, sig)
        result["changed"] = True
    if action != "terminate":
        wait_run_state([job["pid"] for job, _, wanted in plans if wanted], action == "suspend", SETTLE_S)
        return
    pids = [job["pid"] for job, _, _ in plans]
    alive = wait_gone(pids, timeout)
    graceful = launch.graceful_pids([job for job, _, _ in plans]) & alive
    if graceful and kill:  # Gigahorse finishing its plot and its copy: its own, longer wait before SIGKILL
        alive = (alive - graceful) | wait_gone(sorted(graceful), max(0, graceful_timeout - timeout))
    if alive and kill:
        for job, target, _ in plans:
            if job["pid"] in alive:
                send(target, signal.SIGKILL)
                by_pid[job["pid"]]["killed"] = True
        alive = wait_gone(list(alive), 10)
    for pid in pids:
        by_pid[pid]["exited"] = pid not in alive
    if alive and graceful and not kill:
        result["warnings"].append(launch.graceful_note(graceful))
        alive = alive - graceful
    if alive:
        result["warnings"].append("still running after %ss: pid %s (use kill=true to SIGKILL)"
                                  % (timeout, ", ".join(str(p) for p in sorted(alive))))
