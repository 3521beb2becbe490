"""Replot in the status, the storage host's side (issue 13): plot_info's replot_status on a real dir of k18
plots (v1 from chiapos, v2 from chia_rs) and a real journal: old and new plots, percent, deletions and
arrivals of the last day, the ETA from the arrival rate, the journal's recent outcomes (never a key it
does not list) and its interrupted deletions explained - all read-only."""

import hashlib
import json
import os
import time

import replot_lib as lib

from ansible_collections.plotfleet.chia.plugins.module_utils import replot, replot_status, storage_state

DAY = 86400


def storage_dir(tmp_path, name):
    """Three OG v1 plots (one protected), one v2 plot that just landed, a note."""
    directory = tmp_path / name
    directory.mkdir()
    v1 = [lib.place(directory, src, "202%d-01-01-00-00" % i) for i, src in enumerate(lib.og_plots(3))]
    v2 = lib.place(directory, lib.v2_plots(1)[0])
    (directory / "notes.txt").write_text("not a plot")
    return directory, v1, v2


def config(tmp_path, *dirs, **settings):
    return dict({"enabled": True, "storage_dirs": [str(d) for d in dirs], "journal": str(tmp_path / "j.jsonl"),
                 "protect": ["*-2022-01-01-*"]}, **settings)


def journal_of(tmp_path, directory, gone_name, present):
    """Two deletions (one 2 days ago), a failure, and two deletions a kill left open: one whose file is gone,
    one whose file is still there. Every line also carries a key the status must never show."""
    journal, now = str(tmp_path / "j.jsonl"), time.time()
    real = os.path.realpath(str(directory))
    secret = {"memo": "00" * 64}

    def entry(event, name, size, t, ino=1, **more):
        replot.append_journal(journal, dict(secret, event=event, dir=real, name=name, size=size, ino=ino,
                                            plot_id=name[-69:-5], why="v1 k18 plot replaced", **more), now=t)

    for name, t in (("plot-k18-2019-01-01-00-00-%s.plot" % ("a" * 64), now - 2 * DAY),
                    ("plot-k18-2019-02-01-00-00-%s.plot" % ("b" * 64), now - 3600)):
        entry("deleting", name, 1000, t, **{"for": "plot-k18-%s.plot2" % ("c" * 64)})
        entry("deleted", name, 1000, t, **{"for": "plot-k18-%s.plot2" % ("c" * 64)})
    entry("deleting", "plot-k18-2019-03-01-00-00-%s.plot" % ("d" * 64), 7, now - 60)
    entry("failed", "plot-k18-2019-03-01-00-00-%s.plot" % ("d" * 64), 7, now - 60, error="Permission denied")
    entry("deleting", gone_name, 1000, now - 30)
    entry("deleting", present.name, present.stat().st_size, now - 20, ino=present.stat().st_ino)
    replot.append_journal(journal, {"event": "deleted", "dir": "/elsewhere", "name": "x", "size": 5}, now=now)
    return journal


def fingerprint(tmp_path):
    """Every file under tmp_path but plot_info's state dir, with its content hash (the gather changes none)."""
    found = {}
    for root, _dirs, files in os.walk(str(tmp_path)):
        if root.startswith(str(tmp_path / "state")):
            continue
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                found[path] = hashlib.sha256(handle.read()).hexdigest()
    return found


def test_replot_status_counts_old_and_new_plots_and_explains_the_journal(tmp_path):
    directory, v1, v2 = storage_dir(tmp_path, "d1")
    journal_of(tmp_path, directory, "plot-k18-2019-04-01-00-00-%s.plot" % ("e" * 64), v1[0])
    before = fingerprint(tmp_path)
    status = storage_state.replot_status(config(tmp_path, directory), str(tmp_path / "state"))
    assert fingerprint(tmp_path) == before    # read-only: no file, no journal line written
    assert os.listdir(str(tmp_path / "state" / "cache")) == ["replot-journal.json"]   # only its summary
    assert storage_state.replot_status(config(tmp_path, directory), str(tmp_path / "state")) == status  # from the cache
    row = status[str(directory)]
    old_bytes = sum(p.stat().st_size for p in v1[:2])      # the 2022 one is protected
    assert row["old"] == {"count": 2, "bytes": old_bytes}
    assert row["new"] == {"count": 1, "bytes": v2.stat().st_size}
    assert row["percent"] == round(100.0 * v2.stat().st_size / (old_bytes + v2.stat().st_size), 1)
    assert row["arrived"] == {"count": 1, "bytes": v2.stat().st_size}   # it landed just now
    assert row["deleted"] == {"count": 1, "bytes": 1000} and row["deleted_total"] == {"count": 2, "bytes": 2000}
    assert row["arrival_rate_bps"] == round(v2.stat().st_size / float(DAY), 3)
    assert row["eta_s"] == int(old_bytes / row["arrival_rate_bps"])
    assert [(e["event"], e["name"][:25]) for e in row["recent"]] == [
        ("failed", "plot-k18-2019-03-01-00-00"), ("deleted", "plot-k18-2019-02-01-00-00"),
        ("deleted", "plot-k18-2019-01-01-00-00")]
    assert row["recent"][0]["error"] == "Permission denied" and row["recent"][1]["for"].endswith(".plot2")
    assert row["recent"][1]["plot_id"] == "b" * 64 and row["recent"][1]["why"] and row["recent"][1]["at"]
    assert row["unfinished_count"] == 2
    assert [(e["name"][:25], e["found"]) for e in row["unfinished"]] == [
        ("plot-k18-2019-04-01-00-00", "gone"), (v1[0].name[:25], "present")]
    shown = json.dumps(status)
    assert "memo" not in shown and "00" * 64 not in shown and "ino" not in shown


def test_only_dirs_with_replot_on_and_bounded_lists(tmp_path):
    on, _v1, _v2 = storage_dir(tmp_path, "on")
    off, _v1off, _v2off = storage_dir(tmp_path, "off")
    journal = str(tmp_path / "j.jsonl")
    for i in range(30):
        replot.append_journal(journal, {"event": "deleted", "dir": os.path.realpath(str(on)), "size": 1,
                                        "name": "plot-k18-%064x.plot" % i})
    conf = config(tmp_path, on, off, dirs={str(off): {"enabled": False}})
    status = storage_state.replot_status(conf)
    assert list(status) == [str(on)]
    assert len(status[str(on)]["recent"]) == replot_status.RECENT
    assert status[str(on)]["recent"][0]["name"] == "plot-k18-%064x.plot" % 29   # newest first
    assert status[str(on)]["deleted_total"]["count"] == 30
    assert storage_state.replot_status(dict(conf, enabled=False)) == {}


def test_no_arrival_in_the_window_gives_no_eta_and_nothing_old_left_is_done(tmp_path):
    directory, v1, _v2 = storage_dir(tmp_path, "d1")
    later = time.time() + 2 * DAY      # the v2 plot landed more than a day before that
    policy = replot.policy_for(config(tmp_path, directory), str(directory))
    row = replot_status.dir_status(str(directory), policy, None, later)
    assert row["arrived"] == {"count": 0, "bytes": 0} and row["eta_s"] is None and row["old"]["count"] == 2
    for path in v1:
        path.unlink()
    row = replot_status.dir_status(str(directory), policy, None)
    assert row["old"] == {"count": 0, "bytes": 0} and row["eta_s"] == 0 and row["percent"] == 100.0
