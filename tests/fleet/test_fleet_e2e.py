"""End-to-end on the namespace fleet: real SSH, real chiapos plots, real transfers to the storage host."""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import fleetops
import pytest
from fleetcheck import finished_ids, plot_logs
from fleetlib import PLOT_SETTINGS, rules_vars

from plotfleet_testlib import PLOTTER_PYTHON, REPO, VENV_BIN, ansible_env

pytestmark = pytest.mark.fleet


def test_fleet_hosts_answer_over_ssh(fleet):
    """The fixture itself: Ansible reaches every host; each plotter reaches storage with its own key."""
    proc = subprocess.run([str(VENV_BIN / "ansible"), "all", "-i", str(fleet.inventory), "-m", "ping"],
                          cwd=str(REPO), env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=60)
    assert proc.returncode == 0, proc.stdout
    for name in ("pf-plot1", "pf-plot2", "pf-store1"):
        assert re.search(r"^%s \| SUCCESS" % name, proc.stdout, re.M), proc.stdout
    for plotter in fleet.plotters:
        fleet.wait_ssh_between(plotter.name, fleet.storage.name)


def test_reconcile_plots_on_both_plotters_and_moves_to_storage(fleet, ledger):
    max_jobs = 2
    fleet.write_inventory(overrides=dict((h.name, rules_vars(max_jobs=max_jobs)) for h in fleet.plotters))
    first = fleetops.run_pass(fleet)
    assert first.returncode == 0, first.stdout[-6000:]
    assert "Traceback" not in first.stdout
    # Both plotters started, each within the rules (live now, or already finished: k18 is quick).
    for host in fleet.plotters:
        launched = fleetops.job_count(fleet, host.name)
        assert 1 <= launched <= max_jobs, "%s launched %d plots (cap %d)" % (host.name, launched, max_jobs)
    fleetops.wait_for(lambda: not any(fleetops.live_plots(fleet).values()), 60, "the first plots to finish",
                      diagnose=lambda: fleetops.diagnose(fleet))
    started = set(i for h in fleet.plotters for ids, _ in plot_logs(h).values() for i in ids)
    assert started and started == finished_ids(fleet), "every started plot finished"
    fleetops.settle(fleet)
    # Verified at storage: complete header, right k, byte count equal to the source's (the ledger saw them).
    at_storage = fleetops.plots_at_storage(fleet)
    assert set(h["id"] for h in at_storage.values()) == started
    for path, header in at_storage.items():
        assert header["complete"] and header["k"] == PLOT_SETTINGS["k"], path
        assert header["size"] == ledger.source_sizes[header["id"]], path
    summary = ledger.assert_invariants(min_finished=2)
    assert summary["at_storage"] == len(started)
    assert not fleetops.plots_in_dst(fleet)

    # status.yml shows both plotters (their finished plots) and writes the JSON.
    json_path = fleet.status_json
    if json_path.exists():
        json_path.unlink()
    status = fleetops.run_pass(fleet, playbook=fleetops.STATUS)
    assert status.returncode == 0, status.stdout[-6000:]
    for name in ("pf-plot1", "pf-plot2"):
        assert name in status.stdout
    document = json.loads(json_path.read_text())
    assert set(h["name"] for h in document["hosts"]) == set(fleet.hosts), document["hosts"]


