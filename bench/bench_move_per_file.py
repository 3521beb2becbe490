"""The mover's fixed cost per file: many small plot-shaped files, one drain worker, against raw rsync.

Usage: .venv/bin/python bench/bench_move_per_file.py [--files 20] [--size-mib 4] [--rounds 3]
Needs root (a private sshd on 127.0.0.1), rsync and /usr/sbin/sshd. Prints JSON and a Markdown table.

Per file (seconds, medians over the rounds):
  raw rsync         one `rsync -t -e ssh FILE host:DIR/` per file, a new ssh connection each
  raw rsync, shared one rsync per file over one ssh master connection (ControlMaster), as plot_move does
  raw rsync, batch  one rsync of all the files (the floor: no per-file start-up at all)
  drain             one plot_move pass (caps 1 and 1) starts one worker, which then takes every other
                    file itself: (last record finished - first record started) / files
  hand-over         median gap between one record's finish and the next record's start (the worker
                    deciding the next plot under the host lock)
Fixed cost per file = drain - raw rsync batch (everything plot_move adds per file: verification,
fsyncs, the storage host session and commit, the decision, the records).
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_move  # noqa: E402

lib = bench_move.lib


def make_files(directory, count, size):
    directory.mkdir(parents=True, exist_ok=True)
    return [bench_move.make_plot_shaped(directory, size) for _ in range(count)]


def raw_each(sshd, files, dest, shared=None):
    ssh = sshd.ssh_argv() + (["-o", "ControlMaster=auto", "-o", "ControlPath=%s/%%C" % shared,
                              "-o", "ControlPersist=30"] if shared else [])
    start = time.time()
    for path in files:
        subprocess.run(["rsync", "-t", "-e", " ".join(ssh), str(path), "root@127.0.0.1:%s/" % dest], check=True)
    return (time.time() - start) / len(files)


def raw_batch(sshd, files, dest):
    start = time.time()
    subprocess.run(["rsync", "-t", "-e", " ".join(sshd.ssh_argv())] + [str(p) for p in files]
                   + ["root@127.0.0.1:%s/" % dest], check=True)
    return (time.time() - start) / len(files)


def drain(sshd, work, files, dest, round_no):
    state = work / ("state-%d" % round_no)
    args = {"log_dir": str(work / "logs"), "state_dir": str(state), "dst_dirs": [str(files[0].parent)],
            "destinations": [sshd.destination(dest, free_bytes=10 ** 13, cpu_aes=bench_move.CPU_AES)],
            "ssh_options": sshd.ssh_options, "max_transfers_per_source": 1, "max_transfers_per_destination": 1}
    rc, res = lib.run_module("plot_move", args)
    assert rc == 0 and len(res["started"]) == 1, res

    def all_done():
        recs = lib.transfer_records(state)
        return recs if len(recs) == len(files) and all(r["state"] in ("done", "failed") for r in recs) else None
    recs = lib.wait_for(all_done, timeout=3600, interval=0.2)
    assert recs and {r["state"] for r in recs} == {"done"}, lib.transfer_records(state)
    recs.sort(key=lambda r: r["started"])
    gaps = [b["started"] - a["finished"] for a, b in zip(recs, recs[1:])]
    return (recs[-1]["finished"] - recs[0]["started"]) / len(files), statistics.median(gaps) if gaps else 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--size-mib", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    opts, _ = parser.parse_known_args()
    if not lib.Sshd.available():
        sys.exit("needs root, /usr/sbin/sshd and rsync")
    work = Path(tempfile.mkdtemp(prefix="plotfleet-bench-perfile-"))
    figures = dict((k, []) for k in ("raw", "raw_shared", "raw_batch", "drain", "handover"))
    try:
        (work / "logs").mkdir()
        shared = work / "mux"
        shared.mkdir()
        with lib.Sshd(work / "sshd") as sshd:
            for round_no in range(opts.rounds):
                files = make_files(work / ("src-%d" % round_no), opts.files, opts.size_mib * 1048576)
                for kind in ("raw", "raw_shared", "raw_batch", "drain"):
                    dest = work / ("dest-%s-%d" % (kind, round_no))
                    dest.mkdir()
                    subprocess.run(["sync"], check=True)
                    if kind == "raw":
                        figures["raw"].append(raw_each(sshd, files, dest))
                    elif kind == "raw_shared":
                        figures["raw_shared"].append(raw_each(sshd, files, dest, shared=shared))
                    elif kind == "raw_batch":
                        figures["raw_batch"].append(raw_batch(sshd, files, dest))
                    else:
                        per_file, handover = drain(sshd, work, files, dest, round_no)
                        figures["drain"].append(per_file)
                        figures["handover"].append(handover)
                    shutil.rmtree(str(dest))
        med = dict((k, statistics.median(v)) for k, v in figures.items())
        result = {"files": opts.files, "size_mib": opts.size_mib, "rounds": opts.rounds,
                  "median_s_per_file": dict((k, round(v, 3)) for k, v in med.items()),
                  "fixed_cost_s_per_file": round(med["drain"] - med["raw_batch"], 3),
                  "all": dict((k, [round(x, 3) for x in v]) for k, v in figures.items())}
        print(json.dumps(result, indent=2))
        print("| files x MiB | rounds | raw rsync | raw rsync, shared ssh | raw rsync, batch | drain | hand-over "
              "| fixed cost (drain - batch) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        print("| %d x %d | %d | %.3f s | %.3f s | %.3f s | %.3f s | %.3f s | %.3f s |" % (
            opts.files, opts.size_mib, opts.rounds, med["raw"], med["raw_shared"], med["raw_batch"], med["drain"],
            med["handover"], result["fixed_cost_s_per_file"]))
    finally:
        shutil.rmtree(str(work), ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
