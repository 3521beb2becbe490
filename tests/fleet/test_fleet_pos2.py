"""PoS2 over the SSH fleet (issue 12): real `.plot2` plots made by the `pos2` kind (chia_rs in the plotter
Python, through plotfleet's driver) started by a reconcile pass over real SSH, tracked by plot_info while
they plot, finished, moved to the storage host and verified there (header `PoS2`, chia_rs.Prover opens
it, its byte count, the mover's record). The other plotter plots v1 (chiapos) in the same passes, and the
status JSON and table count v1 and v2 plots and bytes apart, per dir and for the fleet.
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

# pf-plot1's pos2 job makes two k22 plots (~3 s each on an idle core, 12.5 MB): alive long enough for a
# plot_info over SSH right after its start, on a fast machine too. pf-plot2 makes one chiapos k18 (v1).
TRACKED = "pf-plot1"
TRACKED_K, TRACKED_COUNT = 22, 2


def mixed_overrides(fleet):
    """One job per plotter: TRACKED on pos2 (the longer two-plot job), the other on chiapos k18 (v1)."""
    overrides = dict((h.name, rules_vars(max_jobs=1, max_starts=1)) for h in fleet.plotters)
    overrides[TRACKED].update(pos2_vars(k=TRACKED_K, plots_per_job=TRACKED_COUNT))
    return overrides


def tracked_job(fleet, name):
    """The live pos2 job plot_info (over SSH) reports on `name`, once its log shows it writing a plot."""
    for job in fleetops.plot_info(fleet, name)["jobs"]:
        if job.get("plotter") == "pos2" and job.get("state") == "plotting" and job.get("id") and job.get("phase"):
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


def memo_leaks(fleet, plots, outputs):
    """Where the secret key of any of these plots (the memo's last 32 bytes) shows outside a plot file: in
    any other file of the fleet (logs, records, status files) or in the passes' output, as hex or raw."""
    secrets = [chia_rs.Prover(path).get_memo()[-32:] for path in plots]
    found = []
    for top, _dirs, files in os.walk(str(fleet.root)):
        for name in files:
            path = os.path.join(top, name)
            if fleetcheck.is_plot_file(name) or not os.path.isfile(path):
                continue
            with open(path, "rb") as handle:
                data = handle.read()
            found += [path for sk in secrets if sk in data or sk.hex().encode() in data]
    found += ["pass output %d" % i for i, text in enumerate(outputs) for sk in secrets if sk.hex() in text]
    return found


def status_document(fleet):
    """status.yml over the fleet: (JSON document, table text)."""
    fleet.status_json.unlink() if fleet.status_json.exists() else None
    proc = fleetops.run_pass(fleet, playbook=fleetops.STATUS)
    assert proc.returncode == 0, proc.stdout[-6000:]
    # The table wraps long lines: search it as one line.
    table = " ".join((fleet.root / "status.txt").read_text().split())
    return json.loads(fleet.status_json.read_text()), table, proc.stdout


def storage_row(document, fleet):
    (host,) = [h for h in document["hosts"] if h["name"] == fleet.storage.name]
    (row,) = [d for d in host["dirs"] if d["path"] == fleet.storage.storage_dirs[0]]
    return row


def test_pos2_plots_are_tracked_moved_verified_and_counted_apart_from_v1(fleet, ledger):
    """pf-plot1 plots PoS2 (pos2, two k22 plots in one job), pf-plot2 v1 (chiapos k18), in the same passes."""
    fleet.write_inventory(overrides=mixed_overrides(fleet))
    v1_host = [h for h in fleet.plotters if h.name != TRACKED][0]
    began = time.time()
    first = fleetops.spawn_pass(fleet, log_path=fleet.root / "pos2-pass1.out")
    try:
        job, samples = watch_while_plotting(fleet, TRACKED)
    finally:
        assert first.wait(timeout=180) == 0, (fleet.root / "pos2-pass1.out").read_text()[-6000:]
    # Tracked while plotting: its id, k, dirs and its step (1:1, from the `Writing` line) from the pos2 log.
    assert job, "no plot_info saw the pos2 job plotting: %s" % samples
    host = fleet.hosts[TRACKED]
    assert job["k"] == TRACKED_K and job["count"] == TRACKED_COUNT and (job["phase"], job["step"]) == (1, "1:1"), job
    assert 0 <= job["progress"] < 1 and job["tmp_dir"] in host.tmp_dirs and job["dst_dir"] == host.dst_dirs[0], job
    assert job["id"] in pos2_logs_done(fleet, TRACKED)[0]

    fleetops.wait_plots_done(fleet, timeout=180)
    outputs = fleetops.settle(fleet, timeout=120)
    ids, files = pos2_logs_done(fleet, TRACKED)
    assert len(ids) == len(files) == TRACKED_COUNT, (ids, files)
    assert [os.path.basename(f) for f in files] == ["plot-k%d-%s.plot2" % (TRACKED_K, i) for i in ids]
    at_storage = check_at_storage(fleet, ledger, ids)
    v1 = [h for h in fleetops.plots_at_storage(fleet).values() if h["format"] == "v1"]
    v1_ids = [i for ids, _ in plot_logs(v1_host).values() for i in ids]
    assert len(v1) == 1 and v1[0]["complete"] and v1[0]["id"] in v1_ids, (v1, v1_ids)
    assert not fleetops.plots_in_dst(fleet)
    ledger.assert_invariants(min_finished=TRACKED_COUNT + 1)

    # status.yml: the storage dir and the fleet count v1 and v2 plots and bytes apart.
    document, table, status_output = status_document(fleet)
    row = storage_row(document, fleet)
    v1_bytes, v2_bytes = v1[0]["size"], sum(h["size"] for _, h in at_storage.values())
    assert (row["plots_v1"], row["plot_bytes_v1"], row["plot_count"]) == (1, v1_bytes, 1), row
    assert (row["plots_v2"], row["plot_bytes_v2"]) == (TRACKED_COUNT, v2_bytes), row
    summary = document["summary"]
    assert (summary["plots_v1"], summary["plot_bytes_v1"]) == (1, v1_bytes), summary
    assert (summary["plots_v2"], summary["plot_bytes_v2"]) == (TRACKED_COUNT, v2_bytes), summary
    share = float(v2_bytes) / (v1_bytes + v2_bytes)
    assert abs(summary["v2_share"] - share) < 1e-3, summary
    storage_dir = fleet.storage.storage_dirs[0]
    assert re.search(r"storage %s [^─]* 1 v1 \+ %d v2 plots" % (storage_dir, TRACKED_COUNT), table), table
    # The table shows the document's share (rounded to 4 places): formatting the exact share instead failed
    # when it sat on a rounding edge (86.2549 % -> 0.8625 -> "86.2" in the table, "86.3" from the exact one).
    assert re.search(r"plots 1 v1 \([^)]*\) \+ %d v2 \([^)]*\), replot %.1f%%"
                     % (TRACKED_COUNT, 100 * summary["v2_share"]), table), table
    # The memo's secret key stays in the plot: no log, record, status file or pass output holds it.
    assert not memo_leaks(fleet, [path for path, _ in at_storage.values()], outputs + [status_output])
    print("pos2 fleet: %d .plot2 + 1 .plot at storage in %.0fs; the pos2 job seen at step %s after %.1fs, %d plot_info"
          " sample(s)" % (TRACKED_COUNT, time.time() - began, job["step"], job["elapsed_s"], len(samples)))


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
