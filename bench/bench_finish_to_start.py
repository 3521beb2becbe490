"""Plot finishes -> next start on that slot, with the real loop at interval T (issue 15).

Usage: .venv/bin/python bench/bench_finish_to_start.py [--intervals 20,60] [--plots 8] [--k 18]
       [--fleet] [--worktree] [--json FILE] [--keep]
Target: every (next start - finish) <= T + one pass (the median pass of the same run).

Setup per T: bin/plotfleet-loop --interval T runs reconcile.yml over localhost (connection local, the
system Python) with its own dirs under /tmp/plotfleet-bench-f2s-*: one tmp dir (the slot), one dst dir,
one storage dir (plot_move runs as in any pass), real chiapos k18 plots. max_jobs_per_tmp 1 makes each
finish free the only slot (max_jobs stays high: it counts every plotter on the machine, and other
people's plots may run here). --fleet: the same over the SSH fleet of tests/fleet (one plotter with
max_jobs 1 in its own PID namespace + one storage host; bench/finish_to_start_fleet.py). By default the
code run is a snapshot of the committed HEAD (git archive), so edits in progress in the checkout do
not leak into a run; --worktree runs the checkout as it is.

Scaling: a real plot takes minutes to hours, so it finishes at a random moment of the loop's cycle; a
k18 plot takes seconds and would always finish at the same moment after the pass that started it. So
the bench holds each plot (SIGSTOP once its `ID:` line is out, SIGCONT after 0..T s, drawn stratified:
one hold in each 1/n of T, shuffled): finish times then fall evenly over the cycle, as they do for real
plots.

Measured per plot (clock: time.time(); the kernel's timestamps converted to it):
  finish      the plot file's ctime in dst: the rename of the final file (the moment the plot exists;
              the log has no wall-clock times and the job record's `ended` is only written by the next
              pass). The plotter process's exit (polled every 50 ms) is recorded too: the slot is free
              only once the process is gone.
  next start  the next job's process start (/proc/PID/stat starttime, read while it runs, converted
              with CLOCK_BOOTTIME; /proc/stat btime is rounded to the second); the record's `started`
              (the module's clock when it took the host lock, before its gather) is kept as the
              decision time.
  passes      an ansible-playbook wrapper stamps each pass's begin (the loop's wake-up + fork) and end;
              the pass_timing callback (bench/pass_timing) stamps playbook start and every task.
Idle: the fraction of the measured span (first start -> last start) with no plot in the slot, and
what the mean delay implies for real plot durations.
"""

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
VENV_BIN = REPO / ".venv" / "bin"
CALLBACKS = REPO / "bench" / "pass_timing" / "callback_plugins"
CLK_TCK = os.sysconf("SC_CLK_TCK")
POLL = 0.05
ID_LINE = re.compile(r"^ID: ([0-9a-fA-F]{64})\s*$", re.M)
# sh, not Python: the stamp costs a few ms. Each pass gets its own timing file.
WRAPPER = """#!/bin/sh
n=$(date +%%s%%N)
echo "begin $n" >> %(log)s
PLOTFLEET_PASS_TIMING_FILE=%(timing)s/pass-$n.json %(playbook)s "$@"
rc=$?
echo "end $n $(date +%%s%%N) $rc" >> %(log)s
exit $rc
"""


# ---------------------------------------------------------------- clocks and processes
def boot_epoch():
    """Epoch seconds of boot, at sub-ms precision (btime in /proc/stat is whole seconds)."""
    return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)


