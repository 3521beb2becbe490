"""The mover never takes a `.plot` out of the -t dir of a live Gigahorse process (issue 12).

Gigahorse (`cuda_plot_kNN`) renames each finished plot to `<tmp>/<name>.plot` and leaves it there for
its own copy thread (reference/gpu-plotters.md §3.3), exactly as madMAx does with its temp dirs. The job
below is what plot_info reports for such a process: processes.identify() of the argv a farmer gives it,
with the pid of a live stand-in process. Fails until transfer.busy_from_state() treats `gigahorse` like
`madmax` (see the GPU engineer's report).
"""

import os
import struct
import subprocess
import sys

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import plotfile, processes, transfer

PLOT_ID = "5e" * 32
NAME = "plot-k32-c8-2026-11-30-10-50-%s.plot" % PLOT_ID


def write_complete_plot(path):
    """A small file with a complete v1 header (all ten table pointers set, inside the file)."""
    memo = b"\x01" * 128
    head = b"Proof of Space Plot" + bytes.fromhex(PLOT_ID) + bytes([32])
    head += struct.pack(">H", 4) + b"v1.0" + struct.pack(">H", len(memo)) + memo
    size = 4096
    pointers = [len(head) + 80 + 100 * i for i in range(10)]
    with open(path, "wb") as handle:
        handle.write(head + b"".join(struct.pack(">Q", p) for p in pointers))
        handle.write(b"\0" * (size - len(head) - 80))
    header = plotfile.read_header(path)
    assert header and header["complete"] and header["plot_id"] == PLOT_ID   # a plot the mover would take


@pytest.fixture
def live_pid():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def gigahorse_job(tmp, dst, pid, state):
    argv = ["/opt/gigahorse/cuda_plot_k32", "-n", "-1", "-C", "8", "-t", tmp + "/", "-d", dst + "/",
            "-f", "a" * 96, "-c", "xch1" + "q" * 58]
    info = processes.identify(argv)
    assert info["plotter"] == "gigahorse" and info["tmp_dir"] == tmp
    return dict(info, pid=pid, state=state, phase=1, step="1:3", plot_file=None, plot_name=None)


@pytest.mark.parametrize("state", ["plotting", "copying", "stalled"])
def test_a_live_gigahorse_tmp_dir_is_busy(tmp_path, live_pid, state):
    tmp, dst = tmp_path / "gh-tmp", tmp_path / "hdd"
    tmp.mkdir()
    dst.mkdir()
    write_complete_plot(str(tmp / NAME))
    busy_dirs, busy_files = transfer.busy_from_state({"jobs": [gigahorse_job(str(tmp), str(dst), live_pid, state)]})
    assert os.path.realpath(str(tmp)) in busy_dirs
    candidates, reasons = transfer.find_candidates([str(tmp)], busy_dirs, busy_files)
    assert candidates == []
    assert [r for r in reasons if r.startswith(str(tmp / NAME) + ": in a dir of a live")], reasons


def test_the_same_plot_moves_once_the_process_is_gone(tmp_path):
    tmp, dst = tmp_path / "gh-tmp", tmp_path / "hdd"
    tmp.mkdir()
    dst.mkdir()
    write_complete_plot(str(tmp / NAME))
    busy_dirs, busy_files = transfer.busy_from_state({"jobs": [gigahorse_job(str(tmp), str(dst), None, "dead")]})
    assert os.path.realpath(str(tmp)) not in busy_dirs
    candidates, _ = transfer.find_candidates([str(tmp)], busy_dirs, busy_files)
    assert [c["name"] for c in candidates] == [NAME]
