"""plot_start's host lock under real contention: one ansible-playbook run, eight forks, eight inventory
aliases of this machine that share one state_dir and one tmp dir. All eight plot_start calls gather and
decide at the same moment; only the lock (records.host_lock around decide+act in starting.run) keeps
them from all seeing a free slot. Without it this test starts two to four plots for a cap of one.

Counted on this test's own dirs only (its state_dir's launch records, its tmp dir): the machine may be
plotting for real meanwhile, which is why the cap is per tmp dir (max_jobs counts every plotter on it).
"""

import json
import os
import shutil

import pytest
from startstop_lib import K22, Host, alive

from plotfleet_testlib import REPO, run_playbook

pytestmark = pytest.mark.live

ALIASES = ["host%d" % n for n in range(1, 9)]
CAP = 1  # any two calls that overlap would both start
# k=22 runs ~25 s or more here: every plot started by the eight calls is still live when the last
# call decides, so a plot that finished early can never free a slot and let a third one start.
PLOTTER = dict(K22, threads=1)
# A host with a history: the first gather parses these logs (~0.5 s cold, 10 ms once cached), so the
# eight calls, which start within a few hundred ms of each other, are all still deciding when the
# first one launches. Without a lock they would all see an empty tmp dir.
OLD_LOG = REPO / "tests" / "fixtures" / "shared" / "chiapos" / "chiapos-k22-b32-t2.log"
OLD_LOGS = 200


@pytest.fixture
def host(tmp_path):
    h = Host(tmp_path / "shared")
    yield h
    h.kill_all()


def write_history(host):
    for number in range(OLD_LOGS):
        shutil.copyfile(str(OLD_LOG), "%s/2026-01-01T00_00_00-old%03d.log" % (host.logs, number))


def plotting_into(tmp):
    """pids of live plotters whose command line names tmp, read from /proc (not from plotfleet's records)."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                argv = handle.read().decode("utf-8", "replace").split("\0")
        except (OSError, ValueError):
            continue
        if tmp in argv and any("plotfleet-chiapos" in arg for arg in argv) and alive(int(entry)):
            found.append(int(entry))
    return found


def write_play(tmp_path, host):
    rules = {"max_jobs": 1000, "max_jobs_per_tmp": CAP, "max_before_step": 100, "min_start_interval_minutes": 0,
             "crash_window_minutes": 0}
    results = tmp_path / "results"
    results.mkdir()
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": dict(
        (name, {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"})
        for name in ALIASES)}}))
    playbook = tmp_path / "start.yml"
    playbook.write_text(json.dumps([{
        "hosts": "all", "gather_facts": False,
        "tasks": [
            {"name": "Start", "plotfleet.chia.plot_start": host.args(plotter=PLOTTER, rules=rules),
             "register": "started"},
            {"name": "Keep each alias's result", "ansible.builtin.copy": {
                "content": "{{ started | to_json }}", "dest": str(results) + "/{{ inventory_hostname }}.json",
                "mode": "0644"}},
        ],
    }]))
    return inventory, playbook, results


def test_eight_forks_deciding_at_once_start_only_the_cap(tmp_path, host):
    write_history(host)
    inventory, playbook, results = write_play(tmp_path, host)
    proc = run_playbook(playbook, inventory=inventory, args=["--forks", str(len(ALIASES))])
    assert proc.returncode == 0, proc.stdout[-4000:]
    outcome = dict((name, json.loads((results / ("%s.json" % name)).read_text())) for name in ALIASES)

    records = host.records()
    live = [r for r in records if alive(r["pid"])]
    assert len(records) == CAP, "%d plots started for a cap of %d (launches %s)" % (
        len(records), CAP, ", ".join(sorted(r["launch_id"] for r in records)))
    assert len(live) == CAP, records
    assert sorted(plotting_into(host.tmp)) == sorted(r["pid"] for r in records)
    started = sorted(name for name, result in outcome.items() if result["changed"])
    assert len(started) == CAP
    launched = sorted(s["launch_id"] for name in started for s in outcome[name]["started"])
    assert launched == sorted(r["launch_id"] for r in records)
    for name, result in outcome.items():
        if name not in started:
            assert result["started"] == [] and result["reasons"] == [
                "tmp %s: %d job%s (limit %d)" % (host.tmp, CAP, "" if CAP == 1 else "s", CAP)], (name, result)
