"""replot: the policy, what a storage dir holds, and the choice for one arrival, on real k18 plots
(v1 from chiapos, OG pool key and plot NFT; v2 .plot2 from chia_rs)."""

import os
import struct

import pytest
import replot_lib as lib

from ansible_collections.plotfleet.chia.plugins.module_utils import plotfile, replot

DATES = ["2021-03-01-10-00", "2021-01-01-10-00", "2022-06-01-10-00", "2023-01-01-10-00"]


def policy(directory, **settings):
    return replot.policy_for(dict({"enabled": True, "storage_dirs": [str(directory)]}, **settings), str(directory))


@pytest.fixture
def farm(tmp_path):
    """A storage dir of four dated OG v1 plots, one NFT v1 plot, one .plot2; and an arriving .plot2."""
    old = [lib.place(tmp_path, src, date) for src, date in zip(lib.og_plots(4), DATES)]
    nft = lib.place(tmp_path, lib.nft_plots(1)[0], "2020-01-01-00-00")
    v2 = lib.place(tmp_path, lib.v2_plots(1)[0])
    return {"dir": tmp_path, "old": old, "nft": nft, "v2": v2, "arrival": lib.arrival(lib.v2_plots(2)[1]),
            "journal": str(tmp_path.parent / ("%s-journal.jsonl" % tmp_path.name))}


def names(plan):
    return [p["name"] for p in plan["delete"]]


def test_scan_reads_format_pool_date_from_real_plots_and_never_the_memo(farm):
    plots, skipped = replot.scan(str(farm["dir"]))
    by_name = dict((p["name"], p) for p in plots)
    assert skipped == {} and len(plots) == 6
    assert all(by_name[p.name]["pool"] == "og" and by_name[p.name]["format"] == "v1" for p in farm["old"])
    assert by_name[farm["nft"].name]["pool"] == "nft" and by_name[farm["nft"].name]["date"] == "2020-01-01 00:00"
    assert by_name[farm["v2"].name]["format"] == "v2" and by_name[farm["v2"].name]["date"] is None
    memo_free = set(k for p in plots for k in p)
    assert not any("memo" in key for key in memo_free)


def test_fewest_plots_that_free_the_need_plus_reserve_oldest_first(farm):
    sizes = sorted(p.stat().st_size for p in farm["old"] + [farm["nft"]])
    # more than the largest plot: two plots are needed, and the two oldest go (NFT 2020, OG 2021-01)
    plan = replot.plan(str(farm["dir"]), policy(farm["dir"], reserve_bytes=1000), farm["arrival"],
                       sizes[-1] - 999, farm["journal"])
    assert plan["refused"] is None and plan["need_bytes"] == sizes[-1] + 1
    assert names(plan) == [farm["nft"].name, farm["old"][1].name]
    assert plan["freed_bytes"] >= plan["need_bytes"] and plan["replaceable"] == 5
    # one byte short: the oldest alone
    one = replot.plan(str(farm["dir"]), policy(farm["dir"]), farm["arrival"], 1, farm["journal"])
    assert names(one) == [farm["nft"].name]
    # room enough: nothing
    none = replot.plan(str(farm["dir"]), policy(farm["dir"]), farm["arrival"], 0, farm["journal"])
    assert none["delete"] == [] and none["refused"] is None


def test_fewest_prefers_one_large_plot_to_two_old_small_ones():
    plots = [{"name": "a", "age": 1, "size": 10}, {"name": "b", "age": 2, "size": 10},
             {"name": "c", "age": 3, "size": 25}, {"name": "d", "age": 3, "size": 25}]
    assert [p["name"] for p in replot.fewest(plots, 20)] == ["c"]        # one is enough: the fewest win
    assert [p["name"] for p in replot.fewest(plots, 30)] == ["a", "c"]   # two: the oldest pair that reaches 30
    assert [p["name"] for p in replot.fewest(plots, 51)] == ["a", "c", "d"]
    assert [p["name"] for p in replot.fewest(plots, 45)] == ["c", "d"]     # a + c is short: the two large ones
    assert replot.fewest(plots, 71) is None and replot.fewest(plots, 0) == []


