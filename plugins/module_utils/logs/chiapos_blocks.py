# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""chiapos' once-a-plot runs of lines, each read with one selector match (logs/chiapos.py, _scan).

A plot's header (`Starting plotting progress` .. `Starting phase 1/4`), each phase boundary (`Time for
phase N` .. `Starting phase N+1/4`) and phase 4's end with the plot's (`\tFinished writing C1 and C3` ..
`Renamed final file`): ~20 selected lines a plot, each once a plot. Read one by one, each is the first of
its kind in a call (a cold dispatch and handler, 5-30 us after bench_parser's gc.collect()).
The patterns take a run only in its usual shape, every line whole, with nothing the per-line handlers
would read differently (numbers as plain ASCII decimals float/int read alike, no timestamp prefix, no
line between): then the readers below do what the handlers do, line by line, in the same order. Anything
else (a chunk that ends inside the run, another version's wording, a line between) fails the pattern and
the lines are read one by one as before.

A bucket run right before a phase boundary or the end is skipped unread (as before a `Time for phase`
line): the run's set_sub is in the plot's current step, and the boundary's phase time sets that step
done (set_sub(1.0)) before anything moves on; the end moves past phase 4 and sets the sub-step done at
phase 5. Nothing between reads the state, and a retried error the run would clear is cleared by the
first set_sub of the block (set_step returns early only where it would not move).
"""

from __future__ import absolute_import, division, print_function

import sys

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

__metaclass__ = type

# An optional part is written `(?:X|)` (X, else nothing: what `(?:X)?` matches, in the same order), not `(?:X)?`:
# sre runs `(?:X)?` of a multi-character X as a REPEAT, whose try of X pushes a copy of every capture mark set so
# far in the match onto its data stack (~1 KB a copy at these groups' numbers; the stack, freed after each match
# of a finditer, grows again by realloc and copying); an alternation outside any repeat copies none (sre needs
# the copies only inside a repeat). The phase-4 table lines' `*`: possessive where sre has it (3.11+), which pops
# each try's copy (nothing after it can take a `\n\t` line back).
_NUMBER = r"[0-9]+(?:\.[0-9]+|)"
_LINES_TAIL = "*+" if sys.version_info >= (3, 11) else "*"

# Group names are prefixed (h_, b_, c_, e_): they are part of chiapos' selector, whose other names must not clash.
HEADER = (
    r"S(?P<header>tarting plotting progress into temporary dirs: (?P<h_dirs>[^\n]*)"
    r"\nID: (?P<h_id>[^\n]*)"
    r"\nPlot size is: (?P<h_k>[0-9]+)"
    r"\nBuffer size is: (?P<h_buffer>[0-9]+)MiB"
    r"\nUsing (?P<h_buckets>[0-9]+) buckets"
    r"(?:\nFinal Directory is: (?P<h_final>[^\n]*)|)"
    r"\nUsing (?P<h_threads>[0-9]+) threads of stripe size [0-9]+"
    r"(?:\nProcess ID is: [0-9]+|)"
    r"(?:\n+(?P<h_phase1>Starting phase 1/4: [^\n]*)|))")

# A phase's end and the next one's start (`table 1 new size` before phase 2's; C1/C3 right after phase 4's start).
# Two alternatives, each starting with a literal (sre's alternation skips an alternative whose first character
# does not match in a few instructions, but enters one that starts with a group): BOUNDARY_TABLE1 (from `table 1
# new size`, groups c_*) and BOUNDARY (from `Time for phase`, groups b_*); the empty group closing each one names
# it (the match's lastgroup).
_BOUNDARY_TAIL = (
    r"(?P<{p}_phase>[1-3]) = (?P<{p}_seconds>" + _NUMBER + r") seconds(?P<{p}_time>[^\n]*)"
    r"(?:\nWrote: [0-9]+|)"
    r"\n+(?P<{p}_start>Starting phase (?P<{p}_next>[2-4])/4: [^\n]*)"
    r"(?:(?P<{p}_c1c3>\n\tStarting to write C1 and C3[^\n]*)|)(?P<{kind}>)")
BOUNDARY = r"Time for phase " + _BOUNDARY_TAIL.format(p="b", kind="boundary")
BOUNDARY_TABLE1 = r"table 1 new size[^\n]*\nTime for phase " + _BOUNDARY_TAIL.format(p="c", kind="boundary_table1")

