"""BladeBit CUDA and Gigahorse parsers, fed the SYNTHETIC fixtures line by line (tests/fixtures/logs/README-gpu.md).

After every line an independent table of marker regexes (written here, not taken from the parsers)
gives the expected plot count and the newest plot's phase/step/state; copy and flush lines of an
older plot (Gigahorse) are checked against that plot, found by the file name in the line.
"""

import re

import pytest
from logs_testlib import fed, fixture_path, read_lines

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

BB_PREFIX = re.compile(r"^\[[A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d\] ")
# (regex on the stripped line, expected (phase, minor) or a function of the match, new plot?)
BLADEBIT_CUDA_MARKS = [
    (re.compile(r"^Generating plot \d+(?: / \d+)?: [0-9a-f]{64}"), (0, 0), True),
    (re.compile(r"^Generating F1"), (1, 1), False),
    (re.compile(r"^Finished F1 in"), (1, 2), False),
    (re.compile(r"^Table (\d) completed"), lambda m: (1, min(int(m.group(1)) + 1, 7)), False),
    (re.compile(r"^Completed Phase (\d)"), lambda m: (int(m.group(1)) + 1, 1 if m.group(1) != "3" else 0), False),
    (re.compile(r"^Marked Table (\d)"), lambda m: (2, 8 - int(m.group(1))), False),
    (re.compile(r"^Compressing [Tt]ables? (\d) and"), lambda m: (3, int(m.group(1))), False),
    (re.compile(r"^Completed Plot 1 in"), (5, 0), False),
    (re.compile(r"^/.*\.plot\.tmp -> /.*\.plot$"), (5, 1), False),
]
GIGAHORSE_MARKS = [
    (re.compile(r"^Crafting plot \d+ out of -?\d+"), (0, 0), True),
    (re.compile(r"^Plot Name: plot-k32-c\d+-"), (1, 1), False),
    (re.compile(r"^\[P1\] Table (\d) took"), lambda m: (1, min(int(m.group(1)) + 1, 7)), False),
    (re.compile(r"^Phase 1 took"), (2, 1), False),
    (re.compile(r"^Phase 2 took"), (3, 1), False),
    (re.compile(r"^\[P3\] Table (\d) \w+ took"), lambda m: (3, int(m.group(1)) - 1), False),
    (re.compile(r"^Phase 3 took"), (4, 0), False),
    (re.compile(r"^Phase 4 took"), (4, 2), False),
    (re.compile(r"^Total plot creation time"), (5, 0), False),
]
GIGAHORSE_DONE = re.compile(r"^(?:Copy to .*[/:](\S+) finished|Renamed final plot to .*/(\S+)$)")
STATE_OF_PHASE = {0: "plotting", 1: "plotting", 2: "plotting", 3: "plotting", 4: "plotting", 5: "copying"}


def expectations(lines, marks, prefix=None):
    """[(plots started, (phase, minor))] after each line, from the marker table alone."""
    plots, step, out, newest = 0, (0, 0), [], None
    for raw in lines:
        line = (prefix.sub("", raw) if prefix else raw).strip()
        if line.startswith("Plot Name: "):
            newest = line[11:] + ".plot"
        done = GIGAHORSE_DONE.match(line)
        if done and (done.group(1) or done.group(2)) == newest:   # a copy line of an older plot changes nothing here
            step = (5, 1)
        for regex, expect, new in marks:
            m = regex.search(line)
            if not m:
                continue
            if new:
                plots, step = plots + 1, (0, 0)
            expect = expect(m) if callable(expect) else expect
            if expect > step or new:
                step = expect
            break
        out.append((plots, step))
    return out


