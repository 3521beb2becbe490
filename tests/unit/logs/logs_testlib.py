"""Helpers for the log parser tests: fixture discovery and an independent step oracle.

The oracle derives the expected phase/step after each line from a small table of marker
regexes per plotter, written here and NOT by calling the parser's code, so a parser bug shows
up as a disagreement.
"""

import glob
import json
import os
import re

import plotfleet_testlib  # noqa: F401  (puts collections/ on sys.path)
from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

REPO = plotfleet_testlib.REPO
# A copy of ../shared/fixtures (the project's real plotter logs), so a clean clone has them.
SHARED_FIXTURES = REPO / "tests" / "fixtures" / "shared"
OWN_FIXTURES = REPO / "tests" / "fixtures" / "logs"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def fixture_logs():
    """Every .log fixture (shared + ours) as (short name, path)."""
    paths = sorted(glob.glob(str(SHARED_FIXTURES / "**" / "*.log"), recursive=True))
    paths += sorted(glob.glob(str(OWN_FIXTURES / "*.log")))
    return [(os.path.basename(p), p) for p in paths]


def read_lines(path):
    with open(path, "r", encoding="utf-8", errors="replace") as fh:
        return fh.read().split("\n")


def fixture_path(name):
    for short, path in fixture_logs():
        if short == name:
            return path
    raise KeyError(name)


def fed(name, plotter):
    """Feed a fixture log (by name) to a fresh parser line by line; yield (line, parser) after each."""
    parser = model.parser_for(plotter)
    for line in read_lines(fixture_path(name)):
        parser.feed(line)
        yield line, parser


