"""replot.make_room / preview: what the storage agent calls under its lock, on real k18 plots."""

import os

import replot_lib as lib

from ansible_collections.plotfleet.chia.plugins.module_utils import replot


def storage(tmp_path, name, count):
    directory = tmp_path / name
    directory.mkdir()
    for src, date in zip(lib.og_plots(count), ["2020-01-01-00-00", "2021-01-01-00-00", "2022-01-01-00-00"]):
        lib.place(directory, src, date)
    return directory


def config(tmp_path, *dirs, **settings):
    return dict({"enabled": True, "storage_dirs": [str(d) for d in dirs], "journal": str(tmp_path / "j.jsonl"),
                 "dirs": {str(dirs[-1]): {"enabled": False}}}, **settings)


def test_a_dir_with_room_is_used_before_any_deletion(tmp_path):
    full, roomy = storage(tmp_path, "full", 3), storage(tmp_path, "roomy", 1)
    before = sorted(os.listdir(str(full)))
    granted, outcome = replot.make_room([(str(full), 10 ** 6), (str(roomy), -1)], config(tmp_path, full, roomy),
                                        lib.arrival(lib.v2_plots(1)[0]))
    assert granted == str(roomy) and outcome is None and sorted(os.listdir(str(full))) == before


def test_the_first_dir_the_policy_allows_makes_the_room_and_says_what_went(tmp_path):
    off, full = storage(tmp_path, "off", 3), storage(tmp_path, "full", 3)
    conf = config(tmp_path, full, off)
    arrival = lib.arrival(lib.v2_plots(1)[0])
    shown = replot.preview(str(full), conf, arrival, 10 ** 6)
    assert len(shown["delete"]) == 1 and len(os.listdir(str(full))) == 3
    granted, outcome = replot.make_room([(str(off), 10 ** 6), (str(full), 10 ** 6)], conf, arrival)
    assert granted == str(full) and outcome["deleted"] == shown["delete"] and outcome["error"] is None
    assert outcome["refused"] == [[str(off), "replot is off for this dir"]] and len(os.listdir(str(off))) == 3
    assert [e["name"] for e in replot.read_journal(conf["journal"]) if e["event"] == "deleted"] == shown["delete"]
    # the same arrival again (its copy failed and the room was taken): no second deletion anywhere
    again, second = replot.make_room([(str(full), 10 ** 6)], conf, arrival)
    assert again is None and "already made once" in second["refused"][0][1]


def test_no_policy_no_deletion(tmp_path):
    full = storage(tmp_path, "full", 2)
    for conf in (None, {"enabled": False, "storage_dirs": [str(full)]}, {"enabled": True, "storage_dirs": []}):
        granted, outcome = replot.make_room([(str(full), 10 ** 6)], conf, lib.arrival(lib.v2_plots(1)[0]))
        assert granted is None and outcome["refused"] == [[str(full), "replot is off for this dir"]]
    assert len(os.listdir(str(full))) == 2


def test_the_next_arrival_first_explains_a_deletion_a_killed_agent_left_open(tmp_path):
    full = storage(tmp_path, "full", 3)
    conf = config(tmp_path, full, tmp_path / "unused")
    plots, _ = replot.scan(str(full))
    (left_open,) = [p for p in plots if p["date"].startswith("2022")]
    replot.append_journal(conf["journal"], {"event": "deleting", "dir": os.path.realpath(str(full)),
                                            "name": left_open["name"], "size": left_open["size"],
                                            "ino": left_open["ino"], "for": "plot-k18-%s.plot2" % ("e" * 64)})
    granted, outcome = replot.make_room([(str(full), 1)], conf, lib.arrival(lib.v2_plots(1)[0]))
    assert granted == str(full) and len(outcome["deleted"]) == 1 and left_open["name"] not in outcome["deleted"]
    events = [(e["event"], e["name"]) for e in replot.read_journal(conf["journal"])]
    assert events[:2] == [("deleting", left_open["name"]), ("kept", left_open["name"])]
    assert replot.unfinished(conf["journal"]) == [] and (full / left_open["name"]).exists()


def test_the_journal_of_one_dir_is_not_that_of_a_dir_whose_path_extends_it(tmp_path):
    journal = str(tmp_path / "j.jsonl")
    for directory in ("/mnt/d1", "/mnt/d10", "/mnt/d1/sub"):
        replot.append_journal(journal, {"event": "deleting", "dir": directory, "name": "p", "for": "a", "ino": 1})
    replot.append_journal(journal, {"event": "deleted", "dir": "/mnt/d1", "name": "p", "for": "a", "ino": 1})
    assert [e["dir"] for e in replot.read_journal(journal, "/mnt/d1")] == ["/mnt/d1", "/mnt/d1"]
    assert replot.recent_deletions(replot.read_journal(journal, "/mnt/d10"), now=replot.time.time()) == 1
    assert sorted(e["dir"] for e in replot.unfinished(journal)) == ["/mnt/d1/sub", "/mnt/d10"]
    assert replot.unfinished(journal, ["/mnt/d1"]) == []


def test_room_is_the_largest_replaceable_plots_within_the_limits(tmp_path):
    full = storage(tmp_path, "full", 3)
    sizes = sorted((p.stat().st_size for p in full.iterdir()), reverse=True)
    journal = str(tmp_path / "j.jsonl")
    rule = replot.policy_for({"enabled": True, "storage_dirs": [str(full)]}, str(full))
    assert replot.room(str(full), rule, journal) == {"bytes": sum(sizes), "plots": 3}
    assert replot.room(str(full), dict(rule, max_per_pass=2), journal) == {"bytes": sum(sizes[:2]), "plots": 2}
    assert replot.room(str(full), dict(rule, keep_min=2), journal) == {"bytes": sizes[0], "plots": 1}
    assert replot.room(str(full), dict(rule, paused=True), journal) == {"bytes": 0, "plots": 0}
    assert replot.room(str(full), None, journal) == {"bytes": 0, "plots": 0}


def test_the_default_journal_lies_beside_the_storage_agents_slots(monkeypatch, tmp_path):
    monkeypatch.setenv("PLOTFLEET_STORAGE_STATE", str(tmp_path / "state"))
    assert replot.journal_of({"enabled": True}) == str(tmp_path / "state" / "replot-journal.jsonl")
    monkeypatch.delenv("PLOTFLEET_STORAGE_STATE")
    assert replot.journal_of(None) == os.path.join(os.path.expanduser("~"), ".plotfleet", "replot-journal.jsonl")
    assert replot.journal_of({"journal": "~/j.jsonl"}) == os.path.expanduser("~/j.jsonl")
