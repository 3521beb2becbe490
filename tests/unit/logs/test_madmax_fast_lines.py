"""madMAx's once-a-plot lines read by the selector (MadmaxParser._scan: `dir`, `threads`, `plots`, `buckets`, `k`,
`crafting`, `named`, `took`, `total`): their own spelling and every other one (which the generic groups take)
give what feed() of each line gives, before and after the plot starts, whole and resumed at every split."""

import json
import os
import random
import re

import pytest
from logs_testlib import fixture_path, read_lines

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import madmax, model

LOG = "plotman__madmax.plot.log"
NAME = "plot-k32-2021-07-14-21-56-522acbd6308af7e229281352f746449134126482cfabd51d38e0f89745d21698"
# (line in madMAx's spelling, its fast group, other spellings: the generic groups read most of them)
LINES = [
    ("Multi-threaded pipelined Chia k32 plotter - 974d6e5", "k",
     ["Multi-threaded pipelined Chia k32\tplotter", "Multi-threaded pipelined Chia k 32 x",
      "Multi-threaded pipelined Chia k33", "Multi-threaded pipelined Chia kx2 plotter",
      "Multi-threaded pipelined Chia k\u0663\u0662 plotter"]),
    ("Final Directory: /farm/dst/", "dir",
     ["Final Directory:/farm/x", "Final Directory :  /farm/y//", "  Final Directory: /z", "Final Directory: /",
      "Final Directory: ", "Final Directory: //"]),
    ("Working Directory:   /farm/yards/902/", "dir", ["Working Directory 3: /q", "Working Directory:\t/w/"]),
    ("Working Directory 2: /farm/yards/902/fake_tmp2/", "dir", ["Working Directory 2 : /t2", "Working Directory 2:"]),
    ("Number of Threads: 8", "threads",
     ["Number of Threads: 8 ", "Number of Threads:  9", "Number of Threads: +7", "Number of Threads: 1_2",
      "Number of Threads: x", "Number of Threads: \u0663"]),
    ("Number of Plots: 2", "plots",
     ["Number of Plots: -1", "Number of Plots: 3 ", "Number of Plots: x", "Number of Plots:4"]),
    ("Number of Buckets P1:    2^8 (256)", "buckets",
     ["Number of Buckets P1: 2^7 (128) ", "Number of Buckets P1: 2^9 (x)", "Number of Buckets P1: (64)",
      "Number of Buckets P2: 2^6 (64)"]),
    ("Number of Buckets P3+P4: 2^8 (256)", "buckets",
     ["Number of Buckets P3+P4: 2^7 (128)x", "Number of Buckets P3: 2^5 (32)"]),
    ("Crafting plot 1 out of 2", "crafting",
     ["Crafting plot 1 out of 2 ", "Crafting plot 1 out of x", "Crafting plot 2 of 3"]),
    ("Plot Name: " + NAME, "named",
     ["Plot Name: %s " % NAME, "Plot Name:  " + NAME, "Plot Name: %sx" % NAME,
      "Plot Name: " + NAME.replace("k32-", "k32-c05-"), "Plot Name: x" + NAME, "Plot Name: " + NAME[:-1],
      "Plot Name: " + NAME.replace("-56-", "-99-")]),
    ("Phase 1 took 2197.52 sec", "took", ["Phase 1 took 1.2 sec, x", "Phase 1 took 12 secs", "Phase 1 took  5 sec"]),
    ("Total plot creation time was 4968.41 sec (82.8069 min)", "total",
     ["Total plot creation time was 12 secs", "Total plot creation time was x sec",
      "Total plot creation time was  9 sec", "Total plot creation time was 7 sec was 8 sec"]),
]


def _state(parser):
    return json.dumps(parser.state(), sort_keys=True)


def _per_line(lines):
    parser = model.parser_for("madmax")
    for line in lines:
        parser.feed(line)
    return parser