def proc_stat(pid):
    """(state letter, start epoch) of a running pid, None when it is gone or a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in ("Z", "X"):
        return None
    return fields[0], BOOT + int(fields[19]) / float(CLK_TCK)


BOOT = boot_epoch()


def signal_pid(pid, sig):
    try:
        os.kill(pid, sig)
    except OSError:
        pass


# ---------------------------------------------------------------- the run's dirs, inventory, wrapper
def code_root(work, worktree):
    """The checkout to run: this one as it is, or a snapshot of its committed HEAD."""
    if worktree:
        return REPO, "worktree"
    root = work / "code"
    root.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "HEAD"], stdout=subprocess.PIPE, check=True)
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
    head = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h %cI %<(60,trunc)%s"],
                          stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout.strip()
    return root, head


def host_vars(work, k):
    return {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
            "plotfleet_log_dir": str(work / "logs"), "plotfleet_state_dir": str(work / "state"),
            "plotfleet_tmp_dirs": [str(work / "tmp")], "plotfleet_dst_dirs": [str(work / "dst")],
            "plotfleet_storage_dirs": [str(work / "storage")],
            "plotfleet_plotter": "chiapos", "plotfleet_plotter_python": str(VENV_BIN / "python"),
            "plotfleet_k": k, "plotfleet_buckets": 32, "plotfleet_stripe": 2000, "plotfleet_buffer_mib": 200,
            "plotfleet_threads": 2, "plotfleet_max_jobs": 50, "plotfleet_max_jobs_per_tmp": 1,
            "plotfleet_min_start_interval_minutes": 0, "plotfleet_crash_window_minutes": 0,
            "plotfleet_status_file": str(work / "status.json"),
            "plotfleet_status_table_file": str(work / "status.txt")}


def localhost_slot(work, k):
    """The slot on this machine: {state, dst, inventory, host_pid} (pids are this machine's)."""
    for name in ("tmp", "dst", "storage", "logs", "state"):
        (work / name).mkdir()
    inventory = work / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"localhost": host_vars(work, k)}, "children": {
        "plotters": {"hosts": {"localhost": {}}}, "storage": {"hosts": {"localhost": {}}}}}}))
    return {"state": work / "state", "dst": work / "dst", "inventory": inventory, "host_pid": lambda pid: pid}


def write_wrapper(work):
    for name in ("timing", "loop"):
        (work / name).mkdir()
    wrapper = work / "ansible-playbook"
    wrapper.write_text(WRAPPER % {"log": work / "passes.log", "timing": work / "timing",
                                  "playbook": VENV_BIN / "ansible-playbook"})
    wrapper.chmod(0o755)
    return wrapper


def start_loop(work, code, interval, inventory, wrapper):
    env = dict(os.environ, ANSIBLE_CALLBACK_PLUGINS=str(CALLBACKS), ANSIBLE_CALLBACKS_ENABLED="pass_timing",
               ANSIBLE_CONFIG=str(code / "ansible.cfg"))
    cmd = [sys.executable, str(code / "bin" / "plotfleet-loop"), "--interval", str(interval),
           "--ansible-playbook", str(wrapper), "--lock", str(work / "loop.lock"), "--work-dir", str(work / "loop"),
           "--playbook", str(code / "reconcile.yml"), "--", "-i", str(inventory)]
    out = open(str(work / "loop.out"), "w")
    return subprocess.Popen(cmd, cwd=str(code), env=env, stdout=out, stderr=subprocess.STDOUT)


