"""Replot end to end (issue 13): a corrupt or unverifiable incoming plot deletes nothing. A full tmpfs of
real k18 v1 plots where the storage host replots; the plotter's dir holds a truncated plot, a file of
junk and a plot renamed to another plot id (none of them is sent), and a real plot whose name says
compression level 5 while its header says none: the plotter's checks pass it, the storage host's replot
refuses it (its header and name disagree), deletes nothing, the copy fails "full" and the dir is not held
for the plotter's other plots: a good .plot2 goes there next pass and deletes one old plot. plot_move and
real transfer workers with rsync over a loopback sshd."""

import os
import sys
import time
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


def bad_arrivals(src):
    """Plot-named files the plotter must not send ({path: why}), and the mislabeled plot it does send."""
    v2, og = lib.v2_plots(1)[0], lib.og_plots(5)[4]
    truncated = src / lib.v2_plots(2)[1].name
    truncated.write_bytes(lib.v2_plots(2)[1].read_bytes()[:200000])
    junk = src / ("plot-k18-2025-01-01-00-00-%s.plot" % ("5a" * 32))
    junk.write_bytes(os.urandom(300000))
    renamed = src / ("plot-k18-%s.plot2" % ("77" * 32))
    renamed.write_bytes(v2.read_bytes())
    plot_id = og.name.rsplit("-", 1)[1]
    mislabeled = src / ("plot-k18-c05-2025-01-01-00-00-%s" % plot_id)   # an uncompressed plot's header
    mislabeled.write_bytes(og.read_bytes())
    return [truncated, junk, renamed], mislabeled


def test_a_corrupt_or_unverifiable_arrival_deletes_nothing_and_holds_nothing(full_disk, tmp_path):
    journal = tmp_path / "journal.jsonl"
    config = {"enabled": True, "storage_dirs": [str(full_disk)], "journal": str(journal), "arrivals": ["v1", "v2"]}
    (tmp_path / "src").mkdir()
    unsent, mislabeled = bad_arrivals(tmp_path / "src")
    now = time.time()
    os.utime(str(mislabeled), (now - 3600, now - 3600))
    before = sorted(os.listdir(str(full_disk)))
    arriving = -(-lib.v2_plots(1)[0].stat().st_size // PAGE) * PAGE
    assert mislabeled.stat().st_size >= arriving - PAGE   # it lacks room as much as the good plot does
    oldest = min((full_disk / n).stat().st_size for n in before)
    min_free = lib.free_bytes(full_disk) + oldest - arriving - arriving // 2   # each arrival needs a deletion
    with lib.plotmove_lib.Sshd(tmp_path / "sshd") as sshd:
        dests = destinations(tmp_path, sshd, full_disk, config, min_free)
        assert dests[0]["replot"]["room_plots"] == 3
        res = move(tmp_path, dests, sshd)
        assert len(res["started"]) == 1, res
        for path in unsent:
            assert any(r.startswith(str(path)) for r in res["reasons"]), (path, res["reasons"])
        (failed,) = lib.plotmove_lib.wait_transfers_finished(tmp_path / "state")
        assert failed["source"] == str(mislabeled) and failed["state"] == "failed", failed
        assert failed["failure"] == "full" and "not a verified plot" in str(failed["replot"]["refused"]), failed
        assert sorted(os.listdir(str(full_disk))) == before and not failed["replot_deleted"]
        assert not any(e["event"] == "deleting" for e in replot.read_journal(str(journal)))
        assert transfer.full_marks(str(tmp_path / "state")) == {}   # the dir is not held for other plots
        # a good plot of the same plotter goes there next pass (the older one: chosen first)
        good = lib.place(tmp_path / "src", lib.v2_plots(1)[0])
        os.utime(str(good), (now - 7200, now - 7200))
        res = move(tmp_path, destinations(tmp_path, sshd, full_disk, config, min_free), sshd)
        assert len(res["started"]) == 1, res
        recs = lib.plotmove_lib.wait_transfers_finished(tmp_path / "state")
    (sent,) = [r for r in recs if r["source"] == str(good)]
    assert sent["state"] == "done" and len(sent["replot_deleted"]) == 1, (sent["reason"], sent.get("replot"))
    deleted = [e for e in replot.read_journal(str(journal)) if e["event"] == "deleted"]
    assert [e["for"] for e in deleted] == [good.name] and mislabeled.exists()
    assert all(p.exists() for p in unsent)
