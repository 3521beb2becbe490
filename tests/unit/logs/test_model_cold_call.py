"""The short cuts of a cold call's fixed cost in model.py (H3, session 7): a fresh parser's __init__ (the weights on
the class, a state only looked at when there is one), ensure_plot without the `current` property, and feed_text's
one _scan of "\\n" + text for a clean block of up to 8,192 characters (longer: the first line, then the block)."""

import json

import pytest
from logs_testlib import fixture_logs, per_line, read_lines, state_json

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

ONE_PIECE = 8192   # feed_text's limit for the one-piece scan


def _by_pieces(plotter, text, state=None):
    """feed_text's long way: every piece of block_pieces scanned in turn."""
    parser = model.parser_for(plotter, state)
    for piece, start, end in model.block_pieces(text):
        parser._scan(piece, start, end)
    return parser


def _clean_lines(path):
    return [line.replace("\r", "").replace("\x1b", "").replace("\x00", "") for line in read_lines(path)]


# One log of each plotter (its first line is read by feed_text's first-line handling on either path).
LOGS = {}
for _name, _path in fixture_logs():
    _plotter = model.detect_plotter(open(_path, "rb").read(16384))
    if _plotter not in (None, "custom"):
        LOGS.setdefault(_plotter, []).append((_name, _path))


def _sized(lines, size, filler_at):
    """The log's first lines, with one filler line (no parser reads `#...`) at filler_at, exactly size characters."""
    head, total = [], 0
    for line in lines:
        if total + len(line) + 1 > size - 40:
            break
        head.append(line)
        total += len(line) + 1
    filler = "#" * (size - total)   # the head's lines, each with a "\n", and the filler: size characters
    assert len(filler) >= 39
    text = "\n".join(head[:filler_at] + [filler] + head[filler_at:])
    assert len(text) == size
    return text


@pytest.mark.parametrize("plotter", sorted(LOGS))
@pytest.mark.parametrize("size", [ONE_PIECE - 1, ONE_PIECE, ONE_PIECE + 1, ONE_PIECE + 2])
def test_blocks_either_side_of_the_one_piece_limit(plotter, size):
    for name, path in LOGS[plotter][:3]:
        lines = _clean_lines(path)
        for filler_at in (len(lines), 1):
            text = _sized(lines, size, filler_at)
            parser = model.parser_for(plotter)
            parser.feed_text(text)
            got = state_json(parser)
            assert got == state_json(_by_pieces(plotter, text)), (name, size, filler_at)
            assert got == state_json(per_line(plotter, text.split("\n"))), (name, size, filler_at)


@pytest.mark.parametrize("name,path", [log for logs in LOGS.values() for log in logs])
def test_short_logs_whole_and_resumed_as_per_line(name, path):
    """Every fixture log (most are under the limit): whole, and its second half resumed from the first's state."""
    plotter = model.detect_plotter(open(path, "rb").read(16384))
    lines = _clean_lines(path)
    expected = state_json(per_line(plotter, lines))
    parser = model.parser_for(plotter)
    parser.feed_text("\n".join(lines))
    assert state_json(parser) == expected
    half = len(lines) // 2
    first = model.parser_for(plotter)
    first.feed_text("\n".join(lines[:half]))
    second = model.parser_for(plotter, json.loads(state_json(first)))
    second.feed_text("\n".join(lines[half:]))
    assert state_json(second) == expected


def test_first_line_of_a_short_block_is_read():
    """The one-piece scan reads the block's first line (it has no "\\n" before it in text)."""
    for text in ("Caught plotting error: Stripe size too large",
                 "Caught plotting error: Stripe size too large\nk=18 s=8192 0.02 s 12680 KB",
                 "ID: " + "ab" * 32 + "\nPlot size is: 32"):
        parser = model.parser_for("chiapos")
        parser.feed_text(text)
        assert parser.plots, text
        assert state_json(parser) == state_json(per_line("chiapos", text.split("\n")))
    parser = model.parser_for("chiapos")
    parser.feed_text("Caught plotting error: Stripe size too large")
    assert parser.plots[0]["state"] == "failed"
    assert parser.plots[0]["error"] == "Caught plotting error: Stripe size too large"


@pytest.mark.parametrize("plotter", model.PLOTTERS)
def test_fresh_parser_and_its_weights(plotter):
    parser = model.parser_for(plotter)
    assert parser.plots == [] and parser.ctx == {"sub": 0.0}
    assert parser.weights == model.PHASE_WEIGHTS[plotter]
    assert model.parser_for(plotter, None).weights is model.PHASE_WEIGHTS[plotter]


def test_template_parser_keeps_the_default_weights():
    parser = model.parser_for("custom")
    assert parser.weights == model.PHASE_WEIGHTS["chiapos"]


@pytest.mark.parametrize("plotter", ["chiapos", "madmax", "bladebit"])
def test_resumed_parser_takes_the_state_and_junk_starts_fresh(plotter):
    name, path = LOGS[plotter][0]
    parser = model.parser_for(plotter)
    parser.feed_text("\n".join(_clean_lines(path)))
    state = json.loads(state_json(parser))
    resumed = model.parser_for(plotter, state)
    assert resumed.plots == parser.plots and resumed.ctx == parser.ctx
    assert resumed.plots is not state["plots"] and resumed.ctx is not state["ctx"]
    for junk in ({}, [], "x", 0, {"version": 99, "plotter": plotter, "plots": [], "ctx": {}},
                 dict(state, plotter="pos2"), dict(state, plots="no"), dict(state, ctx=[])):
        fresh = model.parser_for(plotter, junk)
        assert fresh.plots == [] and fresh.ctx == {"sub": 0.0}, junk


def test_ensure_plot_is_the_newest_plot_or_a_new_one():
    parser = model.parser_for("chiapos")
    first = parser.ensure_plot()
    assert parser.plots == [first] and first["index"] == 1
    assert parser.ensure_plot() is first
    second = parser.start_plot()
    assert parser.ensure_plot() is second is parser.current
    assert len(parser.plots) == 2


@pytest.mark.parametrize("phase", range(-1, 6))   # (set_step takes phases up to 5)
def test_set_step_texts_are_the_formatted_steps(phase):
    """set_step's step text comes from a table for phases 0..5 and minors 0..9, else from "%d:%d"."""
    for minor in range(-1, 13):
        parser = model.parser_for("madmax")
        plot = parser.start_plot()
        plot["phase"] = phase - 1   # so that set_step moves (phase > plot["phase"])
        parser.set_step(plot, phase, minor)
        assert plot["step"] == "%d:%d" % (phase, minor), (phase, minor)
        assert plot["phase"] == phase
    assert model._STEP_TEXTS[5][9] == "5:9" and model._STEP_TEXTS[0][0] == "0:0"
