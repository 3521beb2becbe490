"""plot_move on this host with real chiapos plots: rename, copy to another filesystem (tmpfs),
files that must not move, a worker killed half-way, a full destination, two passes at once."""

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import module_batch as batch  # noqa: E402
import plotmove_lib as lib  # noqa: E402
from plotmove_lib import run_module  # noqa: E402

needs_mount = pytest.mark.skipif(not lib.can_mount(), reason="needs root to mount a tmpfs")


@pytest.fixture
def tmp(tmp_path):
    for name in ("src", "dst", "logs"):
        (tmp_path / name).mkdir()
    return tmp_path


def originals(count):
    return dict((p.name, p.read_bytes()) for p in lib.cached_plots(count))


def test_same_filesystem_rename_leaves_temp_and_unfinished_files(tmp):
    (plot,) = lib.place_plots(tmp / "src", 1)
    writing, unfinished = lib.cached_plots(3)[1:]
    temp = tmp / "src" / (plot.name + ".2.tmp")
    temp.write_bytes(b"partial plot")
    # A plot being written under its final name: header complete but held open for writing, and one
    # whose table pointers are still zero.
    held = tmp / "src" / writing.name
    held.write_bytes(writing.read_bytes())
    data = bytearray(unfinished.read_bytes())
    data[268 - 80:268] = bytes(80)
    (tmp / "src" / unfinished.name).write_bytes(bytes(data))
    args = lib.move_args(tmp, [{"path": str(tmp / "dst")}])
    # One playbook: check mode, the pass (both while the plot is held open), then, with the held plot
    # deleted, a pass with only the unfinished one left: nothing to do. The dirs are listed in between.
    with open(str(held), "r+b"):
        (rc, res), after_check, moved, after_move, dst_after_move, _, last = batch.run_steps([
            batch.call("plot_move", args, check=True), batch.listdir(tmp / "src"), batch.call("plot_move", args),
            batch.listdir(tmp / "src"), batch.listdir(tmp / "dst"), batch.remove(held),
            batch.call("plot_move", args)])
    assert rc == 0 and res["changed"] is True
    assert [m["plot"] for m in res["would_move"]] == [plot.name]
    assert res["would_move"][0]["method"] == "rename" and plot.name in after_check
    reasons = "\n".join(res["reasons"])
    assert "open for writing" in reasons and "incomplete" in reasons

    rc, res = moved
    assert rc == 0 and res["changed"] is True and res["started"] == []
    assert res["moved"][0]["destination"] == str(tmp / "dst" / plot.name)
    assert (tmp / "dst" / plot.name).read_bytes() == originals(1)[plot.name]
    assert not plot.exists() and temp.read_bytes() == b"partial plot"
    assert after_move == sorted([temp.name, held.name, unfinished.name]) and not held.exists()
    assert dst_after_move == [plot.name] and sorted(p.name for p in (tmp / "dst").iterdir()) == [plot.name]
    rc, res = last
    assert rc == 0 and res["changed"] is False and res["moved"] == []


@needs_mount
def test_copy_to_other_filesystem_verifies_then_deletes(tmp):
    plots = lib.place_plots(tmp / "src", 2)
    with lib.tmpfs(tmp / "disk", "64m") as disk:
        args = lib.move_args(tmp, [{"path": str(disk), "must_be_mount": True}], max_transfers_per_source=2,
                             max_transfers_per_destination=2)
        # One playbook: the pass, the wait for both copies, the disk's listing, two more passes.
        (rc, res), _, landed, completed, last = batch.run_steps([
            batch.call("plot_move", args), batch.wait_transfers(tmp / "state"), batch.listdir(disk),
            batch.call("plot_move", args), batch.call("plot_move", args)])
        assert rc == 0 and res["changed"] and res["moved"] == []
        assert sorted(s["plot"] for s in res["started"]) == sorted(p.name for p in plots)
        assert {s["method"] for s in res["started"]} == {"copy"}
        want = originals(2)
        for plot in plots:
            assert (disk / plot.name).read_bytes() == want[plot.name] and not plot.exists()
        assert landed == sorted(p.name for p in plots)  # no partial left
        assert sorted(os.listdir(str(disk))) == landed
        rc, res = completed
        assert res["changed"] is True and len(res["completed"]) == 2
        rc, res = last
        assert res["changed"] is False and res["completed"] == []
        assert {t["state"] for t in res["transfers"]} == {"done"}


