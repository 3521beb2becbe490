"""plot_pass in storage mode (issue 15: every host of a reconcile pass runs the one module, one AnsiballZ build):
on a storage host it returns in host_state what plot_info returns there - the same dirs, storage_incoming of a
real running copy, replot_room and replot_status over real k18 plots and journal - and runs no step."""

import json
import subprocess
import sys
from pathlib import Path

from test_plot_pass import pass_params
from test_replot_status_gather import config, journal_of, storage_dir
from test_storage_slots import end, open_session

from ansible_collections.plotfleet.chia.plugins.module_utils import host_pass

REPO = Path(__file__).resolve().parents[2]
# Read at each call - the load, and plotter processes of other tests this machine may run (their
# progress moves): not the storage figures compared here.
VOLATILE = ("load", "jobs")


def steady(state):
    """The state without what other programs change between two reads (load, jobs, a disk's free space)."""
    out = dict((key, value) for key, value in state.items() if key not in VOLATILE)
    out["dirs"] = [dict((k, v) for k, v in entry.items() if k not in ("free_bytes", "free")) for entry in out["dirs"]]
    return out


def plot_info(args, home):
    """The real plot_info module, run as Ansible runs it (its JSON args file), in its own interpreter."""
    path = home.parent / "plot_info_args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    out = subprocess.run([sys.executable, str(REPO / "plugins/modules/plot_info.py"), str(path)],
                         env={"PYTHONPATH": str(REPO / "collections"), "PATH": "/usr/bin:/bin", "HOME": str(home)},
                         stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    result = json.loads(out)
    for key in ("changed", "invocation", "warnings"):
        result.pop(key, None)
    return steady(result)


def test_a_storage_hosts_pass_returns_what_plot_info_returns_there(tmp_path, home):
    directory, _v1, v2 = storage_dir(tmp_path, "farm")
    journal_of(tmp_path, directory, "plot-k18-2019-04-01-00-00-%s.plot" % ("e" * 64), v2)
    replot = config(tmp_path, directory)
    copy, answer = open_session(home, directory, "ab", total=5000)  # a plotter's copy arriving now
    assert answer["granted"] == str(directory)
    try:
        params = pass_params(tmp_path, tmp_dirs=[], dst_dirs=[], storage_dirs=[str(directory)], mode="storage",
                             replot=replot, rules={"max_jobs": 1000}, destinations=[{"path": str(tmp_path / "dst")}])
        warnings = []
        result = host_pass.run(params, False, warnings)
        expected = plot_info({"log_dir": params["log_dir"], "state_dir": params["state_dir"], "tmp_dirs": [],
                              "dst_dirs": [str(directory)], "replot": replot}, home)
    finally:
        end(copy)
    state = steady(result["host_state"])
    assert state["storage_incoming"][str(directory)]["copies"] == 1
    assert state["replot_room"][str(directory)] and state["replot_status"][str(directory)]
    assert state == expected
    assert warnings == expected["host_warnings"]
    assert result["changed"] is False and result["reasons"] == []
    assert [result[step]["skip_reason"] for step in ("cleanup", "start", "move")] == [host_pass.STORAGE_MODE] * 3


def test_a_plotters_pass_adds_no_storage_figures(tmp_path, home):
    result = host_pass.run(pass_params(tmp_path, rules={"max_jobs": 0}), False, [])
    assert not {"storage_incoming", "replot_room", "replot_status"} & set(result["host_state"])
    assert result["start"]["reasons"]