def walk_gpu(name, plotter, marks, prefix=None, deleted=()):
    """Feed the fixture; after every line check count, newest plot's step/phase/state, progress rules."""
    lines = read_lines(fixture_path(name))
    assert model.detect_plotter("\n".join(lines[:200])) == plotter
    best = {}
    expected = expectations(lines, marks, prefix)
    for number, ((line, parser), (nplots, step)) in enumerate(zip(fed(name, plotter), expected), 1):
        where = "%s:%d %r" % (name, number, line[:70])
        assert len(parser.plots) == nplots, where
        if nplots:
            cur = parser.plots[-1]
            if cur["index"] in deleted and cur["state"] == "failed":
                assert cur["step"] == "5:0", where  # the check deleted it during the write
            else:
                assert model.step_tuple(cur["step"]) == step, (where, cur["step"], step)
                assert cur["phase"] == step[0], where
                want = "finished" if step == (5, 1) else STATE_OF_PHASE[step[0]]
                assert cur["state"] == want, (where, cur["state"])
        for plot in parser.plots:
            assert plot["progress"] >= best.get(plot["index"], 0.0), ("progress went back", where)
            best[plot["index"]] = plot["progress"]
            assert (plot["progress"] == 1.0) == (plot["state"] == "finished"), where
    return parser


# ------------------------------------------------------------------------------------------- BladeBit CUDA

def test_bladebit_cuda_n3_each_plot_on_the_grid_check_deletion_and_no_space_wait():
    parser = walk_gpu("synthetic-bladebit-cuda-n3-check.log", "bladebit_cuda", BLADEBIT_CUDA_MARKS, deleted=(2,))
    first, second, third = parser.plots
    assert [p["index"] for p in parser.plots] == [1, 2, 3] and {p["count"] for p in parser.plots} == {3}
    for plot in (first, third):
        assert plot["state"] == "finished" and plot["k"] == 32
        assert plot["plot_file"] == "/mnt/nvme/plots/" + plot["plot_name"]
        assert plot["plot_name"].endswith("-%s.plot" % plot["id"]) and "-c07-" in plot["plot_name"]
        assert plot["phase_seconds"] == {"1": 42.56, "2": 12.64, "3": 189.95}
        assert plot["total_seconds"] == 245.15 and plot["copy_seconds"] == 72.75
    assert second["state"] == "failed" and second["error"].startswith("WARNING: Deleting plot '/mnt/nvme/plots/")
    assert second["plot_file"] is None and second["progress"] < 1.0
    assert len({p["id"] for p in parser.plots}) == 3


def test_bladebit_cuda_no_space_wait_is_a_warning_until_the_write_goes_on():
    seen = []
    for line, parser in fed("synthetic-bladebit-cuda-n3-check.log", "bladebit_cuda"):
        if len(parser.plots) == 3:
            plot = parser.plots[2]
            if line.startswith("No space left in plot output directory"):
                assert plot["state"] == "copying" and plot["step"] == "5:0"
                assert plot["warning"] == line and plot["error"] is None
                seen.append(line)
            elif line.startswith("Checking "):
                assert plot["warning"] is None and plot["state"] == "copying"
    assert len(seen) == 3


def test_bladebit_cuda_n0_forever_with_ts_prefixes_and_a_live_third_plot():
    parser = walk_gpu("synthetic-bladebit-cuda-n0-forever.log", "bladebit_cuda", BLADEBIT_CUDA_MARKS, BB_PREFIX)
    assert [p["state"] for p in parser.plots] == ["finished", "finished", "plotting"]
    assert [p["count"] for p in parser.plots] == [None, None, None]   # -n 0: no total
    live = parser.plots[2]
    assert live["step"] == "3:4" and live["dst_dir"] == "/mnt/ssd0/out" and live["plot_file"] is None
    assert 0.0 < live["progress"] < 1.0
    assert parser.plots[0]["plot_file"].startswith("/mnt/ssd0/out/plot-k32-c01-2026-11-30-10-50-")