# Phase 4 after its C1/C3 buckets, and the plot's end (a copy to another device: `Copied` .. `Removed temp2`).
ENDING = (
    r"\t(?P<ending>Finished writing C1 and C3 tables"
    r"\n\tWriting C2 table[^\n]*"
    r"\n\tFinished writing C2 table[^\n]*"
    r"\n\tFinal table pointers[^\n]*"
    r"(?:\n\t[PC][1-7]: [^\n]*)" + _LINES_TAIL +
    r"\n(?P<e_phase4>Time for phase 4 = (?P<e_p4>" + _NUMBER + r") seconds[^\n]*)"
    r"\nApproximate working space used[^\n]*"
    r"\nFinal File size: [^\n]*"
    r"\n(?P<e_total>Total time = (?P<e_t>" + _NUMBER + r") seconds[^\n]*)"
    r"(?:\n(?P<e_copied>Copied final file from [^\n]*)"
    r"\n(?P<e_copy>Copy time = (?P<e_c>" + _NUMBER + r") seconds[^\n]*)"
    r"\nRemoved temp2 file [^\n]*|)"
    r"\n(?P<e_renamed>Renamed final file from [^\n]*))")


def read_header(parser, match):
    """The header's lines as _starting, _id, _plot_size, _buffer, _using, _final and _starting read them."""
    plots = parser.plots
    plot = plots[-1] if plots else None
    if plot is None or plot["id"]:   # the dirs line
        plot = parser.start_plot(parser.ctx.get("count"))
    dirs, pid, k, buffer, buckets, final, threads, phase1 = match.group(
        "h_dirs", "h_id", "h_k", "h_buffer", "h_buckets", "h_final", "h_threads", "h_phase1")
    text = dirs.strip()
    parser.ctx["dirs_text"] = text
    a, sep, b = text.partition(" and ")
    plot["tmp_dir"] = a
    plot["tmp2_dir"] = b if sep else a
    plot["id"] = pid.strip().lower()[:64]   # the plot has no id here: the ID line starts none
    plot["k"] = int(k)
    plot["buffer_mib"] = int(buffer)
    plot["buckets"] = int(buckets)
    if final is not None:
        plot["dst_dir"] = final.strip()
    plot["threads"] = int(threads)
    if phase1 is not None:
        if plot["started_ts"] is None:
            plot["started_ts"] = model.parse_date(phase1)
        parser.ctx["pass"] = 0
        parser.set_step(plot, 1, 0)


def read_boundary(parser, plot, match, dates, prefix="b"):
    """The lines as _table1_size (BOUNDARY_TABLE1 only: prefix "c"), _dated (the phase's time), _starting and the
    C1/C3 tab line read them."""
    phase, seconds, start, following, c1c3 = match.group(
        prefix + "_phase", prefix + "_seconds", prefix + "_start", prefix + "_next", prefix + "_c1c3")
    if prefix == "c":
        parser.set_step(plot, 2, 7)
    plot["phase_seconds"][phase] = float(seconds)
    dates.append((match.string[match.start(prefix + "_phase") - 15:match.end(prefix + "_time")], False))
    parser.set_sub(plot, 1.0)
    following = int(following)
    if following == 3:
        parser._phase3_path(plot, start)
    parser.ctx["pass"] = 0
    parser.set_step(plot, following, 0)
    if c1c3 is not None:
        parser.set_step(plot, 4, 1)


def read_boundary_table1(parser, plot, match, dates):
    read_boundary(parser, plot, match, dates, "c")


def read_ending(parser, plot, match, dates):
    """The lines as _dated (phase 4's time), _working_space, _dated (total), then for a copy _copied, _dated
    (copy) and _removed, and _renamed read them; `dates` as chiapos' _scan keeps it.

    Left out, as they change nothing the run's later lines leave: the C2 and pointers tab lines (4:2, 0.5,
    4:3: at most phase 4's end, which `Approximate working space used` passes with 5:0; at phase 5 they
    only set_sub, which phase 4's time does with 1.0), `Final File size` (nothing) and the total's 5:0 (the
    plot is there).
    """
    phase4, p4, total, t, copied, copy, c, renamed = match.group(
        "e_phase4", "e_p4", "e_total", "e_t", "e_copied", "e_copy", "e_c", "e_renamed")
    plot["phase_seconds"]["4"] = float(p4)
    dates.append((phase4, False))
    parser.set_sub(plot, 1.0)
    parser.set_step(plot, 5, 0)
    plot["total_seconds"] = float(t)
    dates.append((total, True))
    if copied is not None:
        parser._last_date(dates)
        parser._copied(plot, copied)
        plot["copy_seconds"] = float(c)
        dates.append((copy, True))
        parser.set_sub(plot, 0.9)
        parser.set_step(plot, 5, 2, 0.95)   # Removed temp2 file
    parser._last_date(dates)
    parser._renamed(plot, renamed)


READERS = {"boundary": read_boundary, "boundary_table1": read_boundary_table1, "ending": read_ending}