@needs_mount
def test_unmounted_destination_is_skipped(tmp):
    lib.place_plots(tmp / "src", 1)
    rc, res = run_module("plot_move", lib.move_args(tmp, [{"path": str(tmp / "dst"), "must_be_mount": True}]))
    assert rc == 0 and res["changed"] is False and "not a mount point" in res["reasons"][0]


@needs_mount
def start_then_kill_worker(args, disk, plot, min_bytes):
    """Start a transfer of plot to disk, SIGKILL its worker once min_bytes are copied; the partial copy's path."""
    rc, res = run_module("plot_move", args)
    (started,) = res["started"]
    partial = disk / ("." + plot.name + ".plotfleet-partial")
    assert lib.wait_for(lambda: partial.exists() and partial.stat().st_size > min_bytes, timeout=30)
    os.kill(started["pid"], signal.SIGKILL)
    lib.wait_for(lambda: not os.path.exists("/proc/%d" % started["pid"]) or
                 "Z" in Path("/proc/%d/stat" % started["pid"]).read_text().split(")")[1][:3], timeout=10)
    return partial


def test_worker_killed_half_way_then_next_pass_completes(tmp):
    (plot,) = lib.place_plots(tmp / "src", 1)
    with lib.tmpfs(tmp / "disk", "64m") as disk:
        args = lib.move_args(tmp, [{"path": str(disk)}], bwlimit_kbps=1000)
        partial = start_then_kill_worker(args, disk, plot, 2600000)
        assert not (disk / plot.name).exists() and plot.read_bytes() == originals(1)[plot.name]
        assert partial.stat().st_size < plot.stat().st_size

        (rc, res), (rc2, resumed), (rec,) = batch.run_steps([
            batch.call("plot_move", dict(args, bwlimit_kbps=None), check=True),
            batch.call("plot_move", dict(args, bwlimit_kbps=None)), batch.wait_transfers(tmp / "state")])
        assert res["transfers"][0]["state"] == "interrupted" and res["would_move"][0]["resume"] is True
        assert resumed["started"][0]["resumed"] is True
        assert rec["state"] == "done" and rec["attempt"] == 2
        assert (disk / plot.name).read_bytes() == originals(1)[plot.name]
        assert not plot.exists() and not partial.exists()
        assert "resuming local copy" in Path(rec["log"]).read_text()


@needs_mount
def test_partial_copy_at_a_destination_given_up_on_is_removed_after_success(tmp):
    """A copy to disk A is killed half-way; A then has no room left (something else filled it), so the
    next pass sends the plot to disk B. Once the plot is verified at B, A's partial copy is removed."""
    (plot,) = lib.place_plots(tmp / "src", 1)
    with lib.tmpfs(tmp / "a", "16m") as disk_a, lib.tmpfs(tmp / "b", "64m") as disk_b:
        dests = [{"path": str(disk_a)}, {"path": str(disk_b)}]
        args = lib.move_args(tmp, dests[:1], bwlimit_kbps=1000)
        partial = start_then_kill_worker(args, disk_a, plot, 1000000)
        filler = disk_a / "someone-elses-file.bin"
        st = os.statvfs(str(disk_a))
        filler.write_bytes(b"\0" * (st.f_bavail * st.f_frsize - 512 * 1024))

        rc, res = run_module("plot_move", dict(args, destinations=dests, bwlimit_kbps=None))
        assert [s["destination"] for s in res["started"]] == [str(disk_b)], res
        (rec,) = lib.wait_transfers_finished(tmp / "state")
        assert rec["state"] == "done" and rec["attempt"] == 2, rec
        assert rec["abandoned"] == [{"destination": str(disk_a), "host": None, "user": None, "port": None,
                                     "ssh_key": None, "ssh_options": []}]
        assert (disk_b / plot.name).read_bytes() == originals(1)[plot.name] and not plot.exists()
        assert sorted(os.listdir(str(disk_a))) == [filler.name], "only the partial copy was removed at A"
        assert "removed %s" % partial in Path(rec["log"]).read_text()