def test_loop_runs_passes_over_ssh_until_sigterm(fleet, ledger):
    """bin/plotfleet-loop against the fleet: passes one after the other, plots start, move; SIGTERM ends it."""
    fleetops.require(fleetops.LOOP, "loop wrapper")
    fleet.write_inventory(overrides=dict((h.name, rules_vars(max_jobs=1)) for h in fleet.plotters))
    log_path = fleet.root / "loop.out"
    work = fleet.root / "loop"
    cmd = [str(fleetops.LOOP), "--interval", "2", "--lock", str(work / "loop.lock"), "--work-dir", str(work),
           "--", "-i", str(fleet.inventory)]
    with open(str(log_path), "w") as out:
        loop = subprocess.Popen([str(VENV_BIN / "python")] + cmd, cwd=str(REPO), env=ansible_env(), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # Once both plotters started a plot, drain them (pause file): later passes only move.
        fleetops.wait_for(lambda: all(fleetops.launch_records(fleet, h.name) for h in fleet.plotters), 60,
                          "the loop's first pass to start plots on both plotters",
                          diagnose=lambda: log_path.read_text()[-4000:] + fleetops.diagnose(fleet))
        fleetops.pause(fleet)
        fleetops.wait_for(lambda: fleet_hosts_stored(fleet) == set(h.name for h in fleet.plotters), 90,
                          "plots of both plotters at storage via the loop",
                          diagnose=lambda: log_path.read_text()[-4000:] + fleetops.diagnose(fleet))
    finally:
        os.kill(loop.pid, signal.SIGTERM)
        rc = loop.wait(timeout=90)
    text = log_path.read_text()
    assert rc == 0, text
    assert re.search(r"pass \d+ rc=0 started=\d+ moved=\d+", text), text
    assert "stopped after" in text
    fleetops.settle(fleet)
    ledger.assert_invariants(min_finished=2)


def fleet_hosts_stored(fleet):
    """Plotters whose plots are at storage (by the plot ids in their logs)."""
    stored = set(h["id"] for h in fleetops.plots_at_storage(fleet).values() if h)
    return set(host.name for host in fleet.plotters
               if any(i in stored for ids, _ in plot_logs(host).values() for i in ids))



def test_ledger_catches_each_broken_invariant(fleet, ledger):
    """The fault suite's checks can fail: a partial plot at storage, a plot lost, a duplicate, a deleted
    sentinel and a deleted log are each reported."""
    plotter, storage_dir = fleet.hosts["pf-plot1"], fleet.storage.storage_dirs[0]
    plot_id = os.urandom(32)
    name = "plot-k18-2026-01-01-00-00-%s.plot" % plot_id.hex()
    script = ("import os, sys; from chiapos import DiskPlotter; DiskPlotter().create_plot_disk("
              "sys.argv[1], sys.argv[1], sys.argv[1], sys.argv[2], 18, os.urandom(128), bytes.fromhex(sys.argv[3]),"
              " 100, 32, 2000, 1, False)")
    subprocess.run([PLOTTER_PYTHON, "-c", script, plotter.tmp_dirs[0], name, plot_id.hex()], check=True,
                   stdout=subprocess.DEVNULL, timeout=120)
    source = os.path.join(plotter.dst_dirs[0], name)
    os.rename(os.path.join(plotter.tmp_dirs[0], name), source)
    with open(os.path.join(plotter.log_dir, "made-by-hand.log"), "w") as log:
        log.write("ID: %s\nRenamed final file from \"x\" to \"%s\"\n" % (plot_id.hex(), source))
    fleetops.wait_for(lambda: plot_id.hex() in ledger.source_sizes, 10, "the ledger to see the plot")
    problems, _ = ledger.check()
    assert not problems, problems

    shutil.copyfile(source, os.path.join(storage_dir, name))   # the same plot twice
    assert any("duplicated" in p for p in ledger.check()[0])
    with open(source, "rb") as src, open(os.path.join(storage_dir, name), "wb") as dst:
        dst.write(src.read(2000000))                           # ... now a partial copy at storage
    os.unlink(source)                                          # ... and the source deleted
    os.unlink(ledger.sentinels[0])
    os.unlink(os.path.join(plotter.log_dir, "made-by-hand.log"))
    time.sleep(0.3)
    problems = "\n".join(ledger.check()[0])
    for expected in ("partial .plot", "deleted while no complete copy", "sentinel deleted",
                     "file deleted that is not a temp file: %s" % os.path.join(plotter.log_dir, "made-by-hand.log")):
        assert expected in problems, problems
    with pytest.raises(AssertionError):
        ledger.assert_invariants()
