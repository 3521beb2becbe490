"""The short cuts of parser round 6 (a cold parse's fixed cost) give what the long ways give: feed_text on a
clean block (no block_pieces), set_step with set_sub inline, start_plot's plot template, finish's path split
and step test, local_epoch's known hours, madMAx's header lines read in _scan, BladeBit's `head` group."""

import json
import posixpath
import time

import pytest
from logs_testlib import assert_block_is_per_line, fixture_logs, fixture_path, per_line, read_lines, state_json

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model


def _by_pieces(plotter, text, state=None):
    """feed_text's long way: every piece of block_pieces scanned in turn."""
    parser = model.parser_for(plotter, state)
    for piece, start, end in model.block_pieces(text):
        parser._scan(piece, start, end)
    return parser


LOGS = [(name, path) for name, path in fixture_logs()
        if model.detect_plotter(open(path, "rb").read(16384)) not in (None, "custom")]


@pytest.mark.parametrize("name,path", LOGS)
def test_clean_block_is_scanned_as_block_pieces_gives_it(name, path):
    plotter = model.detect_plotter(open(path, "rb").read(16384))
    lines = read_lines(path)
    text = "\n".join(line.replace("\r", "").replace("\x1b", "").replace("\x00", "") for line in lines)
    # the whole log, and a few blocks starting at other lines (the first line of a block is a piece of its own)
    for cut in sorted({0, 1, 2, len(lines) // 3, len(lines) // 2, len(lines) - 2}):
        if cut >= len(lines):
            continue
        before = _by_pieces(plotter, "\n".join(text.split("\n")[:cut])) if cut else None
        state = json.loads(state_json(before)) if before is not None else None
        block = "\n".join(text.split("\n")[cut:])
        parser = model.parser_for(plotter, state)
        parser.feed_text(block)
        assert state_json(parser) == state_json(_by_pieces(plotter, block, state)), (name, cut)


@pytest.mark.parametrize("text", ["", "\n", "Multi-threaded pipelined Chia k32 plotter - 974d6e5",
                                  "Multi-threaded pipelined Chia k32 plotter - 974d6e5\n",
                                  "\nMulti-threaded pipelined Chia k32 plotter - 974d6e5",
                                  "Multi-threaded pipelined Chia k33 plotter\nCrafting plot 1 out of 2\n\n",
                                  b"Multi-threaded pipelined Chia k34 plotter\nCrafting plot 1 out of 3"])
def test_short_clean_blocks(text):
    parser = model.parser_for("madmax")
    parser.feed_text(text)
    expected = _by_pieces("madmax", text.decode() if isinstance(text, bytes) else text)
    assert state_json(parser) == state_json(expected)


def _set_step_two_calls(parser, plot, phase, minor, sub=0.0):
    """set_step as it was before set_sub was inlined into it (the reference)."""
    now = plot["phase"]
    if phase == now:
        was = model.step_minor(plot["step"])
        if minor < was:
            return
        moved = minor > was
    elif phase < now:
        return
    else:
        moved = True
    if moved:
        plot["phase"] = phase
        plot["step"] = "%d:%d" % (phase, minor)
        if plot is parser.plots[-1]:
            parser.ctx["sub"] = 0.0
    parser.set_sub(plot, sub)
    if phase == 5 and plot["state"] == "plotting":
        plot["state"] = "copying"


STARTS = [(0, "0:0", 0.0), (1, "1:3", 0.2), (2, "2:7", 0.0), (3, "3:6", 0.9), (5, "5:1", 0.3), (5, "5:2", 1.0)]
MOVES = [(0, 1, 0.0), (1, 1, 0.5), (1, 3, 0.1), (1, 3, 0.7), (1, 2, 0.9), (2, 1, 0.0), (3, 6, 1.5), (4, 2, 0.5),
         (5, 0, 0.0), (5, 1, 0.1), (5, 2, 0.0), (5, 9, 0.5)]


@pytest.mark.parametrize("plotter", ["madmax", "bladebit", "chiapos", "gigahorse", "bladebit_cuda"])
@pytest.mark.parametrize("state", ["plotting", "failed retried", "failed", "finished", "copying"])
@pytest.mark.parametrize("older", [False, True])
def test_set_step_is_set_step_then_set_sub(plotter, state, older):
    for phase, step, sub in STARTS:
        for move in MOVES:
            sides = []
            for way in (model.LogParser.set_step, _set_step_two_calls):
                parser = model.parser_for(plotter)
                plot = parser.start_plot(2)
                if older:   # an older plot of the log: ctx["sub"] is the newest's
                    parser.start_plot(2)
                plot.update(phase=phase, step=step, progress=0.1 if phase else 0.0, state=state.split()[0])
                parser.ctx["sub"] = sub
                if state == "failed retried":
                    parser.ctx["retry_error"] = plot["index"]
                way(parser, plot, *move)
                way(parser, plot, move[0], move[1], move[2] / 2)   # the same step again, less done
                sides.append(state_json(parser))
            assert sides[0] == sides[1], (phase, step, sub, move)


def test_start_plot_copies_the_template():
    parser = model.parser_for("madmax")
    first = parser.start_plot(3)
    first["phase_seconds"]["1"] = 12.5
    first["warning"] = "x"
    second = parser.start_plot(None)
    assert list(second) == list(model.PLOT_KEYS)
    fresh = model.new_plot("madmax", 2)
    fresh["count"] = None
    assert second == fresh
    assert second["phase_seconds"] == {} and model._NEW_PLOT["phase_seconds"] == {}
    assert model._NEW_PLOT["warning"] is None and first["index"] == 1


PATHS = ["/farm/dst/plot-k32-x.plot", "plot-k32-x.plot", "/plot-k32-x.plot", "//plot-k32-x.plot",
         "/farm//dst//plot-k32-x.plot", "farm/dst/", "/farm/dst/", "///", "/", "a/b", " /sp ace/p.plot"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dst", [None, "/already"])
def test_finish_splits_the_path_as_posixpath(path, dst):
    parser = model.parser_for("madmax")
    plot = parser.start_plot(1)
    plot["dst_dir"] = dst
    parser.finish(plot, path)
    assert plot["plot_name"] == posixpath.basename(path)
    assert plot["dst_dir"] == (dst or posixpath.dirname(path))
    assert plot["plot_file"] == path


@pytest.mark.parametrize("plotter,step,expected", [
    ("madmax", "0:0", "5:2"), ("madmax", "4:2", "5:2"), ("madmax", "5:1", "5:2"), ("madmax", "5:2", "5:2"),
    ("madmax", "5:3", "5:3"), ("madmax", "6:0", "6:0"), ("madmax", "5:10", "5:10"), ("chiapos", "5:2", "5:3"),
    ("chiapos", "5:12", "5:12"), ("bladebit", "4:4", "5:1"), ("bladebit", "x", "5:1"), ("bladebit", "5:0", "5:1")])
def test_finish_moves_the_step_to_the_final_one_only_forward(plotter, step, expected):
    parser = model.parser_for(plotter)
    plot = parser.start_plot(1)
    plot["step"] = step
    parser.finish(plot)
    assert plot["step"] == expected and plot["phase"] == 5 and plot["state"] == "finished"


def _mktime(*when):
    return float(time.mktime(when + (0, 0, -1)))


@pytest.mark.parametrize("tz", ["UTC0", "CET-1CEST,M3.5.0,M10.5.0/3"])
def test_a_known_hour_gives_mktime_every_minute_and_second(zone, tz):
    zone(tz)
    for hour in ((2026, 11, 28, 20), (2026, 3, 29, 0), (2026, 3, 29, 1), (2026, 10, 25, 0), (2026, 10, 25, 3),
                 (2024, 2, 29, 23), (2026, 12, 31, 23)):
        assert model.local_epoch(*hour + (0, 0)) == _mktime(*hour + (0, 0))   # the hour is known from here on
        # minutes and seconds out of range go to mktime (two hours on: across CET's DST changes from hour 0)
        for mm, ss in ((0, 0), (59, 59), (30, 1), (1, 30), (60, 0), (0, 60), (75, 61), (-1, 0), (0, -1),
                       (130, 0), (0, 7800), (185, 59), (150, 150)):
            assert model.local_epoch(*hour + (mm, ss)) == _mktime(*hour + (mm, ss)), hour + (mm, ss)
    for hour in ((2026, 11, 28, 21), (2026, 11, 29, 20), (2026, 12, 28, 20), (2027, 11, 28, 20)):   # neighbours
        assert model.local_epoch(*hour + (5, 6)) == _mktime(*hour + (5, 6)), hour


def test_a_known_hour_is_forgotten_with_the_zone(zone):
    zone("UTC0")
    utc = model.local_epoch(2026, 7, 1, 12, 0, 0)
    zone("CET-1CEST,M3.5.0,M10.5.0/3")
    assert model.local_epoch(2026, 7, 1, 12, 0, 0) == utc - 7200 == _mktime(2026, 7, 1, 12, 0, 0)


MADMAX = "plotman__madmax.plot.log"
# madMAx's header lines (read in _scan) in odd places: before any plot, between plots, in a later phase
MADMAX_EXTRA = ["Final Directory: /other/dst/", "Working Directory:   /w/", "Working Directory 2: /w2/",
                "Number of Threads: 3", "Number of Buckets P1:    2^7 (128)", "Number of Buckets P3+P4: 2^9 (512)",
                "Number of Plots: 4", "Multi-threaded pipelined Chia k33 plotter - x", "Crafting plot 2 out of 4"]


@pytest.mark.parametrize("at", [0, 3, 6, 14, 15, 30, 52, 57, 59])
@pytest.mark.parametrize("extra", [[x] for x in MADMAX_EXTRA] + [MADMAX_EXTRA, MADMAX_EXTRA[::-1]])
def test_madmax_header_lines_anywhere(at, extra):
    lines = read_lines(fixture_path(MADMAX))
    assert_block_is_per_line("madmax", lines[:at] + extra + lines[at:])


BLADEBIT = ["plotman__bladebit.plot.log", "plotman__bladebit2disk.plot.log"]
# The lines of BladeBit's `head` group, and their near misses (no colon, other keys, blanks, odd values)
HEAD_LINES = [" Output path           : /mnt/out/", "Output path: /o", "\tOutput path :", " Thread count          : 88",
              "Thread count: x", " Bucket count   : 256", "Bucket count:64", " Temp1 path     : /farm/1",
              "Temp2 path : /farm/2/", "Temp1 path", " Temp2 path    ", "Output path /no/colon", "Thread count  :  7 8",
              "Temp3 path : /t3", "Output paths : /p", " Bucket count : 2^8", "Temp1 path:/x:y"]


@pytest.mark.parametrize("name", BLADEBIT)
@pytest.mark.parametrize("marker", [None, "Generating plot ", "Running Phase 2", "Finished Phase 3",
                                    "Finished plotting in"])
def test_bladebit_header_lines_anywhere(name, marker):
    lines = read_lines(fixture_path(name))
    at = 0 if marker is None else next(i for i, line in enumerate(lines) if line.strip().startswith(marker)) + 1
    for extra in [[x] for x in HEAD_LINES] + [HEAD_LINES]:
        full = lines[:at] + extra + lines[at:]
        expected = state_json(per_line("bladebit", full))
        block = model.parser_for("bladebit")
        block.feed_text("\n".join(full))
        assert state_json(block) == expected, extra
        for cut in (at, at + len(extra)):   # resumed right before and after the extra lines
            resumed = model.parser_for("bladebit", json.loads(state_json(per_line("bladebit", full[:cut]))))
            resumed.feed_text("\n".join(full[cut:]))
            assert state_json(resumed) == expected, (extra, cut)


def test_the_head_group_takes_exactly_the_key_colon_lines():
    from ansible_collections.plotfleet.chia.plugins.module_utils.logs import bladebit
    taken = []
    for line in HEAD_LINES:
        match = bladebit._SELECT_RE.match("\n" + line)
        if match is not None and match.lastgroup == "head":
            taken.append(line)
    assert taken == [line for line in HEAD_LINES if line.split(":")[0].strip() in (
        "Output path", "Thread count", "Bucket count", "Temp1 path", "Temp2 path") and ":" in line]