@pytest.mark.parametrize("settings, kept", [
    ({"pool": "nft"}, "og"),
    ({"pool": "og"}, "nft"),
    ({"older_than": "2021-02-01"}, "new"),
    ({"protect": ["plot-k18-2020-*"]}, "nft"),
    ({"k": [32]}, "all"),
    ({"formats": ["v2"]}, "all"),
])
def test_policy_rules_keep_what_they_do_not_name(farm, settings, kept):
    plots, _ = replot.scan(str(farm["dir"]))
    incoming = replot.arrival_fields(farm["arrival"])
    rule = policy(farm["dir"], **settings)
    may_go = set(p["name"] for p in plots if replot.not_replaceable(p, rule, incoming) is None)
    old = set(p.name for p in farm["old"])
    expected = {"og": {farm["nft"].name}, "nft": old, "new": {farm["nft"].name, farm["old"][1].name},
                "all": set()}[kept]
    assert may_go == expected


def test_a_plot2_is_not_replaced_by_a_plot2_of_its_own_kind(farm):
    plots, _ = replot.scan(str(farm["dir"]))
    (v2,) = [p for p in plots if p["format"] == "v2"]
    why = replot.not_replaceable(v2, policy(farm["dir"], formats=["v2"]), replot.arrival_fields(farm["arrival"]))
    assert why == "same kind as the arrival (v2 k18 uncompressed)"


def compressed_plot(directory, level, size=1 << 20):
    """A BladeBit-style compressed (PLOT v2) header in a sparse file: no compressed plotter runs here."""
    plot_id = os.urandom(32)
    header = (b"PLOT" + struct.pack("<I", 1) + plot_id + bytes([18]) + struct.pack(">H", 112) + b"\0" * 112
              + struct.pack("<I", 1) + bytes([level]) + struct.pack(">10Q", *range(1000, 1010)) + bytes(80))
    path = directory / ("plot-k18-c%02d-2022-01-01-00-00-%s.plot" % (level, plot_id.hex()))
    with open(str(path), "wb") as handle:
        handle.write(header)
        handle.truncate(size)
    return path


def test_compression_below_keeps_plots_at_or_above_that_level(tmp_path):
    low, high = compressed_plot(tmp_path, 1), compressed_plot(tmp_path, 7)
    plots, skipped = replot.scan(str(tmp_path))
    assert skipped == {} and sorted(p["compression"] for p in plots) == [1, 7]
    incoming = {"format": "v2", "k": 18, "compression": 0}
    rule = policy(tmp_path, compression_below=5)
    assert [p["name"] for p in plots if replot.not_replaceable(p, rule, incoming) is None] == [low.name]
    assert high.exists()


def test_only_regular_plot_files_whose_header_agrees_with_their_name_are_candidates(farm, tmp_path_factory):
    directory = farm["dir"]
    outside = tmp_path_factory.mktemp("outside")
    target = lib.place(outside, lib.og_plots(5)[4], "2019-01-01-00-00")
    os.symlink(str(target), str(directory / target.name))                  # a symlink to a plot elsewhere
    linked = lib.place(outside, lib.og_plots(6)[5], "2018-01-01-00-00")
    os.link(str(linked), str(directory / linked.name))                     # a second hard link: frees nothing
    wrong_id = directory / ("plot-k18-2017-01-01-00-00-%s.plot" % ("ab" * 32))
    wrong_id.write_bytes(farm["old"][0].read_bytes())                      # header id differs from the name
    truncated = directory / farm["old"][2].name.replace("2022", "2016")
    truncated.write_bytes(farm["old"][2].read_bytes()[:500000])            # shorter than its tables
    (directory / ("plot-k18-2015-01-01-00-00-%s.plot" % ("cd" * 32))).mkdir()
    for temp in ("notes.txt", farm["old"][0].name + ".tmp", ".%s.plotfleet-partial" % farm["old"][0].name,
                 farm["v2"].name + ".partial"):
        (directory / temp).write_bytes(b"x" * 100)
    plots, skipped = replot.scan(str(directory))
    assert sorted(p["name"] for p in plots) == sorted(p.name for p in farm["old"] + [farm["nft"], farm["v2"]])
    assert skipped[target.name].startswith("cannot open") and "2 hard links" in skipped[linked.name]
    assert skipped[wrong_id.name] == "header and name disagree (plot id or k)"
    assert skipped[truncated.name] == "plot incomplete" and len(skipped) == 5
    plan = replot.plan(str(directory), policy(directory), farm["arrival"], 10 ** 12, farm["journal"])
    assert plan["delete"] == [] and "cannot free" in plan["refused"]


