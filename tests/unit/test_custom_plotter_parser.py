"""The custom (template) plotter's log parser, on real chiapos logs described as a custom plotter.

The header line is what launch.build_argv makes plotfleet print before it exec()s the plotter; the
rest is a real chiapos log (tests/fixtures/logs), fed line by line.
"""

import json
import os

from ansible_collections.plotfleet.chia.plugins.module_utils import custom_plotter, launch
from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "logs")
CHIAPOS_PATTERNS = {
    "id": r"^ID: (?P<id>[0-9a-f]{64})",
    "phase": r"^Starting phase (?P<phase>\d)/4",
    "progress": r"^Progress update: (?P<progress>[0-9.]+)",
    "finished": r'^Renamed final file from ".*" to "(?P<file>.*)"',
    "failed": r"^Caught plotting error: (?P<error>.*)",
}


def plotter(patterns=None, **over):
    spec = {"name": "chiapos-as-template", "argv": ["python3", "drv", "-k", "{k}", "-n", "{count}", "-t", "{tmp_dir}",
                                                     "-d", "{dst_dir}"],
            "patterns": CHIAPOS_PATTERNS if patterns is None else patterns}
    return dict({"kind": "custom", "k": 18, "count": 2, "custom": spec}, **over)


def header(settings):
    return custom_plotter.header(settings, "/t1", None, "/final")


def lines(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read().splitlines()


def test_the_header_line_is_detected_and_opens_plot_1_with_the_jobs_dirs():
    head = header(plotter())
    assert model.detect_plotter(head + "\nID: " + "a" * 64 + "\n") == "custom"
    parser = model.parser_for("custom")
    parser.feed(head)
    (plot,) = parser.plots
    assert (plot["plotter"], plot["k"], plot["count"]) == ("custom", 18, 2)
    assert (plot["state"], plot["step"]) == ("plotting", "0:0")
    assert (plot["tmp_dir"], plot["tmp2_dir"], plot["dst_dir"], plot["custom"]) == ("/t1", "/t1", "/final",
                                                                                    "chiapos-as-template")


def test_a_two_plot_chiapos_log_is_followed_line_by_line_through_its_patterns():
    parser = model.parser_for("custom")
    parser.feed(header(plotter()))
    seen_phases, progress = [], 0.0
    for line in lines("chiapos-k18-two-plots.log"):
        parser.feed(line)
        plot = parser.current
        assert plot["progress"] >= progress or plot["index"] > 1   # never backwards within a plot
        progress = plot["progress"]
        if line.startswith("Starting phase "):
            assert plot["phase"] == int(line[len("Starting phase "):][0]) and plot["step"] == "%d:0" % plot["phase"]
            seen_phases.append((plot["index"], plot["phase"]))
        if line.startswith("Progress update: "):
            assert plot["progress"] >= min(float(line.split()[-1]), 0.9999)
    assert seen_phases == [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2), (2, 3), (2, 4)]
    first, second = parser.plots
    assert [p["state"] for p in parser.plots] == ["finished", "finished"]
    assert first["id"] == "88852637e647531d4784347e7f8148f6ece32aec9c4f8e56a11b5678f0fe5883"
    assert first["plot_file"] == "/tmp/plotfleet-mklogs/final/plot-k18-2026-11-29-01-58-%s.plot" % first["id"]
    assert second["id"] == "173e2b5b9fe7be3267990b59fa924c110114f7baa636f6ee0ae56b68314d58e6"
    assert second["index"] == 2 and second["k"] == 18 and second["progress"] == 1.0


def test_the_state_round_trip_resumes_with_the_patterns_of_the_header():
    log = lines("chiapos-k18-rename.log")
    whole = model.parser_for("custom")
    whole.feed(header(plotter(count=1)))
    for line in log:
        whole.feed(line)
    parser = model.parser_for("custom")
    parser.feed(header(plotter(count=1)))
    for i, line in enumerate(log):
        parser = model.parser_for("custom", json.loads(json.dumps(parser.state())))
        parser.feed(line)
        if i == len(log) // 2:
            assert parser.current["state"] == "plotting" and parser.current["phase"] >= 1
    assert parser.plots == whole.plots and parser.current["state"] == "finished"


