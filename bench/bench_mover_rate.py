"""Mover rate: does plot_move keep up with a plotter? Scaled PoS2 and GPU k32 scenarios over a real sshd.

Usage: .venv/bin/python bench/bench_mover_rate.py [--scenario pos2|gpu_k32|all] [--duration-s N]
Needs root (a private sshd on 127.0.0.1), rsync and /usr/sbin/sshd. Prints JSON and a Markdown table.

A producer stands in for a GPU plotter: a process with a plotter's argv (`xchplot2 plot ... -o SRC`, so
plot_info and the drain workers see a live plotter writing into SRC) that finishes a plot-shaped file
(valid complete v1 header + random bytes) every `every_s` exactly like a plotter: written as `.tmp`, then
renamed to its plot name. D storage dirs on the storage host (this machine, over ssh), each one "HDD":
plot_move's cap 1 per dir and a bwlimit of B per transfer. A plot_move pass runs every `interval_s`
(what the loop's reconcile pass does for moving); between passes the drain workers move on by themselves.
Scaled from the real cases so that plots per loop interval and transfer time per plot match:
  pos2:    1 GiB every 30 s, 4 HDDs of 250 MB/s, 300 s loop  ->  50 MiB every 3 s, 4 x 10 MiB/s, 30 s
  gpu_k32: 80 GB every 175 s, 3 HDDs, 300 s loop (time / 10)  ->  80 MiB every 17.5 s, 3 x 2.5 MiB/s, 30 s
Reported: sustained throughput (bytes landed at storage in the window after the first interval, over
that window) as a ratio of min(production rate, D x B); the backlog (plots waiting in SRC, sampled every
second); the delay from a plot's rename to its transfer start (its record's `started`), median and max.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_move  # noqa: E402

lib = bench_move.lib
MIB = 1048576
SCENARIOS = {
    "pos2": {"size_mib": 50, "every_s": 3.0, "dirs": 4, "dir_kbps": 10240, "interval_s": 30},
    "gpu_k32": {"size_mib": 80, "every_s": 17.5, "dirs": 3, "dir_kbps": 2560, "interval_s": 30},
}
PRODUCER = r"""
import os, struct, sys, time
out = sys.argv[sys.argv.index('-o') + 1]
size, every, stop, record = int(sys.argv[-4]), float(sys.argv[-3]), sys.argv[-2], sys.argv[-1]
block = os.urandom(16 * 1048576)
print('Writing plots', flush=True)
next_at = time.time()
while not os.path.exists(stop):
    plot_id = os.urandom(32)
    name = 'plot-k32-2025-01-01-00-00-%s.plot' % plot_id.hex()
    pointers = [size // 11 * (i + 1) for i in range(10)]
    header = (b'Proof of Space Plot' + plot_id + bytes([32]) + struct.pack('>H', 4) + b'v1.0'
              + struct.pack('>H', 128) + os.urandom(128) + struct.pack('>10Q', *pointers))
    temp = os.path.join(out, name + '.tmp')
    with open(temp, 'wb') as f:
        f.write(header)
        left = size - len(header)
        while left > 0:
            f.write(block[:left])
            left -= len(block)
    os.rename(temp, os.path.join(out, name))
    with open(record, 'a') as f:
        f.write('%f %s\n' % (time.time(), name))
    next_at += every
    time.sleep(max(0.0, next_at - time.time()))
"""


def start_producer(work, src, scenario):
    (work / "xchplot2").symlink_to(sys.executable)
    (work / "plot").write_text(PRODUCER)
    argv = [str(work / "xchplot2"), "plot", "-k", "32", "-n", "1000", "-o", str(src) + "/",
            str(scenario["size_mib"] * MIB), str(scenario["every_s"]), str(work / "stop"), str(work / "renamed.txt")]
    return subprocess.Popen(argv, cwd=str(work), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def run_scenario(name, scenario, duration_s):
    work = Path(tempfile.mkdtemp(prefix="plotfleet-bench-rate-%s-" % name))
    src, logs = work / "src", work / "logs"
    src.mkdir()
    logs.mkdir()
    dirs = [work / "storage" / ("hdd%d" % i) for i in range(scenario["dirs"])]
    for directory in dirs:
        directory.mkdir(parents=True)
    backlog, stop = [], threading.Event()
    with lib.Sshd(work / "sshd") as sshd:
        args = {"log_dir": str(logs), "state_dir": str(work / "state"), "dst_dirs": [str(src)],
                "destinations": [sshd.destination(d, free_bytes=10 ** 13, cpu_aes=bench_move.CPU_AES) for d in dirs],
                "ssh_options": sshd.ssh_options, "bwlimit_kbps": scenario["dir_kbps"]}
        producer = start_producer(work, src, scenario)
        began = time.time()

        def sample():
            while not stop.is_set():
                waiting = sum(1 for n in os.listdir(str(src)) if n.endswith(".plot"))
                backlog.append((round(time.time() - began, 1), waiting))
                time.sleep(1.0)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            while time.time() - began < duration_s:
                lib.run_module("plot_move", args)  # the loop's pass
                time.sleep(max(0.0, scenario["interval_s"] - (time.time() - began) % scenario["interval_s"]))
        finally:
            (work / "stop").touch()
            producer.wait(timeout=60)
            stop.set()
            sampler.join()
        ended = time.time()
        # the workers move what is left, then exit by themselves (no plotter writes into SRC any more)
        lib.wait_for(lambda: not any(r["state"] == "running" for r in lib.transfer_records(work / "state")),
                     timeout=300, interval=1.0)
        recs = lib.transfer_records(work / "state")
        renamed = dict((line.split()[1], float(line.split()[0]))
                       for line in (work / "renamed.txt").read_text().splitlines())
    shutil.rmtree(str(work), ignore_errors=True)
    window = (began + scenario["interval_s"], ended)
    landed = sum(r["bytes_total"] for r in recs if r.get("state") == "done" and window[0] <= r["finished"] <= window[1])
    produced_bps = scenario["size_mib"] * MIB / scenario["every_s"]
    capacity_bps = scenario["dirs"] * scenario["dir_kbps"] * 1024
    target_bps = min(produced_bps, capacity_bps)
    delays = [r["started"] - renamed[r["plot_name"]] for r in recs if r["plot_name"] in renamed]
    return {"scenario": name, "duration_s": round(ended - began), "produced": len(renamed), "moved": sum(
        1 for r in recs if r.get("state") == "done"), "failed": sum(1 for r in recs if r.get("state") == "failed"),
        "target_mib_s": round(target_bps / MIB, 2),
        "throughput_mib_s": round(landed / (window[1] - window[0]) / MIB, 2),
        "ratio": round(landed / (window[1] - window[0]) / target_bps, 3),
        "delay_median_s": round(statistics.median(delays), 2) if delays else None,
        "delay_max_s": round(max(delays), 2) if delays else None,
        "backlog_max": max(b for _, b in backlog) if backlog else None,
        "backlog": backlog[::5], "settings": scenario}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="all", choices=["all"] + sorted(SCENARIOS))
    parser.add_argument("--duration-s", type=int, default=150)
    opts, _ = parser.parse_known_args()
    if not lib.Sshd.available():
        sys.exit("needs root, /usr/sbin/sshd and rsync")
    names = sorted(SCENARIOS) if opts.scenario == "all" else [opts.scenario]
    results = [run_scenario(name, SCENARIOS[name], opts.duration_s) for name in names]
    print(json.dumps(results, indent=2))
    print("| scenario | run | produced / moved / failed | target | throughput | ratio | delay median / max "
          "| backlog max |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print("| %s | %d s | %d / %d / %d | %.2f MiB/s | %.2f MiB/s | %.3f | %s / %s s | %s |" % (
            r["scenario"], r["duration_s"], r["produced"], r["moved"], r["failed"], r["target_mib_s"],
            r["throughput_mib_s"], r["ratio"], r["delay_median_s"], r["delay_max_s"], r["backlog_max"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
