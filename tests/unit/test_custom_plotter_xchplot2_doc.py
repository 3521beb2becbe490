"""The xchplot2 custom template exactly as docs/plotters.md gives it (parsed from the doc's YAML block):
the argv it builds, the processes it claims, the file pattern it follows, and how the space rules size
its plots (a `.plot2` file pattern -> PoS2 sizes, issue 12)."""

import re
from pathlib import Path

import yaml

from ansible_collections.plotfleet.chia.plugins.module_utils import custom_plotter, launch, plotfile, starting
from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import start as policy

DOC = Path(__file__).resolve().parents[2] / "docs" / "plotters.md"
HEADING = "### xchplot2 (PoS2 on a GPU) as a custom plotter"
FARMER = "a" * 96
CONTRACT = "xch1" + "q" * 58
PLOT_ID = "ab" * 32
OUT = "/mnt/gpu-out"


def doc_vars():
    """The group_vars of the doc's xchplot2 example (its first ```yaml block after the heading)."""
    section = DOC.read_text().split(HEADING, 1)[1]
    return yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])


def doc_plotter(**over):
    """The plotter settings the reconcile role makes of those vars (roles/reconcile/vars: plotfleet_plotter_all)."""
    v = doc_vars()
    settings = {"kind": v["plotfleet_plotter"], "k": v["plotfleet_k"], "count": v["plotfleet_plots_per_job"],
                "strength": v["plotfleet_strength"], "custom": v["plotfleet_custom_plotter"],
                "farmer_public_key": FARMER, "pool_contract_address": CONTRACT}
    settings.update(over)
    return settings


def test_the_doc_template_is_valid_and_builds_xchplot2s_plot_command():
    plotter = doc_plotter()
    assert launch.validate_plotter(plotter) == []
    argv = launch.build_argv(plotter, "/opt/xchplot2/xchplot2", OUT, None, OUT)
    assert argv[1:3] == ["-S", "-c"] and argv[3] == custom_plotter.EXEC_CODE
    head = custom_plotter.parse_header(argv[4])
    assert (head["name"], head["k"], head["count"], head["dst_dir"]) == ("xchplot2", 28, 20, OUT)
    assert argv[5:] == ["/opt/xchplot2/xchplot2", "plot", "-k", "28", "-n", "20", "-s", "2", "-f", FARMER,
                        "-c", CONTRACT, "-o", OUT]


def test_the_doc_template_claims_xchplot2_plot_processes_only():
    spec = doc_plotter()["custom"]
    argv = custom_plotter.render(doc_plotter(), "/opt/xchplot2/xchplot2", OUT, None, OUT)
    assert custom_plotter.matches(argv, spec)
    assert not custom_plotter.matches(["/opt/xchplot2/xchplot2", "verify", OUT + "/plot-k28-x.plot2"], spec)
    assert not custom_plotter.matches(["/usr/bin/python3", "plot", "-o", OUT], spec)


def test_the_doc_file_pattern_takes_completed_plot2_paths_only():
    finished = re.compile(doc_plotter()["custom"]["patterns"]["finished"])
    done = "%s/plot-k28-%s.plot2" % (OUT, PLOT_ID)
    found = finished.search(done + "\n")
    assert found and found.group("file") == done and plotfile.is_plot2_name(Path(done).name)
    for line in ("%s/plot-k28-%s.plot2.partial.Ab3xQ9" % (OUT, PLOT_ID),
                 "[batch] progress: plot 1/20 done (5.0%, 2.41 s/plot avg)", "plot-k28-%s.plot2" % PLOT_ID):
        assert not finished.search(line), line


def test_a_log_of_the_doc_template_finishes_a_plot_per_completed_path():
    plotter = doc_plotter()
    parser = model.parser_for("custom")
    parser.feed(custom_plotter.header(plotter, OUT, None, OUT))
    parser.feed("[gpu0] tier: plain")
    parser.feed("%s/plot-k28-%s.plot2" % (OUT, PLOT_ID))
    first = parser.plots[0]
    assert (first["state"], first["id"], first["plot_file"], first["custom"], first["count"]) == (
        "finished", PLOT_ID, "%s/plot-k28-%s.plot2" % (OUT, PLOT_ID), "xchplot2", 20)


# ---------------------------------------------------------------- sizing (item 2)

def test_a_plot2_file_pattern_makes_the_template_v2_and_a_plot_pattern_v1():
    def with_finished(pattern, argv=("drv",)):
        return {"custom": {"argv": list(argv), "patterns": {"finished": pattern}}}

    assert custom_plotter.plot_format(doc_plotter()) == "v2"
    assert custom_plotter.plot_format(with_finished(r"(?P<file>\S+.plot2)")) == "v2"
    assert custom_plotter.plot_format(with_finished(r'^Renamed final file from ".*" to "(?P<file>.*)"')) == "v1"
    assert custom_plotter.plot_format(with_finished(r"(?P<file>\S+\.plot)$")) == "v1"
    assert custom_plotter.plot_format(with_finished(None, ("drv", "/mnt/plot2/"))) == "v1"   # a dir is no pattern


def test_the_space_rules_size_a_plot2_template_as_pos2():
    plotter = doc_plotter()
    plot = {"kind": "custom", "k": 28, "count": 20, "plot_format": custom_plotter.plot_format(plotter)}
    v2 = policy.final_size(28, kind="pos2")
    assert 0.9e9 < v2 < 1.3e9 and v2 < policy.final_size(28) / 5   # ~1 GiB, not a v1 k28 (~5.6 GiB)
    running = {"plotter": "custom", "k": 28, "count": 20, "index": 3, "state": "plotting", "step": "1:0",
               "pid": 77, "proc_start": 1.0, "started": 1.0, "tmp_dir": OUT, "dst_dir": OUT, "tmp_bytes": 0}
    free = 40 * v2
    state = {"jobs": [running], "history": [], "load": {}, "dirs": [{"path": OUT, "free_bytes": free}]}
    result = policy.decide(state, {"max_jobs": 9, "max_before_step": 9}, 1000.0, tmp_dirs=[OUT], dst_dirs=[OUT],
                           plot=plot)
    # the running job still has plots 3..20 to write (18), the new one asks for 20: 38 of 40 fit
    assert [c["detail"] for c in result["checks"] if c["rule"] == "dst_free_space"] == [
        "dst %s: %s free, %s reserved by running jobs, plot needs %s" % (
            OUT, policy.fmt_bytes(free), policy.fmt_bytes(18 * v2), policy.fmt_bytes(20 * v2))]
    assert result["start"] == [{"tmp_dir": OUT, "tmp2_dir": OUT, "dst_dir": OUT}]


def test_plot_start_hands_the_template_format_to_the_space_rules():
    # starting.plot_spec is what plot_start and plot_pass give policy.decide for the plot to start
    assert starting.plot_spec(dict(doc_plotter(), kind="custom", k=28, count=20))["plot_format"] == "v2"
    assert "plot_format" not in starting.plot_spec({"kind": "chiapos", "k": 18})
