"""chiapos' phase 2 (chiapos_phases: `Time for phase 1` .. `Compressing tables 1 and 2` and its progress line) read
with one selector match gives the states feed() of each line gives: after every line, fed whole or as chunks split
at every line, with each line changed, dropped, doubled or something put before it (then the run is read line by
line again), after other lines, and with the lines of no handler holding the text that makes _line read them."""

import json

import pytest
from logs_testlib import assert_chunked_as_per_line, date_swaps, fixture_path, read_lines
from test_chiapos_blocks import _fed_text, _per_line, _state, _variants

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import chiapos, chiapos_phases, model

# (log, lines before `Time for phase 1` in the window, lines after the line that starts phase 3's first table)
RUNS = {
    "new chiapos": ("chiapos-k18-rename.log", 4, 3),
    "progress updates, a copy": ("chiapos-k20-tmp2-crossdevice.log", 2, 2),
    "plotman's k32, no progress updates": ("plotman__chianetwork.plot.log", 3, 2),
}
_HEADS = {}


def _run(name):
    """(the state before the window, the window): the plot's lines before it fed one by one."""
    log, before, after = RUNS[name]
    if name not in _HEADS:
        lines = read_lines(fixture_path(log))
        start = next(i for i, line in enumerate(lines) if line.startswith("Time for phase 1"))
        stop = next(i for i in range(start, len(lines)) if lines[i].startswith("Compressing tables 1 and 2"))
        parser = model.parser_for("chiapos")
        for line in lines[:start - before]:
            parser.feed(line)
        _HEADS[name] = (parser.state(), lines[start - before:stop + 1 + after])
    state, window = _HEADS[name]
    return json.loads(json.dumps(state)), list(window)


def _kinds(lines):
    return [match.lastgroup for match in chiapos._SELECT_RE.finditer("\n" + "\n".join(lines))]


@pytest.mark.parametrize("name", sorted(RUNS))
def test_phase_2_is_one_match(name):
    """The mechanism is in use on the real runs (else the other tests here test the per-line reading only), and
    its reader's short cut (not the per-line reading) reads them."""
    state, window = _run(name)
    assert _kinds(window).count("phase2") == 1
    assert "backprop" not in _kinds(window)
    parser = model.parser_for("chiapos", state)
    calls = []
    parser._line = lambda line: calls.append(line)
    parser.feed_text("\n".join(window))
    assert not [line for line in calls if line.startswith(("Backpropagating", "Time for phase", "table 1"))]


@pytest.mark.parametrize("name", sorted(RUNS))
def test_after_every_line_and_chunked_at_every_line(name):
    state, window = _run(name)
    assert_chunked_as_per_line("chiapos", state, window, name)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_every_line_changed_reads_as_feed_reads_it(name):
    state, window = _run(name)
    for at, line in enumerate(window):
        following = window[at + 1] if at + 1 < len(window) else ""
        if line.startswith("\tBucket") and following.startswith("\tBucket"):
            continue   # read as the lines next to them (the test's time)
        variants = _variants(line) + [[line + " Starting plot 1/2"], [line + " Creating 2 plots of size 32"],
                                      ["Progress update: 0.99", line], ["Progress update: 0.3", line]]
        for variant in variants:
            lines = window[:at] + variant + window[at + 1:]
            assert _state(_fed_text(state, lines)) == _per_line(state, lines), (name, at, variant)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_run_after_other_lines_or_without_a_plot(name):
    """After a retried error (phase 1's time clears it), a fatal one, a later step than phase 1 (the run cannot
    move the plot back), a finished plot, progress lines, a computation pass line (ctx["pass"] = 1), no phase line
    at all, and with no plot before it."""
    state, window = _run(name)
    heads = (["Only wrote 0 of 10 bytes"], ["Caught plotting error: x"], ["Could not copy x"],
             ["Compressing tables 3 and 4"], ["Starting phase 2/4: x"], ["Approximate working space used: 1 GiB"],
             ["Renamed final file from \"/a/p.plot.2.tmp\" to \"/a/p.plot\""], ["Progress update: 0.7"],
             ["Progress update: 1.5"], ["\tFirst computation pass time: 1.0 seconds."])
    cut = next(i for i, line in enumerate(window) if line.startswith("Compressing tables 1 and 2")) + 1
    if window[cut].startswith("Progress update: "):
        cut += 1
    for head in heads:
        for lines in (head + window, head + window[:cut]):   # the run with later lines, and ending with the run
            assert _state(_fed_text(state, lines)) == _per_line(state, lines), (name, head, len(lines))
    fresh = model.parser_for("chiapos").state()
    assert _state(_fed_text(fresh, window)) == _per_line(fresh, window)
    header = read_lines(fixture_path("chiapos-k18-rename.log"))[:7]   # a plot that never started phase 1
    assert _state(_fed_text(fresh, header + window)) == _per_line(fresh, header + window)


def test_the_dates_the_run_leaves():
    """Only the newer phase time's date counts (ctx["last_ts"]): each of the two with another date and the other
    with none, and dates pending from before the run (a total time)."""
    state, window = _run("new chiapos")
    dated = [i for i, line in enumerate(window) if line.startswith("Time for phase")]
    assert len(dated) == 2
    for i, j, lines in date_swaps(window, dated):
        assert _state(_fed_text(state, lines)) == _per_line(state, lines), (i, j)
    lines = ["Total time = 1.0 seconds. CPU (1%) Mon Nov 30 11:22:33 2026"] + window
    assert _state(_fed_text(state, lines)) == _per_line(state, lines)


def test_high_is_the_steps_progress():
    """HIGH: the progress phase 2's steps leave on a plot at 0, as set_step computes them (the short cut's only
    constant)."""
    parser = model.parser_for("chiapos")
    plot = parser.start_plot()
    parser.set_step(plot, 3, 1)
    assert chiapos_phases.HIGH == [plot["progress"]]
