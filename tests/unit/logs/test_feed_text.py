"""feed_text (a whole block at once, what logcache runs) gives exactly what feed() of each line gives:
on every real fixture log, whole or in chunks resumed from the parser state, with the noise a log can
carry (timestamp prefixes, ANSI codes, carriage-return overdraws, NULs), and the lines the block
scanners skip change nothing when fed one by one."""

import glob
import json
import os
import random
import re

import pytest
from logs_testlib import OWN_FIXTURES, fixture_logs, fixture_path, read_lines

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import chiapos, model

ALL = fixture_logs() + [(os.path.basename(p), p) for p in sorted(glob.glob(str(OWN_FIXTURES / "pos2" / "*.log")))]


def _plotter(path):
    with open(path, "rb") as handle:
        return model.detect_plotter(handle.read(16384))


def _state(parser):
    return json.dumps(parser.state(), sort_keys=True)


def _line_by_line(plotter, lines):
    parser = model.parser_for(plotter)
    for line in lines:
        parser.feed(line)
    return parser


@pytest.mark.parametrize("name,path", ALL, ids=[n for n, _ in ALL])
def test_whole_log_as_one_block(name, path):
    plotter = _plotter(path)
    lines = read_lines(path)
    block = model.parser_for(plotter)
    block.feed_text("\n".join(lines))
    assert _state(block) == _state(_line_by_line(plotter, lines))


@pytest.mark.parametrize("name,path", ALL, ids=[n for n, _ in ALL])
def test_chunks_resumed_from_state_match_after_every_chunk(name, path):
    """As logcache reads a growing log: a block per call, the parser resumed from its JSON state."""
    plotter = _plotter(path)
    lines = read_lines(path)
    rnd = random.Random(name)
    one = model.parser_for(plotter)
    state, i = None, 0
    while i < len(lines):
        j = min(len(lines), i + rnd.choice((1, 2, 3, 7, 40, 300)))
        for line in lines[i:j]:
            one.feed(line)
        block = model.parser_for(plotter, state)
        block.feed_text("\n".join(lines[i:j]))
        assert _state(block) == _state(one), "after lines %d..%d" % (i, j)
        state = json.loads(json.dumps(block.state()))
        i = j


def _noisy(lines, rnd):
    """The same log as a terminal or `ts` would leave it, line by line at random."""
    out = []
    for line in lines:
        kind = rnd.randrange(7)
        if kind == 0:
            line = "2026-11-28T20:21:09.123 " + line
        elif kind == 1:
            line = "Nov 28 20:21:09 " + line
        elif kind == 2:
            line = "\x1b[32m" + line + "\x1b[0m"
        elif kind == 3:
            line = "50%\r" + line + "\r"
        elif kind == 4:
            line = line[:3] + "\x00" + line[3:]
        out.append(line)
    return out


@pytest.mark.parametrize("name,path", ALL, ids=[n for n, _ in ALL])
def test_noisy_log_as_one_block(name, path):
    plotter = _plotter(path)
    lines = _noisy(read_lines(path), random.Random(name))
    block = model.parser_for(plotter)
    block.feed_text("\n".join(lines))
    assert _state(block) == _state(_line_by_line(plotter, lines))
    clean = _line_by_line(plotter, read_lines(path))
    assert [p["step"] for p in block.plots] == [p["step"] for p in clean.plots]   # the noise is taken off


SELECTING = [(n, p) for n, p in fixture_logs() if _plotter(p) in ("madmax", "bladebit", "chiapos")]


@pytest.mark.parametrize("name,path", SELECTING, ids=[n for n, _ in SELECTING])
def test_lines_a_block_scan_skips_change_nothing(name, path):
    """Each line the scanner does not hand to _line (its SELECT misses it; for chiapos: not a bucket
    line either) leaves the parser state as it was when fed on its own."""
    plotter = _plotter(path)
    parser = model.parser_for(plotter)
    select = chiapos._SELECT_RE if plotter == "chiapos" else type(parser).SELECT
    skipped = 0
    for line in read_lines(path):
        clean = model.clean_line(line)
        taken = not clean or select.match("\n" + clean) or clean.startswith("\tBucket ")
        before = _state(parser)
        parser.feed(line)
        if not taken:
            skipped += 1
            assert _state(parser) == before, "skipped line changed the state: %r" % line
    assert skipped > 0