def test_a_failed_line_fails_the_plot_with_its_error():
    parser = model.parser_for("custom")
    parser.feed(header(plotter(count=1)))
    for line in lines(os.path.join("..", "shared", "chiapos", "chiapos-k18-stripe-error.log")):
        parser.feed(line)
    (plot,) = parser.plots
    assert plot["state"] == "failed" and plot["error"] == "Stripe size too large"


def test_without_patterns_the_plot_just_runs_and_percentages_are_read_as_such():
    parser = model.parser_for("custom")
    parser.feed(header(plotter(patterns={})))
    for line in lines("chiapos-k18-rename.log"):
        parser.feed(line)
    (plot,) = parser.plots
    assert (plot["state"], plot["phase"], plot["progress"], plot["id"]) == ("plotting", 0, 0.0, None)

    parser = model.parser_for("custom")
    parser.feed(header(plotter(patterns={"progress": r"(\d+)% done", "phase": r"^== next phase"})))
    parser.feed("42% done")
    assert parser.current["progress"] == 0.42
    parser.feed("== next phase")
    parser.feed("== next phase")
    assert parser.current["phase"] == 2


def test_without_a_finished_pattern_the_next_start_completes_the_previous_plot():
    parser = model.parser_for("custom")
    parser.feed(header(plotter(patterns={"start": r"^Starting plot \d+", "phase": r"phase (\d)"})))
    for line in ("Starting plot 1", "phase 1", "phase 3", "Starting plot 2", "phase 1"):
        parser.feed(line)
    first, second = parser.plots
    assert first["state"] == "finished" and second["state"] == "plotting" and second["phase"] == 1
    assert second["tmp_dir"] == "/t1" and second["index"] == 2


def test_build_argv_prints_the_header_and_execs_the_plotter():
    argv = launch.build_argv(plotter(), "/usr/bin/python3", "/nv me/t", None, "/hdd 1")
    assert argv[1:3] == ["-S", "-c"] and argv[3] == custom_plotter.EXEC_CODE
    doc = custom_plotter.parse_header(argv[4])
    assert doc["patterns"] == CHIAPOS_PATTERNS and (doc["tmp_dir"], doc["dst_dir"]) == ("/nv me/t", "/hdd 1")
    assert argv[5:] == ["/usr/bin/python3", "drv", "-k", "18", "-n", "2", "-t", "/nv me/t", "-d", "/hdd 1"]


def test_xchplot2_as_a_template_each_published_path_finishes_the_next_plot():
    """xchplot2 (REFERENCE.md of Jsewill/xchplot2): `plot` prints each completed plot's absolute path to stdout,
    per-plot progress lines on stderr (one per plot when stderr is a file); workers' lines may interleave."""
    ids = ["%02x" % i * 32 for i in (1, 2, 3)]
    settings = plotter(patterns={"finished": r"^(?P<file>/\S.*\.plot2)\s*$",
                                 "failed": r"^\[worker \d+\] plot failed: (?P<error>.*)"}, count=3, k=28)
    parser = model.parser_for("custom")
    parser.feed(custom_plotter.header(settings, "/mnt/plots", None, "/mnt/plots"))
    parser.feed("[gpu0] tier: plain")
    parser.feed("/mnt/plots/plot-k28-%s.plot2" % ids[0])
    parser.feed("[batch] progress: plot 1/3 done (33.3%, 2.41 s/plot avg, 0.000373 TiB/s, fully plotted in ~5s)")
    assert [p["state"] for p in parser.plots] == ["finished"]
    parser.feed("/mnt/plots/plot-k28-%s.plot2" % ids[1])
    parser.feed("[worker 1] plot failed: CUDA error 2: out of memory")
    first, second, third = parser.plots
    assert [p["id"] for p in parser.plots] == [ids[0], ids[1], None]
    assert first["plot_file"] == "/mnt/plots/plot-k28-%s.plot2" % ids[0] and second["state"] == "finished"
    assert (third["state"], third["error"], third["index"]) == ("failed", "CUDA error 2: out of memory", 3)
    assert all(p["dst_dir"] == "/mnt/plots" and p["k"] == 28 for p in parser.plots)
