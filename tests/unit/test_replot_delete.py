"""replot: deleting for arrivals on a real full disk (tmpfs) of real k18 plots, check mode, files that
change after the choice, retries, and kills between the journal and the unlink (system Python)."""

import json
import os
import shutil
import subprocess

import pytest
import replot_lib as lib

from ansible_collections.plotfleet.chia.plugins.module_utils import replot
from plotfleet_testlib import REPO, SYSTEM_PYTHON

DATES = ["2020-05-01-00-00", "2020-01-01-00-00", "2021-01-01-00-00", "2020-09-01-00-00", "2022-01-01-00-00"]
PAGE = 4096
MIN_FREE = 16 * PAGE


def pages(size):
    return -(-size // PAGE)


def policy(directory, **settings):
    config = dict({"enabled": True, "storage_dirs": [str(directory)], "protect": ["*2019-*"]}, **settings)
    return replot.policy_for(config, str(directory))


def fill(directory, outside):
    """Five dated OG plots, a protected NFT plot (the oldest), notes, a temp file and a symlink named as an
    even older plot pointing outside. Returns {name: (inode, size)} of what must never be touched."""
    for src, date in zip(lib.og_plots(5), DATES):
        lib.place(directory, src, date)
    lib.place(directory, lib.nft_plots(1)[0], "2019-01-01-00-00")
    (directory / "notes.txt").write_text("farm notes\n")
    (directory / (lib.og_plots(1)[0].name + ".tmp")).write_bytes(b"t" * 5000)
    target = lib.place(outside, lib.og_plots(6)[5], "2018-01-01-00-00")
    os.symlink(str(target), str(directory / target.name))
    untouched = dict((p.name, (p.lstat().st_ino, p.lstat().st_size)) for p in directory.iterdir()
                     if p.is_symlink() or "2019-" in p.name or not p.name.endswith(".plot"))
    untouched[str(target)] = (target.stat().st_ino, target.stat().st_size)
    return untouched


def copy_in(directory, source):
    """The copy an arrival makes once room is made: a hidden partial file, renamed into place."""
    partial = directory / (".%s.plotfleet-partial" % source.name)
    shutil.copyfile(str(source), str(partial))
    os.rename(str(partial), str(directory / source.name))


def journal_events(journal, event):
    return [e for e in replot.read_journal(journal) if e["event"] == event]


@pytest.fixture
def disk(tmp_path):
    if not lib.plotmove_lib.can_mount():
        pytest.skip("needs root to mount a small tmpfs (a real full disk)")
    sizes = [p.stat().st_size for p in lib.og_plots(5) + lib.nft_plots(1)]
    total = sum(pages(s) for s in sizes) + 2 + 40   # the plots, notes + temp file, and 160 KiB of room
    with lib.plotmove_lib.tmpfs(tmp_path / "disk", size="%dk" % (total * PAGE // 1024)) as mount:
        yield mount


def test_each_arrival_deletes_exactly_enough_and_the_disk_stays_full(disk, tmp_path):
    untouched = fill(disk, tmp_path)
    journal = str(tmp_path / "journal.jsonl")
    biggest_old = max(p.stat().st_size for p in lib.og_plots(5))
    arrivals = lib.v2_plots(6)
    assert lib.free_bytes(disk) < arrivals[0].stat().st_size   # full: the first arrival needs room
    deleted_so_far = []
    for source in arrivals:
        arrival = lib.arrival(source)
        short = lib.shortfall(disk, pages(arrival["bytes"]) * PAGE, MIN_FREE)
        plan = replot.plan(str(disk), policy(disk), arrival, short, journal)
        assert plan["refused"] is None, plan["refused"]
        result = replot.delete(plan, journal)
        assert result["error"] is None and result["deleted"] == [p["name"] for p in plan["delete"]]
        if short <= 0:
            assert plan["delete"] == []
        else:   # enough, and one plot fewer would not be
            assert result["freed_bytes"] >= short > result["freed_bytes"] - min(p["size"] for p in plan["delete"])
        copy_in(disk, source)
        assert MIN_FREE <= lib.free_bytes(disk) < MIN_FREE + biggest_old + PAGE
        deleted_so_far += result["deleted"]
    # the oldest replaceable plots went, in order; the protected NFT plot (older still) and the symlink stayed
    expected_order = sorted(DATES)[:len(deleted_so_far)]
    assert [n[9:25] for n in deleted_so_far] == expected_order and 1 <= len(deleted_so_far) < 5
    for name, (ino, size) in untouched.items():
        path = disk / name if os.sep not in name else name
        st = os.lstat(str(path))
        assert (st.st_ino, st.st_size) == (ino, size), name
    assert all((disk / s.name).exists() for s in arrivals)
    # the journal explains every deletion: what, how big, its plot id, why, for which arrival
    gone = journal_events(journal, "deleted")
    assert [e["name"] for e in gone] == deleted_so_far == [e["name"] for e in journal_events(journal, "deleting")]
    assert all(e["size"] > 0 and e["name"].endswith(e["plot_id"] + ".plot") and e["for"].endswith(".plot2")
               and "replaced by v2" in e["why"] and e["at"].endswith("Z") for e in gone)


def plant(tmp_path, count=4):
    directory = tmp_path / "storage"
    directory.mkdir()
    for src, date in zip(lib.og_plots(count), DATES):
        lib.place(directory, src, date)
    return directory, str(tmp_path / "journal.jsonl"), lib.arrival(lib.v2_plots(1)[0])


def two_plot_need(directory):
    sizes = sorted(p.stat().st_size for p in directory.iterdir())
    return sizes[-1] + 1


def test_check_mode_lists_exactly_what_would_go_and_deletes_nothing(tmp_path):
    directory, journal, arrival = plant(tmp_path)
    before = sorted(os.listdir(str(directory)))
    plan = replot.plan(str(directory), policy(directory), arrival, two_plot_need(directory), journal)
    lines = replot.listing(plan)
    assert len(lines) == 2 and sorted(os.listdir(str(directory))) == before and not os.path.exists(journal)
    assert all("would delete %s (%d bytes, plot id %s)" % (p["name"], p["size"], p["plot_id"]) in line
               for p, line in zip(plan["delete"], lines))
    result = replot.delete(plan, journal)
    assert sorted(set(before) - set(os.listdir(str(directory)))) == sorted(result["deleted"]) == sorted(
        p["name"] for p in plan["delete"])
    refused = replot.plan(str(directory), policy(directory, paused=True), arrival, 10 ** 9, journal)
    assert replot.listing(refused) == ["%s: nothing deleted for %s: %s" % (directory, arrival["name"],
                                                                           refused["refused"])]


@pytest.mark.parametrize("change", ["symlink", "new inode", "hard link", "gone"])
def test_a_chosen_file_that_changed_stops_the_deletion_before_anything_goes(tmp_path, change):
    directory, journal, arrival = plant(tmp_path)
    plan = replot.plan(str(directory), policy(directory), arrival, two_plot_need(directory), journal)
    second = directory / plan["delete"][1]["name"]
    elsewhere = tmp_path / "elsewhere.plot"
    shutil.copyfile(str(second), str(elsewhere))
    if change == "symlink":
        second.unlink()
        os.symlink(str(elsewhere), str(second))
    elif change == "new inode":   # the same bytes under the same name, another file
        shutil.copyfile(str(elsewhere), str(directory / "replacement"))
        os.rename(str(directory / "replacement"), str(second))
    elif change == "hard link":
        os.link(str(second), str(tmp_path / "second-link"))
    else:
        second.unlink()
    before = sorted(os.listdir(str(directory)))
    result = replot.delete(plan, journal)
    assert result["deleted"] == [] and result["error"].startswith("nothing deleted: ")
    assert sorted(os.listdir(str(directory))) == before and replot.read_journal(journal) == []
    assert elsewhere.stat().st_size == plan["delete"][1]["size"]


def test_a_failed_copy_leaves_its_room_to_the_retry_and_never_deletes_twice_for_it(tmp_path):
    directory, journal, arrival = plant(tmp_path)
    need = two_plot_need(directory)
    first = replot.plan(str(directory), policy(directory), arrival, need, journal)
    assert len(replot.delete(first, journal)["deleted"]) == 2
    # the copy failed; the retry finds the room (the caller's shortfall is <= 0 now): nothing more goes
    assert replot.plan(str(directory), policy(directory), arrival, 0, journal)["delete"] == []
    # even if the room was taken meanwhile, this arrival never deletes a second time here
    again = replot.plan(str(directory), policy(directory), arrival, need, journal)
    assert again["delete"] == [] and "already made once" in again["refused"]
    assert len(os.listdir(str(directory))) == 2
    other = lib.arrival(lib.v2_plots(2)[1])
    assert len(replot.plan(str(directory), policy(directory), other, 1, journal)["delete"]) == 1


KILLED_DELETE = r"""
import json, os, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.plotfleet.chia.plugins.module_utils import replot
plan, journal, where = json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
if where == "after journal":
    journalled = replot.append_journal
    def append_journal(path, entry, now=None):
        written = journalled(path, entry, now)
        if entry["event"] == "deleting" and entry["name"] == plan["delete"][-1]["name"]:
            os.kill(os.getpid(), 9)
        return written
    replot.append_journal = append_journal
else:
    unlink = os.unlink
    def killed_after_unlink(name, dir_fd=None):
        unlink(name, dir_fd=dir_fd)
        if name == plan["delete"][-1]["name"]:
            os.kill(os.getpid(), 9)
    os.unlink = killed_after_unlink
replot.delete(plan, journal)
"""


@pytest.mark.parametrize("where, outcome", [("after journal", "kept"), ("after unlink", "deleted")])
def test_a_kill_mid_deletion_leaves_nothing_the_journal_does_not_explain(tmp_path, where, outcome):
    directory, journal, arrival = plant(tmp_path)
    plan = replot.plan(str(directory), policy(directory), arrival, two_plot_need(directory), journal)
    before = set(os.listdir(str(directory)))
    proc = subprocess.run([SYSTEM_PYTHON, "-S", "-c", KILLED_DELETE, str(REPO / "collections"), json.dumps(plan),
                           journal, where], stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    gone = before - set(os.listdir(str(directory)))
    last = plan["delete"][-1]["name"]
    assert gone == set(p["name"] for p in plan["delete"]) - ({last} if outcome == "kept" else set())
    started = set(e["name"] for e in journal_events(journal, "deleting"))
    assert gone <= started and [e["name"] for e in replot.unfinished(journal)] == [last]
    (explained,) = replot.explain_unfinished(journal)
    assert explained["event"] == outcome and explained["name"] == last and replot.unfinished(journal) == []
    assert set(e["name"] for e in journal_events(journal, "deleted")) == gone


def test_progress_counts_old_and_new_plots_and_estimates_from_the_deletion_rate(tmp_path):
    directory, journal, arrival = plant(tmp_path)
    rule = policy(directory)
    start = replot.progress(str(directory), rule, journal, now=10 ** 9)
    old_bytes = sum(p.stat().st_size for p in directory.iterdir())
    assert start["old"] == {"count": 4, "bytes": old_bytes} and start["new"] == {"count": 0, "bytes": 0}
    assert start["percent"] == 0.0 and start["eta_s"] is None
    plan = replot.plan(str(directory), rule, arrival, 1, journal)
    replot.delete(plan, journal, now=10 ** 9 - 3600)       # one plot replaced an hour ago
    copy_in(directory, lib.v2_plots(1)[0])
    after = replot.progress(str(directory), rule, journal, now=10 ** 9)
    freed = plan["delete"][0]["size"]
    assert after["old"] == {"count": 3, "bytes": old_bytes - freed} and after["new"]["count"] == 1
    new_bytes = lib.v2_plots(1)[0].stat().st_size
    assert after["percent"] == round(100.0 * new_bytes / (new_bytes + old_bytes - freed), 1)
    assert after["eta_s"] == int((old_bytes - freed) * 24 * 3600 / freed)
