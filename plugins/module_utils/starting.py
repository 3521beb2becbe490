# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The body of plot_start: validate, then under the host lock gather -> decide -> launch -> record.

Deciding on the host under flock(state_dir/plotfleet.lock) is what makes two concurrent passes
unable to start two plots for one slot: the second one gathers after the first has recorded its job.
"""

from __future__ import absolute_import, division, print_function

import os
import subprocess
import time

from ansible_collections.plotfleet.chia.plugins.module_utils import (
    chiapos_driver,
    custom_plotter,
    launch,
    pos2_driver,
    records,
)
from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import start as policy

__metaclass__ = type

# Plotter kinds run by a driver script of ours, and the module the plotter's Python must import.
DRIVER_MODULE = {"chiapos": "chiapos", "pos2": "chia_rs"}
COUNTER_RECORD = "start-policy"  # <state_dir>/cache/start-policy.json: round-robin counter
DRIVERS = {"chiapos": chiapos_driver, "pos2": pos2_driver}


def install_driver(state_dir, kind):
    """The driver script of a driver-run plotter kind, installed in state_dir/bin."""
    return DRIVERS[kind].install_driver(state_dir)


class StartError(Exception):
    """A launch that failed; carries what was learned (result keys) for fail_json."""

    def __init__(self, msg, **result):
        Exception.__init__(self, msg)
        self.msg = msg
        self.result = result


def recorded_plotter(plotter):
    """The parser a launch's log needs: chia's CLI prints chiapos's log, and `bladebit cudaplot`
    prints BladeBit CUDA's, not the RAM plotter's."""
    if plotter["kind"] in ("chia", "chiapos"):
        return "chiapos"
    if plotter["kind"] == "bladebit" and plotter.get("bladebit_mode") == "cudaplot":
        return "bladebit_cuda"
    return plotter["kind"]

def plot_spec(plotter):
    spec = {"kind": plotter["kind"], "k": plotter["k"], "compression": plotter.get("compression") or 0,
            "bladebit_mode": plotter.get("bladebit_mode") or "ramplot", "count": plotter.get("count") or 1}
    if plotter["kind"] == "custom":   # a template writing .plot2 files is sized as PoS2 by the space rules
        spec["plot_format"] = custom_plotter.plot_format(plotter)
    return spec


def _check_dir(option, path, errors):
    if not os.path.exists(path):
        errors.append("%s: %s does not exist" % (option, path))
    elif not os.path.isdir(path):
        errors.append("%s: %s is not a directory" % (option, path))
    elif not os.access(path, os.W_OK | os.X_OK):
        errors.append("%s: %s is not writable" % (option, path))


def validate(params):
    """All problems with the options, each naming its option. Returns (errors, binary path).

    The plotter's Python is found here but its import (driver kinds) is tried by run() only before a
    real start: running it costs ~0.2 s, every pass, also when nothing may start."""
    plotter, errors = params["plotter"], []
    errors.extend(policy.validate_rules(params.get("rules") or {}))
    errors.extend(launch.validate_plotter(plotter))
    if not params.get("tmp_dirs"):
        errors.append("tmp_dirs: at least one tmp dir is needed to start plots")
    for path in params.get("tmp_dirs") or []:
        _check_dir("tmp_dirs", path, errors)
    for path in params.get("dst_dirs") or []:
        _check_dir("dst_dirs", path, errors)
    if plotter.get("tmp2_dir"):
        _check_dir("plotter.tmp2_dir", plotter["tmp2_dir"], errors)
    if params.get("max_starts", 1) < 1:
        errors.append("max_starts must be >= 1, got %s" % params["max_starts"])
    binary = None
    if plotter.get("kind") in DRIVER_MODULE:
        binary = launch.resolve_executable(plotter.get("python") or "python3")
        if binary is None:
            errors.append("plotter.python: %s not found or not executable" % (plotter.get("python") or "python3"))
    elif plotter.get("kind") in launch.DEFAULT_BINARY:
        name = plotter.get("binary") or launch.DEFAULT_BINARY[plotter["kind"]]
        binary = launch.resolve_executable(name)
        if binary is None:
            errors.append("plotter.binary: %s not found or not executable" % name)
    return errors, binary


def import_problems(params):
    """The plotter's Python cannot import the module its driver needs (driver kinds only)."""
    kind, python = params["plotter"].get("kind"), params.get("_binary")
    if kind not in DRIVER_MODULE or not python or _can_import(python, DRIVER_MODULE[kind]):
        return []
    module = DRIVER_MODULE[kind]
    return ["plotter.python: %s cannot import %s (pip install %s)" % (python, module, module)]


