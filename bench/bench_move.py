"""plot_move throughput against raw rsync, same file, same loopback sshd, same run; local rename time.

Usage: .venv/bin/python bench/bench_move.py [--size-mib 1024] [--rounds 5]
Needs root (a private sshd on 127.0.0.1), rsync and /usr/sbin/sshd. Prints JSON and a Markdown table.

The file is plot-shaped: a valid v1 plot header (complete table pointers) followed by random
bytes, so plot_move's verification runs exactly as for a real plot of that size.
Raw and plot_move runs are interleaved, in alternating order (raw first in even rounds, plot_move
first in odd ones), each after a `sync` so no run writes back the previous one's dirty pages.
Figures are medians. "plot_move" = transfer record finished - started (started: the plot_move pass
began). "raw rsync --fsync" is the same raw copy made durable (rsync fsyncs the file), for reference:
plot_move syncs the copy to disk before it deletes the source, plain raw rsync never does.
plot_move runs with its default `ssh_ciphers: auto` and the destination's `cpu_aes` as the controller
would gather it (the storage host is this machine), so it uses AES-GCM where this CPU has AES
instructions; "raw rsync, same cipher" is raw rsync with the cipher list plot_move used (the
like-for-like comparison of the copy itself; equal to raw rsync on a CPU without AES).
"""

import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import plotmove_lib as lib  # noqa: E402

sys.path.insert(0, str(REPO / "collections"))
from ansible_collections.plotfleet.chia.plugins.module_utils import cpu  # noqa: E402
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import move as move_policy  # noqa: E402

CPU_AES = cpu.has_aes()