def _k18_until(marker):
    lines = read_lines(fixture_path("chiapos-k18-rename.log"))
    cut = next(i for i, line in enumerate(lines) if line.startswith(marker))
    return lines[:cut + 1]


@pytest.mark.parametrize("numbers", [(0, 1, 9, 2, 3), (0, 5, 2, 3), (3, 2, 1, 0), (0, 0, 1, 7, 1, 2)])
def test_bucket_run_out_of_order_counts_its_highest(numbers):
    """Phase 3 interleaves the lines of two sorts; a run whose last bucket is not its highest still moves
    progress to its highest, as feed() of each line does."""
    head = _k18_until("Compressing tables 1 and 2")
    run = ["\tBucket %d uniform sort. Ram: 0.6GiB, u_sort min: 0.1GiB, qs min: 0.1GiB." % n for n in numbers]
    block = model.parser_for("chiapos")
    block.feed_text("\n".join(head + run))
    per_line = _line_by_line("chiapos", head + run)
    upto_last = _line_by_line("chiapos", head + run[-1:])
    assert _state(block) == _state(per_line)
    assert block.plots[0]["progress"] > upto_last.plots[0]["progress"] or numbers[-1] == max(numbers)


@pytest.mark.parametrize("token", ["007", "+9", "x", "9", "12345"])
def test_bucket_numbers_written_oddly_count_as_feed_reads_them(token):
    head = _k18_until("Computing table 2")
    run = ["\tBucket 1 uniform sort.", "\tBucket %s uniform sort." % token, "\tBucket 2 uniform sort."]
    block = model.parser_for("chiapos")
    block.feed_text("\n".join(head + run))
    assert _state(block) == _state(_line_by_line("chiapos", head + run))


@pytest.mark.parametrize("text", ["", "\n", "a", "a\n", "a\n  \n", "x\ny \t\n\n", "\n\n q\r\n", " " * 5000 + "\nz",
                                  "a" * 5000 + "\n" + " " * 5000, "\u2028\nb\u00a0"])
def test_last_nonblank_line_is_the_last_line_with_text(text):
    expected = None
    for line in text.split("\n"):
        if line.strip():
            expected = line
    assert model.last_nonblank_line(text) == expected


# chiapos' scanner reads these lines itself (named groups of its SELECT); odd spellings fall back to _line.
FAST_LINES = ["Computing table 3", "Computing table 3 ", "Computing table 3\tx", "Computing table 3x",
              "Computing table  4", "Computing table 0", "Computing table 007", "Computing table 99",
              "Computing table 5MiB", "Computing table 5\x0b", "Computing table \u0663", "Computing table -4",
              "Backpropagating on table 7", "Backpropagating on table 9", "Backpropagating on table 0",
              "Backpropagating on table 3x", "Backpropagating on table 1",
              "Compressing tables 3 and 4", "Compressing tables 3and 4", "Compressing tables 0 and 1",
              "Compressing tables 12 and 13", "\tFirst computation pass time: 1.0 seconds.",
              "\tSecond computation pass time: 1.0 seconds.", "\tFirst computation pass",
              "Progress update: 0.5", "Progress update:  0.7 ", "Progress update: x", "Progress update: ",
              "Progress update: 1.5", "Progress update: nan", "Progress update: -0", "Progress update: 1e-1"]


@pytest.mark.parametrize("line", FAST_LINES)
def test_chiapos_lines_read_by_the_scanner_itself_match_feed(line):
    """Whole, as a resumed chunk, and with a timestamp, ANSI codes, an overdraw or a NUL around it."""
    head = _k18_until("Computing table 2")
    for variant in (line, "\x1b[1m" + line + "\x1b[0m", "x\r" + line + "\r", line[:2] + "\x00" + line[2:],
                    "2026-11-28T20:21:09 " + line):
        lines = head + [variant, "\tBucket 5 uniform sort."]
        expected = _state(_line_by_line("chiapos", lines))
        block = model.parser_for("chiapos")
        block.feed_text("\n".join(lines))
        assert _state(block) == expected, repr(variant)
        resumed = model.parser_for("chiapos", json.loads(_state(_line_by_line("chiapos", head))))
        resumed.feed_text(variant + "\n\tBucket 5 uniform sort.")
        assert _state(resumed) == expected, repr(variant)


