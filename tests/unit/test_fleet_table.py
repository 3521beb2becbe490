"""The job table: pid, run state, temp use, adopted and brand-new jobs, the jobs that ended (id, when,
why), and paths and disk lines that use the width they are given."""

import time
import unicodedata

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils.policy import start as policy
from ansible_collections.plotfleet.chia.plugins.plugin_utils import fleet_status, fleet_table

NOW = time.mktime((2026, 11, 29, 14, 0, 0, 0, 0, -1))
GIB = 1024 ** 3
LONG_TMP = "/mnt/nvme-array-0/plotting/temporary-space-for-k32"
LONG_DST = "/srv/farm/enclosure-07/disk-12/plots-awaiting-transfer"
LONG_STORAGE = "/srv/farm/enclosure-11/a-storage-disk-with-a-rather-long-mount-point/plots"


def job(plot_id, **over):
    base = {"id": plot_id, "plotter": "chiapos", "k": 32, "pid": 4242, "state": "plotting", "phase": 2,
            "step": "2:3", "progress": 0.48, "elapsed_s": 3723, "eta_s": 5000, "tmp_dir": "/mnt/nvme1",
            "tmp2_dir": "/mnt/nvme1", "dst_dir": "/mnt/dst", "log": "/var/log/plotfleet/a.log",
            "launch_id": "5f0c0a4e" + "0" * 24, "adopted": False, "tmp_bytes": 120 * GIB, "process_state": "S"}
    base.update(over)
    return base


def render(jobs=(), history=(), dirs=(), start=None, width=100, transfers=()):
    host = {"plotfleet_tmp_dirs": ["/mnt/nvme1"], "plotfleet_dst_dirs": ["/mnt/dst"],
            "plotfleet_host_state": {"jobs": list(jobs), "history": list(history), "dirs": list(dirs),
                                     "transfers": list(transfers)}}
    if start is not None:
        host["plotfleet_start_result"] = start
    status = fleet_status.build_status({"p1": host}, ["p1"], ["p1"], [], now=NOW)
    return status, fleet_table.render(status, width)


def columns(line):
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def row_of(text, marker):
    (line,) = [line for line in text.splitlines() if line.startswith("p1 ") and marker in line]
    return line


def test_rows_show_pid_run_state_and_temp_use():
    _status, text = render([job("aa" * 32), job("bb" * 32, pid=777, state="suspended", eta_s=None,
                                                   process_state="T", tmp_bytes=3 * 1024 ** 2)])
    header = next(line for line in text.splitlines() if line.startswith("HOST"))
    for name in ("ID", "PID", "PLOTTER", "STEP", "PROGRESS", "ELAPSED", "ETA", "TEMP", "STATE"):
        assert name in header.split(), name
    assert "TMP -> DST" in text
    running = row_of(text, "aaaaaaaa")
    assert " 4242 " in running and " 120G " in running and running.endswith("plotting")
    suspended = row_of(text, "bbbbbbbb")
    assert " 777 " in suspended and " 3.0M " in suspended and suspended.endswith("suspended")
    assert " 1h02m   -      3.0M" in suspended   # elapsed, no ETA while suspended, temp use


def test_adopted_jobs_are_marked_and_explained():
    _status, text = render([job("aa" * 32, adopted=True, launch_id=None), job("bb" * 32)])
    assert "aaaaaaaa*" in row_of(text, "aaaaaaaa") and "bbbbbbbb*" not in text
    assert "* adopted: started without plotfleet" in text
    _status, text = render([job("bb" * 32)])
    assert "adopted" not in text


def test_a_new_job_shows_its_launch_id_until_its_plot_id_is_known():
    record = {"launch_id": "5f0c0a4e1a8d4b6b9a3e0e55f2b1c7d0", "plot_id": None, "plotter": "chiapos", "k": 32,
              "pid": 5151, "tmp_dir": "/mnt/nvme1", "dst_dir": "/mnt/dst", "started": NOW - 3}
    _status, text = render(start={"started": [record], "reasons": []})
    line = row_of(text, "new:5f0c")
    assert " 5151 " in line and line.endswith("started")
    _status, text = render([job(None, launch_id=None, adopted=True)])   # adopted, no log found yet
    assert "new*" in text.splitlines()[text.splitlines().index(next(
        line for line in text.splitlines() if line.startswith("p1 ")))]


