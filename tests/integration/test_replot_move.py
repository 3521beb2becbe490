"""Replot end to end (issue 13): a storage dir on a real full disk (tmpfs) of real k18 v1 plots; new
`.plot2` plots (chia_rs) arrive through plot_move, the destination built as the reconcile role builds it
(the storage host's plot_info with `replot` -> storage_offer -> move_destinations), sent by real
transfer workers with rsync over a real loopback sshd. Check mode deletes nothing and lists exactly what
would go; with replot off nothing is deleted and the dir is full; with it on each arrival deletes exactly
one old plot (the oldest one that is not protected), non-plot and protected files stay, and the journal
explains every deletion."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import replot_lib as lib  # noqa: E402

from ansible_collections.plotfleet.chia.plugins.filter import fleet  # noqa: E402
from ansible_collections.plotfleet.chia.plugins.module_utils import replot  # noqa: E402

run_module = lib.plotmove_lib.run_module
pytestmark = pytest.mark.skipif(not (lib.plotmove_lib.Sshd.available() and lib.plotmove_lib.can_mount()),
                                reason="needs root (tmpfs), /usr/sbin/sshd and rsync")
PAGE = 4096
DATES = ["2021-01-01-00-00", "2020-01-01-00-00", "2022-01-01-00-00", "2019-01-01-00-00"]


@pytest.fixture
def full_disk(tmp_path):
    sources = lib.og_plots(4)
    total = sum(-(-p.stat().st_size // PAGE) for p in sources) + 1 + 40
    with lib.plotmove_lib.tmpfs(tmp_path / "disk", size="%dk" % (total * PAGE // 1024)) as disk:
        for src, date in zip(sources, DATES):
            lib.place(disk, src, date)
        (disk / "notes.txt").write_text("farm notes\n")
        yield disk


def destinations(tmp_path, sshd, disk, config, min_free):
    """What reconcile gives the plotter: the storage host's plot_info (replot passed only when on),
    its offer, then the plotter's destinations."""
    args = {"log_dir": str(tmp_path / "storage-logs"), "state_dir": str(tmp_path / "storage-state"),
            "dst_dirs": [str(disk)]}
    if replot.enabled_anywhere(config):   # as roles/reconcile/tasks/gather.yml decides
        args["replot"] = config
    rc, state = run_module("plot_info", args)
    assert rc == 0, state
    offer = fleet.storage_offer(state, [str(disk)], "127.0.0.1", "root", sshd.port, min_free_bytes=min_free,
                                replot=config)
    hostvars = {"storage1": {"plotfleet_storage_offer": offer}}
    return fleet.move_destinations(hostvars, ["storage1"], "plotter1", str(sshd.client_key))


def move(tmp_path, dests, sshd, check=False):
    args = lib.plotmove_lib.move_args(tmp_path, dests, ssh_options=sshd.ssh_options,
                                      max_transfers_per_destination=1, max_transfers_per_source=1)
    rc, res = run_module("plot_move", args, check=check)
    assert rc == 0, res
    return res


def test_arrivals_replace_the_oldest_old_plots_check_mode_lists_them_and_off_deletes_nothing(full_disk, tmp_path):
    journal = tmp_path / "journal.jsonl"
    config = {"enabled": True, "storage_dirs": [str(full_disk)], "journal": str(journal), "protect": ["*2019-*"]}
    (tmp_path / "src").mkdir()
    arrivals = [lib.place(tmp_path / "src", src) for src in lib.v2_plots(2)]
    before = sorted(os.listdir(str(full_disk)))
    by_age = [n for date in ("2020-", "2021-") for n in before if date in n]   # oldest first, unprotected
    arriving = max(-(-p.stat().st_size // PAGE) * PAGE for p in arrivals)
    oldest = (full_disk / by_age[0]).stat().st_size
    free = lib.free_bytes(full_disk)
    assert free < arriving
    # One old plot makes room for one arrival, not for two: each arrival needs a deletion of its own.
    min_free = free + oldest - arriving - arriving // 2
    with lib.plotmove_lib.Sshd(tmp_path / "sshd") as sshd:
        # replot off: no room, nothing started, nothing deleted
        off = destinations(tmp_path, sshd, full_disk, dict(config, enabled=False), min_free)
        assert "replot" not in off[0]
        res = move(tmp_path, off, sshd)
        assert res["started"] == [] and any("has no room" in r for r in res["reasons"]), res
        assert sorted(os.listdir(str(full_disk))) == before and not journal.exists()
        # replot on: the offer counts the room; check mode lists exactly the file the first copy deletes
        dests = destinations(tmp_path, sshd, full_disk, config, min_free)
        assert dests[0]["replot"]["room_bytes"] > 0
        res = move(tmp_path, dests, sshd, check=True)
        listed = [r for r in res["reasons"] if ": replot at " in r]
        assert len(res["would_move"]) == 1 and len(listed) == 1 and "would delete %s " % by_age[0] in listed[0], res
        assert sorted(os.listdir(str(full_disk))) == before and not journal.exists()
        # the real pass: the workers send both arrivals (the drain takes the second), each deleting one plot
        res = move(tmp_path, dests, sshd)
        assert len(res["started"]) == 1, res
        recs = lib.plotmove_lib.wait_transfers_finished(tmp_path / "state", timeout=120)
        if len(recs) < 2:   # the drain worker did not take the second plot: the next pass does
            move(tmp_path, destinations(tmp_path, sshd, full_disk, config, min_free), sshd)
            recs = lib.plotmove_lib.wait_transfers_finished(tmp_path / "state", timeout=120)
    assert sorted(r["state"] for r in recs) == ["done", "done"], recs
    after = set(os.listdir(str(full_disk)))
    assert after == (set(before) - set(by_age)) | set(p.name for p in arrivals)
    assert "notes.txt" in after and any("2019-" in n for n in after)   # non-plot and protected files stay
    assert lib.free_bytes(full_disk) >= min_free
    deleted = [(e["name"], e["for"]) for e in replot.read_journal(str(journal)) if e["event"] == "deleted"]
    assert sorted(deleted) == sorted((r["replot_deleted"][0]["name"], r["plot_name"]) for r in recs)
    assert all(len(r["replot_deleted"]) == 1 for r in recs) and sorted(n for n, _f in deleted) == sorted(by_age)
    assert not any(p.exists() for p in arrivals)   # the sources went once the copies were safe