def test_a_corrupt_or_unverified_arrival_makes_no_room(farm):
    arrival = farm["arrival"]
    head = bytearray.fromhex(arrival["head"])
    head[10] ^= 0xFF                                                        # inside the plot group id
    cases = [dict(arrival, head=head.hex()), dict(arrival, head=None), dict(arrival, bytes=1000),
             dict(arrival, name="notes.plot2"), dict(arrival, name=farm["old"][0].name)]
    for case in cases:
        plan = replot.plan(str(farm["dir"]), policy(farm["dir"]), case, 1, farm["journal"])
        assert plan["delete"] == [] and plan["refused"], case
    assert replot.plan(str(farm["dir"]), policy(farm["dir"]), arrival, 1, farm["journal"])["delete"]


def test_limits_per_pass_per_hour_keep_min_and_pause(farm):
    need = sum(sorted(p.stat().st_size for p in farm["old"] + [farm["nft"]])[-2:]) + 1   # three plots
    directory = str(farm["dir"])
    for settings, limit in (({"max_per_pass": 2}, "max_per_pass"), ({"keep_min": 3}, "keep_min 3"),
                            ({"paused": True}, "paused"), ({"max_per_hour": 4}, "max_per_hour 4")):
        if "max_per_hour" in settings:
            for age in (100, 3500, 4000):   # two in the last hour, one before it
                replot.append_journal(farm["journal"], {"event": "deleting", "dir": os.path.realpath(directory),
                                                        "name": "x%d" % age, "for": "y"}, now=10 ** 9 - age)
        plan = replot.plan(directory, policy(farm["dir"], **settings), farm["arrival"], need, farm["journal"],
                           now=10 ** 9)
        assert plan["delete"] == [] and limit in plan["refused"], (settings, plan["refused"])
    assert len(replot.plan(directory, policy(farm["dir"], max_per_hour=5, keep_min=2), farm["arrival"], need,
                           farm["journal"], now=10 ** 9)["delete"]) == 3


def test_policy_per_dir_overrides_and_only_configured_dirs(tmp_path):
    first, second, other = (tmp_path / n for n in ("d1", "d2", "d3"))
    config = {"enabled": True, "storage_dirs": [str(first), str(second)], "max_per_pass": 2,
              "dirs": {str(second): {"enabled": False}, str(first): {"pool": "og"}}}
    assert replot.policy_problems(config) == []
    assert replot.policy_for(config, str(first))["pool"] == "og"
    assert replot.policy_for(config, str(first))["max_per_pass"] == 2
    assert replot.policy_for(config, str(second)) is None
    assert replot.policy_for(config, str(other)) is None        # not a storage dir of this host
    assert replot.policy_for(dict(config, enabled=False, dirs={}), str(first)) is None


def test_policy_problems_name_the_setting():
    assert replot.policy_problems({"pool": "solo", "formats": ["v3"], "max_per_hour": -1, "older_than": "June",
                                   "protect": "x", "typo": 1, "dirs": {"/d": {"keep_min": "2"}}}) == [
        "plotfleet_replot.typo is not a replot setting", "plotfleet_replot.formats must be a list of v1, v2",
        "plotfleet_replot.max_per_hour must be an integer >= 0",
        "plotfleet_replot.pool must be one of og, nft, any", "plotfleet_replot.older_than must be a date YYYY-MM-DD",
        "plotfleet_replot.protect must be a list of names or patterns",
        "plotfleet_replot.dirs[/d].keep_min must be an integer >= 0"]
    assert replot.policy_for({"enabled": True, "pool": "solo", "storage_dirs": ["/d"]}, "/d") is None


@pytest.mark.parametrize("make", [lib.og_plots, lib.nft_plots, lib.v2_plots])
def test_the_arrival_head_a_sender_sends_has_its_memo_zeroed_and_still_makes_room(make, tmp_path):
    """The request travels as an argument (ps, logs): the memo (the plot's secret key) must not be in it."""
    source = make(1)[0]
    with open(str(source), "rb") as handle:
        data = handle.read(1024)
    start, end = replot.memo_span(data)
    assert end - start == plotfile.parse_header(data)["memo_bytes"] in (112, 128)   # the other parser agrees
    head = bytes.fromhex(replot.arrival_head(data))
    assert head[start:end] == b"\0" * (end - start) and data[start:end] != head[start:end]
    assert head[:start] == data[:start] and head[end:] == data[end:]
    assert data[start:end].hex() not in replot.arrival_head(data)
    assert replot.arrival_head(b"not a plot") == "" and replot.arrival_head(data[:start + 3]) == ""
    arrival = {"name": source.name, "bytes": os.path.getsize(str(source)), "head": head.hex()}
    assert replot._refusal(dict(replot.DEFAULTS, arrivals=["v1", "v2"]), replot.arrival_fields(arrival)) is None
