"""Table-driven tests of the pure start policy: every rule, their combinations, the exact reasons."""

import time

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils.policy import start as policy

GIB = 1024 ** 3
TIB = 1024 ** 4
# 14:00 local time: the decisions below do not depend on the machine's time zone.
NOW = time.mktime((2026, 11, 29, 14, 0, 0, 0, 0, -1))
MIN = 60.0


def at(hour, minute):
    return time.mktime((2026, 11, 29, hour, minute, 0, 0, 0, -1))


def job(tmp="/t1", step="3:1", dst="/d1", age_min=120, **extra):
    entry = {"tmp_dir": tmp, "tmp2_dir": tmp, "dst_dir": dst, "step": step, "phase": int(step.split(":")[0]),
             "k": 32, "plotter": "chiapos", "state": "plotting", "started": NOW - age_min * MIN,
             "tmp_bytes": 200 * GIB}
    entry.update(extra)
    return entry


def hist(state="finished", started_min_ago=60, lived_min=30, **extra):
    started = NOW - started_min_ago * MIN
    entry = {"state": state, "started": started, "ended": started + lived_min * MIN, "k": 32}
    entry.update(extra)
    return entry


def host(jobs=(), history=(), free=None, load=None, **extra):
    free = free or {"/t1": 2 * TIB, "/t2": 2 * TIB, "/d1": 10 * TIB, "/d2": 10 * TIB}
    state = {"jobs": list(jobs), "history": list(history),
             "dirs": [{"path": p, "free_bytes": f} for p, f in free.items()], "load": load or {}}
    state.update(extra)
    return state


def decide(state, rules=None, tmp=("/t1",), dst=("/d1",), **kwargs):
    return policy.decide(state, rules or {}, NOW, tmp_dirs=list(tmp), dst_dirs=list(dst), **kwargs)


def start(tmp="/t1", dst="/d1", tmp2=None):
    return {"tmp_dir": tmp, "tmp2_dir": tmp2 or tmp, "dst_dir": dst}