def _can_import(python, module):
    try:
        return subprocess.run([python, "-c", "import %s" % module], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def read_counter(state_dir):
    data = records.read_json(records.record_path(state_dir, records.CACHE, COUNTER_RECORD)) or {}
    return int(data.get("counter") or 0)


def write_counter(state_dir, value):
    records.write_record(state_dir, records.CACHE, COUNTER_RECORD, {"counter": int(value)})


def decide(params, gather, now):
    """Gather the host state and run the policy (call it under the host lock)."""
    return decide_on(params, gather(params, now=now), now)


def decide_on(params, state, now):
    """The policy on a gathered host state (a copy gets the pause file and the start counter)."""
    state = dict(state)
    pause_file = params.get("pause_file") or os.path.join(params["state_dir"], "pause")
    state["pause_file"] = pause_file
    state["pause_file_exists"] = os.path.exists(pause_file)
    state["start_counter"] = read_counter(params["state_dir"])
    plotter = params["plotter"]
    decision = policy.decide(state, params.get("rules") or {}, now, tmp_dirs=params["tmp_dirs"],
                             dst_dirs=params.get("dst_dirs") or [], plot=plot_spec(plotter),
                             tmp2_dir=plotter.get("tmp2_dir"), max_starts=params.get("max_starts") or 1)
    return state, decision


def proc_start(pid):
    """The process start time exactly as processes.list_processes() reports it (the join key)."""
    try:
        from ansible_collections.plotfleet.chia.plugins.module_utils import processes
    except ImportError:
        return None
    for proc in processes.list_processes():
        if proc["pid"] == pid:
            return proc["start"]
    return None


def launch_one(params, slot, binary, driver, now, warnings):
    """Start one plot in the slot chosen by the policy; returns its launch record.

    Raises StartError (after keeping the record, so crash-loop backoff sees it) if it died at once.
    """
    plotter, state_dir = params["plotter"], params["state_dir"]
    import uuid  # here: it loads platform (~30 ms), and most passes start nothing (issue 15)

    launch_id = uuid.uuid4().hex
    log = launch.log_path(params["log_dir"], launch_id, now)
    argv = launch.build_argv(plotter, binary, slot["tmp_dir"], slot["tmp2_dir"], slot["dst_dir"], driver=driver)
    try:
        spawned = launch.detach(argv, log, nice=plotter.get("nice"), unit="plotfleet-%s" % launch_id,
                                warnings=warnings)
    except OSError as exc:
        raise StartError("cannot start %s: %s" % (argv[0], exc.strerror or exc), argv=argv, log=log) from None
    pid = spawned["pid"]
    record = {"version": 1, "launch_id": launch_id, "plot_id": None,
              "plotter": recorded_plotter(plotter),
              "plotter_kind": plotter["kind"], "argv": argv, "pid": pid, "proc_start": proc_start(pid) if pid else None,
              "log": log, "tmp_dir": slot["tmp_dir"], "tmp2_dir": slot["tmp2_dir"], "dst_dir": slot["dst_dir"],
              "k": plotter["k"], "count": plotter.get("count") or 1, "started": now,
              "unit": spawned["unit"], "method": spawned["method"]}
    records.write_record(state_dir, records.JOBS, launch_id, record)
    seen = launch.wait_started(pid, log, want_id=plotter["kind"] in ("chia", "chiapos", "pos2"),
                               timeout=params.get("start_timeout") or 5.0)
    if seen["plot_id"] or not seen["alive"]:
        record["plot_id"] = seen["plot_id"]
        if not seen["alive"]:
            record["ended"] = time.time()  # a start that died at once: history, counted by backoff
        records.write_record(state_dir, records.JOBS, launch_id, record)
    if not seen["alive"] and plots_finished(log, record["count"]):
        return record   # it made its plot(s) inside the start check (a toy k, a fast plotter): not a crash
    if not seen["alive"]:
        raise StartError("plotter died at once (launch %s, log %s): %s"
                         % (launch_id, log, " | ".join(seen["head"][:8]) or "empty log"),
                         argv=argv, log=log, log_head=seen["head"], launch_id=launch_id)
    return record


def plots_finished(log, count, limit=16 * 1024 * 1024):
    """Whether the log of a plotter that is gone shows `count` finished plots (its parser's answer, as plot_info
    reads the log). A plotter whose check waits for no `ID:` line (custom, madMAx, BladeBit) can end a small plot
    within wait_started's min_wait; it made the plot and did not die."""
    try:
        with open(log, "rb") as handle:
            data = handle.read(limit)
    except (IOError, OSError):
        return False
    plotter = model.detect_plotter(data[:16384])
    if plotter is None:
        return False
    cut = data.rfind(b"\n")   # complete lines only
    if cut < 0:
        return False
    parser = model.parser_for(plotter)
    parser.feed_text(data[:cut].decode("utf-8", "replace"))
    return sum(1 for plot in parser.plots if plot["state"] == "finished") >= max(1, count or 1)


def public_record(record):
    keys = ("launch_id", "plot_id", "plotter", "plotter_kind", "argv", "pid", "log", "tmp_dir", "tmp2_dir",
            "dst_dir", "k", "count", "started", "unit", "method")
    return dict((key, record.get(key)) for key in keys)


def run(params, check_mode, gather, install_driver, now=None):
    """plot_start: returns the module result; raises StartError for a failed launch."""
    warnings, started = [], []
    records.ensure_dir(params["log_dir"])
    with records.host_lock(params["state_dir"]):
        now = now or time.time()
        state, decision = decide(params, gather, now)
        warnings.extend(state.get("warnings") or [])
        result = {"changed": False, "started": started, "would_start": decision["start"],
                  "reasons": decision["reasons"], "decision": decision, "warnings": warnings}
        if not decision["start"]:
            return result
        problems = import_problems(params)  # only before a start: it runs the plotter's Python
        if problems:
            raise StartError("; ".join(problems), errors=problems, changed=False)
        if check_mode:
            return result
        binary = params["_binary"]
        # the kinds run by a plotfleet driver script in the plotter's Python (chiapos, chia_rs)
        kind = params["plotter"]["kind"]
        driver = install_driver(params["state_dir"], kind) if kind in DRIVER_MODULE else None
        counter = state["start_counter"]
        for slot in decision["start"]:
            try:
                record = launch_one(params, slot, binary, driver, now, warnings)
            except StartError as exc:
                counter += 1
                write_counter(params["state_dir"], counter)
                exc.result.update(started=started, changed=bool(started) or "launch_id" in exc.result,
                                  decision=decision)
                raise
            started.append(public_record(record))
            counter += 1
        write_counter(params["state_dir"], counter)
        result["changed"] = True
        return result