@pytest.mark.parametrize("line,step", [("Computing table 3", "1:3"), ("Backpropagating on table 7", "2:1"),
                                       ("Compressing tables 3 and 4", "3:3")])
def test_chiapos_fast_lines_move_the_step(line, step):
    block = model.parser_for("chiapos")
    block.feed_text("\n".join(_k18_until("Computing table 2") + [line]))
    assert block.plots[-1]["step"] == step


def _bucket_lines(numbers):
    return ["\tBucket %d uniform sort. Ram: 0.6GiB, u_sort min: 0.1GiB, qs min: 0.1GiB." % n for n in numbers]


# A bucket run right before a computation pass line is skipped only where that line sets at least as much.
PASS_CASES = {
    "phase 3, before the first pass": ("Compressing tables 1 and 2", [], "\tFirst computation pass time: 1 s"),
    "phase 3, before the second pass": ("Compressing tables 1 and 2", [], "\tSecond computation pass time: 1 s"),
    "phase 3, a second first pass (pass 1)": ("Compressing tables 1 and 2", ["\tFirst computation pass time: 1 s"],
                                              "\tFirst computation pass time: 1 s"),
    "phase 1, a stray first pass line": ("Computing table 2", [], "\tFirst computation pass time: 1 s"),
    "phase 2, a stray second pass line": ("Backpropagating on table 7", [], "\tSecond computation pass time: 1 s"),
}


@pytest.mark.parametrize("case", sorted(PASS_CASES))
@pytest.mark.parametrize("numbers", [(0, 1, 2, 3), (0, 1, 14, 2), (15,), (0, 0, 1, 2, 1, 3), (0, 1, 30, 2), (31,)])
def test_bucket_run_before_a_computation_pass_line(case, numbers):
    """numbers: of the fixture's 32 buckets."""
    marker, before, pass_line = PASS_CASES[case]
    lines = _k18_until(marker) + before + _bucket_lines(numbers) + [pass_line] + _bucket_lines((0, 1))
    block = model.parser_for("chiapos")
    block.feed_text("\n".join(lines))
    assert _state(block) == _state(_line_by_line("chiapos", lines))


@pytest.mark.parametrize("step_line", ["Computing table 3", "Backpropagating on table 6", "Compressing tables 2 and 3",
                                       "Computing table 0", "Computing table 3x"])
@pytest.mark.parametrize("progress", ["Progress update: 0.30", "Progress update: 0.99", "Progress update: 1.5",
                                      "Progress update: x", "Progress update:0.4",
                                      "2026-11-28T20:21:09 Progress update: 0.6",
                                      "\x1b[1mProgress update: 0.6\x1b[0m", "Progress update: 0.7\r"])
def test_chiapos_table_line_then_progress_update(step_line, progress):
    """The scanner reads a table line and the `Progress update` right after it as one match."""
    for head in (_k18_until("Computing table 2"), _k18_until("Backpropagating on table 7"),
                 _k18_until("Compressing tables 1 and 2")):
        lines = head + [step_line, progress, "\tBucket 5 uniform sort."]
        block = model.parser_for("chiapos")
        block.feed_text("\n".join(lines))
        assert _state(block) == _state(_line_by_line("chiapos", lines)), (step_line, progress)


def test_chiapos_selector_takes_exactly_the_listed_line_starts():
    """_alternatives (the generic alternative grouped by first character) accepts the lines a plain
    alternation of _LINE_STARTS accepts: every fixture line, and every prefix of each start (+ "x")."""
    words = [word for word, _kind in chiapos._LINE_STARTS]
    plain = re.compile(r"\n(?:\d|%s)" % "|".join(re.escape(w) for w in words))
    grouped = re.compile(r"\n(?:\d|%s)" % chiapos._alternatives(words))
    lines = set()
    for _name, path in fixture_logs():
        lines.update(read_lines(path))
    for word in words:
        lines.update(word[:k] + tail for k in range(len(word) + 1) for tail in ("", "x", " 1"))
    for line in lines:
        assert bool(plain.match("\n" + line)) == bool(grouped.match("\n" + line)), repr(line)
    assert sum(1 for line in lines if grouped.match("\n" + line)) > 100