# ---------------------------------------------------------------- watching jobs, holds, finishes
class Watch(threading.Thread):
    """Every 50 ms: new launch records (process start read at once), holds, process exits, new plots."""

    def __init__(self, slot, interval, seed, plots):
        super(Watch, self).__init__(daemon=True)
        self.slot, self.interval, self.holds = slot, interval, stratified_holds(interval, plots, seed)
        self.jobs, self.plots, self.done = {}, {}, threading.Event()
        self.lock = threading.Lock()

    def run(self):
        while not self.done.is_set():
            with self.lock:
                self.scan_records()
                self.scan_jobs()
                self.scan_plots()
            time.sleep(POLL)
        self.release_all()

    def scan_records(self):
        for path in (self.slot["state"] / "jobs").glob("*.json"):
            if path.stem in self.jobs:
                continue
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # written atomically; a rename in flight is retried next poll
            pid = self.slot["host_pid"](record["pid"]) if record.get("pid") else None
            stat = proc_stat(pid) if pid else None
            self.jobs[path.stem] = {"launch_id": path.stem, "pid": pid, "log": record.get("log"),
                                    "record_started": record.get("started"), "record_proc_start": record.get(
                                        "proc_start"), "seen": time.time(),
                                    "proc_start": stat[1] if stat else None, "exit": None, "hold": None}

    def scan_jobs(self):
        now = time.time()
        for job in self.jobs.values():
            if job["exit"] is not None or not job["pid"]:
                continue
            stat = proc_stat(job["pid"])
            if stat is None or (job["proc_start"] and abs(stat[1] - job["proc_start"]) > 0.05):
                job["exit"] = now
                continue
            self.hold(job, now)

    def hold(self, job, now):
        """SIGSTOP once the plot id is out (plot_start waits for that line), SIGCONT after U(0, T)."""
        if job["hold"] is None:
            if not ID_LINE.search(read_text(job["log"])) and now - job["seen"] < 3.0:
                return
            signal_pid(job["pid"], signal.SIGSTOP)
            hold_s = self.holds[sum(1 for j in self.jobs.values() if j["hold"]) % len(self.holds)]
            job["hold"] = {"from": now, "until": now + hold_s, "released": None}
        elif job["hold"]["released"] is None and now >= job["hold"]["until"]:
            signal_pid(job["pid"], signal.SIGCONT)
            job["hold"]["released"] = now

    def scan_plots(self):
        for path in (self.slot["dst"]).glob("*.plot"):
            if path.name not in self.plots:
                try:
                    self.plots[path.name] = path.stat().st_ctime
                except OSError:
                    pass

    def release_all(self):
        for job in self.jobs.values():
            if job["hold"] and job["hold"]["released"] is None and job["exit"] is None:
                signal_pid(job["pid"], signal.SIGCONT)
                job["hold"]["released"] = time.time()

    def started(self):
        with self.lock:
            return len(self.jobs)

    def live_pids(self):
        with self.lock:
            return [job["pid"] for job in self.jobs.values() if job["exit"] is None and job["pid"]]


def stratified_holds(interval, count, seed):
    """`count` hold times in 0..T, one in each of `count` equal strata, shuffled: with few plots the
    finishes still cover the whole cycle (plain uniform draws of 8 can bunch up)."""
    rng = random.Random(seed)
    holds = [interval * (i + rng.random()) / count for i in range(count)]
    rng.shuffle(holds)
    return holds


def read_text(path):
    try:
        with open(path, errors="replace") as handle:
            return handle.read()
    except (OSError, TypeError):
        return ""


# ---------------------------------------------------------------- one run at interval T
def run_interval(interval, args, make_slot):
    work = Path(tempfile.mkdtemp(prefix="plotfleet-bench-f2s-T%g-" % interval))
    try:
        code, head = code_root(work, args.worktree)
        slot, wrapper = make_slot(work, args.k), write_wrapper(work)
        uptime_before = load_average()
        watch = Watch(slot, interval, args.seed, args.plots)  # strata for the pairs' holds (the last is spare)
        watch.start()
        loop = start_loop(work, code, interval, slot["inventory"], wrapper)
        began = time.time()
        loads = []
        try:
            wait_for_starts(watch, loop, args.plots + 1, began + args.timeout, loads)
        finally:
            stop_loop(slot, loop)
            finish_jobs(watch)
        result = analyse(work, watch, interval)
        result.update(code=head, load_before=uptime_before, load_during=loads, load_after=load_average(),
                      wall_s=time.time() - began, loop_out=(work / "loop.out").read_text()[-3000:])
        return result
    finally:
        if args.keep:
            print("kept %s" % work, file=sys.stderr)
        else:
            shutil.rmtree(str(work), ignore_errors=True)


def load_average():
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def wait_for_starts(watch, loop, wanted, deadline, loads):
    """Until `wanted` jobs have started; samples the 1-minute load average every 10 s meanwhile."""
    next_sample = 0.0
    while watch.started() < wanted:
        if time.time() >= next_sample:
            loads.append(float(load_average().split()[0]))
            next_sample = time.time() + 10.0
        if loop.poll() is not None:
            raise SystemExit("the loop exited (%s)" % loop.returncode)
        if time.time() > deadline:
            raise SystemExit("only %d starts before the timeout" % watch.started())
        time.sleep(0.5)


