"""Block selectors of the GPU parsers (gigahorse, bladebit_cuda): a line their selector skips changes nothing
when fed on its own, in every kind of state of the fixtures (plotting, copying while the next plot runs,
finished, failed); the line that may hold its marker anywhere (a thread's failure, the rename) is taken only
in a block that holds it, and then wherever it is."""

import json

import pytest
from logs_testlib import fixture_path, read_lines

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import bladebit_cuda, gigahorse, model

ID = "3adafaf106b85b2f5f53e727358c0c54a0fc63f644bc635f303c4eefb75c64d7"
WORDS = {
    "gigahorse": ["[P1] Table 1 took 1 sec", "[P3] Table 2 PDSK took 1 sec", "Phase 1 took 1 sec",
                  "Plot Name: plot-k32-c8-2026-11-30-10-50-" + ID, "Crafting plot 1 out of 3",
                  "Total plot creation time was 1 sec", "Started copy to /x/y.plot",
                  "Copy to /x/y.plot finished, took 1 sec", "Copy to /x/y.plot failed with: e",
                  "Renamed final plot to /x/y.plot", "Waiting for disk flush", "Flushing to disk took 1 sec",
                  "All destinations are busy or full", "Reached maximum number of plots in tmpdir",
                  "Reached maximum number of total parallel copies", "Waiting for 10 GiB available space on: /x",
                  "terminate called", "Double Ctrl-C pressed", "Number of Plots: 3", "Working Directory: /x",
                  "Working Directory 2: /y", "Final Destination: /z", "GPU thread failed with: x"],
    "bladebit_cuda": ["Generating plot 1 / 3: " + ID, "Generating F1", "Will create 3 plots",
                      "Completed writing plot in 1 seconds", "*** Panic", "*** Crashed", "Fatal Error",
                      "CUDA error", "Failed to write to plot", "[PlotWriter] Error: Failed to rename",
                      "[PlotWriter] Error: Could not rename", "[PlotWriter] Retrying",
                      "Plot temporary file: /x/plot-k32-c07-2026-11-30-10-50-%s.plot.tmp" % ID,
                      "No space left in plot output directory", "Error x", "WARNING: Deleting plot",
                      "Table 1 completed in 1", "Completed Phase 1 in 1 seconds", "Marked Table 2 in",
                      "Compressing tables 1 and 2", "Compressing Table 1 and", "Step 1 completed step in",
                      "Completed table 1 in", "Completed Plot 1 in 1 seconds", "Finished F1 in",
                      "Checking 100 random proofs", "/x/a.plot.tmp -> /x/a.plot", "Progress update: 1"],
}
WRAPPERS = {"gigahorse": ["[2023/05/12 17:08:33] ", "[Sep 24 10:50:53] ", "2026-11-28T20:21:09 ", "Sep 24 10:50:53 "],
            "bladebit_cuda": ["[Sep 24 10:50:53] ", "host bladebit_cuda[4991]: ", "STDERR: ",
                              "Sep 24 10:50:53 host bladebit_cuda[4991]: ", "2026-11-28T20:21:09 "]}
LOGS = {"gigahorse": ["synthetic-gigahorse-n3-copy-overlap.log", "synthetic-gigahorse-v3-remote-infinite.log"],
        "bladebit_cuda": ["synthetic-bladebit-cuda-n3-check.log", "synthetic-bladebit-cuda-n0-forever.log"]}
SELECTORS = {"gigahorse": (gigahorse._SELECT_RE, gigahorse._SELECT_FAILED_RE, gigahorse._THREAD_FAILED),
             "bladebit_cuda": (bladebit_cuda._SELECT_RE, bladebit_cuda._SELECT_RENAMED_RE, bladebit_cuda._RENAMED)}


def _candidates(plotter):
    """The fixture lines, every prefix of each word (+ a tail, indented or not), the words behind wrappers."""
    lines = set()
    for name in LOGS[plotter]:
        lines.update(read_lines(fixture_path(name)))
    for word in WORDS[plotter]:
        for k in range(len(word) + 1):
            lines.update(word[:k] + tail for tail in ("", "x", " 1"))
        lines.update(lead + word + tail for lead in ("  ", " \t") for tail in ("", "x", " 1"))
        for wrapper in WRAPPERS[plotter]:
            lines.update((wrapper + word, wrapper + "  " + word, " " + wrapper + word))
    return sorted(lines)


def _taken(plotter, line):
    """Whether _scan hands the line to _line when it is a block of its own."""
    plain, marked, marker = SELECTORS[plotter]
    clean = "\n" + model.clean_line(line)
    return bool((marked if marker in clean else plain).match(clean))


def _states(name, plotter):
    """The parser state where each plot of the log first takes each of its states, and at the log's end."""
    parser = model.parser_for(plotter)
    seen, states = set(), []
    for line in read_lines(fixture_path(name)) + [""]:
        parser.feed(line)
        key = (len(parser.plots), parser.plots[-1]["state"] if parser.plots else None)
        if key not in seen or not line:
            seen.add(key)
            states.append(json.loads(json.dumps(parser.state())))
    return states


@pytest.mark.parametrize("plotter", sorted(WORDS))
def test_lines_the_selector_skips_change_nothing(plotter):
    skipped = [line for line in _candidates(plotter) if not _taken(plotter, line)]
    assert len(skipped) > 500
    kinds = set()
    for name in LOGS[plotter]:
        for state in _states(name, plotter):
            kinds.update(p["state"] for p in state["plots"])
            for line in skipped:
                parser = model.parser_for(plotter, state)
                parser.feed(line)
                assert parser.state() == state, (name, line)
    assert kinds >= {"plotting", "copying", "finished"}


@pytest.mark.parametrize("plotter,line,where", [
    ("gigahorse", "GPU thread failed with: out of memory", "[P1] Table 3 took"),
    ("gigahorse", "  copy thread failed with: disk gone", "Phase 2 took"),
    ("bladebit_cuda", "/mnt/nvme/plots/x.plot.tmp -> /mnt/nvme/plots/x.plot", "Table 3 completed"),
])
def test_a_line_marked_anywhere_is_read_in_any_block(plotter, line, where):
    """The marked line inside a block (whole, and in chunks at every split around it) counts as fed alone."""
    lines = read_lines(fixture_path(LOGS[plotter][0]))
    cut = next(i for i, text in enumerate(lines) if where in text) + 1
    lines = lines[:cut] + [line] + lines[cut:]
    one = model.parser_for(plotter)
    for text in lines:
        one.feed(text)
    block = model.parser_for(plotter)
    block.feed_text("\n".join(lines))
    assert block.state() == one.state()
    for split in range(cut - 2, cut + 3):
        first = model.parser_for(plotter)
        first.feed_text("\n".join(lines[:split]))
        second = model.parser_for(plotter, json.loads(json.dumps(first.state())))
        second.feed_text("\n".join(lines[split:]))
        assert second.state() == one.state(), split
    assert one.state() != _fed(plotter, lines[:cut] + lines[cut + 1:])


def _fed(plotter, lines):
    parser = model.parser_for(plotter)
    for text in lines:
        parser.feed(text)
    return parser.state()
