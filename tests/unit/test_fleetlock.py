"""tests/fleet/fleetlock.py: one namespace fleet at a time. The lock is waited for when another run
holds it, and not taken again when an ancestor (`flock LOCK make test`) holds it for us."""

import subprocess
import sys
import time
from pathlib import Path

FLEET_DIR = Path(__file__).resolve().parents[1] / "fleet"
HOLD = ("import sys, time; sys.path.insert(0, %r); import fleetlock\n"
        "with fleetlock.held(sys.argv[1]) as how: print(how.split()[0], repr(time.time()))" % str(FLEET_DIR))


def held_in_child(lock, wrap=()):
    return subprocess.run(list(wrap) + [sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=15)


def test_taken_when_free(tmp_path):
    proc = held_in_child(tmp_path / "fleet.lock")
    assert proc.returncode == 0 and proc.stdout.split()[0] == "taken", proc.stderr


def test_waits_while_another_run_holds_it(tmp_path):
    lock = tmp_path / "fleet.lock"
    holding, released = tmp_path / "holding", tmp_path / "released"
    script = "touch %s; sleep 1; python3 -c 'import time; print(repr(time.time()))' > %s" % (holding, released)
    other = subprocess.Popen(["flock", str(lock), "sh", "-c", script])
    try:
        deadline = time.time() + 10
        while not holding.exists() and time.time() < deadline:
            time.sleep(0.02)
        proc = held_in_child(lock)
    finally:
        other.wait(timeout=30)
    how, acquired = proc.stdout.split()
    assert how == "taken", (proc.stdout, proc.stderr)
    assert float(acquired) >= float(released.read_text()), "taken only after the other run let go"
    assert "waiting for the fleet lock" in proc.stderr


def test_runs_under_an_ancestors_lock_without_waiting_on_it(tmp_path):
    lock = tmp_path / "fleet.lock"
    proc = held_in_child(lock, wrap=["flock", str(lock)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "held", proc.stdout
