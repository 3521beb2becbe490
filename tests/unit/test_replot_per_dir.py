"""Replot per storage dir (issue 13): a dir's own `enabled` decides for that dir, both ways (a host off
with one dir on replots there only; a host on with one dir off replots everywhere else), in every step
that reads the policy: the role's gate (enabled_anywhere), plot_info's replot_room, the offer, the
storage agent's make_room. Real k18 plots."""

import os

import replot_lib as lib

from ansible_collections.plotfleet.chia.plugins.filter import fleet
from ansible_collections.plotfleet.chia.plugins.module_utils import replot, storage_state


def storage_dir(tmp_path, name):
    directory = tmp_path / name
    directory.mkdir()
    for src, date in zip(lib.og_plots(2), ("2020-01-01-00-00", "2021-01-01-00-00")):
        lib.place(directory, src, date)
    return directory


def config(tmp_path, on, off, host_enabled):
    dirs = {str(on): {"enabled": True}} if not host_enabled else {str(off): {"enabled": False}}
    return {"enabled": host_enabled, "storage_dirs": [str(on), str(off)], "journal": str(tmp_path / "j.jsonl"),
            "dirs": dirs}


def state_of(*dirs):
    return {"dirs": [{"path": str(d), "exists": True, "error": None, "free_bytes": 0, "total_bytes": 10 ** 9,
                      "mount_point": str(d)} for d in dirs]}


def test_the_gate_is_on_when_the_host_or_one_dir_turns_replot_on():
    assert replot.enabled_anywhere({"enabled": False, "dirs": {"/d1": {"enabled": True}}})
    assert replot.enabled_anywhere({"enabled": True, "dirs": {"/d1": {"enabled": False}}})
    assert not replot.enabled_anywhere({"enabled": False, "dirs": {"/d1": {"paused": True}}})
    assert not replot.enabled_anywhere({"enabled": False})
    assert not replot.enabled_anywhere({"enabled": "yes", "dirs": {"/d1": {"enabled": True}}})   # unusable
    assert fleet.FilterModule().filters()["replot_enabled_anywhere"]({"dirs": {"/d1": {"enabled": True}}})


def test_each_dir_follows_its_own_enabled_in_room_offer_and_deletion(tmp_path):
    on, off = storage_dir(tmp_path, "on"), storage_dir(tmp_path, "off")
    arrival = lib.arrival(lib.v2_plots(1)[0])
    for host_enabled in (False, True):
        conf = config(tmp_path, on, off, host_enabled)
        assert replot.enabled_anywhere(conf)
        assert replot.policy_for(conf, str(on)) and replot.policy_for(conf, str(off)) is None
        rooms = storage_state.replot_room(conf)
        assert set(rooms) == {str(on)} and rooms[str(on)]["plots"] == 2, (host_enabled, rooms)
        offer = fleet.storage_offer(dict(state_of(on, off), replot_room=rooms), [str(on), str(off)], "nas",
                                    replot=conf)
        assert [bool(item.get("replot")) for item in offer] == [True, False]
        policy = offer[0]["replot"]["policy"]   # the agent decides per dir from the host's whole value
        assert dict((k, v) for k, v in policy.items() if k != replot.OFFER_KEY) == conf
        before = sorted(os.listdir(str(off)))
        granted, outcome = replot.make_room([(str(off), 10 ** 6), (str(on), 10 ** 6)], conf, arrival)
        assert granted == str(on) and len(outcome["deleted"]) == 1, outcome
        assert outcome["refused"] == [[str(off), "replot is off for this dir"]]
        assert sorted(os.listdir(str(off))) == before
        os.unlink(str(conf["journal"]))   # the next round's arrival is a first arrival again
        lib.place(on, lib.og_plots(3)[2], "2019-01-01-00-00")   # and there are two old plots again
