"""tests/run_suites.py, which `make test` runs its suites with: a failing suite fails the run and its whole
log is printed; a passing suite shows only its closing line; the suites really run at the same time."""

import subprocess
import sys
from pathlib import Path

RUNNER = Path(__file__).resolve().parents[1] / "run_suites.py"


def run(tmp_path, *suites):
    proc = subprocess.run([sys.executable, str(RUNNER), str(tmp_path / "logs")] + list(suites),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
    return proc.returncode, proc.stdout


def test_a_failing_suite_fails_the_run_and_its_log_is_printed(tmp_path):
    rc, out = run(tmp_path, "good=echo quiet-good-output; echo '=== 3 passed in 0.10s ==='",
                  "bad=echo the-failure-detail; echo '1 failed, 2 passed in 0.20s'; exit 1")
    assert rc == 1, out
    assert "[bad] FAILED (rc=1)" in out and "1 failed, 2 passed in 0.20s" in out
    assert "the-failure-detail" in out, "the failing suite's log is printed"
    assert "[good] ok" in out and "=== 3 passed in 0.10s ===" in out
    assert "quiet-good-output" not in out, "a passing suite's log stays in its file"
    assert "quiet-good-output" in (tmp_path / "logs" / "good.log").read_text()
    assert out.rstrip().endswith("FAILED suites: bad")


def test_all_passing_exits_0(tmp_path):
    rc, out = run(tmp_path, "a=true", "b=echo '2 passed in 0.01s'")
    assert rc == 0, out
    assert "FAILED" not in out


def test_suites_run_at_the_same_time(tmp_path):
    # Each suite waits for the other's file: run one after the other, neither could finish.
    a, b = tmp_path / "a-started", tmp_path / "b-started"
    wait = "for i in $(seq 200); do [ -e %s ] && exit 0; sleep 0.05; done; exit 1"
    rc, out = run(tmp_path, "a=touch %s; %s" % (a, wait % b), "b=touch %s; %s" % (b, wait % a))
    assert rc == 0, out
