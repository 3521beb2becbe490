"""Every fixture log, line by line, against the marker oracle; state round-trips; bad input."""

import json
import os
import random

import pytest
from logs_testlib import fixture_logs, read_lines, walk

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

ALL = fixture_logs()
EXPECTED_PLOTTER = {
    "chia-cli-k25.log": "chiapos",
    "chiapos-k18-stripe-error.log": "chiapos",
    "chiapos-k22-b32-t2.log": "chiapos",
    "plotman__bladebit.plot.log": "bladebit",
    "plotman__bladebit2disk.plot.log": "bladebit",
    "plotman__chianetwork.plot.log": "chiapos",
    "plotman__madmax.plot.log": "madmax",
    "local-chia-2.7.5__plots-create-n2-k25.log": "chiapos",
    "local-chia-2.7.5__plotters-chiapos-k25.log": "chiapos",
    "local-chiapos-2.0.12__k20-nobitfield-crossdevice.log": "chiapos",
    "plotman__2021-04-04T19_00_47.681088-0400.log": "chiapos",
    "plotman__2021-07-11T16_52_48.637488+00_00.plot.log": "madmax",
    "chiapos-k18-rename.log": "chiapos",
    "chiapos-k18-two-plots.log": "chiapos",
    "chiapos-k20-killed-phase1.log": "chiapos",
    "chiapos-k20-tmp2-crossdevice.log": "chiapos",
    "synthetic-madmax-n2-copy-overlap.log": "madmax",
    "synthetic-bladebit-cuda-n3-check.log": "bladebit_cuda",
    "synthetic-bladebit-cuda-n0-forever.log": "bladebit_cuda",
    "synthetic-gigahorse-n3-copy-overlap.log": "gigahorse",
    "synthetic-gigahorse-v3-remote-infinite.log": "gigahorse",
}


def test_fixture_set_is_complete():
    names = set(name for name, _ in ALL)
    assert len(names) >= 17
    assert names == set(EXPECTED_PLOTTER), "new fixture? add it to EXPECTED_PLOTTER and its parser test"


@pytest.mark.parametrize("name,path", ALL, ids=[n for n, _ in ALL])
def test_every_line_matches_the_marker_oracle(name, path):
    plotter = model.detect_plotter("\n".join(read_lines(path)[:200]))
    assert plotter == EXPECTED_PLOTTER[name]
    parser = walk(path)
    assert parser.plots, "no plot found in %s" % name
    json.dumps(parser.state())  # always serialisable


@pytest.mark.parametrize("name,path", ALL, ids=[n for n, _ in ALL])
def test_two_halves_with_json_state_round_trip_equal_one_pass(name, path):
    lines = read_lines(path)
    plotter = EXPECTED_PLOTTER[name]
    whole = model.parse_lines(lines, plotter)
    for cut in (1, len(lines) // 3, len(lines) // 2, len(lines) - 2):
        first = model.parser_for(plotter)
        for line in lines[:cut]:
            first.feed(line)
        saved = json.loads(json.dumps(first.state()))
        second = model.parser_for(plotter, saved)
        for line in lines[cut:]:
            second.feed(line)
        assert second.plots == whole, (name, cut)


def test_round_trip_after_every_line_of_a_real_log():
    from logs_testlib import fixture_path

    lines = read_lines(fixture_path("chiapos-k18-two-plots.log"))
    whole = model.parse_lines(lines, "chiapos")
    state = None
    for line in lines:
        parser = model.parser_for("chiapos", state)
        parser.feed(line)
        state = json.loads(json.dumps(parser.state()))
    assert model.parser_for("chiapos", state).plots == whole
    assert len(whole) == 2


def test_state_of_another_plotter_or_garbage_starts_fresh():
    parser = model.parser_for("chiapos")
    parser.feed("ID: " + "ab" * 32)
    state = parser.state()
    assert model.parser_for("madmax", state).plots == []
    for junk in (None, {}, [], "x", {"version": 99, "plotter": "chiapos"}, {"version": 1, "plotter": "chiapos",
                                                                              "plots": "no", "ctx": {}}):
        assert model.parser_for("chiapos", junk).plots == []


def test_state_is_a_snapshot_not_a_live_view():
    parser = model.parser_for("chiapos")
    parser.feed("ID: " + "ab" * 32)
    parser.feed("Starting phase 1/4: Forward Propagation into tmp files... Sat Nov 28 20:21:09 2026")
    state = parser.state()
    parser.feed("Time for phase 1 = 16.934 seconds. CPU (100.280%) Sat Nov 28 20:21:26 2026")
    assert state["plots"][0]["phase_seconds"] == {}


def test_unknown_plotter_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown plotter"):
        model.parser_for("plotman")


@pytest.mark.parametrize("plotter", model.PLOTTERS)
def test_garbage_binary_and_empty_input_never_raise(plotter):
    rng = random.Random(7)
    parser = model.parser_for(plotter)
    parser.feed("")
    parser.feed("\r")
    parser.feed("\x00\x00\x00")
    parser.feed(b"\xff\xfe\x00binary\x9c")
    for _ in range(300):
        blob = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 200)))
        parser.feed(blob.decode("utf-8", errors="replace"))
    for line in ("ID:", "ID: zz", "Plot size is: x", "Using  buckets", "Computing table", "Computing table x",
                 "Starting phase /4", "Time for phase x = y seconds", "Total time = ", "\tBucket x",
                 "\tBucket 5 uniform sort", "Progress update: nan", "Progress update: 7", "Renamed final file from",
                 "Copied final file from", "[P1] Table", "[P1] Table x took", "Phase x took", "Plot Name: ",
                 "Crafting plot x out of y", "Number of Plots: infinite", "Generating plot 1 / 1: nothex",
                 "Running Phase x", "Finished Phase 9 in x seconds.", "Finished plotting in soon",
                 "Table 99", "Finished marking table", "Copy to  finished, took x sec", "x" * 100000):
        parser.feed(line)
    for plot in parser.plots:
        assert set(model.PLOT_KEYS) <= set(plot)
        assert 0.0 <= plot["progress"] <= 1.0
        assert plot["state"] in ("plotting", "copying", "finished", "failed")
    json.dumps(parser.state())


