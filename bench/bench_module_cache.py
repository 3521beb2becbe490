"""A module's host-side cost with and without the compiled module_utils cache (issue 15, compiled_cache.py).

Usage: .venv/bin/python bench/bench_module_cache.py [--rounds 12] [--python /usr/bin/python3 ...] [--cold 3]
       [--json FILE]
Payloads: one real `ansible localhost -m plotfleet.chia.<module>` run each (no pipelining,
ANSIBLE_KEEP_REMOTE_FILES) leaves the AnsiballZ file Ansible ran: plot_info, and plot_pass with nothing to do
(paused, empty dirs, max_jobs 0). Each is then run as Ansible runs it on a worker: `<python> AnsiballZ_x.py`,
a fresh process, with HOME a bench dir of its own (PYTHONDONTWRITEBYTECODE unset, as on a worker).
cache = the cache made before the rounds (one warm-up run); zip = PLOTFLEET_MODULE_CACHE=off (as before the
cache: every module_util compiled from the zip). Each round runs every module and Python once each way,
which goes first alternating per round. Figures: medians of the process's wall time and of its CPU time
(user + sys from wait4), and the per-round ratio cache/zip. --cold N: N runs that make the cache (a fresh
HOME each), against the zip runs beside them: the first call on a host after an upgrade.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from plotfleet_testlib import run_module  # noqa: E402

SYSTEM_PYTHON = "/usr/bin/python3"


def module_args(host):
    dirs = {"log_dir": str(host / "logs"), "state_dir": str(host / "state"), "tmp_dirs": [str(host / "tmp")],
            "dst_dirs": [str(host / "dst")]}
    return {"plot_info": dirs,
            "plot_pass": dict(dirs, rules={"max_jobs": 0}, plotter={"kind": "chiapos", "k": 18})}


def build_payload(module, args, work):
    remote_tmp = work / ("remote-tmp-" + module)
    rc, result = run_module(module, args, env={
        "ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_PIPELINING": "0", "ANSIBLE_REMOTE_TMP": str(remote_tmp),
        "PLOTFLEET_MODULE_CACHE": "off"})
    if rc != 0 or result.get("changed"):
        raise SystemExit("%s: rc %s, %s" % (module, rc, result))
    [path] = remote_tmp.glob("*/AnsiballZ_%s.py" % module)
    return path


def run_once(python, payload, home, cache):
    """(wall s, CPU s) of one module run."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    if not cache:
        env["PLOTFLEET_MODULE_CACHE"] = "off"
    start = time.perf_counter()
    proc = subprocess.Popen([python, str(payload)], env=env, cwd=str(payload.parent), stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    result = json.loads(out)
    if proc.returncode != 0 or result.get("failed") or result.get("changed"):
        raise SystemExit("%s failed: %s" % (payload.name, out[-2000:]))
    return wall, usage.ru_utime + usage.ru_stime


def median_ms(values):
    return round(statistics.median(values) * 1000)


def summary(name, runs):
    cache, zipped = runs["cache"], runs["zip"]
    ratios = [c[1] / z[1] for c, z in zip(cache, zipped)]
    return {"case": name, "n": len(cache),
            "cache_wall_ms": median_ms([w for w, _ in cache]), "zip_wall_ms": median_ms([w for w, _ in zipped]),
            "cache_cpu_ms": median_ms([c for _, c in cache]), "zip_cpu_ms": median_ms([c for _, c in zipped]),
            "cpu_ratio_median": round(statistics.median(ratios), 2),
            "cpu_ratio_range": [round(min(ratios), 2), round(max(ratios), 2)]}


def timed_rounds(payloads, pythons, home, rounds):
    runs = dict(((module, python), {"cache": [], "zip": []}) for module in payloads for python in pythons)
    for (module, python) in runs:  # warm-up: makes the cache for this payload and Python
        run_once(python, payloads[module], home, True)
    for round_no in range(rounds):
        for (module, python), pair in runs.items():
            order = ("cache", "zip") if round_no % 2 == 0 else ("zip", "cache")
            for mode in order:
                pair[mode].append(run_once(python, payloads[module], home, mode == "cache"))
    return runs


def cold_rounds(payloads, work, count):
    """The run that makes the cache (fresh HOME each), beside a zip run."""
    runs = dict((module, {"cache": [], "zip": []}) for module in payloads)
    for number in range(count):
        for module, pair in runs.items():
            home = work / ("cold-%s-%d" % (module, number))
            home.mkdir()
            pair["cache"].append(run_once(SYSTEM_PYTHON, payloads[module], home, True))
            pair["zip"].append(run_once(SYSTEM_PYTHON, payloads[module], home, False))
            shutil.rmtree(str(home))
    return runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--python", action="append", help="interpreter(s) to run the payloads (default system)")
    ap.add_argument("--cold", type=int, default=3)
    ap.add_argument("--json")
    opts = ap.parse_args()
    pythons = opts.python or [SYSTEM_PYTHON]
    work = Path(tempfile.mkdtemp(prefix="plotfleet-bench-cache-"))
    try:
        host = work / "host"
        for name in ("logs", "state", "tmp", "dst"):
            (host / name).mkdir(parents=True)
        (host / "state" / "pause").write_text("")  # plot_pass: nothing starts
        payloads = dict((module, build_payload(module, args, work)) for module, args in module_args(host).items())
        home = work / "home"
        home.mkdir()
        load = [os.getloadavg()[0]]
        runs = timed_rounds(payloads, pythons, home, opts.rounds)
        load.append(os.getloadavg()[0])
        cold = cold_rounds(payloads, work, opts.cold)
        load.append(os.getloadavg()[0])
        rows = [summary("%s, %s" % (module, python), pair) for (module, python), pair in runs.items()]
        rows += [summary("%s, first run (makes the cache)" % module, pair) for module, pair in cold.items()]
        print("load average (1 min) at start / after rounds / end: %s" % " / ".join("%.2f" % v for v in load))
        print("| case | runs | wall cache / zip (ms) | CPU cache / zip (ms) | CPU cache/zip per pair (median, range) |")
        print("| --- | --- | --- | --- | --- |")
        for row in rows:
            print("| %s | %d | %d / %d | %d / %d | %.2fx (%.2f-%.2f) |" % (
                row["case"], row["n"], row["cache_wall_ms"], row["zip_wall_ms"], row["cache_cpu_ms"],
                row["zip_cpu_ms"], row["cpu_ratio_median"], row["cpu_ratio_range"][0], row["cpu_ratio_range"][1]))
        if opts.json:
            Path(opts.json).write_text(json.dumps({"load": load, "rows": rows}, indent=1))
    finally:
        shutil.rmtree(str(work), ignore_errors=True)


if __name__ == "__main__":
    main()
