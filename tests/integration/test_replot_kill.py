"""Replot end to end (issue 13): the transfer worker killed mid-way. A real worker's replot-session has
deleted an old plot for its arrival and rsync is copying (slowly) into the room when the worker and its
rsync and ssh are SIGKILLed: every file missing from the disk is one the journal says was deleted for
that arrival, and no deletion is left unexplained. The next pass resumes the copy into the room it
made, with no second deletion. Real k18 v1 plots on a full tmpfs, a .plot2 arrival, plot_move and
rsync over a loopback sshd."""

import os
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import replot_lib as lib  # noqa: E402

from ansible_collections.plotfleet.chia.plugins.module_utils import replot  # noqa: E402
from plotfleet_testlib import descendants, wait_for  # noqa: E402

run_module = lib.plotmove_lib.run_module
pytestmark = pytest.mark.skipif(not (lib.plotmove_lib.Sshd.available() and lib.plotmove_lib.can_mount()),
                                reason="needs root (tmpfs), /usr/sbin/sshd and rsync")
PAGE = lib.PAGE


@pytest.fixture
def full_disk(tmp_path):
    with lib.full_disk_of_old_plots(tmp_path) as disk:
        yield disk


destinations = lib.storage_destinations


def move(tmp_path, dests, sshd, **extra):
    args = lib.plotmove_lib.move_args(tmp_path, dests, ssh_options=sshd.ssh_options, **extra)
    rc, res = run_module("plot_move", args)
    assert rc == 0, res
    return res


def copying(disk, name, least):
    """rsync's temp file of this plot in the dir, once it holds at least `least` bytes."""
    for entry in os.listdir(str(disk)):
        if entry.startswith(".") and name in entry and (disk / entry).stat().st_size >= least:
            return entry
    return None


def kill_tree(pid):
    for proc in [pid] + sorted(descendants(pid)):
        try:
            os.kill(proc, signal.SIGKILL)
        except ProcessLookupError:
            pass


def explained(disk, before, journal, arrival_name):
    """Every old file gone from the disk has a "deleting" and a "deleted" entry for the arrival."""
    gone = set(before) - set(os.listdir(str(disk)))
    entries = replot.read_journal(str(journal))
    started = set(e["name"] for e in entries if e["event"] == "deleting" and e["for"] == arrival_name)
    done = set(e["name"] for e in entries if e["event"] == "deleted" and e["for"] == arrival_name)
    return gone, gone == started == done and replot.unfinished(str(journal)) == []


def test_a_worker_killed_after_its_deletion_leaves_it_explained_and_the_retry_uses_its_room(full_disk, tmp_path):
    journal = tmp_path / "journal.jsonl"
    config = {"enabled": True, "storage_dirs": [str(full_disk)], "journal": str(journal)}
    (tmp_path / "src").mkdir()
    arrival = lib.place(tmp_path / "src", lib.v2_plots(1)[0])
    before = sorted(os.listdir(str(full_disk)))
    arriving = -(-arrival.stat().st_size // PAGE) * PAGE
    (oldest,) = [(full_disk / n).stat().st_size for n in before if "2020-" in n]   # the plot that goes
    # one deletion makes the room, with 8 pages to spare: the copy killed mid-way holds more than that,
    # so without the journal's "room made once for this plot" and the agent counting what the copy
    # already wrote, the resume would delete a second plot
    min_free = lib.free_bytes(full_disk) + oldest - arriving - 8 * PAGE
    with lib.plotmove_lib.Sshd(tmp_path / "sshd") as sshd:
        res = move(tmp_path, destinations(tmp_path, sshd, full_disk, config, min_free), sshd, bwlimit_kbps=40)
        (started,) = res["started"]
        assert wait_for(lambda: copying(full_disk, arrival.name, 64 * 1024), timeout=60), os.listdir(str(full_disk))
        kill_tree(started["pid"])
        wait_for(lambda: not os.path.exists("/proc/%d" % started["pid"]) or "Z" in Path(
            "/proc/%d/stat" % started["pid"]).read_text().split(")")[1][:3], timeout=10)
        assert not (full_disk / arrival.name).exists() and arrival.exists()
        gone, ok = explained(full_disk, before, journal, arrival.name)
        assert len(gone) == 1 and ok, (gone, replot.read_journal(str(journal)))
        # the next pass resumes the interrupted copy into the room its deletion made
        res = move(tmp_path, destinations(tmp_path, sshd, full_disk, config, min_free), sshd)
        assert res["started"][0]["resumed"] is True, res
        (rec,) = lib.plotmove_lib.wait_transfers_finished(tmp_path / "state")
    assert rec["state"] == "done" and rec["attempt"] == 2, rec
    assert [d["name"] for d in rec["replot_deleted"]] == sorted(gone)
    after_gone, ok = explained(full_disk, before, journal, arrival.name)
    assert after_gone == gone and ok   # no second deletion for the same plot
    assert set(os.listdir(str(full_disk))) == (set(before) - gone) | {arrival.name} and not arrival.exists()
