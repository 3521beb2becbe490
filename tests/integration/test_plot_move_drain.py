"""Drain workers (issue 11): a transfer worker takes the next plot itself until none is left, with no
pass in between; a plot that appears during a copy is taken next; a pass while workers drain adopts
them and starts no second copy. Real chiapos k18 plots, a tmpfs as the other filesystem."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import plotmove_lib as lib  # noqa: E402
from plotmove_lib import run_module  # noqa: E402

pytestmark = pytest.mark.skipif(not lib.can_mount(), reason="needs root to mount a tmpfs")


@pytest.fixture
def tmp(tmp_path):
    for name in ("src", "logs"):
        (tmp_path / name).mkdir()
    return tmp_path


def alive(pid):
    try:
        return "Z" not in Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1][:3]
    except OSError:
        return False


def wait_all_done(state_dir, count, timeout=120):
    """The transfer records once count of them exist and all are done (no pass runs meanwhile)."""
    def done():
        recs = lib.transfer_records(state_dir)
        return recs if len(recs) == count and all(r["state"] in ("done", "failed") for r in recs) else None
    recs = lib.wait_for(done, timeout=timeout, interval=0.1)
    assert recs, "not all moved: %s" % lib.transfer_records(state_dir)
    return recs


def finish_like_a_plotter(src, plot):
    """Write a plot under a temp name, then rename it to its plot name (what a plotter does)."""
    temp = src / (plot.name + ".tmp")
    temp.write_bytes(plot.read_bytes())
    os.rename(str(temp), str(src / plot.name))


def test_one_worker_drains_every_plot_and_takes_one_that_appears_during_a_copy(tmp):
    plots = lib.place_plots(tmp / "src", 3)
    late = lib.cached_plots(4)[3]
    want = dict((p.name, p.read_bytes()) for p in lib.cached_plots(4))
    with lib.tmpfs(tmp / "disk", "64m") as disk:
        args = lib.move_args(tmp, [{"path": str(disk)}], max_transfers_per_source=1, bwlimit_kbps=4000)
        rc, res = run_module("plot_move", args)
        (started,) = res["started"]  # one per source disk: the worker takes the others itself
        assert lib.wait_for(lambda: any(n.endswith(".plotfleet-partial") for n in os.listdir(str(disk))), timeout=30)
        finish_like_a_plotter(tmp / "src", late)
        recs = wait_all_done(tmp / "state", 4)
        assert sorted(r["plot_name"] for r in recs) == sorted(want)
        assert {r["state"] for r in recs} == {"done"} and {r["pid"] for r in recs} == {started["pid"]}
        assert {r["attempt"] for r in recs} == {1}
        by_start = [r["plot_name"] for r in sorted(recs, key=lambda r: r["started"])]
        assert by_start[-1] == late.name and by_start[0] == started["plot"]
        for name, data in want.items():
            assert (disk / name).read_bytes() == data and not (tmp / "src" / name).exists()
        assert sorted(os.listdir(str(disk))) == sorted(want)  # no partial left
        assert lib.wait_for(lambda: not alive(started["pid"]), timeout=30), "the worker exits once none is left"
        for rec in recs:  # each transfer logged in its own log
            assert rec["plot_name"] in Path(rec["log"]).read_text()
    assert len(plots) == 3


def test_a_pass_while_workers_drain_adopts_them_and_starts_no_second_copy(tmp):
    lib.place_plots(tmp / "src", 3)
    want = dict((p.name, p.read_bytes()) for p in lib.cached_plots(3))
    with lib.tmpfs(tmp / "disk", "64m") as disk:
        args = lib.move_args(tmp, [{"path": str(disk)}], max_transfers_per_source=1, bwlimit_kbps=500)
        rc, first = run_module("plot_move", args)  # the controller's pass ends here: nothing of it runs on
        (started,) = first["started"]
        assert lib.wait_for(lambda: len(lib.transfer_records(tmp / "state")) >= 2, timeout=60)  # a 2nd, by the worker
        rc, again = run_module("plot_move", args)
        assert again["started"] == [] and again["moved"] == []
        running = [t for t in again["transfers"] if t["state"] == "running"]
        assert [t["pid"] for t in running] == [started["pid"]]
        recs = wait_all_done(tmp / "state", 3)
        assert {r["state"] for r in recs} == {"done"} and {r["attempt"] for r in recs} == {1}
        for name, data in want.items():
            assert (disk / name).read_bytes() == data
        rc, last = run_module("plot_move", args)
        assert last["started"] == [] and len(again["completed"]) + len(last["completed"]) == 3