# (id, state, rules, decide kwargs, expected starts, expected reasons)
CASES = [
    ("empty host starts one", host(), {}, {}, [start()], []),
    ("global cap", host(jobs=[job("/t9")] * 4), {}, {}, [], ["host: 4 jobs running (limit 4)"]),
    ("global cap custom", host(jobs=[job("/t9")]), {"max_jobs": 1}, {}, [], ["host: 1 job running (limit 1)"]),
    ("per-tmp cap", host(jobs=[job(), job()]), {}, {}, [], ["tmp /t1: 2 jobs (limit 2)"]),
    ("per-tmp override lifts the cap", host(jobs=[job(), job()]),
     {"max_jobs_per_tmp_overrides": {"/t1/": 3}}, {}, [start()], []),
    ("per-tmp override lowers the cap", host(jobs=[job()]),
     {"max_jobs_per_tmp_overrides": {"/t1": 1}}, {}, [], ["tmp /t1: 1 job (limit 1)"]),
    ("stagger: one job before 2:1", host(jobs=[job(step="1:5")]), {}, {}, [],
     ["tmp /t1: 1 job before phase 2:1 (limit 1)"]),
    ("stagger: job at 2:1 is past it", host(jobs=[job(step="2:1")]), {}, {}, [start()], []),
    ("stagger: job without a step yet counts as before", host(jobs=[job(step="0:0", phase=0)]), {}, {}, [],
     ["tmp /t1: 1 job before phase 2:1 (limit 1)"]),
    ("stagger custom 3:1 limit 2", host(jobs=[job(step="2:6"), job(step="1:1")]),
     {"stagger_step": "3:1", "max_before_step": 2, "max_jobs_per_tmp": 5}, {}, [],
     ["tmp /t1: 2 jobs before phase 3:1 (limit 2)"]),
    ("stagger is per tmp dir", host(jobs=[job("/t1", step="1:2")]), {}, {"tmp": ("/t1", "/t2")},
     [start("/t2")], []),
    ("tmp choice: fewest jobs", host(jobs=[job("/t1")]), {}, {"tmp": ("/t1", "/t2")}, [start("/t2")], []),
    ("tmp choice: most free on equal jobs", host(free={"/t1": 1 * TIB, "/t2": 2 * TIB, "/d1": 10 * TIB}),
     {}, {"tmp": ("/t1", "/t2")}, [start("/t2")], []),
    ("phase-1 cap", host(jobs=[job("/t9", step="1:3"), job("/t8", step="0:0", phase=0)]),
     {"max_phase1_jobs": 2}, {}, [], ["host: 2 jobs in phase 1 (limit 2)"]),
    ("phase-1 cap not reached", host(jobs=[job("/t9", step="1:3"), job("/t8", step="2:1")]),
     {"max_phase1_jobs": 2}, {}, [start()], []),
    ("min interval from a running job", host(jobs=[job("/t9", age_min=10)]),
     {"min_start_interval_minutes": 30}, {}, [], ["host: last start 10 min ago (limit 30 min)"]),
    ("min interval from history (newest start)",
     host(history=[hist(started_min_ago=90), hist(started_min_ago=20, lived_min=15)]),
     {"min_start_interval_minutes": 30}, {}, [], ["host: last start 20 min ago (limit 30 min)"]),
    ("min interval passed", host(jobs=[job("/t9", age_min=31)]),
     {"min_start_interval_minutes": 30}, {}, [start()], []),
    ("tmp space short", host(free={"/t1": 200 * GIB, "/d1": 10 * TIB}), {}, {}, [],
     ["tmp /t1: 200.0 GiB free, 0 B reserved by running jobs, plot needs 243.4 GiB"]),
    ("tmp space minus what a running job still writes",
     host(jobs=[job(step="2:1", tmp_bytes=43.4 * GIB)], free={"/t1": 400 * GIB, "/d1": 10 * TIB}), {}, {}, [],
     ["tmp /t1: 400.0 GiB free, 200.0 GiB reserved by running jobs, plot needs 243.4 GiB"]),
    ("tmp space override", host(free={"/t1": 200 * GIB, "/d1": 10 * TIB}), {"tmp_space_bytes": 150 * GIB},
     {}, [start()], []),
    ("free-space check off", host(free={"/t1": 1 * GIB, "/d1": 1 * GIB}), {"check_free_space": False}, {},
     [start()], []),
    ("dst space short", host(free={"/t1": 2 * TIB, "/d1": 100 * GIB}), {}, {}, [],
     ["dst /d1: 100.0 GiB free, 0 B reserved by running jobs, plot needs 101.4 GiB"]),
    ("dst reserved by in-flight plots", host(jobs=[job("/t9", dst="/d1")], free={"/t1": 2 * TIB, "/d1": 150 * GIB}),
     {}, {}, [], ["dst /d1: 150.0 GiB free, 101.4 GiB reserved by running jobs, plot needs 101.4 GiB"]),
    ("dst: most free after reservations",
     host(jobs=[job("/t9", dst="/d1")] * 2, free={"/t1": 2 * TIB, "/d1": 500 * GIB, "/d2": 400 * GIB}),
     {}, {"dst": ("/d1", "/d2")}, [start(dst="/d2")], []),
    ("dst: count of -n plots reserved", host(free={"/t1": 2 * TIB, "/d1": 300 * GIB}), {},
     {"plot": {"count": 3}}, [], ["dst /d1: 300.0 GiB free, 0 B reserved by running jobs, plot needs 304.2 GiB"]),
    ("no dst dirs: the plot stays in tmp", host(), {}, {"dst": ()}, [start(dst="/t1")], []),
    ("free space unknown", host(free={"/d1": 10 * TIB}), {}, {}, [], ["tmp /t1: free space unknown"]),
    ("no tmp dirs", host(), {}, {"tmp": ()}, [], ["no tmp_dirs configured"]),
    ("tmp2 dir short", host(free={"/t1": 2 * TIB, "/x2": 50 * GIB, "/d1": 10 * TIB}), {}, {"tmp2_dir": "/x2"}, [],
     ["tmp2 /x2: 50.0 GiB free, 0 B reserved by running jobs, plot needs 101.4 GiB"]),
    ("tmp2 dir used", host(free={"/t1": 2 * TIB, "/x2": 150 * GIB, "/d1": 10 * TIB}), {}, {"tmp2_dir": "/x2"},
     [start(tmp2="/x2")], []),
    ("small k fits a small disk", host(free={"/t1": 50 * 1024 ** 2, "/d1": 50 * 1024 ** 2}), {},
     {"plot": {"k": 18}}, [start()], []),
    ("bladebit ramplot needs no tmp space", host(free={"/t1": 1 * GIB, "/d1": 10 * TIB}), {},
     {"plot": {"kind": "bladebit", "bladebit_mode": "ramplot"}}, [start()], []),
    ("compressed plot needs less dst", host(free={"/t1": 2 * TIB, "/d1": 90 * GIB}), {},
     {"plot": {"kind": "bladebit", "bladebit_mode": "ramplot", "compression": 1}}, [start()], []),
    ("load gate", host(load={"load1": 3.2, "cpus": 2}), {"max_load_per_cpu": 1.5}, {}, [],
     ["host: load 1.60 per cpu (3.20 on 2 cpus) above limit 1.50"]),
    ("load gate passes", host(load={"load1": 1.0, "cpus": 2}), {"max_load_per_cpu": 1.5}, {}, [start()], []),
    ("load unknown is not a no", host(load={}), {"max_load_per_cpu": 1.5}, {}, [start()], []),
    ("cpu idle gate", host(load={"cpu_idle_percent": 12.0}), {"min_cpu_idle_percent": 30}, {}, [],
     ["host: cpu idle 12% below 30%"]),
    ("memory gate", host(load={"mem_available_bytes": 2 * GIB}), {"min_mem_available_bytes": 4 * GIB}, {}, [],
     ["host: memory available 2.0 GiB below 4.0 GiB"]),
    ("pause file drains", host(pause_file_exists=True, pause_file="/s/pause"), {}, {}, [],
     ["pause file /s/pause exists: draining, no new starts"]),
    ("outside the time window", host(), {"time_windows": ["22:00-06:00"]}, {}, [],
     ["outside time window 22:00-06:00 (now 14:00)"]),
    ("inside one of two windows", host(), {"time_windows": ["22:00-06:00", "13:30-14:30"]}, {}, [start()], []),
    ("crash backoff: one crash 2 min ago",
     host(history=[hist("failed", started_min_ago=2, lived_min=0)]), {}, {}, [],
     ["backoff: 1 job died within 10 min of starting: waiting 5 min after the last (3 min left)"]),
    ("crash backoff: one crash 6 min ago has waited",
     host(history=[hist("dead", started_min_ago=7, lived_min=1)]), {}, {}, [start()], []),
    ("crash backoff grows: 3 crashes wait 20 min",
     host(history=[hist("failed", started_min_ago=m, lived_min=0.5) for m in (10, 30, 60)]), {}, {}, [],
     ["backoff: 3 jobs died within 10 min of starting: waiting 20 min after the last (10.5 min left)"]),
    ("crash backoff capped",
     host(history=[hist("failed", started_min_ago=m, lived_min=0) for m in (1, 2, 3, 4, 5, 6)]),
     {"backoff_max_minutes": 30}, {}, [],
     ["backoff: 6 jobs died within 10 min of starting: waiting 30 min after the last (29 min left)"]),
    ("a finished plot ends the streak",
     host(history=[hist("finished", started_min_ago=40, lived_min=38),
                   hist("failed", started_min_ago=60, lived_min=0)]),
     {}, {}, [start()], []),
    ("a job that failed late is not a crash loop",
     host(history=[hist("failed", started_min_ago=30, lived_min=29)]), {}, {}, [start()], []),
    ("a live job past the window ends the streak",
     host(jobs=[job("/t9", age_min=15)], history=[hist("failed", started_min_ago=20, lived_min=0)]), {}, {},
     [start()], []),
    ("a young live job does not end the streak",
     host(jobs=[job("/t9", age_min=1, step="2:1")], history=[hist("failed", started_min_ago=3, lived_min=0)]),
     {}, {}, [], ["backoff: 1 job died within 10 min of starting: waiting 5 min after the last (2 min left)"]),
    ("a job stopped on purpose is not a crash",
     host(history=[hist("stopped", started_min_ago=m, lived_min=0.5) for m in (1, 3, 5)]), {}, {}, [start()], []),
    ("stopping a plot does not lift a backoff either",
     host(history=[hist("stopped", started_min_ago=1, lived_min=0.5), hist("failed", started_min_ago=3, lived_min=0)]),
     {}, {}, [], ["backoff: 1 job died within 10 min of starting: waiting 5 min after the last (2 min left)"]),
    ("a job stopped after living past the window ends the streak",
     host(history=[hist("stopped", started_min_ago=20, lived_min=15), hist("failed", started_min_ago=24, lived_min=0)]),
     {}, {}, [start()], []),
    ("a suspended job still reserves its final plot on dst",
     host(jobs=[job("/t9", state="suspended")], free={"/t1": 2 * TIB, "/d1": 150 * GIB}), {}, {}, [],
     ["dst /d1: 150.0 GiB free, 101.4 GiB reserved by running jobs, plot needs 101.4 GiB"]),
    ("backoff off with window 0", host(history=[hist("failed", started_min_ago=1, lived_min=0)]),
     {"crash_window_minutes": 0}, {}, [start()], []),
    ("history times from log fields",
     host(history=[{"state": "dead", "started_ts": NOW - 120, "log_mtime": NOW - 119}]), {}, {}, [],
     ["backoff: 1 job died within 10 min of starting: waiting 5 min after the last (3 min left)"]),
    ("every failing rule is reported, in order",
     host(jobs=[job(step="1:1")] * 4, pause_file_exists=True, pause_file="/p", free={"/t1": GIB, "/d1": GIB}),
     {"time_windows": ["22:00-06:00"]}, {}, [],
     ["pause file /p exists: draining, no new starts", "outside time window 22:00-06:00 (now 14:00)",
      "host: 4 jobs running (limit 4)", "tmp /t1: 4 jobs (limit 2)", "tmp /t1: 4 jobs before phase 2:1 (limit 1)",
      "tmp /t1: 1.0 GiB free, 173.4 GiB reserved by running jobs, plot needs 243.4 GiB",
      "dst /d1: 1.0 GiB free, 405.6 GiB reserved by running jobs, plot needs 101.4 GiB"]),
    ("max_starts 3 stops at the global cap", host(), {"max_jobs": 2}, {"tmp": ("/t1", "/t2"), "max_starts": 3},
     [start("/t1"), start("/t2")], ["host: 2 jobs running (limit 2)", "tmp /t1: 1 job before phase 2:1 (limit 1)",
                                     "tmp /t2: 1 job before phase 2:1 (limit 1)"]),
    ("max_starts: the first start counts for the stagger", host(), {}, {"max_starts": 2},
     [start()], ["tmp /t1: 1 job before phase 2:1 (limit 1)"]),
    ("max_starts: the first start counts for the interval", host(), {"min_start_interval_minutes": 5},
     {"tmp": ("/t1", "/t2"), "max_starts": 2}, [start()], ["host: last start 0 min ago (limit 5 min)"]),
]


