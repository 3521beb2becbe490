# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""chiapos' phase 2 read with one selector match (logs/chiapos.py, _scan), from `Time for phase 1` to phase
3's first table line.

Phase 2 has no bucket lines (but in chiapos' `without bitfield` mode, which prints other lines: not this
pattern): its ~30 lines, from phase 1's time to `Compressing tables 1 and 2` (and its `Progress update`),
follow each other with nothing a pattern must walk, and the selector stopped at ~9 of them (the boundary, six
`Backpropagating` lines, `table 1 new size` with phase 2's boundary, the first `Compressing` line), each a
match and a pass of _scan's loop. PHASE2 takes the run in its usual shape only, every line whole: the lines
the handlers act on as in chiapos_blocks (plain ASCII decimals, no timestamp prefix), the others (`scanned
table N`, `scanned ...`, `sorting table N`, `sort ...`, `Wrote: N`, blank lines) by their start, the rest of
such a line as `[^\n]*` (sre walks a literal at one opcode a character, a `[^\n]*` in a tight loop: the
literal-for-literal pattern cost 4.8 us a phase warm, more than the selector's nine matches, 7.4 us; this one
2.2 us). Those lines have no handler: _line would read one only if it held `Starting plot ` or `Creating `
(_python_line), so read_phase2 reads the run line by line where the matched text holds either. Anything else
(a chunk that ends inside phase 2, a line between, another wording) fails the pattern: the selector's other
alternatives then read the lines one by one as before (the attempt costs a walk over phase 2's short lines,
no bucket line).

read_phase2 leaves what feed() of each line leaves. The run's steps only move forward from phase 1 (2:0,
2:1..2:6, 2:7, 3:0, 3:1): each sets ctx["sub"] to 0 and raises progress to its start, phase 2's time sets
2:7 done (the same value: its span is (1, 1)), so the progress they leave is the highest of those values
(HIGH, computed once by running them on a probe plot), the plot's own and the `Progress update` values (bump:
the plot is not finished: finish() leaves it in phase 5); phase 1's time, set_sub(1.0) in phase 1, sets
progress to at most phase 1's end, below HIGH, and ctx["sub"] to 1.0, which the next step resets: it leaves
nothing, but for a retried error it clears (see below); the phase times, the phase 3 path, ctx["pass"] = 0 and
the dates as the handlers leave them (only the newer of the two phase times' dates can count: both replace
ctx["last_ts"]). Where the plot is not in phase 1 or a retried error is in ctx, the lines are read one by one
by _line (the reference) instead.

A bucket run right before the match is skipped unread, as before chiapos_blocks' boundary (the set_sub(1.0)
of phase 1's time dominates it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

_NUMBER = r"[0-9]+(?:\.[0-9]+|)"   # optional parts as `(?:X|)`, not `(?:X)?`: see chiapos_blocks
TABLES = (7, 6, 5, 4, 3, 2)


def _backprop(n):
    return (r"\nBackpropagating on table %d(?:\nProgress update: (?P<q_p%d>[^\n]*)|)"
            r"\nscanned table %d\nscanned [^\n]*\nsorting table %d(?:\nsort [^\n]*|)" % (n, n, n, n))


# Group names are prefixed (q_): the pattern is part of chiapos' selector (an alternative before chiapos_blocks'
# BOUNDARY, which takes `Time for phase 1` where this one fails).
PHASE2 = (
    r"Time for phase 1 = (?P<q_s1>" + _NUMBER + r") seconds[^\n]*"
    r"(?:\nWrote: [0-9]+|)"
    r"\n+Starting phase 2/4: [^\n]*"
    + "".join(_backprop(n) for n in TABLES) +
    r"\ntable 1 new size[^\n]*"
    r"\n(?P<q_time2>Time for phase 2 = (?P<q_s2>" + _NUMBER + r") seconds[^\n]*)"
    r"(?:\nWrote: [0-9]+|)"
    r"\n+(?P<q_start3>Starting phase 3/4: [^\n]*)"
    r"\nCompressing tables 1 and 2(?![0-9])[^\n]*(?:\nProgress update: (?P<q_p1>[^\n]*)|)(?P<phase2>)")
_PROGRESS = tuple("q_p%d" % n for n in TABLES) + ("q_p1",)
HIGH = []   # [the progress the run's steps leave on a plot at 0]: set by chiapos (set_high), which has the parser


def set_high(parser_class):
    """HIGH from a probe plot in phase 1 at progress 0, the run's steps applied as the handlers apply them."""
    probe = parser_class()
    plot = probe.start_plot()
    probe.set_step(plot, 1, 1)
    plot["progress"] = 0.0
    for minor in (0, 1, 2, 3, 4, 5, 6, 7):
        probe.set_step(plot, 2, minor)
    probe.set_sub(plot, 1.0)
    probe.set_step(plot, 3, 0)
    probe.set_step(plot, 3, 1)
    HIGH[:] = [plot["progress"]]


def read_phase2(parser, plot, match, dates):
    ctx = parser.ctx
    text = match.group()
    if plot["phase"] != 1 or "retry_error" in ctx or "Creating " in text or "Starting plot " in text:
        # read by _line, the reference
        if dates:
            parser._last_date(dates)
        for line in text.split("\n"):
            if line:
                parser._line(line)
        return
    seconds1, time2, seconds2, start3 = match.group("q_s1", "q_time2", "q_s2", "q_start3")
    phase_seconds = plot["phase_seconds"]
    phase_seconds["1"] = float(seconds1)
    high = HIGH[0]
    if high > plot["progress"]:
        plot["progress"] = high
    for value in match.group(*_PROGRESS):
        if value is not None:
            parser._progress(plot, value)
    plot["phase"] = 3
    plot["step"] = "3:1"
    ctx["sub"] = 0.0
    ctx["pass"] = 0
    phase_seconds["2"] = float(seconds2)
    dates.append((time2, False))   # replaces phase 1's date in ctx["last_ts"] (see _last_date)
    parser._phase3_path(plot, start3)


READERS = {"phase2": read_phase2}