def stop_loop(slot, loop):
    """No more starts (the pause file, as a drain), then SIGTERM: the loop ends after its pass."""
    (slot["state"] / "pause").touch()
    if loop.poll() is None:
        loop.send_signal(signal.SIGTERM)
    try:
        loop.wait(timeout=300)
    except subprocess.TimeoutExpired:
        os.kill(loop.pid, signal.SIGKILL)  # only the loop we started; its pass ends with it
        loop.wait()


def finish_jobs(watch, timeout=300):
    """Let the holds go and the bench's own plots end (seconds at k18); SIGKILL them after timeout."""
    with watch.lock:
        watch.release_all()
    deadline = time.time() + timeout
    while watch.live_pids() and time.time() < deadline:
        time.sleep(0.2)
    for pid in watch.live_pids():
        signal_pid(pid, signal.SIGKILL)
    watch.done.set()
    watch.join()


# ---------------------------------------------------------------- analysis
def read_passes(work):
    """[{begin, end, rc, events}] from the wrapper's stamps and the callback's timing files."""
    passes = {}
    for line in (work / "passes.log").read_text().splitlines():
        parts = line.split()
        if parts[0] == "begin":
            passes[parts[1]] = {"begin": int(parts[1]) / 1e9, "end": None, "rc": None, "events": []}
        elif parts[0] == "end" and parts[1] in passes:
            passes[parts[1]].update(end=int(parts[2]) / 1e9, rc=int(parts[3]))
    for stamp, entry in passes.items():
        path = work / "timing" / ("pass-%s.json" % stamp)
        if path.exists():
            entry["events"] = json.loads(path.read_text())["events"]
    return sorted(passes.values(), key=lambda p: p["begin"])


def task_marks(events):
    """Per pass: playbook start, and each plotfleet module task that ran: {action, start, end}."""
    tasks = {}
    for event in events:
        if event["kind"] not in ("host_start", "host_end") or not event.get("action", "").startswith("plotfleet."):
            continue
        task = tasks.setdefault(event["uuid"], {"action": event["action"].split(".")[-1], "start": None, "end": None,
                                                "ran": False})
        if event["kind"] == "host_start":
            task["start"] = task["start"] or event["t"]
        elif event.get("status") != "skipped":
            task.update(end=event["t"], ran=True)
    return {"playbook_start": next((e["t"] for e in events if e["kind"] == "playbook_start"), None),
            "tasks": [t for t in tasks.values() if t["ran"]]}


def task_offsets(events, wake):
    """Every task of a pass in order: name, action, its first host start and last host end after the wake."""
    tasks = {}
    for event in events:
        if event["kind"] in ("host_start", "host_end"):
            task = tasks.setdefault(event["uuid"], {"name": event["task"], "action": event["action"],
                                                    "start": event["t"] - wake, "end": None})
            task["end"] = event["t"] - wake
    return sorted(tasks.values(), key=lambda t: t["start"])


def starting_task(marks, start):
    """The module task during which the process started (plot_start, or plot_pass since issue 15)."""
    return next((t for t in marks["tasks"] if t["start"] <= start <= t["end"]), None)


def plot_finish(watch, job):
    """ctime of this job's plot file in dst (its plot id from the log), None if it made none."""
    match = ID_LINE.search(read_text(job["log"]))
    if not match:
        return None
    plot_id = match.group(1).lower()
    return next((t for name, t in watch.plots.items() if plot_id in name), None)


def containing_pass(passes, moment):
    return next((p for p in passes if p["begin"] <= moment <= (p["end"] or float("inf"))), None)


