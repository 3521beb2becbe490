"""Replot and the "full" hold (issue 13): a sender whose replot-session finds replot at its limit (here
max_per_hour, reached by another plotter's arrival since the offer was made) gets `full` and deletes
nothing; its plot waits while the storage host offers no replot room; once the offer shows room again
(the farmer raised the limit) the hold its failure left is over and the plot goes, deleting one old
plot. Real k18 v1 plots on a full tmpfs, .plot2 arrivals, two plotters' plot_move and real transfer
workers with rsync over a loopback sshd."""

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import replot_lib as lib  # noqa: E402

from ansible_collections.plotfleet.chia.plugins.module_utils import replot, transfer  # noqa: E402

pytestmark = pytest.mark.skipif(not (lib.plotmove_lib.Sshd.available() and lib.plotmove_lib.can_mount()),
                                reason="needs root (tmpfs), /usr/sbin/sshd and rsync")
PAGE = lib.PAGE


@pytest.fixture
def full_disk(tmp_path):
    with lib.full_disk_of_old_plots(tmp_path) as disk:
        yield disk


destinations = lib.storage_destinations
move = lib.plot_move


def plotter_with_arrival(tmp_path, name, source):
    plotter = tmp_path / name
    (plotter / "src").mkdir(parents=True)
    return plotter, lib.place(plotter / "src", source)


def test_a_sender_at_the_replot_limit_gets_full_deletes_nothing_and_goes_once_the_offer_has_room(full_disk, tmp_path):
    journal = tmp_path / "journal.jsonl"
    config = {"enabled": True, "storage_dirs": [str(full_disk)], "journal": str(journal), "max_per_hour": 1}
    first, second = lib.v2_plots(2)
    p1, arrival1 = plotter_with_arrival(tmp_path, "p1", first)
    p2, arrival2 = plotter_with_arrival(tmp_path, "p2", second)
    before = sorted(os.listdir(str(full_disk)))
    arriving = -(-max(first.stat().st_size, second.stat().st_size) // PAGE) * PAGE
    # the plot the first arrival's room is made from: the oldest (replot.fewest), not the smallest; real k18
    # plots differ by up to ~0.5 MB, and sized by a smaller one the first deletion left room for both arrivals
    (oldest,) = [(full_disk / n).stat().st_size for n in before if "2020-" in n]
    # one old plot makes room for one arrival, not two: each arrival needs a deletion of its own
    min_free = lib.free_bytes(full_disk) + oldest - arriving - arriving // 2
    with lib.plotmove_lib.Sshd(tmp_path / "sshd") as sshd:
        offered = destinations(tmp_path, sshd, full_disk, config, min_free)   # both plotters got this offer
        assert offered[0]["replot"]["room_plots"] == 1
        assert len(move(p1, offered, sshd)["started"]) == 1
        (done,) = lib.plotmove_lib.wait_transfers_finished(p1 / "state")
        assert done["state"] == "done" and len(done["replot_deleted"]) == 1, done
        after_first = sorted(os.listdir(str(full_disk)))
        # the second plotter sends on the same offer: the hour's one deletion is taken, replot refuses,
        # the copy fails "full" and nothing is deleted
        assert len(move(p2, offered, sshd)["started"]) == 1
        (failed,) = lib.plotmove_lib.wait_transfers_finished(p2 / "state")
        assert failed["state"] == "failed" and failed["failure"] == "full", json.dumps(failed, indent=1)
        assert "max_per_hour" in json.dumps(failed["replot"]["refused"]) and not failed["replot_deleted"]
        assert sorted(os.listdir(str(full_disk))) == after_first and arrival2.exists()
        mark = transfer.full_marks(str(p2 / "state"))["127.0.0.1:%s" % full_disk]
        assert mark["replot_room_bytes"] == 0 and mark["replot_offer"] == offered[0]["replot"]["policy"]["offered_at"]
        # the same offer again (what a drain worker plans with all pass long): the hold stands
        res = move(p2, offered, sshd)
        assert res["started"] == [] and any("marked full" in r for r in res["reasons"]), res
        # next pass: the storage host offers no replot room (the limit): the plot waits, nothing goes
        at_limit = destinations(tmp_path, sshd, full_disk, config, min_free)
        assert at_limit[0]["replot"]["room_bytes"] == 0
        res = move(p2, at_limit, sshd)
        assert res["started"] == [] and sorted(os.listdir(str(full_disk))) == after_first, res
        # the farmer raises the limit: the offer has room again, the hold the failure left is over
        raised = dict(config, max_per_hour=2)
        res = move(p2, destinations(tmp_path, sshd, full_disk, raised, min_free), sshd)
        assert len(res["started"]) == 1, res
        (sent,) = lib.plotmove_lib.wait_transfers_finished(p2 / "state")
    assert sent["state"] == "done" and len(sent["replot_deleted"]) == 1, sent
    assert set(os.listdir(str(full_disk))) == (set(after_first) - {sent["replot_deleted"][0]["name"]}) | {
        second.name}
    deleted = [(e["name"], e["for"]) for e in replot.read_journal(str(journal)) if e["event"] == "deleted"]
    assert sorted(f for _n, f in deleted) == sorted([first.name, second.name])   # one deletion per arrival
    assert not arrival1.exists() and not arrival2.exists()
