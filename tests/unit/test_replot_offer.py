"""Replot in the choice of destinations (issue 13): the storage host's plot_info reports what replot could
free per dir (real k18 plots), its offer carries that room and the policy to remote senders, and the move
policy counts the room as free space: a full dir of replaceable old plots is chosen, one without is not."""

import replot_lib as lib

from ansible_collections.plotfleet.chia.plugins.filter import fleet
from ansible_collections.plotfleet.chia.plugins.module_utils import replot, storage_state, transfer_worker
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import move


def storage_dir(tmp_path, name, count):
    directory = tmp_path / name
    directory.mkdir()
    sizes = [lib.place(directory, src, "202%d-01-01-00-00" % i).stat().st_size
             for i, src in enumerate(lib.og_plots(count))]
    (directory / "notes.txt").write_text("not a plot")
    return directory, sizes


def config(tmp_path, *dirs, **settings):
    return dict({"enabled": True, "storage_dirs": [str(d) for d in dirs], "journal": str(tmp_path / "j.jsonl"),
                 "max_per_pass": 2}, **settings)


def state_of(*dirs, free=0):
    return {"dirs": [{"path": str(d), "exists": True, "error": None, "free_bytes": free, "total_bytes": 10 ** 9,
                      "mount_point": str(d)} for d in dirs]}


def test_plot_info_reports_the_room_within_the_limits_for_dirs_with_replot_on(tmp_path):
    full, sizes = storage_dir(tmp_path, "full", 3)
    off, _ = storage_dir(tmp_path, "off", 2)
    conf = config(tmp_path, full, off, dirs={str(off): {"enabled": False}})
    rooms = storage_state.replot_room(conf)
    assert rooms == {str(full): {"bytes": sum(sorted(sizes, reverse=True)[:2]), "plots": 2}}   # max_per_pass 2
    assert storage_state.replot_room(dict(conf, keep_min=3)) == {str(full): {"bytes": 0, "plots": 0}}
    assert storage_state.replot_room(dict(conf, enabled=False)) == {}


def test_the_offer_and_the_remote_destinations_carry_room_and_policy_only_with_replot_on(tmp_path):
    full, sizes = storage_dir(tmp_path, "full", 2)
    conf = config(tmp_path, full)
    state = dict(state_of(full), replot_room=storage_state.replot_room(conf))
    (item,) = fleet.storage_offer(state, [str(full)], "10.0.0.5", replot=conf)
    offered = item["replot"]["policy"].pop(replot.OFFER_KEY)   # the offer's identity (the controller's time)
    assert item["replot"] == {"room_bytes": sum(sizes), "room_plots": 2, "arrivals": ["v2"], "policy": conf}
    item["replot"]["policy"][replot.OFFER_KEY] = offered
    assert replot.policy_for(item["replot"]["policy"], str(full)) is not None   # the agent takes it as is
    hv = {"nas": {"plotfleet_storage_offer": [item]}}
    (dest,) = fleet.move_destinations(hv, ["nas"], "p1", "/k")
    assert dest["replot"]["room_bytes"] == sum(sizes) and dest["replot"]["policy"] == dict(conf, offered_at=offered)
    (local,) = fleet.move_destinations(hv, ["nas"], "nas", "/k")
    assert "replot" not in local     # a local copy does not go through the storage agent
    plain = fleet.storage_offer(state_of(full), [str(full)], "10.0.0.5", replot={"enabled": False})
    assert plain == fleet.storage_offer(state_of(full), [str(full)], "10.0.0.5")   # off: the offer as before
    assert "replot" not in plain[0]


def destination(path, free, replot=None):
    out = {"path": path, "host": "nas", "index": 0, "key": transfer_worker.destination_key("nas", path),
           "dev": None, "free_bytes": free, "problem": None, "min_free_bytes": 0}
    if replot is not None:
        out["replot"] = replot
    return out


def candidate(size, suffix=".plot2"):
    pid = "ab" * 32
    return {"path": "/src/plot-k18-%s%s" % (pid, suffix), "name": "plot-k18-%s%s" % (pid, suffix), "dir": "/src",
            "size": size, "dev": 1, "mtime": 1.0, "plot_id": pid, "k": 18}


def test_the_move_policy_counts_replot_room_as_free_space():
    size = 10 ** 6
    full = destination("/full", 1000)
    out = move.plan([candidate(size)], [full], [])
    assert out["actions"] == [] and "has no room" in out["reasons"][0]
    out = move.plan([candidate(size)], [destination("/full", 1000, {"room_bytes": size, "policy": {}})], [])
    assert [a["destination"]["path"] for a in out["actions"]] == ["/full"]
    out = move.plan([candidate(size)], [destination("/full", 1000, {"room_bytes": size // 2, "policy": {}})], [])
    assert out["actions"] == [] and "replot could free" in out["reasons"][0]


def test_the_room_counts_only_for_plots_of_a_format_that_may_make_room_in_that_dir(tmp_path):
    full, sizes = storage_dir(tmp_path, "full", 2)
    v1_arrivals, _ = storage_dir(tmp_path, "v1_arrivals", 2)
    conf = config(tmp_path, full, v1_arrivals, dirs={str(v1_arrivals): {"arrivals": ["v1"], "formats": ["v1"]}})
    state = dict(state_of(full, v1_arrivals), replot_room=storage_state.replot_room(conf))
    offer = fleet.storage_offer(state, [str(full), str(v1_arrivals)], "10.0.0.5", replot=conf)
    assert [item["replot"]["arrivals"] for item in offer] == [["v2"], ["v1"]]
    size = min(sizes)
    to_full = destination(str(full), 1000, offer[0]["replot"])
    out = move.plan([candidate(size, ".plot")], [to_full], [])   # a v1 plot would be refused there
    assert out["actions"] == [] and "has no room" in out["reasons"][0] and "replot" not in out["reasons"][0]
    out = move.plan([candidate(size, ".plot")], [to_full, destination(str(v1_arrivals), 1000, offer[1]["replot"])], [])
    assert [a["destination"]["path"] for a in out["actions"]] == [str(v1_arrivals)]
    assert [a["destination"]["path"] for a in move.plan([candidate(size)], [to_full], [])["actions"]] == [str(full)]
