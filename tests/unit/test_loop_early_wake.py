"""The loop wakes when a plot that frees a job slot is due, not a whole interval later (issue 15's
finish -> next start: a slot stayed empty ~T/2 on average)."""

import importlib.machinery
import importlib.util
from pathlib import Path

from ansible_collections.plotfleet.chia.plugins.plugin_utils import fleet_status

LOOP = Path(__file__).resolve().parents[2] / "bin" / "plotfleet-loop"


def load_loop():
    loader = importlib.machinery.SourceFileLoader("plotfleet_loop", str(LOOP))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("plotfleet_loop", loader))
    loader.exec_module(module)
    return module


def job(eta_s, state="plotting", index=None, count=None):
    return {"state": state, "eta_s": eta_s, "index": index, "count": count}


def test_the_first_plot_that_frees_a_slot_is_the_one_due():
    jobs = [job(900.0), job(120.0, index=1, count=3), job(300.0, index=3, count=3), job(50.0, state="copying"),
            job(10.0, index=7, count=0), job(None), job(400.0, index=1, count=1)]
    # 120: not its last plot; 50: copying (its slot was freed already); 10: -n 0 runs for ever; None: no ETA
    assert fleet_status.next_finish_in_s(jobs) == 300.0
    assert fleet_status.next_finish_in_s([job(-5.0)]) == 0.0        # overdue: due now
    assert fleet_status.next_finish_in_s([job(None), job(20.0, state="stalled")]) is None
    assert fleet_status.next_finish_in_s([]) is None


def test_the_pass_summary_carries_it_and_the_status_rows_keep_index_and_count():
    status = {"summary": {}, "failures": [], "jobs": [job(42.0, index=2, count=2)], "generated": 1000.0}
    assert fleet_status.pass_summary(status)["next_finish_in_s"] == 42.0
    assert "index" in fleet_status.JOB_KEYS and "count" in fleet_status.JOB_KEYS


def test_the_loop_waits_until_the_plot_is_due_counted_from_the_status_time():
    loop = load_loop()
    summary = {"next_finish_in_s": 100.0, "generated": 1000.0}
    assert loop.early_wake(summary, 300.0, 1020.0) == 80.0           # 20 s after the status was made
    assert loop.early_wake(summary, 300.0, 1095.0) == 30.0           # never sooner than interval / 10
    assert loop.early_wake(summary, 60.0, 1095.0) == 10.0            # ... and at least 10 s
    assert loop.early_wake(summary, 5.0, 1099.0) == 5.0              # a short interval: never below it
    assert loop.early_wake({"next_finish_in_s": None, "generated": 1000.0}, 300.0, 1000.0) is None
    assert loop.early_wake(None, 300.0, 1000.0) is None


def test_early_wake_is_on_by_default_and_can_be_turned_off():
    loop = load_loop()
    assert loop.parse_args(["--interval", "60"]).early_wake is True
    assert loop.parse_args(["--no-early-wake"]).early_wake is False


def test_a_plot_started_this_pass_is_due_after_the_hosts_typical_time_for_its_plotter_and_k():
    history = [{"state": "finished", "plotter": "chiapos", "k": 18, "started": 100.0, "ended": 110.0},
               {"state": "finished", "plotter": "chiapos", "k": 18, "started": 50.0, "ended": 80.0},
               {"state": "dead", "plotter": "chiapos", "k": 18, "started": 0.0, "ended": 500.0},     # not a time
               {"state": "finished", "plotter": "chiapos", "k": 20, "started": 0.0, "ended": 900.0},  # other k
               {"state": "finished", "plotter": "madmax", "k": 18, "started": 0.0, "ended": 900.0}]
    assert fleet_status.typical_duration(history, "chiapos", 18) == 20.0
    assert fleet_status.typical_duration(history, "bladebit", 18) is None
    host_vars = {"plotfleet_host_state": {"jobs": [], "history": history},
                 "plotfleet_start_result": {"started": [
                     {"plot_id": None, "plotter": "chiapos", "k": 18, "count": 1, "started": 995.0}]}}
    entry = fleet_status.host_entry("p1", host_vars, ["p1"], [], now=1000.0)
    (row,) = entry["jobs"]
    assert row["just_started"] and row["eta_s"] == 15.0 and row["index"] == 1
    assert fleet_status.next_finish_in_s(entry["jobs"]) == 15.0
    several = {"plotfleet_host_state": {"jobs": [], "history": history},
               "plotfleet_start_result": {"started": [{"plotter": "chiapos", "k": 18, "count": 3, "started": 995.0}]}}
    # plot 1 of 3 ends but the job keeps its slot: no wake for it
    assert fleet_status.next_finish_in_s(fleet_status.host_entry("p1", several, ["p1"], [], now=1000.0)["jobs"]) is None
    unknown = {"plotfleet_host_state": {"jobs": [], "history": []},
               "plotfleet_start_result": {"started": [{"plotter": "chiapos", "k": 18, "count": 1, "started": 995.0}]}}
    assert fleet_status.host_entry("p1", unknown, ["p1"], [], now=1000.0)["jobs"][0]["eta_s"] is None
