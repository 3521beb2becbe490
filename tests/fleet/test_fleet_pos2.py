"""PoS2 over the SSH fleet (issue 12): real `.plot2` plots made by the `pos2` kind (chia_rs in the plotter
Python, through plotfleet's driver) started by reconcile passes over real SSH, tracked by plot_info while
they plot, finished, moved to the storage host and verified there (header `PoS2`, chia_rs.Prover opens
it, its byte count, the mover's record), and the status JSON and table count them as v2 plots per dir
and per fleet. A mixed fleet (one plotter v1 chiapos, one v2 pos2) reports v1 and v2 apart.
"""

import json
import os
import re
import shutil
import subprocess
import time

import fleetcheck
import fleetops
import pytest
from fleetcheck import plot_logs
from fleetlib import pos2_vars, rules_vars

from ansible_collections.plotfleet.chia.plugins.module_utils import pos2_driver
from plotfleet_testlib import PLOTTER_PYTHON

pytestmark = pytest.mark.fleet

chia_rs = pytest.importorskip("chia_rs", reason="PoS2 needs chia_rs in the plotter Python")

# pf-plot1's job makes two k22 plots (~3 s each on an idle core, 12.5 MB): alive long enough for a
# plot_info over SSH right after its start, on a fast machine too. pf-plot2 makes one k18 (~0.3 s).
TRACKED = "pf-plot1"
TRACKED_K, TRACKED_COUNT = 22, 2


def pos2_overrides(fleet, tracked):
    """One job per plotter, pos2 everywhere; `tracked` makes the longer two-plot job."""
    overrides = {}
    for host in fleet.plotters:
        plots = pos2_vars(k=TRACKED_K, plots_per_job=TRACKED_COUNT) if host.name == tracked else pos2_vars(k=18)
        overrides[host.name] = dict(rules_vars(max_jobs=1, max_starts=1), **plots)
    return overrides


def tracked_job(fleet, name):
    """The live pos2 job plot_info (over SSH) reports on `name`, once it shows a step from the log."""
    for job in fleetops.plot_info(fleet, name)["jobs"]:
        if job.get("plotter") == "pos2" and job.get("state") == "plotting" and job.get("id") and job.get("step"):
            return job
    return None


def watch_while_plotting(fleet, name, timeout=120):
    """plot_info samples of the job on `name` from its launch until it is seen plotting (or has ended)."""
    fleetops.wait_for(lambda: fleetops.launch_records(fleet, name), timeout, "a launch record on %s" % name,
                      interval=0.05, diagnose=lambda: fleetops.diagnose(fleet))
    samples = []
    while fleet.plot_pids(name) or not samples:
        job = tracked_job(fleet, name)
        samples.append(job)
        if job:
            return job, samples
    return None, samples


def pos2_logs_done(fleet, name):
    """(ids, done files) of the pos2 logs on `name`: `ID:` lines and `Plot i/N done ...: <file>` lines."""
    ids, files = [], []
    for path in plot_logs(fleet.hosts[name]):
        with open(path) as handle:
            text = handle.read()
        ids += re.findall(r"^ID: ([0-9a-f]{64})$", text, re.M)
        files += re.findall(r"^Plot \d+/\d+ done in [0-9.]+ seconds: (.*\.plot2)$", text, re.M)
    return ids, files


def transfer_record(fleet, name, plot_id):
    """The mover's record of plot_id on plotter `name` (current, or archived once done)."""
    folder = os.path.join(fleet.hosts[name].state_dir, "transfers")
    for path in (os.path.join(folder, "done", plot_id + ".json"),) + tuple(
            os.path.join(folder, f) for f in sorted(os.listdir(folder)) if f.endswith(".json")):
        try:
            with open(path) as handle:
                rec = json.load(handle)
        except (OSError, ValueError):
            continue
        if rec.get("plot_id") == plot_id:
            return rec
    return None


