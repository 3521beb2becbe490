"""chiapos' block scanner (feed_text) reads each kind of line as feed() does: the lines its selector hands
straight to a handler or a tab-line action (by the line's start), the lines that only hold `Starting plot `
or `Creating ` somewhere, and every other start, in every part of a plot, whole and as a resumed chunk,
right after a run of bucket lines (which the scanner skips unread where the line counts more)."""

import json

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import chiapos, model

BUCKETS = ["\tBucket %d uniform sort. Ram: 0.6GiB, u_sort min: 0.1GiB, qs min: 0.1GiB." % n for n in (0, 1, 2)]
HEADER = ["Starting plotting progress into temporary dirs: /t1 and /t2", "ID: " + "ab" * 32, "Plot size is: 18",
          "Using 4 buckets"]
# Where a line may come: before any plot, and in each part of one (short, so each case costs little).
CONTEXTS = {
    "no plot": [],
    "header": HEADER,
    "phase 1": HEADER + ["Starting phase 1/4: Forward Propagation into tmp files... Sun Nov 29 01:58:46 2026",
                         "Computing table 2"] + BUCKETS,
    "phase 2": HEADER + ["Starting phase 2/4: Backpropagation into tmp files... Sun Nov 29 01:58:47 2026",
                         "Backpropagating on table 3"] + BUCKETS,
    "phase 3": HEADER + ["Starting phase 3/4: Compression from tmp files into \"/t2/p.plot.2.tmp\" ... "
                         "Sun Nov 29 01:58:47 2026", "Compressing tables 2 and 3"] + BUCKETS,
    "phase 4": HEADER + ["Starting phase 4/4: Write Checkpoint tables into \"/t2/p.plot.2.tmp\" ... "
                         "Sun Nov 29 01:58:48 2026", "\tStarting to write C1 and C3 tables"] + BUCKETS,
    "finished": HEADER + ["Starting phase 1/4: x Sun Nov 29 01:58:46 2026", "Total time = 1.0 seconds. CPU (1%) "
                          "Sun Nov 29 01:58:49 2026", "Renamed final file from \"/d/p.plot.2.tmp\" to \"/d/p.plot\""],
    "failed, retried": HEADER + ["Computing table 2", "Only wrote 0 of 10 bytes"],
}
# What may follow a line start: nothing, junk, and what each kind of line carries.
TAILS = ["", "x", " ", "\t", "1", "3", " 3", "0", "9", "3x", "3 and 4", "128 buckets", "2 threads of stripe size 65536",
         "5000MiB", "32", "ab" * 32, "AB" * 32 + " ", "/d/final", "2 = 0.5 seconds. CPU (1%) Sun Nov 29 01:58:46 2026",
         "= 2.5 seconds. CPU (1%) Sun Nov 29 01:58:50 2026", "1/4: x Sun Nov 29 01:58:46 2026",
         '3/4: into "/t2/p.plot.2.tmp" Sun Nov 29 01:58:47 2026', 'plotting progress into temporary dirs: /a and /b',
         '"/d/p.plot.2.tmp" to "/d/p.plot"', '"/t/p.plot.2.tmp" to "/d/p.plot.2.tmp"', "plot 2/3",
         "plotting error: x", "rename, Retrying in five minutes.", "wrote 0 of 10 bytes", ": 208766", "(x): 1 GiB"]
WORDS = [word for word, _kind in chiapos._LINE_STARTS]


def _state(parser):
    return parser.state()


def _per_line(lines, state=None):
    parser = model.parser_for("chiapos", state)
    for line in lines:
        parser.feed(line)
    return parser


_HEAD_STATES = {}


@pytest.fixture
def zone_utc(zone):
    """UTC, where `Thu Jan  1 00:00:00 1970` is 0.0."""
    zone("UTC0")
    _HEAD_STATES.clear()
    yield
    _HEAD_STATES.clear()


def _assert_block_reads_as_lines(head, lines):
    key = "\n".join(head)
    if key not in _HEAD_STATES:
        _HEAD_STATES[key] = json.dumps(_state(_per_line(head)))
    expected = _state(_per_line(lines, json.loads(_HEAD_STATES[key])))   # the state round trip is exact
    whole = model.parser_for("chiapos")
    whole.feed_text("\n".join(head + lines))
    assert _state(whole) == expected, lines
    resumed = model.parser_for("chiapos", json.loads(_HEAD_STATES[key]))
    resumed.feed_text("\n".join(lines))
    assert _state(resumed) == expected, lines


@pytest.mark.parametrize("context", sorted(CONTEXTS))
def test_every_line_start_reads_as_feed_reads_it(context):
    for word in WORDS:
        for tail in TAILS:   # after the context's bucket run (0..2 of 4), one lower bucket: a skipped run shows
            _assert_block_reads_as_lines(CONTEXTS[context], [word + tail] + BUCKETS[:1])


MARK_LINES = ["Process ID is: 1 Starting plot 2/3", "chia.plotting.create_plots: Creating 3 plots of size 32",
              "INFO Starting plot 1/1", "x Creating 1 plot of size 25 Starting plot 1/1", "Creating 2 plots of size 32",
              "Starting plot 2/2", "\tTotal matches: 1 Starting plot 2/3", "\tCreating 3 plots of size 32",
              "Using 2 threads Starting plot 2/3", "Final File size: 1 GiB Creating 2 plots", "Starting plot x",
              "Nov 29 01:58:46 Starting plot 2/3", "2026-11-29T01:58:46 x Creating 4 plots of size 18",
              "sort time = 1 Starting plot 2/3 Creating 5 plots", "Starting plotStarting plot 3/4", "Creating x"]