def test_dead_stopped_and_failed_jobs_are_listed_with_when_and_why():
    history = [
        job("c1" * 32, pid=None, state="stopped", step="1:4", ended=NOW - 300,
            stopped={"at": NOW - 301, "by": "plot_stop", "action": "terminate"}),
        job("c2" * 32, pid=None, state="dead", step="3:2", ended=NOW - 7200),
        job("c3" * 32, pid=None, state="finished", ended=NOW - 8000),
        job("c4" * 32, pid=None, state="failed", step="1:1", ended=NOW - 9000, error="Caught plotting error: bad"),
        job("c5" * 32, pid=None, state="dead", ended=NOW - 9500),
    ]
    _status, text = render(history=history, width=120)
    ended = [line.strip() for line in text.splitlines() if line.strip().startswith("ended")]
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(NOW - 300))
    assert ended[0] == "ended  c1c1c1c1 stopped %s (5m00s ago) by plot_stop (terminate) at 1:4" % when
    assert ended[1].startswith("ended  c2c2c2c2 DEAD! ") and "(2h00m ago) no process and no completion line" in ended[1]
    assert ended[2].startswith("ended  c4c4c4c4 FAILED! ") and ended[2].endswith("at 1:1: Caught plotting error: bad")
    assert len(ended) == fleet_table.MAX_ENDED_SHOWN and "c3c3c3c3" not in text   # finished jobs are counted only
    assert "1 finished" in text and "2 dead" in text


@pytest.mark.parametrize("width", [90, 100, 121, 122, 140, 200])
def test_every_line_fits_whatever_the_width(width):
    jobs = [job("aa" * 32, tmp_dir=LONG_TMP, tmp2_dir=LONG_TMP, dst_dir=LONG_DST, adopted=True),
            job("bb" * 32, state="stalled", plotter="bladebit", pid=4194303)]
    history = [job("c1" * 32, pid=None, state="failed", ended=NOW - 60, error="x " * 200)]
    dirs = [{"path": LONG_STORAGE, "free_bytes": GIB, "total_bytes": 2 * GIB, "temp_bytes": GIB}]
    _status, text = render(jobs, history, dirs, width=width)
    assert max(columns(line) for line in text.splitlines()) <= width


def test_paths_get_a_line_of_their_own_when_the_row_has_no_room_and_grow_with_the_width():
    jobs = [job("aa" * 32, tmp_dir=LONG_TMP, tmp2_dir=LONG_TMP, dst_dir=LONG_DST)]
    _status, text = render(jobs, width=121)   # the widest table that still has a paths line
    lines = text.splitlines()
    row = lines.index(row_of(text, "aaaaaaaa"))
    assert LONG_TMP not in lines[row] and lines[row + 1].strip() == u"%s \u2192 %s" % (LONG_TMP, LONG_DST)
    _status, text = render(jobs, width=100)   # narrower: the paths keep their tails
    assert text.splitlines()[row + 1].strip().endswith(LONG_DST[-30:])
    _status, text = render(jobs, width=140)     # a wide terminal: the paths go back into the row
    assert LONG_TMP[-20:] in row_of(text, "aaaaaaaa") and LONG_DST[-20:] in row_of(text, "aaaaaaaa")
    _status, text = render(jobs, width=230)
    assert u"%s \u2192 %s" % (LONG_TMP, LONG_DST) in row_of(text, "aaaaaaaa")   # whole paths
    narrow = len(row_of(render(jobs, width=122)[1], "aaaaaaaa"))
    assert narrow < len(row_of(render(jobs, width=160)[1], "aaaaaaaa"))


def test_a_separate_tmp2_is_shown():
    _status, text = render([job("aa" * 32, tmp2_dir="/mnt/ram")], width=100)
    assert u"/mnt/nvme1 + /mnt/ram \u2192 /mnt/dst" in text


def test_disk_and_transfer_lines_widen_with_the_width():
    dirs = [{"path": LONG_STORAGE, "free_bytes": GIB, "total_bytes": 2 * GIB},
            {"path": "/mnt/nvme1", "free_bytes": GIB, "total_bytes": 2 * GIB}]
    source = "/mnt/dst/plot-k32-2026-11-29-10-00-%s.plot" % ("dd" * 32)
    transfers = [{"id": "t1", "plot_id": "dd" * 32, "source": source, "destination": LONG_STORAGE, "host": None,
                  "state": "running", "bytes_total": 100, "bytes_done": 50}]
    _status, text = render(dirs=dirs, transfers=transfers, width=100)
    assert LONG_STORAGE not in text   # 75 characters do not fit beside free space in 100 columns
    _status, text = render(dirs=dirs, transfers=transfers, width=160)
    disk = [line for line in text.splitlines() if line.startswith("  disk")]
    assert LONG_STORAGE in disk[0] and disk[0].index("1.0 GiB free") == disk[1].index("1.0 GiB free")  # aligned
    xfer = next(line for line in text.splitlines() if line.startswith("  xfer"))
    assert source[-50:] in xfer and LONG_STORAGE[-50:] in xfer   # cut, each keeps its tail (the plot's name)
    narrow = next(line for line in render(dirs=dirs, transfers=transfers, width=100)[1].splitlines()
                  if line.startswith("  xfer"))
    assert source[-50:] not in narrow and source[-26:] in narrow
    _status, text = render(dirs=dirs, transfers=transfers, width=250)
    xfer = next(line for line in text.splitlines() if line.startswith("  xfer"))
    assert source in xfer and LONG_STORAGE in xfer