def check_at_storage(fleet, ledger, expected_ids):
    """Each expected .plot2 is at storage once, complete, opened by chia_rs, and the mover verified it."""
    at_storage = dict((h["id"], (path, h)) for path, h in fleetops.plots_at_storage(fleet).items()
                      if h and h["format"] == "pos2")
    assert set(at_storage) == set(expected_ids), (sorted(at_storage), sorted(expected_ids))
    by_host = dict((i, h.name) for h in fleet.plotters for ids, _ in plot_logs(h).values() for i in ids)
    for plot_id, (path, header) in at_storage.items():
        with open(path, "rb") as handle:
            assert handle.read(4) == b"PoS2", path
        assert header["complete"] and header["size"] == ledger.source_sizes[plot_id], path
        prover = chia_rs.Prover(path)
        assert bytes(prover.plot_id_for_index(0)).hex() == plot_id and prover.size() == header["k"], path
        assert prover.get_strength() == 2
        rec = transfer_record(fleet, by_host[plot_id], plot_id)
        assert rec and rec["state"] == "done" and rec["bytes_done"] == header["size"], rec
        with open(rec["log"]) as handle:
            worker_log = handle.read()
        assert "verified and renamed to %s:%s" % (rec["host"], path) in worker_log, worker_log[-3000:]
    return at_storage


def status_document(fleet):
    """status.yml over the fleet: (JSON document, table text)."""
    fleet.status_json.unlink() if fleet.status_json.exists() else None
    proc = fleetops.run_pass(fleet, playbook=fleetops.STATUS)
    assert proc.returncode == 0, proc.stdout[-6000:]
    # The table wraps long lines: search it as one line.
    return json.loads(fleet.status_json.read_text()), " ".join((fleet.root / "status.txt").read_text().split())


def storage_row(document, fleet):
    (host,) = [h for h in document["hosts"] if h["name"] == fleet.storage.name]
    (row,) = [d for d in host["dirs"] if d["path"] == fleet.storage.storage_dirs[0]]
    return row


def test_pos2_plots_are_tracked_moved_and_verified_at_storage(fleet, ledger):
    fleet.write_inventory(overrides=pos2_overrides(fleet, TRACKED))
    began = time.time()
    first = fleetops.spawn_pass(fleet, log_path=fleet.root / "pos2-pass1.out")
    try:
        job, samples = watch_while_plotting(fleet, TRACKED)
    finally:
        assert first.wait(timeout=180) == 0, (fleet.root / "pos2-pass1.out").read_text()[-6000:]
    # Tracked while plotting: its id, k, dirs and a step/phase/progress from the pos2 log.
    assert job, "no plot_info saw the pos2 job plotting: %s" % samples
    host = fleet.hosts[TRACKED]
    assert job["k"] == TRACKED_K and job["phase"] in (1, 5) and job["step"] in ("1:1", "5:0"), job
    assert 0 <= job["progress"] < 1 and job["tmp_dir"] in host.tmp_dirs and job["dst_dir"] == host.dst_dirs[0], job
    ids, _ = pos2_logs_done(fleet, TRACKED)
    assert job["id"] in ids

    fleetops.wait_plots_done(fleet, timeout=180)
    fleetops.settle(fleet, timeout=120)
    expected = {}
    for plotter in fleet.plotters:
        ids, files = pos2_logs_done(fleet, plotter.name)
        want = TRACKED_COUNT if plotter.name == TRACKED else 1
        assert len(ids) == len(files) == want, (plotter.name, ids, files)
        assert all(os.path.basename(f) == "plot-k%d-%s.plot2" % (TRACKED_K if plotter.name == TRACKED else 18, i)
                   for i, f in zip(ids, files))
        expected.update((i, plotter.name) for i in ids)
    at_storage = check_at_storage(fleet, ledger, expected)
    assert not fleetops.plots_in_dst(fleet)
    ledger.assert_invariants(min_finished=len(expected))

    document, table = status_document(fleet)
    row = storage_row(document, fleet)
    v2_bytes = sum(h["size"] for _, h in at_storage.values())
    assert (row["plots_v2"], row["plot_bytes_v2"], row["plot_count"]) == (len(expected), v2_bytes, 0), row
    summary = document["summary"]
    assert (summary["plots_v1"], summary["plots_v2"], summary["plot_bytes_v2"]) == (0, len(expected), v2_bytes)
    assert summary["v2_share"] == 1.0
    assert re.search(r"storage %s [^─]* %d v2 plots" % (fleet.storage.storage_dirs[0], len(expected)), table), table
    assert re.search(r"plots 0 v1 \([^)]*\) \+ %d v2 \([^)]*\), replot 100\.0%%" % len(expected), table), table
    print("pos2 fleet: %d .plot2 at storage (%d bytes) in %.0fs; the job seen at step %s after %.1fs, %d plot_info"
          " sample(s)" % (len(expected), v2_bytes, time.time() - began, job["step"], job["elapsed_s"], len(samples)))