@pytest.mark.parametrize("name,state,rules,kwargs,starts,reasons", CASES, ids=[c[0] for c in CASES])
def test_rule(name, state, rules, kwargs, starts, reasons):
    decision = decide(state, rules, **kwargs)
    assert decision["start"] == starts
    assert decision["reasons"] == reasons
    failing = [c["detail"] for c in decision["checks"] if not c["ok"]]
    assert set(reasons) <= set(failing)
    assert all(set(c) >= {"rule", "ok", "detail"} for c in decision["checks"])


@pytest.mark.parametrize("hour,minute,window,inside", [
    (23, 0, "22:00-06:00", True), (5, 59, "22:00-06:00", True), (6, 0, "22:00-06:00", False),
    (21, 59, "22:00-06:00", False), (22, 0, "22:00-06:00", True), (0, 0, "22:00-06:00", True),
    (9, 0, "08:00-17:30", True), (17, 30, "08:00-17:30", False), (7, 59, "08:00-17:30", False),
    (12, 0, "00:00-00:00", True),
])
def test_time_window(hour, minute, window, inside):
    decision = policy.decide(host(), {"time_windows": [window]}, at(hour, minute), tmp_dirs=["/t1"], dst_dirs=["/d1"])
    assert bool(decision["start"]) is inside