def pair(prev, nxt, passes, watch):
    """One finish -> next start, and where the time went."""
    finish = plot_finish(watch, prev)
    start = nxt["proc_start"] or nxt["record_proc_start"]
    if finish is None or start is None:
        return None
    starter = containing_pass(passes, start)
    marks = task_marks(starter["events"]) if starter else {"playbook_start": None, "tasks": []}
    task = starting_task(marks, start) or {"action": None, "start": None}
    freed = prev["exit"] or finish
    # A pass that ran the starting module only after the slot was free, and did not start: a miss.
    missed = [p for p in passes if p is not starter and p["begin"] < start and any(
        t["action"] == task["action"] and t["start"] > freed for t in task_marks(p["events"])["tasks"])]
    return {"finish": finish, "exit": prev["exit"], "next_start": start, "delay": start - finish,
            "exit_after_rename": (prev["exit"] - finish) if prev["exit"] else None,
            "finish_during_pass": containing_pass(passes, finish) is not None,
            "wait_part": max(0.0, starter["begin"] - finish) if starter else None,
            "in_pass_part": (start - max(finish, starter["begin"])) if starter else None,
            "wake_to_playbook": rel(marks["playbook_start"], starter),
            "starting_task": task["action"], "wake_to_starting_task": rel(task["start"], starter),
            "wake_to_decision": rel(nxt["record_started"], starter),
            "wake_to_process": rel(start, starter), "missed_passes": len(missed),
            "starter_tasks": task_offsets(starter["events"], starter["begin"]) if starter else [],
            "hold_s": (prev["hold"]["released"] - prev["hold"]["from"]) if prev["hold"] else None}


def rel(moment, starter):
    return (moment - starter["begin"]) if (moment and starter) else None


def analyse(work, watch, interval):
    passes = read_passes(work)
    jobs = sorted((j for j in watch.jobs.values() if j["proc_start"] or j["record_proc_start"]),
                  key=lambda j: j["proc_start"] or j["record_proc_start"])
    pairs = [p for p in (pair(a, b, passes, watch) for a, b in zip(jobs, jobs[1:])) if p]
    durations = [p["end"] - p["begin"] for p in passes if p["end"]]
    delays = sorted(p["delay"] for p in pairs)
    pass_median = statistics.median(durations) if durations else None
    span = (jobs[-1]["proc_start"] - jobs[0]["proc_start"]) if len(jobs) > 1 else None
    result = {"interval_s": interval, "starts": len(jobs), "pairs": pairs, "pass_durations": durations,
              "pass_median": pass_median, "delays": delays}
    if delays:
        bound = interval + pass_median
        result.update(median=statistics.median(delays), p90=quantile(delays, 0.9), max=delays[-1],
                      mean=statistics.mean(delays), bound=bound, met=delays[-1] <= bound,
                      over_bound=sum(1 for d in delays if d > bound),
                      idle_fraction=sum(delays) / span if span else None)
    return result


def quantile(values, q):
    """Linear interpolation between the closest ranks (values sorted)."""
    position = (len(values) - 1) * q
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


# ---------------------------------------------------------------- report
def median_of(pairs, key):
    values = [p[key] for p in pairs if p.get(key) is not None]
    return statistics.median(values) if values else float("nan")


def report(results):
    print("\n| T | load before / after (1 min avg during) | starts | pass median | delay median | p90 | max | "
          "T + pass | <= T + pass | idle of the slot (scaled run) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print("| %g s | %s / %s (%.1f) | %d | %.1f s | %.1f s | %.1f s | %.1f s | %.1f s | %s (%d over) | %.0f %% |" % (
            r["interval_s"], r["load_before"], r["load_after"], statistics.mean(r["load_during"]), r["starts"],
            r["pass_median"], r["median"],
            r["p90"], r["max"], r["bound"], "met" if r["met"] else "**not met**", r["over_bound"],
            100 * (r["idle_fraction"] or 0)))
    print("\nWhere the time goes (medians over the pairs; wake = the loop forks the pass):")
    print("| T | finish in a pass / in the wait | wait part (finish -> wake) | in-pass part (-> process) | "
          "wake -> playbook start | wake -> starting module task | wake -> decision (lock) | "
          "wake -> process start | exit after rename | passes that missed a free slot |")
    print("| --- " * 10 + "|")
    for r in results:
        p = r["pairs"]
        during = sum(1 for x in p if x["finish_during_pass"])
        print("| %g s | %d / %d | %.1f s | %.1f s | %.1f s | %.1f s | %.1f s | %.1f s | %.2f s | %d |" % (
            r["interval_s"], during, len(p) - during, median_of(p, "wait_part"), median_of(p, "in_pass_part"),
            median_of(p, "wake_to_playbook"),
            median_of(p, "wake_to_starting_task"), median_of(p, "wake_to_decision"),
            median_of(p, "wake_to_process"), median_of(p, "exit_after_rename"),
            sum(x["missed_passes"] for x in p)))
    for r in results:
        task_profile(r)
    implied_idle(results)
    for r in results:
        print("\nT=%g s raw delays: %s" % (r["interval_s"], ", ".join("%.1f" % d for d in r["delays"])))
        print("T=%g s pass durations: %s" % (r["interval_s"], ", ".join("%.1f" % d for d in r["pass_durations"])))
        print("T=%g s code: %s" % (r["interval_s"], r["code"]))