@pytest.mark.parametrize("context", sorted(CONTEXTS))
def test_lines_holding_a_start_mark_are_read(context):
    """chia's logging lines that start a plot or give the count may hold their words anywhere in the line."""
    for line in MARK_LINES:
        _assert_block_reads_as_lines(CONTEXTS[context], BUCKETS + [line] + BUCKETS + ["Computing table 3"])


def test_selector_hands_each_start_to_its_action():
    """A line start with an action in _LINE_STARTS is read by that action; the others by _selected."""
    fast = {"Computing table ": "computing", "Backpropagating on table ": "backprop",
            "Compressing tables ": "compressing", "\tFirst computation pass": "first_pass",
            "\tSecond computation pass": "second_pass", "Progress update: ": "progress"}
    any_tail = ("Progress update: ", "\tFirst computation pass", "\tSecond computation pass")
    for word, kind in chiapos._LINE_STARTS:
        group = chiapos._SELECT_RE.match("\n" + word + "x").lastgroup
        read_as = "line" if group in chiapos._PLAIN else chiapos._KINDS.get(group, group)   # _PLAIN: _selected
        assert read_as == (fast[word] if word in any_tail else kind or "line"), word
        if word in fast:
            assert chiapos._SELECT_RE.match("\n" + word + "3").lastgroup == fast[word]
    assert chiapos._SELECT_RE.match("\nx Starting plot 1/2").lastgroup == "mark"
    assert chiapos._SELECT_RE.match("\n\tx Starting plot 1/2") is None
    assert chiapos._SELECT_RE.match("\nProcess ID is: 1") is None


DATED = ["Time for phase 1 = 1.0 seconds. CPU (1%) Sun Nov 29 01:58:46 2026",
         "Time for phase 2 = 1.0 seconds. CPU (1%)", "Total time = 2.0 seconds. CPU (1%) Sun Nov 29 02:58:46 2026",
         "Total time = 2.0 seconds. CPU (1%)", "Copy time = 3.0 seconds. CPU (1%) Sun Nov 29 03:58:46 2026",
         "Copy time = x", "Total time = x", "Time for phase 3 = 1.0 seconds. Thu Jan  1 00:00:00 1970",
         "Total time = 1.0 seconds. Thu Jan  1 00:00:00 1970",
         "2026-11-29T01:58:46 Time for phase 4 = 4.0 seconds. CPU (1%) Sun Nov 29 04:58:46 2026",
         "Time for phase x = 1.0 seconds. Sun Nov 29 05:58:46 2026"]
ENDINGS = ['Copied final file from "/t/p.plot.2.tmp" to "/d/p.plot.2.tmp"',
           'Copied final file from "/t/p.plot.2.tmp" to "/d/p.plot"',
           'Renamed final file from "/d/p.plot.2.tmp" to "/d/p.plot"']


def test_the_last_date_is_what_the_date_lines_leave(zone_utc):
    """_scan parses a phase/total/copy time's date only where ctx["last_ts"] is read (a plot's final file)
    or at the end: any order of such lines, with and without a date, epoch 0 (a false value) included."""
    import random
    rnd = random.Random(15)
    for _ in range(300):
        lines = [rnd.choice(DATED + ENDINGS + BUCKETS) for _ in range(rnd.randrange(1, 9))]
        _assert_block_reads_as_lines(CONTEXTS[rnd.choice(["header", "phase 3", "finished"])], lines)


def test_a_line_that_raises_leaves_the_same_last_date():
    head = CONTEXTS["phase 1"] + [DATED[0]]
    bad = "Time for phase 2 = 1.2.3 seconds. Sun Nov 29 02:58:46 2026"
    expected = model.parser_for("chiapos")
    with pytest.raises(ValueError):
        for line in head + [bad]:
            expected.feed(line)
    block = model.parser_for("chiapos")
    with pytest.raises(ValueError):
        block.feed_text("\n".join(head + [bad]))
    assert _state(block) == _state(expected)


_TARGET_LINES = [
    'Copied final file from "/t2/plot-k18-ab.plot.2.tmp" to "/dst/plot-k18-ab.plot.2.tmp"',
    'Renamed final file from "/dst/plot-k18-ab.plot.2.tmp" to "/dst/plot-k18-ab.plot"',
    'Renamed final file from /dst/a b.plot.2.tmp to /dst/a to b.plot  ', 'Renamed final file from "a" to "b"\r',
    'Renamed final file from "a"to "b"', 'Renamed final file from " to "', 'Renamed final file from  to ',
    'Renamed final file from "a" to ""\u3000\x1c', 'Renamed final file from "a" to "b""', 'Copied final file from x',
    'Renamed final file from "a" to "b"\n', 'Renamed final file from a\nb to c\n',
    'final file from final file from  to',
    'Renamed file from "a" to "b"', 'Renamed final file from "x" to "y" \x85']


def test_the_target_of_a_copy_or_rename_is_the_regex_group():
    """_target (str methods) gives _FROM_TO_RE's second group, or None where it does not match: the usual lines,
    quotes, whitespace (Unicode too) and ` to ` in odd places, and 20,000 random mixes of the separators."""
    import random
    rng = random.Random(15)
    pieces = ['"', " ", "to", " to ", '" to "', "final file from ", "a", "\t", "\r", "\u3000", "\x85", "\n", '""']
    lines = list(_TARGET_LINES)
    for _ in range(20000):
        line = rng.choice(_TARGET_LINES)
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(0, len(line))
            line = line[:at] + rng.choice(pieces) + line[at + rng.randint(0, 3):]
        lines.append(line)
    for line in lines:
        m = chiapos._FROM_TO_RE.search(line)
        assert chiapos._target(line) == (m.group(2) if m else None), repr(line)
