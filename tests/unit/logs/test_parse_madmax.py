"""madMAx parser: real k32 logs (copy to another dir; -d equal to -t) and the synthetic -n 2 overlap."""

import time

from logs_testlib import fed, fixture_path, read_lines, walk

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

ID1 = "522acbd6308af7e229281352f746449134126482cfabd51d38e0f89745d21698"
NAME1 = "plot-k32-2021-07-14-21-56-%s.plot" % ID1


def test_copy_to_final_dir_finishes_at_the_rename_line():
    lines = [x for x in read_lines(fixture_path("plotman__madmax.plot.log")) if x]
    parser = model.parser_for("madmax")
    for line in lines[:-1]:
        parser.feed(line)
    plot = parser.plots[0]
    assert plot["state"] == "copying" and plot["phase"] == 5 and plot["plot_file"] is None
    parser.feed(lines[-1])
    assert plot["state"] == "finished"
    assert plot["plot_file"] == "/farm/yards/902/fake_dst/" + NAME1
    want = dict(id=ID1, k=32, count=1, threads=8, buckets=256, tmp_dir="/farm/yards/902",
                tmp2_dir="/farm/yards/902/fake_tmp2", dst_dir="/farm/yards/902/fake_dst", plot_name=NAME1,
                phase_seconds={"1": 2197.52, "2": 1363.42, "3": 1320.47, "4": 86.9555}, total_seconds=4968.41)
    for key, value in want.items():
        assert plot[key] == value, key
    # madMAx prints no dates: the start comes from the plot name (local time, minute resolution)
    assert time.localtime(plot["started_ts"])[:5] == (2021, 7, 14, 21, 56)


def test_final_dir_equal_to_tmp_finishes_at_total_plot_creation_time():
    plot = walk(fixture_path("plotman__2021-07-11T16_52_48.637488+00_00.plot.log"), "madmax").plots[0]
    pid = "3a3872f5a124497a17fb917dfe027802aa1867f8b0a8cbac558ed12aa5b697b2"
    assert plot["state"] == "finished" and plot["id"] == pid and plot["threads"] == 9
    assert plot["plot_file"] == "/farm/yards/907/plot-k32-2021-07-11-16-52-%s.plot" % pid
    assert plot["tmp_dir"] == plot["tmp2_dir"] == plot["dst_dir"] == "/farm/yards/907"
    assert plot["total_seconds"] == 4276.32


def test_table_level_progress_on_the_step_grid():
    lines = [x for x in read_lines(fixture_path("plotman__madmax.plot.log")) if x]
    parser = model.parser_for("madmax")
    steps = []
    for line in lines:
        parser.feed(line)
        if parser.plots and parser.plots[0]["phase"]:
            steps.append(parser.plots[0]["step"])
    assert steps[:3] == ["1:1", "1:2", "1:3"]
    for step in ("1:7", "2:1", "2:6", "3:1", "3:6", "4:1", "4:2", "5:0", "5:1"):
        assert step in steps


def test_n2_copy_of_plot_1_overlaps_plot_2():
    """SYNTHETIC log (see tests/fixtures/logs/README.md): plot 1 finishes while plot 2 is in phase 1."""
    checked = False
    for line, parser in fed("synthetic-madmax-n2-copy-overlap.log", "madmax"):
        if line.startswith("[P1] Table 1 took") and len(parser.plots) == 2:
            assert parser.plots[0]["state"] == "copying" and parser.plots[1]["state"] == "plotting"
        if line.startswith("Copy to") and NAME1 in line:
            first, second = parser.plots
            assert first["state"] == "finished" and first["copy_seconds"] == 512.3
            assert first["plot_file"] == "/farm/yards/902/fake_dst/" + NAME1
            assert second["state"] == "plotting" and second["step"] == "1:3"
            checked = True
    assert checked
    first, second = parser.plots
    assert [p["index"] for p in parser.plots] == [1, 2] and first["count"] == second["count"] == 2
    assert second["state"] == "finished" and second["copy_seconds"] == 498.0 and second["id"] != first["id"]
    assert second["tmp2_dir"] == "/farm/yards/902/fake_tmp2" and second["threads"] == 8


def test_copy_line_for_an_unknown_name_finishes_the_oldest_copying_plot():
    lines = [x for x in read_lines(fixture_path("plotman__madmax.plot.log")) if x][:-1]
    lines.append("Copy to /elsewhere/renamed-by-hand.plot finished, took 12.5 sec, 100.0 MB/s avg.")
    plot = model.parse_lines(lines, "madmax")[0]
    assert plot["state"] == "finished" and plot["plot_file"] == "/elsewhere/renamed-by-hand.plot"


def test_copy_failure_is_a_warning():
    lines = [x for x in read_lines(fixture_path("plotman__madmax.plot.log")) if x][:-1]
    lines.append("Copy to /farm/yards/902/fake_dst/%s failed with: No space left on device" % NAME1)
    plot = model.parse_lines(lines, "madmax")[0]
    assert plot["state"] == "copying" and "No space left" in plot["warning"]


def test_an_older_plots_copy_line_leaves_the_current_plots_progress_alone():
    """`Started copy to <plot 1>` arriving while plot 2 is half way through a step (a P2 scan) moves plot 1
    only: plot 2's step, progress and sub-step position are those of the same log without that line."""
    lines = read_lines(fixture_path("synthetic-madmax-n2-copy-overlap.log"))
    copy_line = next(line for line in lines if line.startswith("Started copy to") and NAME1 in line)
    lines = [line for line in lines if not (line.startswith(("Started copy to", "Copy to")) and NAME1 in line)]
    second = next(i for i, line in enumerate(lines) if line.startswith("Crafting plot 2"))
    scan = next(i for i, line in enumerate(lines) if i > second and line.startswith("[P2] Table 7 scan"))
    without = model.parse_lines(lines[:scan + 1], "madmax")
    moved = model.parse_lines(lines[:scan + 1] + [copy_line], "madmax")
    assert moved[0]["step"] == "5:1" and without[0]["step"] == "5:0"
    assert moved[1] == without[1] and moved[1]["step"] == "2:1"
    with_copy, plain = model.parser_for("madmax"), model.parser_for("madmax")
    for line in lines[:scan + 1]:
        with_copy.feed(line)
        plain.feed(line)
    with_copy.feed(copy_line)
    assert with_copy.ctx == plain.ctx and with_copy.ctx["sub"] == 0.5   # plot 2's place inside 2:1 kept