def task_profile(result):
    """Medians over the passes that started a plot: each task's start after the wake and its length,
    up to the start (the tasks after it do not delay this plot)."""
    rows = {}
    for p in result["pairs"]:
        for task in p["starter_tasks"]:
            if task["start"] > p["wake_to_process"]:
                break
            rows.setdefault((task["name"], task["action"]), []).append(task)
    if not rows:
        return
    print("\nT=%g s, the passes that started a plot, up to the start (medians, s after the wake):"
          % result["interval_s"])
    print("| task | action | starts at | takes |\n| --- | --- | --- | --- |")
    ordered = sorted(rows.items(), key=lambda item: statistics.median(t["start"] for t in item[1]))
    for (name, action), tasks in ordered:
        print("| %s | %s | %.1f | %.1f |" % (name, action, statistics.median(t["start"] for t in tasks),
                                             statistics.median(t["end"] - t["start"] for t in tasks)))


def implied_idle(results):
    """Idle share of a slot for real plots. A finish lands anywhere in the loop's cycle C = max(T, pass)
    and the start follows a fixed lead after a wake, so the delay spreads over 0..C: mean C/2, whatever
    the lead. The measured mean / C checks that; the table scales it to longer intervals."""
    ratios = [r["mean"] / max(r["interval_s"], r["pass_median"]) for r in results if r.get("mean") is not None]
    if not ratios:
        return
    ratio = statistics.mean(ratios)
    print("\nMean delay / cycle: %s (expected ~0.5); idle share = delay / (plot time + delay) at %.2f x T:"
          % (", ".join("%.2f" % x for x in ratios), ratio))
    print("| loop T | mean delay | GPU k32 (3 min a plot) | madMAx k32 (30 min) | chia k32 (8 h) |")
    print("| --- | --- | --- | --- | --- |")
    for interval in (60, 300, 600):
        delay = ratio * interval
        print("| %d s | %.0f s | %s |" % (interval, delay, " | ".join(
            "%.1f %%" % (100 * delay / (plot + delay)) for plot in (180, 1800, 28800))))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--intervals", default="20,60", help="loop intervals T in seconds (20,60)")
    parser.add_argument("--plots", type=int, default=8, help="finish -> start pairs per T (8)")
    parser.add_argument("--k", type=int, default=18)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up on a T after this many seconds")
    parser.add_argument("--fleet", action="store_true",
                        help="over the SSH fleet of tests/fleet (root; takes /tmp/plotfleet-fleet.lock)")
    parser.add_argument("--worktree", action="store_true", help="run the checkout as it is, not a snapshot of HEAD")
    parser.add_argument("--json", help="write every figure (each pair's timestamps) here")
    parser.add_argument("--keep", action="store_true", help="keep the run's dirs under /tmp")
    return parser.parse_args(argv)


@contextlib.contextmanager
def slots(fleet):
    """make_slot(work, k) for localhost, or for the SSH fleet (built, and torn down after the runs)."""
    if not fleet:
        yield localhost_slot
        return
    import finish_to_start_fleet
    with finish_to_start_fleet.fleet_slots() as make_slot:
        yield make_slot


def stop_on_sigterm():
    """SIGTERM (and SIGINT, which a shell's `cmd &` ignores) end the run through its cleanup."""
    def stop(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)


def main(argv):
    args = parse_args(argv)
    stop_on_sigterm()
    results = []
    with slots(args.fleet) as make_slot:
        for interval in (float(x) for x in args.intervals.split(",")):
            print("T=%g s: running (%s)" % (interval, load_average()), flush=True)
            results.append(run_interval(interval, args, make_slot))
    report(results)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    return 0 if all(r.get("met") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