# (regex, expected (phase, minor) or a function of the match, starts a new plot?): plotman 0.5.3's step
# grid (its plotters/chianetwork.py, madmax.py, bladebit.py; the `.marked` files in plotman_marked/).
CHIAPOS_MARKS = [
    (re.compile(r"^ID: [0-9a-f]{64}"), (0, 0), True),
    (re.compile(r"^Starting phase (\d)/4"), lambda m: (int(m.group(1)), 0), False),
    (re.compile(r"^Computing table (\d)"), lambda m: (1, int(m.group(1))), False),
    (re.compile(r"^Backpropagating on table (\d)"), lambda m: (2, 8 - int(m.group(1))), False),
    (re.compile(r"^table 1 new size: "), (2, 7), False),
    (re.compile(r"^Compressing tables (\d) and"), lambda m: (3, int(m.group(1))), False),
    (re.compile(r"^\tStarting to write C1 and C3"), (4, 1), False),
    (re.compile(r"^\tWriting C2 table"), (4, 2), False),
    (re.compile(r"^\tFinal table pointers:"), (4, 3), False),
    (re.compile(r"^Approximate working space used"), (5, 0), False),
    (re.compile(r"^Total time = "), (5, 0), False),
    (re.compile(r'^Copied final file from .* to "?.*\.plot"?$'), (5, 3), False),   # very old chiapos: done
    (re.compile(r"^Copied final file from "), (5, 1), False),
    (re.compile(r"^Removed temp2 file "), (5, 2), False),
    (re.compile(r'^Renamed final file from .* to "?.*\.plot"?$'), (5, 3), False),
]
MADMAX_MARKS = [
    (re.compile(r"^Plot Name: plot-"), (1, 1), True),
    (re.compile(r"^\[P1\] Table (\d) took"), lambda m: (1, min(int(m.group(1)) + 1, 7)), False),
    (re.compile(r"^\[P2\] max_table_size"), (2, 1), False),
    (re.compile(r"^\[P2\] Table (\d) scan"), lambda m: (2, 8 - int(m.group(1))), False),
    (re.compile(r"^\[P2\] Table (\d) rewrite"), lambda m: (2, min(9 - int(m.group(1)), 7)), False),
    (re.compile(r"^Phase 2 took"), (3, 0), False),
    (re.compile(r"^Wrote plot header"), (3, 1), False),
    (re.compile(r"^\[P3-1\] Table (\d)"), lambda m: (3, int(m.group(1)) - 1), False),
    (re.compile(r"^\[P3-2\] Table (\d)"), lambda m: (3, min(int(m.group(1)), 6)), False),
    (re.compile(r"^Phase 3 took"), (4, 0), False),
    (re.compile(r"^\[P4\] Starting to write C1"), (4, 1), False),
    (re.compile(r"^\[P4\] Writing C2"), (4, 2), False),
    (re.compile(r"^Phase 4 took"), (5, 0), False),
    (re.compile(r"^Total plot creation time"), "madmax-total", False),
    (re.compile(r"^Started copy to .*/(plot-k[^/ ]*)\.plot$"), "madmax-started", False),
    (re.compile(r"^(?:Renamed final plot to|Copy to) .*/(plot-k[^/ ]*)\.plot(?: finished|$)"), "madmax-done", False),
]
BLADEBIT_MARKS = [
    (re.compile(r"^Generating plot \d+ / \d+"), (0, 2), True),
    (re.compile(r"^Running Phase (\d)"), lambda m: (int(m.group(1)), 0), False),
    (re.compile(r"^Finished Phase (\d) "), "bladebit-phase-done", False),
    (re.compile(r"^Finished [Ff]1 generation"), (1, 1), False),
    (re.compile(r"^Forward propagating to table (\d)"), lambda m: (1, int(m.group(1))), False),
    (re.compile(r"^Table (\d)$"), lambda m: (1, int(m.group(1))), False),
    (re.compile(r"^\s*Prunning table (\d)"), lambda m: (2, 7 - int(m.group(1))), False),
    (re.compile(r"^Finished marking table (\d)"), lambda m: (2, max(1, 7 - int(m.group(1)))), False),
    (re.compile(r"^\s*Compressing tables (\d) and"), lambda m: (3, int(m.group(1))), False),
    (re.compile(r"^\s*Writing (P7|C1|C2|C3)(?: table)?\.$"), lambda m: (4, "P7 C1 C2 C3".split().index(m.group(1)) + 1),
     False),
    (re.compile(r"^Writing final plot tables to disk"), (5, 1), False),
    (re.compile(r"^Finished writing plot "), (5, 0), False),
    (re.compile(r"^Finished plotting in"), (5, 1), False),
]
# GPU plotters (synthetic fixtures, README-gpu.md). `(?:^|\] )`: BladeBit CUDA lines may carry a `ts` prefix.
BB = r"(?:^|\] )"
BLADEBIT_CUDA_MARKS = [
    (re.compile(BB + r"Generating plot \d+(?: / \d+)?: [0-9a-f]{64}"), (0, 0), True),
    (re.compile(BB + r"Generating F1"), (1, 1), False),
    (re.compile(BB + r"Finished F1 in"), (1, 2), False),
    (re.compile(BB + r"Table (\d) completed"), lambda m: (1, min(int(m.group(1)) + 1, 7)), False),
    (re.compile(BB + r"Completed Phase (\d)"), lambda m: (int(m.group(1)) + 1, 0 if m.group(1) == "3" else 1), False),
    (re.compile(BB + r"Marked Table (\d)"), lambda m: (2, 8 - int(m.group(1))), False),
    (re.compile(BB + r"Compressing [Tt]ables? (\d) and"), lambda m: (3, int(m.group(1))), False),
    (re.compile(BB + r"Completed Plot 1 in"), (5, 0), False),
    (re.compile(BB + r"/\S*\.plot\.tmp -> /\S*\.plot$"), (5, 1), False),
]
GIGAHORSE_MARKS = [
    (re.compile(r"^Plot Name: plot-k32-c\d+-"), (1, 1), True),
    (re.compile(r"^\[P1\] Table (\d) took"), lambda m: (1, min(int(m.group(1)) + 1, 7)), False),
    (re.compile(r"^Phase 1 took"), (2, 1), False),
    (re.compile(r"^Phase 2 took"), (3, 1), False),
    (re.compile(r"^\[P3\] Table (\d) \w+ took"), lambda m: (3, int(m.group(1)) - 1), False),
    (re.compile(r"^Phase 3 took"), (4, 0), False),
    (re.compile(r"^Phase 4 took"), (4, 2), False),
    (re.compile(r"^Total plot creation time"), (5, 0), False),
    (re.compile(r"^(?:Renamed final plot to|Copy to) .*/(plot-k[^/ ]*)\.plot(?: finished|$)"), "madmax-done", False),
]
MARKS = {"chiapos": CHIAPOS_MARKS, "madmax": MADMAX_MARKS, "bladebit": BLADEBIT_MARKS,
         "bladebit_cuda": BLADEBIT_CUDA_MARKS, "gigahorse": GIGAHORSE_MARKS}


class Oracle:
    """Expected (number of plots started, phase, minor) of the newest plot after each line."""

    def __init__(self, plotter):
        self.plotter = plotter
        self.marks = MARKS[plotter]
        self.plots = 0
        self.step = (0, 0)
        self.header = {}
        self.disk = False

    def see(self, raw):
        line = _ANSI.sub("", raw).rstrip("\r")
        if line.startswith("Plot Name: "):
            self.header["name"] = line[11:].strip()
        if line.startswith(("Working Directory 2:", "Final Directory:")):
            self.header[line.split(":")[0]] = line.split(":", 1)[1].strip().rstrip("/")
        if line.startswith("[Bladebit Disk Plotter]"):
            self.disk = True
        for regex, expect, new_plot in self.marks:
            m = regex.search(line)
            if not m:
                continue
            if new_plot:
                self.plots += 1
                self.step = (0, 0)
            if expect == "madmax-total":
                same = self.header.get("Working Directory 2") == self.header.get("Final Directory")
                expect = (5, 2) if same else (5, 0)
            elif expect in ("madmax-started", "madmax-done"):  # only the plot named in the line; may be older
                mine = m.group(1) == self.header.get("name")
                done = (5, 2) if self.plotter == "madmax" else (5, 1)   # Gigahorse keeps plotfleet's 5:1
                expect = ((5, 1) if expect == "madmax-started" else done) if mine else self.step
            elif expect == "bladebit-phase-done":
                done = int(m.group(1))
                expect = (4, 0) if self.disk and done == 3 else (done + 1, 0)
            elif callable(expect):
                expect = expect(m)
            if expect > self.step or new_plot:
                self.step = expect
            break
        return self.plots, self.step


