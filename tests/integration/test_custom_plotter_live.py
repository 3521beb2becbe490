"""A `custom` plotter for real: PyPI chiapos (through plotfleet's chiapos driver script) described only by a
template - argv with placeholders, process name, line patterns - started by plot_start, tracked by plot_info
from its own log through the template's patterns, and seen to the end with its .plot file.
"""

import os
import re
import signal

from startstop_lib import alive, host  # noqa: F401  (host is a fixture)

from ansible_collections.plotfleet.chia.plugins.module_utils import chiapos_driver, plotfile
from plotfleet_testlib import PLOTTER_PYTHON, run_module, wait_for

PATTERNS = {
    "id": r"^ID: (?P<id>[0-9a-f]{64})",
    "phase": r"^Starting phase (?P<phase>\d)/4",
    "progress": r"^Progress update: (?P<progress>[0-9.]+)",
    "finished": r'^Renamed final file from ".*" to "(?P<file>.*)"',
    "failed": r"^Caught plotting error: (?P<error>.*)",
}


def custom_plotter(driver, **over):
    template = {"name": "chiapos-template",
                "argv": ["{python}", driver, "-k", "{k}", "-n", "{count}", "-t", "{tmp_dir}", "-2", "{tmp2_dir}",
                         "-d", "{dst_dir}", "-r", "{threads}", "-u", "{buckets}", "-b", "{buffer_mib}", "-s",
                         "{stripe}"],
                "process": {"name": os.path.basename(PLOTTER_PYTHON), "argv_pattern": "plotfleet-chiapos"},
                "patterns": PATTERNS}
    # k20 on one thread (~3-4 s): a k18 plot can end within plot_start's 1 s start check on an idle machine (seen:
    # 0.69 s, "plotter died at once"), and the test must catch it in phase 2 or 3 to hold it there.
    return dict({"kind": "custom", "python": PLOTTER_PYTHON, "k": 20, "count": 1, "threads": 1, "buckets": 32,
                 "buffer_mib": 100, "stripe": 2000, "custom": template}, **over)


def read(path):
    with open(path) as handle:
        return handle.read()


def info(host):  # noqa: F811
    rc, result = run_module("plot_info", host.args())
    assert rc == 0, result
    return result


def test_a_custom_template_plots_a_real_k20_tracked_by_its_patterns_to_the_end(host):  # noqa: F811
    driver = chiapos_driver.install_driver(host.state)
    rc, result = host.start(custom_plotter(driver))
    assert rc == 0 and result["changed"], result
    (record,) = host.records()
    pid, log = record["pid"], record["log"]
    assert record["plotter"] == record["plotter_kind"] == "custom"
    try:
        # Hold the plotter in the middle of its plot (SIGSTOP) so that plot_info sees it while plotting.
        assert wait_for(lambda: "Starting phase 2/4" in read(log) or not alive(pid), timeout=120), read(log)
        os.kill(pid, signal.SIGSTOP)
        held = read(log)
        assert read(log).splitlines()[0].startswith("plotfleet-custom: {"), held[:300]
        plot_id = re.search(r"^ID: ([0-9a-f]{64})$", held, re.M).group(1)
        (job,) = [j for j in info(host)["jobs"] if j.get("pid") == pid]
        assert (job["plotter"], job["custom"], job["k"], job["id"]) == ("custom", "chiapos-template", 20, plot_id)
        assert job["launch_id"] == record["launch_id"] and job["adopted"] is False and job["log"] == log
        assert job["state"] == "suspended" and job["phase"] >= 2 and 0.3 < job["progress"] < 1
        assert (job["tmp_dir"], job["dst_dir"]) == (host.tmp, host.dst)
        os.kill(pid, signal.SIGCONT)
        assert wait_for(lambda: not alive(pid), timeout=120), read(log)
    finally:
        if alive(pid):
            os.killpg(pid, signal.SIGKILL)
    result = info(host)
    (done,) = [h for h in result["history"] if h.get("log") == log]
    assert (done["state"], done["id"], done["progress"], done["plotter"]) == ("finished", plot_id, 1.0, "custom")
    assert done["plot_file"] == os.path.join(host.dst, os.path.basename(done["plot_file"]))
    assert plotfile.read_header(done["plot_file"])["plot_id"] == plot_id
    assert not [j for j in result["jobs"] if j.get("pid") == pid]


def test_plot_start_refuses_a_bad_template_naming_the_option(host):  # noqa: F811
    bad = custom_plotter("/nonexistent/driver.py")
    bad["custom"] = dict(bad["custom"], argv=bad["custom"]["argv"] + ["{out}"], patterns={"id": "ID: [0-9a-f]+"})
    rc, result = host.start(bad)
    assert rc != 0 and not result.get("changed")
    assert "plotter.custom.argv[20]: unknown placeholder {out}" in result["msg"], result["msg"]
    assert "plotter.custom.patterns.id must capture the 64-hex plot id" in result["msg"], result["msg"]
    assert host.records() == [] and not os.path.exists(os.path.join(host.state, "plotters"))
