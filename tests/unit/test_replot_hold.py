"""The "full" hold at a dir where the storage host replots (issue 13): the storage agent says what replot
could free when it refuses, the worker keeps that in the hold, and the hold keeps senders off only until
the storage host offers more replot room than then (a hold from before replot was on, from a pause or a
limit). Other holds, and a full dir whose offer has no more room than then, stay held. Real k18 plots."""

import os

import replot_lib as lib

from ansible_collections.plotfleet.chia.plugins.module_utils import replot, transfer, transfer_worker

NOW = 1_800_000_000.0


def remote(room_bytes=None, offer=2.0):
    dest = {"path": "/mnt/d1", "host": "nas", "free_bytes": 0}
    if room_bytes is not None:
        dest["replot"] = {"room_bytes": room_bytes, "room_plots": 1,
                          "policy": {"enabled": True, replot.OFFER_KEY: offer}}
    return dest


def held(dest, **mark):
    marks = {"nas:/mnt/d1": dict({"since": NOW - 60, "reason": "destination full: 0 bytes free", "failure": "full"},
                                 **mark)}
    (measured,) = transfer.measure_destinations([dest], marks, now=NOW)
    return measured["problem"]


def test_a_full_hold_ends_when_the_offer_has_more_replot_room_than_when_it_was_found_full():
    assert "marked full" in held(remote())                                  # no replot there: held
    assert held(remote(10 ** 6)) is None                                     # held before replot was on
    assert held(remote(10 ** 6), replot_room_bytes=0) is None                # found full while paused / at a limit
    assert "marked full" in held(remote(10 ** 6), replot_room_bytes=10 ** 6)  # as much room as then: held
    assert "marked full" in held(remote(0), replot_room_bytes=0)
    assert "not a mount point" in held(remote(10 ** 6), failure="unmounted")  # other holds stay
    # the offer the failing copy was sent with (a drain worker's, all pass long) does not end its hold
    assert "marked full" in held(remote(10 ** 6, offer=1.0), replot_room_bytes=0, replot_offer=1.0)
    assert held(remote(10 ** 6, offer=2.0), replot_room_bytes=0, replot_offer=1.0) is None


def storage(tmp_path):
    directory = tmp_path / "full"
    directory.mkdir()
    for src, date in zip(lib.og_plots(2), ("2020-01-01-00-00", "2021-01-01-00-00")):
        lib.place(directory, src, date)
    return directory


def test_a_refusal_says_what_replot_could_free_there_and_the_worker_keeps_it_in_the_hold(tmp_path):
    full = storage(tmp_path)
    sizes = sorted((p.stat().st_size for p in full.iterdir()), reverse=True)
    conf = {"enabled": True, "storage_dirs": [str(full)], "journal": str(tmp_path / "j.jsonl"), "max_per_pass": 1}
    arrival = lib.arrival(lib.v2_plots(1)[0])
    before = sorted(os.listdir(str(full)))
    for settings, room in (({"paused": True}, 0), ({"keep_min": 2}, 0), ({}, sizes[0])):
        granted, outcome = replot.make_room([(str(full), sum(sizes))], dict(conf, **settings), arrival)  # 2 needed
        assert granted is None and outcome["room"] == {str(full): room}, (settings, outcome)
        assert sorted(os.listdir(str(full))) == before
    rec = {"host": "nas", "destination": str(full), "slot_cap": 1, "replot_policy": conf, "replot": outcome,
           "state_dir": str(tmp_path)}
    assert transfer_worker.replot_room_when_held(rec) == sizes[0]
    assert transfer_worker.replot_room_when_held(dict(rec, replot=None)) == 0           # nothing said: none
    assert transfer_worker.replot_room_when_held(dict(rec, replot_policy=None)) is None  # no replot asked
    transfer_worker.mark_full(str(tmp_path), "nas:" + str(full), "destination full", now=NOW,
                              replot_room_bytes=transfer_worker.replot_room_when_held(rec), replot_offer=1.5)
    mark = transfer.full_marks(str(tmp_path))["nas:" + str(full)]
    assert mark["replot_room_bytes"] == sizes[0] and mark["failure"] == "full" and mark["replot_offer"] == 1.5


def test_a_refusal_of_the_arrival_itself_is_no_reason_to_hold_the_dir(tmp_path):
    full = storage(tmp_path)
    conf = {"enabled": True, "storage_dirs": [str(full)], "journal": str(tmp_path / "j.jsonl")}
    v1_arrival = lib.arrival(lib.og_plots(3)[2])   # v1 arrivals do not replace plots by default
    granted, outcome = replot.make_room([(str(full), 10 ** 6)], conf, v1_arrival)
    assert granted is None and outcome["arrival_refused"] == [str(full)], outcome
    rec = {"host": "nas", "destination": str(full), "slot_cap": 1, "replot_policy": conf, "replot": outcome}
    assert transfer_worker.refused_for_itself(rec)
    v2_arrival = lib.arrival(lib.v2_plots(1)[0])
    _granted, paused = replot.make_room([(str(full), 10 ** 6)], dict(conf, paused=True), v2_arrival)
    assert "arrival_refused" not in paused and not transfer_worker.refused_for_itself(dict(rec, replot=paused))