def test_parse_lines_detects_and_handles_nothing():
    assert model.parse_lines([]) == []
    assert model.parse_lines(["hello", "world"]) == []
    assert model.detect_plotter("") is None
    assert model.detect_plotter(b"\x00\xff garbage") is None


def test_truncated_last_line_is_harmless():
    from logs_testlib import fixture_path

    lines = read_lines(fixture_path("chiapos-k22-b32-t2.log"))
    i = lines.index("Backpropagating on table 6")
    cut = lines[:i] + [lines[i][:12]]  # killed mid-write: "Backpropagat"
    plots = model.parse_lines(cut, "chiapos")
    assert plots[0]["state"] == "plotting" and plots[0]["phase"] == 2


def test_clean_line_handles_ansi_cr_newline_and_timestamps():
    assert model.clean_line("\x1b[32mINFO    \x1b[0m Starting plot 1/2\x1b[0m") == "INFO     Starting plot 1/2"
    assert model.clean_line("Computing table 2\r\n") == "Computing table 2"
    assert model.clean_line("50%\r75%\rComputing table 3") == "Computing table 3"
    assert model.clean_line("Computing table 4\n") == "Computing table 4"
    assert model.clean_line(b"ID: \xff") == "ID: \ufffd"
    assert model.clean_line("2026-11-29T01:58:52 Computing table 5") == "Computing table 5"
    assert model.clean_line("Nov 29 01:58:52 Computing table 6") == "Computing table 6"
    assert model.clean_line("\tBucket 3 QS.") == "\tBucket 3 QS."


def test_timestamped_lines_parse_like_plain_ones():
    from logs_testlib import fixture_path

    lines = read_lines(fixture_path("chiapos-k18-rename.log"))
    stamped = ["2026-11-29T01:58:%02d %s" % (i % 60, x) if x else x for i, x in enumerate(lines)]
    assert model.parse_lines(stamped, "chiapos") == model.parse_lines(lines, "chiapos")


def test_step_tuple_and_dates():
    assert model.step_tuple("2:1") == (2, 1)
    assert model.step_tuple("5:1") == (5, 1)
    assert model.step_tuple("?:?") == (0, 0)
    assert model.step_tuple(None) == (0, 0)
    assert model.step_tuple("3:6") > model.step_tuple("3:1") > model.step_tuple("2:6")
    ts = model.parse_date("Time for phase 1 = 16.934 seconds. CPU (100.280%) Sat Nov 28 20:21:26 2026")
    import time

    assert time.localtime(ts)[:6] == (2026, 11, 28, 20, 21, 26)
    ts = model.parse_date("Starting phase 1/4: Forward Propagation into tmp files... Sun Apr  4 19:00:50 2021")
    assert time.localtime(ts)[:6] == (2021, 4, 4, 19, 0, 50)
    assert model.parse_date("no date here") is None


def test_worker_code_is_python38_and_stdlib_only():
    import ast

    base = os.path.join(os.path.dirname(model.__file__))
    files = [os.path.join(base, f) for f in ("model.py", "chiapos.py", "madmax.py", "bladebit.py", "__init__.py")]
    files.append(os.path.join(os.path.dirname(base), "eta.py"))
    for path in files:
        with open(path) as fh:
            source = fh.read()
        ast.parse(source, feature_version=(3, 8))
        if source.strip():
            assert "from __future__ import absolute_import, division, print_function" in source, path
            assert "__metaclass__ = type" in source, path


def test_round4_is_round_to_four_places_ties_included():
    rnd = random.Random(4)
    values = [rnd.random() for _ in range(20000)] + [0.0, 1.0, 0.9999, 0.99995, 0.00005, 0.12345, 2.5e-5]
    for k in range(0, 20001):   # every tie k/20000 and its float neighbours
        for delta in (-1e-13, 0.0, 1e-13):
            values.append(max(0.0, k / 20000.0 + delta))
    for value in values:
        assert model.round4(value) == round(value, 4), repr(value)