def test_round_robin_between_equal_dst_dirs():
    chosen = [decide(host(start_counter=n), dst=("/d1", "/d2"))["start"][0]["dst_dir"] for n in range(4)]
    assert chosen == ["/d1", "/d2", "/d1", "/d2"]


def test_round_robin_within_one_call():
    decision = decide(host(), {"stagger_step": "0:0"}, tmp=("/t1", "/t2"), dst=("/d1", "/d2"), max_starts=2)
    assert [s["dst_dir"] for s in decision["start"]] == ["/d1", "/d2"]


def test_dirs_differing_by_more_than_a_plot_do_not_tie():
    state = host(free={"/t1": 2 * TIB, "/d1": 500 * GIB, "/d2": 700 * GIB}, start_counter=2)
    assert decide(state, dst=("/d1", "/d2"))["start"][0]["dst_dir"] == "/d2"


def test_next_start_after_for_time_based_rules():
    state = host(jobs=[job("/t9", age_min=10)], history=[hist("failed", started_min_ago=2, lived_min=0)])
    decision = decide(state, {"min_start_interval_minutes": 30})
    assert decision["next_start_after"] == pytest.approx(NOW + 20 * MIN)
    assert decide(host())["next_start_after"] is None


def test_the_input_state_is_not_modified():
    state = host(jobs=[job("/t9")])
    before = repr(state)
    decide(state, max_starts=3, tmp=("/t1", "/t2"))
    assert repr(state) == before