def test_bladebit_cuda_state_round_trip_resumes_mid_log():
    lines = read_lines(fixture_path("synthetic-bladebit-cuda-n3-check.log"))
    whole = model.parse_lines(lines, "bladebit_cuda")
    for cut in (50, 117, 200):
        parser = model.parser_for("bladebit_cuda")
        for line in lines[:cut]:
            parser.feed(line)
        resumed = model.parser_for("bladebit_cuda", parser.state())
        for line in lines[cut:]:
            resumed.feed(line)
        assert resumed.plots == whole, cut


@pytest.mark.parametrize("fatal", [
    "*** Panic!!! *** Fatal Error:",
    "CUDA error: 700 (0x2bc) cudaErrorIllegalAddress : an illegal memory access was encountered",
    "[PlotWriter] Error: Failed to to rename plot file after 10 retries. Please rename manually.",
])
def test_bladebit_cuda_fatal_lines_fail_the_plot_in_flight(fatal):
    lines = read_lines(fixture_path("synthetic-bladebit-cuda-n3-check.log"))
    cut = lines.index("Completed Phase 1 in 42.56 seconds") + 1
    plot = model.parse_lines(lines[:cut] + [fatal], "bladebit_cuda")[0]
    assert plot["state"] == "failed" and plot["error"] == fatal


def test_bladebit_cuda_log_is_not_taken_for_the_ram_plotter():
    head = "\n".join(read_lines(fixture_path("synthetic-bladebit-cuda-n3-check.log"))[:60])
    assert model.detect_plotter(head) == "bladebit_cuda"
    ram = "\n".join(read_lines(fixture_path("plotman__bladebit.plot.log"))[:60])
    assert model.detect_plotter(ram) == "bladebit"


# ------------------------------------------------------------------------------------------- Gigahorse

def plot_named(parser, text):
    name = re.search(r"(plot-k32-c\d+-[0-9-]+-[0-9a-f]{64}\.plot)", text).group(1)
    found = [p for p in parser.plots if p["plot_name"] == name]
    assert len(found) == 1, name
    return found[0]


def test_gigahorse_n3_steps_and_copy_lines_attributed_by_name():
    name = "synthetic-gigahorse-n3-copy-overlap.log"
    walk_gpu(name, "gigahorse", GIGAHORSE_MARKS)
    checked = 0
    for line, parser in fed(name, "gigahorse"):
        if line.startswith(("Started copy to ", "Copy to ")):
            plot = plot_named(parser, line)
            if " finished, took " in line:
                assert plot["state"] == "finished" and plot["plot_file"] == line[8:line.index(" finished")]
                assert plot["copy_seconds"] == float(line.split("took ")[1].split()[0])
            else:
                assert plot["state"] == "copying" and plot["step"] == "5:0"
            if plot is not parser.plots[-1]:
                assert parser.plots[-1]["state"] == "plotting"   # the next plot computes meanwhile
                checked += 1
    assert checked == 6
    first, second, third = parser.plots
    assert [p["state"] for p in parser.plots] == ["finished"] * 3 and {p["count"] for p in parser.plots} == {3}
    assert first["copy_seconds"] == 299.365 and second["copy_seconds"] == 281.22 and third["copy_seconds"] == 288.41
    for plot in parser.plots:
        assert plot["tmp_dir"] == "/mnt/nvme/gh" and plot["tmp2_dir"] is None and plot["dst_dir"] == "/mnt/plot1_31"
        assert plot["k"] == 32
        assert plot["plot_name"] == "plot-k32-c8-%s-%s.plot" % (plot["plot_name"][12:28], plot["id"])
        assert plot["phase_seconds"] == {"1": 52.218, "2": 5.557, "3": 99.734, "4": 3.118}
        assert plot["total_seconds"] == 160.671