@needs_mount
def test_full_destination_is_marked_and_next_one_used(tmp):
    plots = lib.place_plots(tmp / "src", 2)
    with lib.tmpfs(tmp / "tiny", "1m") as tiny, lib.tmpfs(tmp / "big", "64m") as big:
        # The planner sees that the tiny disk has no room ...
        args = lib.move_args(tmp, [{"path": str(tiny)}, {"path": str(big)}], max_transfers_per_source=2,
                             max_transfers_per_destination=2)
        rc, res = run_module("plot_move", args)
        assert {s["destination"] for s in res["started"]} == {str(big)}
        assert "has no room" in "\n".join(res["reasons"]) or len(res["started"]) == 2
        lib.wait_transfers_finished(tmp / "state")
        assert sorted(os.listdir(str(big))) == sorted(p.name for p in plots) and os.listdir(str(tiny)) == []

        # ... and a worker that runs into ENOSPC anyway marks it full; the partial copy is removed.
        extra = lib.place_plots(tmp / "src", 3)[2]
        rec = json.loads(next((tmp / "state" / "transfers").glob("*.json")).read_text())
        rec.update(id="ff" * 32, source=str(extra), plot_name=extra.name, destination=str(tiny), state="running",
                   bytes_total=extra.stat().st_size, plot_id=lib_plot_id(extra), log=str(tmp / "logs" / "w.log"))
        rec_path = tmp / "state" / "transfers" / ("%s.json" % rec["id"])
        rec_path.write_text(json.dumps(rec))
        worker = sorted((tmp / "state" / "bin").glob("plotfleet-transfer-*/draining.py"))[0]
        proc = subprocess.run(["/usr/bin/python3", str(worker), str(rec_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
        assert proc.returncode == 1, proc.stdout
        done = json.loads(rec_path.read_text())
        assert done["state"] == "failed" and "destination full" in done["reason"]
        assert os.listdir(str(tiny)) == [] and extra.exists()
        rec_path.unlink()
        rc, res = run_module("plot_move", dict(args, destinations=[{"path": str(tiny)}]), check=True)
        assert res["would_move"] == [] and "marked full" in "\n".join(res["reasons"])


def lib_plot_id(path):
    from ansible_collections.plotfleet.chia.plugins.module_utils import plotfile
    return plotfile.read_header(str(path))["plot_id"]


@needs_mount
def test_two_passes_at_once_move_each_plot_once(tmp):
    plots = lib.place_plots(tmp / "src", 3)
    with lib.tmpfs(tmp / "disk", "64m") as disk:
        args = lib.move_args(tmp, [{"path": str(disk)}, {"path": str(tmp / "dst")}], max_transfers_per_source=3,
                             max_transfers_per_destination=3)
        results = []

        def one_pass():
            results.append(run_module("plot_move", args)[1])
        threads = [threading.Thread(target=one_pass) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        acted = [m["plot"] for r in results for m in r["moved"] + r["started"]]
        assert sorted(acted) == sorted(p.name for p in plots)  # each plot handled by exactly one pass
        lib.wait_transfers_finished(tmp / "state")
        landed = sorted(os.listdir(str(disk)) + os.listdir(str(tmp / "dst")))
        assert landed == sorted(p.name for p in plots) and os.listdir(str(tmp / "src")) == []
