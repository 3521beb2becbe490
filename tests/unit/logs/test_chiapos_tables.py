"""chiapos' table lines (`Computing table N`, `Backpropagating on table N`, `Compressing tables N and N+1`, each
with the `Progress update` after it) move the plot inline where they only move the newest plot forward
(ChiaposParser._scan_lines): every kind and number, after a bucket run or not, with each progress value, from
every step a plot can be at (before, at and after the line's own, a retried or fatal error, finished, none),
read as feed() of each line reads them, whole and resumed."""

import json

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import chiapos, model

HEADER = ["Starting plotting progress into temporary dirs: /t1 and /t2", "ID: " + "cd" * 32, "Plot size is: 18",
          "Using 32 buckets", "Starting phase 1/4: Forward Propagation into tmp files... Sun Nov 29 01:58:46 2026"]


def _bucket(n):
    return "\tBucket %d uniform sort. Ram: 0.6GiB, u_sort min: 0.1GiB, qs min: 0.1GiB." % n


CONTEXTS = {
    "no plot": [],
    "phase 1 start": HEADER,
    "1:3": HEADER + ["Computing table 3", _bucket(30)],
    "1:7": HEADER + ["Computing table 7"],
    "2:3": HEADER + ["Starting phase 2/4: x", "Backpropagating on table 5", _bucket(31)],
    "2:7": HEADER + ["Starting phase 2/4: x", "table 1 new size: 5"],
    "3:2, pass 1": HEADER + ["Starting phase 3/4: x", "Compressing tables 2 and 3", "\tFirst computation pass"],
    "3:6": HEADER + ["Starting phase 3/4: x", "Compressing tables 6 and 7", _bucket(12)],
    "4:1": HEADER + ["Starting phase 4/4: x", "\tStarting to write C1 and C3 tables"],
    "5:0": HEADER + ["Approximate working space used (without final file): 1 GiB"],
    "finished": HEADER + ['Renamed final file from "/d/p.plot.2.tmp" to "/d/p.plot"'],
    "retried error": HEADER + ["Computing table 2", "Only wrote 0 of 10 bytes"],
    "retried error, 2:2": HEADER + ["Starting phase 2/4: x", "Backpropagating on table 6", "Could not copy x"],
    "fatal error": HEADER + ["Computing table 2", "Caught plotting error: x"],
}
LINES = ["Computing table %s", "Backpropagating on table %s", "Compressing tables %s and 9"]
NUMBERS = ["1", "2", "3", "4", "5", "6", "7", "0", "8", "07"]
PROGRESS = [None, "0.5", "1", "x"]
RUNS = [[], [_bucket(2), _bucket(31)]]   # the first line of a block is a piece of its own: two


def _state(parser):
    return json.dumps(parser.state(), sort_keys=True)


_CONTEXT_STATES = {}


def _context_state(name):
    if name not in _CONTEXT_STATES:
        parser = model.parser_for("chiapos")
        for line in CONTEXTS[name]:
            parser.feed(line)
        _CONTEXT_STATES[name] = json.dumps(parser.state())
    return json.loads(_CONTEXT_STATES[name])


def _assert_reads_as_feed(name, lines):
    expected = model.parser_for("chiapos", _context_state(name))
    for line in lines:
        expected.feed(line)
    resumed = model.parser_for("chiapos", _context_state(name))
    resumed.feed_text("\n".join(lines))
    assert _state(resumed) == _state(expected), (name, lines)


@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_every_table_line_reads_as_feed_reads_it(name):
    for line in LINES:
        for number in NUMBERS:
            for progress in PROGRESS:
                for run in RUNS:
                    lines = run + [line % number] + ([] if progress is None else ["Progress update: " + progress])
                    _assert_reads_as_feed(name, lines)


def test_whole_log_with_every_table_line():
    """A fresh parser, the header and the lines in one block (the runs before them in the same block)."""
    lines = list(HEADER)
    for line in LINES:
        for number in NUMBERS:
            lines += [_bucket(int(number) * 4), line % number, "Progress update: 0.%s" % number]
    expected = model.parser_for("chiapos")
    for line in lines:
        expected.feed(line)
    block = model.parser_for("chiapos")
    block.feed_text("\n".join(lines))
    assert _state(block) == _state(expected)


def test_the_usual_numbers_take_the_inline_path():
    """The numbers chiapos prints (1..7) have a precomputed step (the inline path); others go the generic way."""
    for kind in ("computing", "backprop", "compressing"):
        assert sorted(chiapos._TABLE_STEPS[kind]) == ["1", "2", "3", "4", "5", "6", "7"]
        for number, (phase, minor, text, start) in chiapos._TABLE_STEPS[kind].items():
            assert (phase, minor) == chiapos._table_step(kind, int(number)) and text == "%d:%d" % (phase, minor)
            plot = model.new_plot("chiapos", 1)
            parser = model.parser_for("chiapos")
            parser.plots.append(plot)
            parser.set_step(plot, phase, minor)
            assert plot["progress"] == start, (kind, number)
