"""Benchmark plot_info's gather() on a busy host: 20 live-looking jobs and 10,000 historical logs.

Method
- Host: a temp dir with log_dir, state_dir, 4 tmp dirs, 2 dst dirs.
- History: N logs (default 10,000) in log_dir, hard links to real plotter logs (this repo's chiapos
  fixtures and ../shared/fixtures: chiapos k18..k32, chia CLI multi-plot, madMAx, BladeBit RAM/disk),
  each under its own name, so every one is parsed and cached separately.
- Live jobs: 20 real sleeping processes whose argv looks like plotfleet's chiapos driver
  (`python3 .../plotfleet-chiapos-bench.py -k 32 -t ... -d ...`), stdout into their own log holding the
  first part of a real k32 chiapos log, with temp files in their tmp dirs; half have launch records,
  half are adopted. Before each warm call, every live log grows by 25 lines (as running plots do).
- Each call runs in a fresh /usr/bin/python3 process (like an Ansible module: system Python,
  importing the collection's module_utils, not the venv) that times hoststate.gather() in-process and
  reports its peak RSS; the wall time of the whole process (start-up + imports + gather) is also shown.
- cold = empty cache (state_dir/cache removed); warm = the cache from the previous call.
- --churn N: before every N-th warm call one historical log is deleted and one newly finished log
  appears (as when a plot ends and old logs are pruned), which updates the ETA sums and the store.
- --collections DIR: time another checkout's code (e.g. a copy of the previous version) on the same host.

Usage: python bench/bench_plot_info.py [--logs 10000] [--jobs 20] [--warm 15] [--cold 1] [--churn 0]
                                       [--collections DIR] [--keep DIR]
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
SHARED = REPO / "tests" / "fixtures" / "shared"  # in-repo copy of ../shared/fixtures
SYSTEM_PYTHON = "/usr/bin/python3"
K32_LOG = SHARED / "peer-logs" / "plotman__chianetwork.plot.log"

SLEEPER = "import signal, time\nsignal.signal(signal.SIGTERM, lambda *a: exit(0))\nwhile True: time.sleep(3600)\n"

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
t0 = time.perf_counter()
from ansible_collections.plotfleet.chia.plugins.module_utils import hoststate
t1 = time.perf_counter()
state = hoststate.gather(json.loads(sys.argv[2]))
t2 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "gather_ms": (t2 - t1) * 1000,
                  "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "jobs": len(state["jobs"]), "history": len(state["history"]),
                  "states": sorted(set(j["state"] for j in state["jobs"])), "warnings": state["warnings"][:3]}))
"""


def source_logs():
    logs = sorted((REPO / "tests" / "fixtures" / "logs").glob("*.log"))
    for sub in ("chiapos", "peer-logs", "plotter-logs"):
        logs += sorted((SHARED / sub).glob("*.log"))
    return [p for p in logs if p.stat().st_size > 1000]