def _assert_block_is_per_line(lines):
    expected = _state(_per_line(lines))
    block = model.parser_for("madmax")
    block.feed_text("\n".join(lines))
    assert _state(block) == expected
    for cut in range(1, len(lines)):
        resumed = model.parser_for("madmax", json.loads(_state(_per_line(lines[:cut]))))
        resumed.feed_text("\n".join(lines[cut:]))
        assert _state(resumed) == expected, "cut after line %d" % cut


def _around(marker, extra):
    """The fixture with extra lines after the first line starting with marker (and the rest of the log)."""
    lines = read_lines(fixture_path(LOG))
    cut = next(i for i, line in enumerate(lines) if line.startswith(marker)) + 1
    return lines[:cut] + extra + lines[cut:cut + 3]


def test_each_line_in_its_own_spelling_is_read_by_its_fast_group():
    for line, group, _others in LINES:
        assert madmax._SELECT_RE.match("\n" + line).lastgroup == group, line
    for _line, group, others in LINES:   # some other spellings go to the generic groups
        assert any(madmax._SELECT_RE.match("\n" + other).lastgroup != group for other in others), others


@pytest.mark.parametrize("marker", ["Multi-threaded", "Crafting plot", "Plot Name: ", "[P1] Table 7", "Phase 4 took",
                                    "Started copy to"])
@pytest.mark.parametrize("index", range(len(LINES)))
def test_fast_and_other_spellings_match_feed(index, marker):
    """A line and its other spellings at one point of the plot (header before or after the plot started,
    phase 1, phase 4, copying), then the fixture's next lines."""
    line, _group, others = LINES[index]
    _assert_block_is_per_line(_around(marker, [line] + others + [line]))


def test_the_values_are_read():
    """The fast groups read what _line reads (a P3+P4 bucket count keeps the P1 one; the name gives k, id, start)."""
    parser = model.parser_for("madmax")
    parser.feed_text("\n".join(read_lines(fixture_path(LOG))))
    plot = parser.plots[0]
    assert (plot["k"], plot["threads"], plot["buckets"], plot["count"]) == (32, 8, 256, 1)
    assert (plot["tmp_dir"], plot["tmp2_dir"], plot["dst_dir"]) == (
        "/farm/yards/902", "/farm/yards/902/fake_tmp2", "/farm/yards/902/fake_dst")
    assert plot["id"] == NAME[-64:] and plot["started_ts"] == model.plot_name_info(NAME)[1]
    assert plot["phase_seconds"]["1"] == 2197.52 and plot["total_seconds"] == 4968.41
    p3_first = model.parser_for("madmax")
    p3_first.feed_text("Crafting plot 1 out of 1\nNumber of Buckets P3+P4: 2^7 (128)\nNumber of Buckets P1: 2^8 (256)"
                       "\nNumber of Buckets P3+P4: 2^6 (64)")
    assert p3_first.plots[0]["buckets"] == 256


def test_the_name_pattern_is_model_plot_name_pattern():
    assert re.sub(r"\(\?P<\w+>", "(", madmax._NAME) == model.PLOT_NAME_RE.pattern


def test_same_dir_is_normpath_equality():
    parts = ["", ".", "..", "a", "b", ".a", "a.", "..b", "/"]
    rnd = random.Random(5)
    paths = {"/farm/yards/902", "/farm/yards/902/", "/farm//yards", "//farm", "///farm", "farm/./x", "./farm",
             "farm/..", "/", "a", "a/"}
    while len(paths) < 3000:
        paths.add("/" * rnd.randint(0, 3) + "/".join(rnd.choice(parts) for _ in range(rnd.randint(1, 4))))
    paths = sorted(p for p in paths if p)
    for one in paths:
        for other in rnd.sample(paths, 40) + [one, one + "/", one.rstrip("/")]:
            if other:
                same = os.path.normpath(one) == os.path.normpath(other)
                assert madmax._same_dir(one, other) == same, (one, other)