@pytest.mark.parametrize("rules,error", [
    ({"stagger_step": "two"}, "rules.stagger_step must look like '2:1' (phase:step), got 'two'"),
    ({"time_windows": ["22-06"]}, "rules.time_windows: '22-06' is not HH:MM-HH:MM (e.g. 22:00-06:00)"),
    ({"time_windows": ["25:00-06:00"]}, "rules.time_windows: '25:00-06:00' is not HH:MM-HH:MM (e.g. 22:00-06:00)"),
    ({"max_jobs_per_tmp_overrides": {"/t1": "x"}}, "rules.max_jobs_per_tmp_overrides[/t1] must be an integer, got 'x'"),
    ({"max_jobs_per_tmp_overrides": {"/t1": -1}}, "rules.max_jobs_per_tmp_overrides[/t1] must be >= 0, got -1"),
    ({"max_jobs": -1}, "rules.max_jobs must be >= 0, got -1"),
    ({"backoff_base_minutes": -2.0}, "rules.backoff_base_minutes must be >= 0, got -2.0"),
])
def test_validate_rules(rules, error):
    assert policy.validate_rules(rules) == [error]


def test_default_rules_are_valid_and_match_the_argument_spec():
    assert policy.validate_rules({}) == []
    for name, spec in policy.RULES_SUBOPTIONS.items():  # the module's defaults are the policy's
        assert spec.get("default") == policy.DEFAULT_RULES[name], name


@pytest.mark.parametrize("k,measured", [(18, 3.6e6), (20, 17e6), (22, 73e6), (25, 677e6), (32, 101.4 * GIB)])
def test_final_size_matches_measured_plots(k, measured):
    assert abs(policy.final_size(k) - measured) / measured < 0.05


def test_pos2_plots_are_sized_as_v2_plots():
    """Measured with chia_rs here: k18 0.65 MB, k22 12.5 MB; a mainnet k28 is about 1 GiB (not a v1 k28's 6 GiB)."""
    assert 0.5e6 < policy.final_size(18, kind="pos2") < 0.8e6
    assert 0.9 * 2 ** 30 < policy.final_size(28, kind="pos2") < 1.1 * 2 ** 30
    assert policy.tmp_space({"kind": "pos2", "k": 18}) == policy.final_size(18, kind="pos2")
    assert policy.final_size(28) > 5 * 2 ** 30  # v1 unchanged
