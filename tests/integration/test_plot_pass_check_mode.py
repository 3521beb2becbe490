"""plot_pass through real Ansible (the module on the system Python) with a metrics_path: check mode writes no
metrics on the host (neither the .prom file nor the counters), as plot_info; a real call writes both and
reports changed=0 when there is nothing to do."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from plotfleet_testlib import run_module  # noqa: E402


def test_plot_pass_writes_no_metrics_in_check_mode(tmp_path):
    for name in ("tmp", "dst", "logs", "state"):
        (tmp_path / name).mkdir()
    (tmp_path / "state" / "pause").write_text("")  # nothing starts: the pass only gathers (and would move)
    prom, counters = tmp_path / "plotfleet.prom", tmp_path / "state" / "metrics-counters.json"
    args = {"log_dir": str(tmp_path / "logs"), "state_dir": str(tmp_path / "state"),
            "tmp_dirs": [str(tmp_path / "tmp")], "dst_dirs": [str(tmp_path / "dst")],
            "metrics_path": str(prom), "rules": {"max_jobs": 1},
            "plotter": {"kind": "chiapos", "k": 18, "stripe": 2000, "buckets": 32}}
    rc, checked = run_module("plot_pass", args, check=True)
    assert rc == 0 and checked["changed"] is False, checked
    assert "draining" in " ".join(checked["reasons"]), checked["reasons"]
    assert not prom.exists() and not counters.exists(), "check mode: no metrics"
    rc, real = run_module("plot_pass", args)
    assert rc == 0 and real["changed"] is False, real
    assert "plotfleet_" in prom.read_text() and counters.exists(), "a real pass writes its metrics"