def walk(path, plotter=None, parser=None, check=True):
    """Feed a fixture line by line, checking the parser against the oracle after every line."""
    lines = read_lines(path)
    plotter = plotter or model.detect_plotter("\n".join(lines[:200]))
    assert plotter, path
    parser = parser or model.parser_for(plotter)
    oracle = Oracle(plotter)
    best = {}
    for number, line in enumerate(lines, 1):
        parser.feed(line)
        nplots, step = oracle.see(line)
        if not check:
            continue
        where = "%s:%d %r" % (os.path.basename(path), number, line[:80])
        started = [p for p in parser.plots if p["id"] or p["phase"] > 0]
        assert len(started) == nplots, where
        if nplots:
            cur = started[-1]
            assert model.step_tuple(cur["step"]) == step, (where, cur["step"], step)
            assert cur["phase"] == step[0], where
        for p in parser.plots:
            assert 0.0 <= p["progress"] <= 1.0, where
            assert p["progress"] >= best.get(p["index"], 0.0), ("progress went back", where)
            best[p["index"]] = p["progress"]
            assert (p["progress"] == 1.0) == (p["state"] == "finished"), where
    return parser


# ---------------------------------------------------------------- a block fed at once vs line by line
def state_json(parser):
    return json.dumps(parser.state(), sort_keys=True)


def per_line(plotter, lines, state=None):
    """A parser fed each line with feed() (the reference of every fast path over blocks)."""
    parser = model.parser_for(plotter, state)
    for line in lines:
        parser.feed(line)
    return parser


def assert_block_is_per_line(plotter, lines):
    """feed_text of the lines at once, and resumed after every line, ends where feed() of each line does."""
    expected = state_json(per_line(plotter, lines))
    block = model.parser_for(plotter)
    block.feed_text("\n".join(lines))
    assert state_json(block) == expected
    for cut in range(1, len(lines)):
        resumed = model.parser_for(plotter, json.loads(state_json(per_line(plotter, lines[:cut]))))
        resumed.feed_text("\n".join(lines[cut:]))
        assert state_json(resumed) == expected, "cut after line %d" % cut


# A fast path over a run of lines (chiapos_blocks/chiapos_phases, madmax.RUNS, bladebit.RUNS) against feed() of
# each line, from a given parser state (a JSON copy of it: the state is never shared between parsers).
def per_line_state(plotter, state, lines):
    """state_json of a parser resumed from `state` and fed each line with feed()."""
    return state_json(per_line(plotter, lines, json.loads(json.dumps(state))))


def per_line_states(plotter, state, lines):
    """state_json before the lines and after each one, fed with feed() from `state`."""
    parser = model.parser_for(plotter, json.loads(json.dumps(state)))
    states = [state_json(parser)]
    for line in lines:
        parser.feed(line)
        states.append(state_json(parser))
    return states


def fed_text(plotter, state, lines):
    """A parser resumed from `state` and given the lines at once with feed_text()."""
    parser = model.parser_for(plotter, json.loads(json.dumps(state)))
    parser.feed_text("\n".join(lines))
    return parser


def assert_chunked_as_per_line(plotter, state, lines, label=None):
    """feed_text of the lines cut in two at every line: the first part ends where feed() of its lines does, and the
    second, resumed from the first's state, where feed() of all of them does."""
    expected = per_line_states(plotter, state, lines)
    for cut in range(len(lines) + 1):
        first = fed_text(plotter, state, lines[:cut])
        assert state_json(first) == expected[cut], (label, cut)
        if cut < len(lines):
            rest = fed_text(plotter, first.state(), lines[cut:])
            assert state_json(rest) == expected[-1], (label, cut)


def digit_variants(line):
    """The line with its first digit changed five ways (another script's digit, a leading 0, a letter before it,
    the digit +1 and -1), each as a one-line variant; none for a line without a digit."""
    digit = next((i for i, c in enumerate(line) if c.isdigit()), None)
    if digit is None:
        return []
    out = [[line[:digit] + "\u0663" + line[digit + 1:]], [line[:digit] + "0" + line[digit:]],
           [line[:digit] + "x" + line[digit:]]]
    return out + [[line[:digit] + str((int(line[digit]) + step) % 10) + line[digit + 1:]] for step in (1, 9)]


def date_swaps(window, dated):
    """(i, j, lines): the window with line i's trailing chiapos date changed and line j's removed, for each two
    of the `dated` line numbers."""
    for i in dated:
        for j in dated:
            if i != j:
                lines = list(window)
                lines[i] = lines[i][:-24] + "Mon Nov 30 11:22:33 2026"
                lines[j] = lines[j][:-25]
                yield i, j, lines