def make_plot_shaped(directory, size):
    plot_id = os.urandom(32)
    name = "plot-k32-2025-01-01-00-00-%s.plot" % plot_id.hex()
    pointers = [size // 11 * (i + 1) for i in range(10)]
    header = (b"Proof of Space Plot" + plot_id + bytes([32]) + struct.pack(">H", 4) + b"v1.0"
              + struct.pack(">H", 128) + os.urandom(128) + struct.pack(">10Q", *pointers))
    path = Path(directory) / name
    with open(str(path), "wb") as handle:
        handle.write(header)
        left = size - len(header)
        block = os.urandom(16 * 1024 * 1024)
        while left > 0:
            handle.write(block[:left])
            left -= len(block)
    return path


def timed(argv):
    start = time.time()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.time() - start


def raw_rsync(sshd, plot, dest, fsync=False, ciphers=None):
    """Plain rsync; fsync=True adds rsync's own --fsync (3.2.4+): the same copy made durable;
    ciphers: the ssh Ciphers list to use (None: ssh's default)."""
    ssh = " ".join(sshd.ssh_argv() + (["-o", "Ciphers=" + ciphers] if ciphers else []))
    return timed(["rsync", "-t"] + (["--fsync"] if fsync else []) + ["-e", ssh, str(plot), "root@127.0.0.1:%s/" % dest])


def plot_move_rsync(sshd, work, plot, dest, round_no):
    state = work / ("state-%d" % round_no)
    args = {"log_dir": str(work / "logs"), "state_dir": str(state), "dst_dirs": [str(plot.parent)],
            "destinations": [sshd.destination(dest, free_bytes=10 ** 13, cpu_aes=CPU_AES)],
            "ssh_options": sshd.ssh_options,
            "delete_source": False}
    start = time.time()
    rc, res = lib.run_module("plot_move", args)
    assert rc == 0 and len(res["started"]) == 1, res
    (rec,) = lib.wait_transfers_finished(state, timeout=3600)
    assert rec["state"] == "done", rec
    return rec["finished"] - rec["started"], rec["finished"] - start


def local_rename(work, plot):
    """plot_move on one filesystem: the rename itself (from its record) and the whole module call."""
    src, dst = work / "rename-src", work / "rename-dst"
    src.mkdir()
    dst.mkdir()
    os.link(str(plot), str(src / plot.name))
    args = {"log_dir": str(work / "logs"), "state_dir": str(work / "state-rename"), "dst_dirs": [str(src)],
            "destinations": [{"path": str(dst)}]}
    start = time.time()
    rc, res = lib.run_module("plot_move", args)
    wall = time.time() - start
    assert rc == 0 and len(res["moved"]) == 1, res
    (rec,) = lib.transfer_records(work / "state-rename")
    return rec["finished"] - rec["started"], wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    opts = parser.parse_args()
    if not lib.Sshd.available():
        sys.exit("needs root, /usr/sbin/sshd and rsync")
    work = Path(tempfile.mkdtemp(prefix="plotfleet-bench-move-"))
    try:
        (work / "src").mkdir()
        (work / "logs").mkdir()
        plot = make_plot_shaped(work / "src", opts.size_mib * 1024 * 1024)
        size = plot.stat().st_size
        raw, raw_fsync, raw_cipher, move, move_wall = [], [], [], [], []
        chosen = move_policy.ssh_ciphers("auto", {"host": "127.0.0.1", "cpu_aes": CPU_AES}, cpu.has_aes())
        with lib.Sshd(work / "sshd") as sshd:
            for round_no in range(opts.rounds):
                # interleaved, alternating order: all see the same machine state on average
                kinds = ("raw", "move", "raw-fsync", "raw-cipher")
                for kind in kinds if round_no % 2 == 0 else kinds[::-1]:
                    dest = work / ("dest %s %d" % (kind, round_no))
                    dest.mkdir()
                    subprocess.run(["sync"], check=True)
                    if kind == "raw":
                        raw.append(raw_rsync(sshd, plot, dest))
                    elif kind == "raw-fsync":
                        raw_fsync.append(raw_rsync(sshd, plot, dest, fsync=True))
                    elif kind == "raw-cipher":
                        raw_cipher.append(raw_rsync(sshd, plot, dest, ciphers=chosen))
                    else:
                        record_s, wall_s = plot_move_rsync(sshd, work, plot, dest, round_no)
                        move.append(record_s)
                        move_wall.append(wall_s)
                    shutil.rmtree(str(dest))
        rename_s, rename_wall = local_rename(work, plot)
        mib = size / 1048576.0
        result = {
            "size_mib": round(mib, 1), "rounds": opts.rounds, "cpu_aes": CPU_AES, "plot_move_ciphers": chosen,
            "raw_rsync_s": [round(x, 3) for x in raw], "plot_move_worker_s": [round(x, 3) for x in move],
            "plot_move_wall_s": [round(x, 3) for x in move_wall],
            "raw_rsync_fsync_s": [round(x, 3) for x in raw_fsync],
            "raw_rsync_same_cipher_s": [round(x, 3) for x in raw_cipher],
            "raw_rsync_mib_s": round(mib / statistics.median(raw), 1),
            "plot_move_mib_s": round(mib / statistics.median(move), 1),
            "ratio": round(statistics.median(raw) / statistics.median(move), 3),
            "ratio_incl_ansible_call": round(statistics.median(raw) / statistics.median(move_wall), 3),
            "ratio_vs_raw_fsync": round(statistics.median(raw_fsync) / statistics.median(move), 3),
            "ratio_vs_raw_same_cipher": round(statistics.median(raw_cipher) / statistics.median(move), 3),
            "rename_ms": round(rename_s * 1000, 3), "rename_module_call_s": round(rename_wall, 2),
        }
        print(json.dumps(result, indent=1))
        med = statistics.median
        print("\n| file | rounds | raw rsync | plot_move | ratio | raw rsync, same cipher (ratio) "
              "| raw rsync --fsync (ratio) | incl. Ansible call (ratio) | local rename |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        print("| %.0f MiB | %d | %.1f MiB/s (%.2f s) | %.1f MiB/s (%.2f s) | %.3f | %.2f s (%.3f) | %.2f s (%.3f) "
              "| %.2f s (%.3f) | %.3f ms (module call %.2f s) |" % (
                  mib, opts.rounds, result["raw_rsync_mib_s"], med(raw), result["plot_move_mib_s"], med(move),
                  result["ratio"], med(raw_cipher), result["ratio_vs_raw_same_cipher"], med(raw_fsync),
                  result["ratio_vs_raw_fsync"], med(move_wall), result["ratio_incl_ansible_call"],
                  result["rename_ms"], rename_wall))
    finally:
        shutil.rmtree(str(work), ignore_errors=True)


if __name__ == "__main__":
    main()