def build_host(root, n_logs, n_jobs):
    log_dir, state_dir = root / "logs", root / "state"
    tmp_dirs = [root / ("nvme%d" % i) for i in range(4)]
    dst_dirs = [root / ("hdd%d" % i) for i in range(2)]
    for d in [log_dir, state_dir, root / "src"] + tmp_dirs + dst_dirs:
        d.mkdir(parents=True, exist_ok=True)
    sources = source_logs()
    for i in range(n_logs):
        src = sources[i % len(sources)]
        os.link(str(src), str(log_dir / ("2025-%05d-%s" % (i, src.name))))
    for d in dst_dirs:   # some finished plots in the dst dirs
        for i in range(50):
            (d / ("plot-k32-2025-01-01-00-00-%064x.plot" % (i + 1))).write_bytes(b"")
    k32 = K32_LOG.read_text().splitlines(True)
    sleeper = state_dir / "bin" / "plotfleet-chiapos-bench.py"
    sleeper.parent.mkdir()
    sleeper.write_text(SLEEPER)
    jobs = []
    for i in range(n_jobs):
        tmp = tmp_dirs[i % len(tmp_dirs)]
        dst = dst_dirs[i % len(dst_dirs)]
        plot_id = "%064x" % (0xBEEF0000 + i)
        upto = 200 + (i * 1900 // n_jobs)   # + 25 lines per warm call: stays unfinished
        text = "".join(k32[:upto]).replace("d2540dcfcffddbfbd7e60b4aca4d54fb937db71991298fabc253f020a87ff7d4", plot_id)
        log = log_dir / ("live-%02d.log" % i)
        log.write_text(text)
        for n in (1, 2, 3):
            (tmp / ("plot-k32-2025-11-29-00-00-%s.plot.table%d.tmp" % (plot_id, n))).write_bytes(b"\0" * 4096)
        argv = [SYSTEM_PYTHON, str(sleeper), "-k", "32", "-n", "1", "-t", str(tmp), "-2", str(tmp), "-d", str(dst),
                "-r", "4", "-u", "128", "-b", "4000"]
        with open(str(log), "a") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        jobs.append({"proc": proc, "log": log, "argv": argv, "tmp": tmp, "dst": dst, "next": upto,
                     "lines": k32, "plot_id": plot_id})
    time.sleep(0.5)
    sys.path.insert(0, str(REPO / "collections"))
    from ansible_collections.plotfleet.chia.plugins.module_utils import processes, records
    starts = dict((p["pid"], p["start"]) for p in processes.list_processes())
    for i, job in enumerate(jobs):
        if i % 2:
            continue   # odd jobs are adopted (no record)
        pid = job["proc"].pid
        records.write_record(str(state_dir), records.JOBS, "bench%02d" % i, {
            "version": 1, "launch_id": "bench%02d" % i, "plot_id": None, "plotter": "chiapos",
            "plotter_kind": "chiapos", "argv": job["argv"], "pid": pid, "proc_start": starts[pid],
            "log": str(job["log"]), "tmp_dir": str(job["tmp"]), "tmp2_dir": str(job["tmp"]),
            "dst_dir": str(job["dst"]), "k": 32, "count": 1, "started": time.time(), "unit": None,
            "method": "setsid"})
    params = {"log_dir": str(log_dir), "state_dir": str(state_dir), "tmp_dirs": [str(d) for d in tmp_dirs],
              "dst_dirs": [str(d) for d in dst_dirs], "history_limit": 50, "stall_after_s": None}
    return params, jobs


def grow(jobs, lines=25):
    for job in jobs:
        text = "".join(job["lines"][job["next"]:job["next"] + lines]).replace(
            "d2540dcfcffddbfbd7e60b4aca4d54fb937db71991298fabc253f020a87ff7d4", job["plot_id"])
        with open(str(job["log"]), "a") as out:
            out.write(text)
        job["next"] += lines


def churn(params, step):
    """One old log gone, one newly finished log (a hard link to a finished fixture) in log_dir."""
    log_dir = Path(params["log_dir"])
    old = sorted(log_dir.glob("2025-*"))
    if old:
        old[0].unlink()
    finished = [p for p in source_logs() if "rename" in p.name or "n2" in p.name] or source_logs()
    src = finished[step % len(finished)]
    os.link(str(src), str(log_dir / ("2026-%05d-%s" % (step, src.name))))


def one_call(params, collections):
    t0 = time.perf_counter()
    out = subprocess.run([SYSTEM_PYTHON, "-c", CHILD, str(collections), json.dumps(params)],
                         stdout=subprocess.PIPE, check=True, universal_newlines=True).stdout
    result = json.loads(out)
    result["wall_ms"] = (time.perf_counter() - t0) * 1000
    return result


def summary(name, runs):
    gather = [r["gather_ms"] for r in runs]
    wall = [r["wall_ms"] for r in runs]
    p90 = sorted(gather)[max(0, int(round(0.9 * len(gather))) - 1)]
    print("%-5s n=%-3d gather median %8.1f ms  p90 %8.1f ms | process wall median %8.1f ms | import %.1f ms | "
          "peak RSS %.1f MiB" % (name, len(runs), statistics.median(gather), p90, statistics.median(wall),
                                 statistics.median(r["import_ms"] for r in runs),
                                 max(r["rss_kb"] for r in runs) / 1024.0))


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    version = subprocess.run([SYSTEM_PYTHON, "--version"], stdout=subprocess.PIPE, universal_newlines=True).stdout
    return "nproc %d, CPU %s, %s" % (os.cpu_count(), model, version.strip())


def loadavg():
    try:
        with open("/proc/loadavg") as handle:
            return " ".join(handle.read().split()[:3])
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logs", type=int, default=10000)
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--warm", type=int, default=15)
    ap.add_argument("--cold", type=int, default=1)
    ap.add_argument("--churn", type=int, default=0, help="every N-th warm call: one log gone, one new finished log")
    ap.add_argument("--collections", default=str(REPO / "collections"), help="collections dir whose code is timed")
    ap.add_argument("--keep", help="build the host in this dir and keep it")
    args = ap.parse_args()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="plotfleet-bench-info-"))
    print("machine: %s; load average %s" % (machine(), loadavg()))
    print("code: %s" % args.collections)
    t0 = time.time()
    params, jobs = build_host(root, args.logs, args.jobs)
    print("host: %d historical logs, %d live jobs (%d with records) built in %.1f s under %s"
          % (args.logs, args.jobs, (args.jobs + 1) // 2, time.time() - t0, root))
    try:
        cold = []
        for _ in range(args.cold):
            shutil.rmtree(str(Path(params["state_dir"]) / "cache"), ignore_errors=True)
            cold.append(one_call(params, args.collections))
        warm = []
        for i in range(args.warm):
            grow(jobs)
            if args.churn and (i + 1) % args.churn == 0:
                churn(params, i)
            warm.append(one_call(params, args.collections))
        last = warm[-1] if warm else cold[-1]
        print("result: %d jobs (%s), %d history entries, warnings %s"
              % (last["jobs"], ",".join(last["states"]), last["history"], last["warnings"]))
        summary("cold", cold)
        summary("warm", warm)
        files = sorted((Path(params["state_dir"]) / "cache").iterdir())
        print("cache: %.1f MB (%s); load average now %s" % (
            sum(f.stat().st_size for f in files) / 1e6,
            ", ".join("%s %.2f MB" % (f.name, f.stat().st_size / 1e6) for f in files), loadavg()))
    finally:
        for job in jobs:
            job["proc"].terminate()
        for job in jobs:
            job["proc"].wait()
        if not args.keep:
            shutil.rmtree(str(root), ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