def test_mixed_fleet_reports_v1_and_v2_plots_apart(fleet, ledger):
    """pf-plot1 plots v1 (chiapos k18), pf-plot2 v2 (pos2 k18): storage and the fleet count each format."""
    v1_host, v2_host = fleet.plotters
    overrides = {v1_host.name: rules_vars(max_jobs=1, max_starts=1),
                 v2_host.name: dict(rules_vars(max_jobs=1, max_starts=1), **pos2_vars(k=18))}
    fleet.write_inventory(overrides=overrides)
    fleetops.start_plots(fleet)
    fleetops.wait_plots_done(fleet)
    fleetops.settle(fleet)
    headers = list(fleetops.plots_at_storage(fleet).values())
    v1 = [h for h in headers if h["format"] == "v1"]
    v2 = [h for h in headers if h["format"] == "pos2"]
    assert len(v1) == 1 and len(v2) == 1 and all(h["complete"] for h in headers), headers
    v1_ids = [i for ids, _ in plot_logs(v1_host).values() for i in ids]
    assert v1[0]["id"] in v1_ids and v2[0]["id"] in pos2_logs_done(fleet, v2_host.name)[0]
    ledger.assert_invariants(min_finished=2)

    document, table = status_document(fleet)
    row = storage_row(document, fleet)
    assert (row["plots_v1"], row["plot_bytes_v1"]) == (1, v1[0]["size"]), row
    assert (row["plots_v2"], row["plot_bytes_v2"]) == (1, v2[0]["size"]), row
    summary = document["summary"]
    assert (summary["plots_v1"], summary["plot_bytes_v1"]) == (1, v1[0]["size"]), summary
    assert (summary["plots_v2"], summary["plot_bytes_v2"]) == (1, v2[0]["size"]), summary
    share = float(v2[0]["size"]) / (v1[0]["size"] + v2[0]["size"])
    assert abs(summary["v2_share"] - share) < 1e-3, summary
    assert re.search(r"storage %s [^─]* 1 v1 \+ 1 v2 plots" % fleet.storage.storage_dirs[0], table), table
    assert re.search(r"plots 1 v1 \([^)]*\) \+ 1 v2 \([^)]*\), replot %.1f%%" % (100 * share), table), table


def test_ledger_catches_broken_invariants_of_plot2_files(fleet, ledger):
    """The invariants hold .plot2 files to the same rules as .plot: a partial copy at storage, a duplicate,
    a source deleted without a complete copy at storage are each reported."""
    plotter, storage_dir = fleet.hosts["pf-plot1"], fleet.storage.storage_dirs[0]
    driver = pos2_driver.install_driver(plotter.state_dir)
    with open(os.path.join(plotter.log_dir, "pos2-by-hand.log"), "w") as log:
        subprocess.run([PLOTTER_PYTHON, driver, "-k", "18", "-t", plotter.tmp_dirs[0], "-d", plotter.dst_dirs[0]],
                       stdout=log, stderr=subprocess.STDOUT, check=True, timeout=120)
    (source,) = fleetops.plots_in_dst(fleet)
    plot_id = fleetcheck.name_id(os.path.basename(source))
    fleetops.wait_for(lambda: plot_id in ledger.source_sizes, 10, "the ledger to see the .plot2")
    assert plot_id in fleetcheck.finished_ids(fleet) and not ledger.check()[0]

    copy = os.path.join(storage_dir, os.path.basename(source))
    shutil.copyfile(source, copy)                              # the same plot twice
    assert any("duplicated" in p for p in ledger.check()[0])
    with open(source, "rb") as src, open(copy, "wb") as dst:
        dst.write(src.read(2000))                              # ... now a partial copy at storage
    assert not fleetcheck.read_any_header(copy)["complete"]
    os.unlink(source)                                          # ... and the source deleted
    time.sleep(0.3)
    problems = "\n".join(ledger.check()[0])
    for expected in ("partial .plot seen: %s" % copy, "deleted while no complete copy",
                     "partial .plot at destination: %s" % copy):
        assert expected in problems, problems