def test_gigahorse_waiting_and_failed_copy_lines_are_warnings_on_the_right_plot():
    seen = set()
    for line, parser in fed("synthetic-gigahorse-n3-copy-overlap.log", "gigahorse"):
        if line.startswith("All destinations are busy"):
            assert parser.plots[0]["warning"] == line and parser.plots[1]["warning"] is None
            seen.add("busy")
        elif " failed with: " in line:
            plot = plot_named(parser, line)
            assert plot is parser.plots[0] and plot["warning"] == line and plot["state"] == "copying"
            seen.add("failed")
        elif line.startswith("Reached maximum number of plots in tmpdir"):
            assert parser.plots[2]["warning"] == line and parser.plots[2]["state"] == "copying"
            seen.add("maxtmp")
        elif line.startswith("Started copy to ") and parser.plots[0]["state"] == "copying":
            assert parser.plots[0]["warning"] is None   # the copy goes on: the wait is over
        elif line.startswith("Flushing to disk took"):
            flushed = [p for p in parser.plots if p["state"] == "copying"]
            assert flushed and flushed[0]["warning"] is None
    assert seen == {"busy", "failed", "maxtmp"}


def test_gigahorse_flush_lines_belong_to_the_oldest_unflushed_plot():
    before, moved = None, []
    for line, parser in fed("synthetic-gigahorse-n3-copy-overlap.log", "gigahorse"):
        now = [p["progress"] for p in parser.plots]
        if line.startswith(("Waiting for disk flush", "Flushing to disk took")):
            changed = [i + 1 for i, (a, b) in enumerate(zip(before, now)) if b != a]
            moved.append(changed)
            # only the oldest plot still waiting for its flush moves; it is never the one computing
            assert parser.plots[changed[0] - 1]["state"] == "copying", line
        before = now
    # plot 1 flushes inside plot 2, plot 2 inside plot 3, plot 3 after the last plot
    assert moved == [[1], [1], [2], [2], [3], [3]]


def test_gigahorse_v3_infinite_remote_sink():
    parser = walk_gpu("synthetic-gigahorse-v3-remote-infinite.log", "gigahorse", GIGAHORSE_MARKS)
    first, second, third = parser.plots
    assert [p["count"] for p in parser.plots] == [None, None, None]
    assert first["state"] == "finished" and first["plot_file"] is None and first["dst_dir"] == "@192.168.1.97"
    assert second["state"] == "copying" and "recv() failed with: EOF" not in (second["warning"] or "")
    assert third["state"] == "plotting" and third["step"] == "3:1"
    assert first["phase_seconds"]["1"] == 143.429 and "4" not in first["phase_seconds"]


def test_gigahorse_state_round_trip_resumes_between_a_plot_and_its_copy():
    lines = read_lines(fixture_path("synthetic-gigahorse-n3-copy-overlap.log"))
    whole = model.parse_lines(lines, "gigahorse")
    for cut in (58, 62, 85, 144):
        parser = model.parser_for("gigahorse")
        for line in lines[:cut]:
            parser.feed(line)
        resumed = model.parser_for("gigahorse", parser.state())
        for line in lines[cut:]:
            resumed.feed(line)
        assert resumed.plots == whole, cut


def test_gigahorse_fatal_line_fails_the_plots_in_flight():
    lines = read_lines(fixture_path("synthetic-gigahorse-n3-copy-overlap.log"))
    cut = lines.index("Crafting plot 2 out of 3 (2026/11/30 10:53:04)") + 12
    fatal = "P3 upload thread failed with: CUDA error 719: unspecified launch failure"
    plots = model.parse_lines(lines[:cut] + [fatal], "gigahorse")
    assert [p["state"] for p in plots] == ["failed", "failed"] and plots[1]["error"] == fatal


def test_gigahorse_log_is_not_taken_for_madmax():
    head = "\n".join(read_lines(fixture_path("synthetic-gigahorse-n3-copy-overlap.log"))[:40])
    assert model.detect_plotter(head) == "gigahorse"
    assert model.detect_plotter("\n".join(read_lines(fixture_path("plotman__madmax.plot.log"))[:40])) == "madmax"


def test_unpadded_gigahorse_level_in_a_plot_name():
    pid = "ab" * 32
    assert model.plot_name_info("plot-k32-c8-2026-11-30-10-50-%s" % pid)[::2] == (32, pid)