def test_job_rows_carry_what_the_table_shows():
    status, _text = render([job("aa" * 32, adopted=True)],
                           history=[job("c1" * 32, pid=None, state="stopped", ended=NOW - 5,
                                        stopped={"at": NOW - 6, "by": "plot_stop", "action": "terminate"})])
    (row,) = status["jobs"]
    assert row["pid"] == 4242 and row["tmp_bytes"] == 120 * GIB and row["adopted"] is True
    assert row["process_state"] == "S" and row["launch_id"].startswith("5f0c")
    (ended,) = status["hosts"][0]["recent"]
    assert ended["state"] == "stopped" and ended["stopped"]["by"] == "plot_stop" and ended["ended"] == NOW - 5
    assert ended["bad"] is False and row["bad"] is False   # stopped on purpose: nothing to look at


def test_compact_sizes_fit_the_temp_column():
    for num, text in [(None, "-"), (0, "0"), (999, "999"), (1000, "1.0K"), (3 * 1024 ** 2, "3.0M"),
                      (int(9.96 * 1024 ** 2), "10M"), (239 * GIB, "239G"), (int(999.6 * GIB), "1.0T")]:
        assert fleet_table.compact_size(num) == text, num
        assert len(text) <= 4


def test_a_conflict_shows_both_paths_in_full():
    src = "/mnt/nvme0/done/plot-k32-2025-01-01-00-00-%s.plot" % ("aa" * 32)
    dst = "storage1:/srv/plots/plot-k32-2025-01-01-00-00-%s.plot" % ("aa" * 32)
    line = {"plot_id": "aa" * 32, "source": src, "destination": "/srv/plots", "host": "storage1",
            "state": "failed", "failure": "conflict", "bytes_total": 10, "bytes_done": 0,
            "conflict": {"source": src, "destination": dst, "host": "storage1",
                         "problem": "bytes differ from the source at sampled offsets"}}
    text = " ".join(part.strip() for part in fleet_table._transfer_line(line, 100, False)[1:])
    for piece in (src, dst, "bytes differ from the source at sampled offsets"):
        assert "".join(piece.split()) in "".join(text.replace("xfer", "").split())


def start_result(processes, limit, plots_each=1):
    """plot_start's result when its own gather (under the host lock) found `processes` plotter processes
    (each with plots_each plots, one pid) and max_jobs is `limit`: the real policy's decision."""
    jobs = [dict(job("%02x" % (p * 8 + i) * 32, pid=5000 + p, proc_start=NOW - 600, index=i + 1, count=plots_each))
            for p in range(processes) for i in range(plots_each)]
    decision = policy.decide({"jobs": jobs, "history": [], "load": {}, "dirs": []},
                             {"max_jobs": limit, "check_free_space": False}, NOW,
                             tmp_dirs=["/mnt/nvme1"], dst_dirs=["/mnt/dst"], plot={"kind": "chiapos", "k": 32})
    return {"changed": False, "started": [], "would_start": decision["start"], "reasons": decision["reasons"],
            "decision": decision}


def wait_lines(text):
    return [line.split(None, 1)[1] for line in text.splitlines() if line.startswith("  wait")]


def test_the_lock_note_reads_the_start_decisions_job_count_not_its_text():
    """The gather this table shows saw no job; plot_start's own, under the host lock, saw 4."""
    result = start_result(4, 4)
    (check,) = [c for c in result["decision"]["checks"] if c["rule"] == "max_jobs"]
    assert (check["count"], check["limit"], check["ok"]) == (4, 4, False)
    status, text = render(start=result, width=400)
    assert status["hosts"][0]["start"]["host_jobs"] == {"count": 4, "limit": 4, "detail": check["detail"]}
    assert [line for line in wait_lines(text) if "under the host lock" in line] == [
        check["detail"] + " - the start decision's count under the host lock; the gather above saw 0 (jobs started"
        " in between, e.g. by another manager)"]
    reworded = "at most 4 plotters on this host: 4 busy"   # the text is for users; the note reads the numbers
    result["reasons"] = [reworded if r == check["detail"] else r for r in result["reasons"]]
    check["detail"] = reworded
    assert any(line.startswith(reworded + " - the start decision's count under the host lock")
               for line in wait_lines(render(start=result, width=400)[1]))


def test_a_multi_plot_process_is_one_job_for_the_note_too():
    """The gather shows one Gigahorse process as two rows (same pid); the decision counted 1 job: no note."""
    rows = [job("ab" * 32, pid=5000, index=1, state="copying"), job("cd" * 32, pid=5000, index=2)]
    result = start_result(1, 1, plots_each=2)
    status, text = render(jobs=rows, start=result, width=400)
    assert status["hosts"][0]["start"]["host_jobs"]["count"] == 1
    assert "host: 1 job running (limit 1)" in wait_lines(text)
    assert not [line for line in wait_lines(text) if "under the host lock" in line]
