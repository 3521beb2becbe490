"""plot_info's host state for live GPU plotter processes: one job per multi-plot process, with its current plot.

The process is a stand-in: Python sleeping under the argv a farmer gives the real plotter
(`executable=` runs Python while argv[0] reads `cuda_plot_k32` / `bladebit_cuda`; Python's `-c CODE`
reads to the plotter as a `-c <contract>` option). Its stdout is a log holding a synthetic fixture
(tests/fixtures/logs/README-gpu.md) up to a chosen line, so plot_info finds the log through its fd 1.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import hoststate

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "logs"
SLEEP = "import time; time.sleep(120)"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the log through /proc/PID/fd/1")


def fixture_until(name, marker, nth=1):
    """The fixture's lines up to (and with) the nth line starting with marker."""
    lines, seen = [], 0
    for line in (LOGS / name).read_text().splitlines(True):
        lines.append(line)
        if line.startswith(marker):
            seen += 1
            if seen == nth:
                return "".join(lines)
    raise AssertionError("%s: no %r" % (name, marker))


@pytest.fixture
def stand_in(tmp_path):
    procs = []

    def start(argv, log_text):
        log = tmp_path / "logs" / ("%s.log" % argv[0])
        log.parent.mkdir(exist_ok=True)
        log.write_text(log_text)
        with open(str(log), "a") as out:
            procs.append(subprocess.Popen(argv, executable=sys.executable, stdout=out, stderr=subprocess.STDOUT))
        return procs[-1].pid

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def gather(tmp_path, dirs):
    (tmp_path / "state").mkdir(exist_ok=True)
    return hoststate.gather({"log_dir": str(tmp_path / "logs"), "state_dir": str(tmp_path / "state"),
                             "tmp_dirs": dirs, "dst_dirs": dirs, "history_limit": 50, "stall_after_s": None})


def own(entries, pid):
    return sorted((e for e in entries if e.get("pid") == pid), key=lambda e: e["index"] or 0)


def test_gigahorse_process_is_one_job_plotting_plot_2_while_plot_1_waits_for_its_copy(tmp_path, stand_in):
    tmp, dst = tmp_path / "nvme", tmp_path / "hdd"
    tmp.mkdir()
    dst.mkdir()
    # plot 2 is in phase 1; plot 1's copy started, then failed once and was restarted
    text = fixture_until("synthetic-gigahorse-n3-copy-overlap.log", "[P1] Table 6 took", nth=2)
    pid = stand_in(["cuda_plot_k32", "-c", SLEEP, "-n", "3", "-C", "8", "-t", "%s/" % tmp, "-d", "%s/" % dst],
                   text)
    state = gather(tmp_path, [str(tmp), str(dst)])
    jobs = own(state["jobs"], pid)
    assert jobs, state["jobs"]
    current = [job for job in jobs if job["state"] == "plotting"]
    assert len(current) == 1 and current[0]["index"] == 2 and current[0]["step"] == "1:7"
    assert all(job["plotter"] == "gigahorse" and job["count"] == 3 for job in jobs)
    copying = [job for job in jobs if job["index"] == 1]
    assert not copying or copying[0]["state"] == "copying"   # plot 1 is still in -t, its copy running
    # dirs as the log prints them (`Working Directory:`, `Final Destination:`; the same as argv on a real run)
    assert current[0]["tmp_dir"] == "/mnt/nvme/gh" and current[0]["dst_dir"] == "/mnt/plot1_31"


def test_bladebit_cuda_forever_process_is_one_job_on_its_third_plot(tmp_path, stand_in):
    out = tmp_path / "out"
    out.mkdir()
    text = (LOGS / "synthetic-bladebit-cuda-n0-forever.log").read_text()
    pid = stand_in(["bladebit_cuda", "-c", SLEEP, "-n", "0", "--compress", "1", "cudaplot", str(out)], text)
    state = gather(tmp_path, [str(out)])
    jobs = own(state["jobs"], pid)
    assert [(job["plotter"], job["index"], job["state"], job["step"]) for job in jobs] == [
        ("bladebit_cuda", 3, "plotting", "3:4")]
    done = [h for h in state["history"] if h.get("log") == jobs[0]["log"]]
    assert sorted(h["index"] for h in done) == [1, 2] and {h["state"] for h in done} == {"finished"}
