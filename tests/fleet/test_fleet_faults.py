"""The fault suite (issue 6): each fault on the namespace fleet, each ending with the same invariants:
0 plots lost, 0 duplicated, 0 partial `.plot` files at any destination, no file deleted outside temp
patterns (fleetcheck.Ledger watches every dir during the whole test).
"""

import json
import os
import re
import signal
import time

import fleetops
import pytest
from fleetcheck import finished_ids, plot_logs, storage_leftovers
from fleetlib import cleanup_vars, kill_pids, rules_vars

from plotfleet_testlib import VENV_BIN

pytestmark = pytest.mark.fleet

# The start of a chiapos log whose process is gone (no completion line): a `dead` plot.
TRUNCATED_ID = "5a" * 32
TRUNCATED_LOG = "\n".join([
    "",
    "Starting plotting progress into temporary dirs: /nowhere/t and /nowhere/t",
    "ID: %s" % TRUNCATED_ID,
    "Plot size is: 18",
    "Buffer size is: 100MiB",
    "Using 32 buckets",
    "Final Directory is: /nowhere/d",
    "Using 1 threads of stripe size 2000",
    "Process ID is: 999999",
    "",
    "Starting phase 1/4: Forward Propagation into tmp files... Sat Nov 28 20:21:09 2026",
    "Computing table 1",
    "Progress update: 0.01",
    "F1 complete, time: 0.108 seconds. CPU (113.85%) Sat Nov 28 20:21:09 2026",
    "Computing table 2",
    "\tBucket 0 uniform sort. Ram: 0.176GiB, u_sort min: 0.003GiB, qs min: 0.001GiB.",
    "\tBucket 1 unif",
])


# k21 takes about 8 s (k18: 1.5 s): long enough to cut a link or kill the host while it plots.
SLOW_PLOT = {"plotfleet_k": 21, "plotfleet_stripe": 4096}
MEDIUM_PLOT = {"plotfleet_k": 20, "plotfleet_stripe": 4096}  # about 4 s
# Once the fault is repaired, the operator retries the failed transfers at once instead of after the
# 10 minutes plot_move waits by default: `-e plotfleet_move_retry_after_s=0`.
RETRY_NOW = {"plotfleet_move_retry_after_s": 0}


def plotter_overrides(fleet, **rules):
    return dict((h.name, rules_vars(**rules)) for h in fleet.plotters)


def ids_of(host):
    return set(i for ids, _ in plot_logs(host).values() for i in ids)


def plots_of(fleet, host):
    """Complete plots in this plotter's dst dir."""
    return [p for p in fleetops.plots_in_dst(fleet, [host.name])]


# ---------------------------------------------------------------------------------------------- 1
def test_fault1_controller_killed_mid_pass(fleet, ledger):
    """SIGKILL of ansible-playbook and its process group, once while it starts plots, once while it
    moves them: plots go on, the next passes pick up from what the hosts show, nothing is lost or doubled."""
    fleet.write_inventory(overrides=plotter_overrides(fleet, max_jobs=1))
    proc = fleetops.spawn_pass(fleet, log_path=fleet.root / "killed-pass-1.out")
    killed_while_starting = fleetops.kill_pass_when(
        proc, lambda: any(fleetops.live_plots(fleet).values()))
    fleetops.run_pass(fleet)  # starts on a plotter the killed pass did not reach (if any)
    assert all(fleetops.launch_records(fleet, h.name) for h in fleet.plotters), fleetops.diagnose(fleet)
    fleetops.wait_plots_done(fleet)
    fleetops.pause(fleet)
    finished = set(i for h in fleet.plotters for i in ids_of(h))

    proc = fleetops.spawn_pass(fleet, log_path=fleet.root / "killed-pass-2.out")
    # plot_move writes the transfer record, then launches the worker: kill right there.
    killed_while_moving = fleetops.kill_pass_when(proc, lambda: any(transfer_records(h) for h in fleet.plotters))
    fleetops.settle(fleet)

    assert killed_while_starting, "the first kill hit the pass while plot_start ran"
    print("controller killed mid-start: %s, mid-move: %s" % (killed_while_starting, killed_while_moving))
    for host in fleet.plotters:
        # max_jobs 1: one start in the killed pass at most, one in the next (if the first had none).
        assert fleetops.job_count(fleet, host.name) <= 2, fleetops.diagnose(fleet)
    stored = set(h["id"] for h in fleetops.plots_at_storage(fleet).values())
    assert finished <= stored
    ledger.assert_invariants(min_finished=2)


def transfer_records(host):
    path = os.path.join(host.state_dir, "transfers")
    return [n for n in os.listdir(path) if n.endswith(".json")] if os.path.isdir(path) else []


def transfer_summary(fleet):
    """(state, reason, attempt) of every transfer record on the plotters."""
    return [(r.get("state"), r.get("reason"), r.get("attempt"))
            for h in fleet.plotters for r in read_transfer_records(h)]


def read_transfer_records(host):
    path = os.path.join(host.state_dir, "transfers")
    records = []
    for name in transfer_records(host):
        try:
            with open(os.path.join(path, name)) as handle:
                records.append(json.load(handle))
        except (OSError, ValueError):
            pass
    return records


# ---------------------------------------------------------------------------------------------- 2
def test_fault2_plotter_network_cut_while_plotting(fleet, ledger):
    """The link of pf-plot1 goes down while it plots: its plot finishes regardless; passes report it
    unreachable and still move pf-plot2's plots; once the link is back, pf-plot1's plot is moved."""
    overrides = plotter_overrides(fleet, max_jobs=1)
    overrides["pf-plot1"].update(SLOW_PLOT)  # still plotting when its link goes down
    fleet.write_inventory(overrides=overrides)
    fleetops.start_plots(fleet, per_host=1)
    cut = fleet.hosts["pf-plot1"]
    fleet.link_down(cut.name)
    assert fleet.plot_pids(cut.name), "pf-plot1 plots while its link is cut"
    fleetops.pause(fleet)
    fleetops.wait_plots_done(fleet)
    cut_ids = ids_of(cut)
    assert cut_ids and cut_ids <= finished_ids(fleet), "pf-plot1's plot finished while its link was down"
    outputs = []
    for _ in range(4):
        out = fleetops.run_pass(fleet)
        outputs.append(out)
        other = fleet.hosts["pf-plot2"]
        if not plots_of(fleet, other) and not fleet.busy_pids(other.name, idle=False):
            break
        time.sleep(1)
    last = outputs[-1]
    assert last.returncode != 0, "an unreachable host makes the pass exit non-zero"
    assert re.search(r"pf-plot1.*UNREACHABLE", last.stdout), last.stdout[-4000:]
    assert "pf-plot2" in last.stdout
    assert not plots_of(fleet, fleet.hosts["pf-plot2"]), "pf-plot2's plots moved while pf-plot1 was cut off"
    assert len(plots_of(fleet, cut)) == len(cut_ids) >= 1, "pf-plot1's finished plot waits on pf-plot1"
    fleet.link_up(cut.name)
    fleetops.settle(fleet)
    stored = set(h["id"] for h in fleetops.plots_at_storage(fleet).values())
    assert cut_ids <= stored
    ledger.assert_invariants(min_finished=2)


# ---------------------------------------------------------------------------------------------- 3
CUT_SECONDS = 12


def test_fault3_network_cut_during_transfer(fleet, ledger):
    """The storage link goes down while plots are being copied to it (the link is slowed so a copy takes
    seconds): no partial `.plot` at storage, the sources stay until verified, the copy completes later."""
    overrides = plotter_overrides(fleet, max_jobs=1)
    # The copies' ssh gives up on a silent server after 2 x 2 s (the default is 15 s x 4): the cut below then
    # ends their session from this side too. The storage sshd's ClientAlive limit alone let both copies resume
    # over the same connection once, on a loaded machine (CI: "the cut broke a transfer: [done, done]").
    for name in overrides:
        overrides[name]["plotfleet_move_ssh_options"] = fleet.host_vars(name)["plotfleet_move_ssh_options"] + [
            "-o", "ServerAliveInterval=2", "-o", "ServerAliveCountMax=2"]
    fleet.write_inventory(overrides=overrides)
    fleetops.start_plots(fleet, per_host=1)
    fleetops.wait_plots_done(fleet)
    fleetops.pause(fleet)
    sources = fleetops.plots_in_dst(fleet)
    fleet.shape(fleet.storage.name, "3mbit")
    proc = fleetops.spawn_pass(fleet, log_path=fleet.root / "transfer-pass.out")
    fleetops.wait_for(lambda: any(os.path.getsize(p) > 0 for p in storage_leftovers(fleet) if os.path.exists(p)),
                      60, "a copy in progress at storage", diagnose=lambda: fleetops.diagnose(fleet))
    fleet.link_down(fleet.storage.name)
    down_at = time.monotonic()
    proc.wait(timeout=120)
    during = fleetops.run_pass(fleet)
    assert all(os.path.exists(p) for p in sources), "sources are kept while storage is cut off"
    assert not fleetops.plots_at_storage(fleet), "nothing reached storage while its link was down"
    # Down for longer than the storage sshd's ClientAlive limit (2 s x 3), so the cut ends the copy's session: on
    # an idle machine the two passes above can take less (seen: the copy resumed over the same TCP connection).
    time.sleep(max(0.0, CUT_SECONDS - (time.monotonic() - down_at)))
    fleet.link_up(fleet.storage.name)
    fleet.unshape(fleet.storage.name)
    fleetops.wait_for(lambda: not any(fleetops.transfers_running(fleet).values()), 60, "the cut transfers to end")
    cut = transfer_summary(fleet)
    assert any(state != "done" for state, _reason, _attempt in cut), "the cut broke a transfer: %s" % cut
    fleetops.settle(fleet, timeout=60, extra_vars=RETRY_NOW)
    after = transfer_summary(fleet)
    print("fault 3: transfers after the cut %s; at the end %s" % (cut, after))
    assert all(state == "done" for state, _reason, _attempt in after), after
    assert not storage_leftovers(fleet)
    assert len(fleetops.plots_at_storage(fleet)) == len(sources)
    assert "Traceback" not in during.stdout
    ledger.assert_invariants(min_finished=2)


# ---------------------------------------------------------------------------------------------- 4
def test_fault4_storage_sshd_stopped(fleet, ledger):
    """sshd of the storage host is stopped: finished plots wait on their plotters, the pass shows why,
    nothing is lost; after sshd is back the plots are moved."""
    fleet.write_inventory(overrides=plotter_overrides(fleet, max_jobs=1))
    fleetops.start_plots(fleet, per_host=1)
    fleetops.wait_plots_done(fleet)
    fleetops.pause(fleet)
    waiting = fleetops.plots_in_dst(fleet)
    fleet.stop_sshd(fleet.storage.name)
    outputs = [fleetops.run_pass(fleet).stdout]
    fleetops.wait_for(lambda: not any(fleet.busy_pids(h.name, idle=False) for h in fleet.plotters), 60,
                      "the failed transfers to end")
    outputs.append(fleetops.run_pass(fleet).stdout)
    assert all(os.path.exists(p) for p in waiting), "plots wait on their plotters"
    assert not fleetops.plots_at_storage(fleet) and not storage_leftovers(fleet)
    text = "\n".join(outputs)
    assert "Traceback" not in text
    # The reason is shown for each waiting plot: the transfer failed, storage refused the connection (or,
    # when Ansible's own connection to the storage host is refused too, that it failed this pass).
    why = r"transfer failed \(.*%s|storage host %s failed this pass" % (re.escape(fleet.storage.ip), fleet.storage.name)
    assert all(re.search(why, status_lines(out, host.name)) for out in outputs[-1:] for host in fleet.plotters), \
        text[-5000:]
    assert "Connection refused" in text, text[-5000:]
    fleet.start_sshd(fleet.storage.name)
    fleetops.settle(fleet, timeout=60, extra_vars=RETRY_NOW)
    assert len(fleetops.plots_at_storage(fleet)) == len(waiting)
    ledger.assert_invariants(min_finished=2)


# ---------------------------------------------------------------------------------------------- 5
def plots_waiting_for_the_small_dir(fleet):
    """A finished plot on each plotter (paused), the storage host offering only its 6 MB dir."""
    small = fleet.storage.small_storage_dir
    overrides = plotter_overrides(fleet, max_jobs=1)
    overrides[fleet.storage.name] = {"plotfleet_storage_dirs": [small]}
    fleet.write_inventory(overrides=overrides)
    fleetops.start_plots(fleet, per_host=1)
    fleetops.wait_plots_done(fleet)
    fleetops.pause(fleet)
    return small, overrides


def test_fault5_storage_full(fleet, ledger):
    """The only storage dir is a 6 MB tmpfs: one k18 plot (3.9 MB) fits, the second does not. Both
    plotters send theirs at once (neither can see the other's copy yet): the storage host arbitrates, so
    one copy gets the dir and the other is refused before its rsync starts (no room beside the running
    copy: failure `busy`), or, when something slipped past, hits ENOSPC (`full`). Either way a plot that
    did not land waits at its plotter with a reason and no partial file is left; once a second storage
    dir is configured, it goes there. (5b below is the case the controller already sees.)"""
    small, overrides = plots_waiting_for_the_small_dir(fleet)
    outputs = []
    for _ in range(2):
        outputs.append(fleetops.run_pass(fleet).stdout)
        fleetops.wait_for(lambda: not any(fleetops.transfers_running(fleet).values()), 60,
                          "transfers to end", diagnose=lambda: fleetops.diagnose(fleet))
    print("fault 5: transfers to the full dir: %s" % transfer_summary(fleet))
    at_small = [p for p in fleetops.plots_at_storage(fleet) if os.path.dirname(p) == small]
    assert len(at_small) <= 1, "only one plot fits the small storage dir"
    waiting = fleetops.plots_in_dst(fleet)
    assert len(waiting) == 2 - len(at_small) >= 1, "a plot that did not land waits at its plotter"
    assert not storage_leftovers(fleet), "no partial file left behind in the full dir: %s" % storage_leftovers(fleet)
    assert all(r.startswith("destination full") or "has no slot for this copy" in r
               for state, r, _ in transfer_summary(fleet) if state == "failed"), transfer_summary(fleet)
    owner = next(h for h in fleet.plotters if any(p.startswith(h.dst_dirs[0] + "/") for p in waiting))
    assert re.search(r"full|free", status_lines(outputs[-1], owner.name)), status_lines(outputs[-1], owner.name)
    ledger.assert_invariants(min_finished=2)
    # Another destination: the waiting plot goes there.
    overrides[fleet.storage.name] = {"plotfleet_storage_dirs": [small] + fleet.storage.storage_dirs}
    fleet.write_inventory(overrides=overrides)
    fleetops.settle(fleet)
    assert len(fleetops.plots_at_storage(fleet)) == 2
    ledger.assert_invariants(min_finished=2)


def process_name(pid):
    try:
        with open("/proc/%d/comm" % pid) as handle:
            return handle.read().strip()
    except OSError:
        return None


def test_fault5_shared_storage_dir_counts_what_others_are_sending(fleet, ledger):
    """Fault 5 without the race: pf-plot1 is slowly copying its plot (100 KiB/s) into the 6 MB storage
    dir when pf-plot2 looks for room. The storage host's free space still holds most of the 6 MB, but
    the controller takes off what pf-plot1 still has to send (its plot_info this pass), so pf-plot2
    does not start a copy that cannot fit: the reason says why, no transfer ever fails."""
    small, overrides = plots_waiting_for_the_small_dir(fleet)
    first, second = fleet.plotters[0].name, fleet.plotters[1].name
    overrides[first].update(plotfleet_move_bwlimit_kbps=100)
    overrides[second].update(plotfleet_move_enabled=False)
    fleet.write_inventory(overrides=overrides)
    fleetops.run_pass(fleet)
    assert fleetops.transfers_running(fleet, [first])[first], "pf-plot1's slow copy is running"
    overrides[second].update(plotfleet_move_enabled=True)
    fleet.write_inventory(overrides=overrides)
    # Under load the ~35 s copy could end during the next pass: its rsync waits (stopped) until that
    # pass is over, so the pass sees it running from start to end.
    # The worker first asks the storage host for a slot over ssh; its rsync starts after that (seconds
    # under load), so wait for it rather than look once.
    held = fleetops.wait_for(
        lambda: [pid for pid in fleetops.transfers_running(fleet, [first])[first] if process_name(pid) == "rsync"],
        30, "pf-plot1's rsync to start", diagnose=lambda: fleetops.diagnose(fleet))
    try:
        for pid in held:
            os.kill(pid, signal.SIGSTOP)
        output = fleetops.run_pass(fleet).stdout
    finally:
        for pid in held:
            try:
                os.kill(pid, signal.SIGCONT)
            except OSError:
                pass
    assert re.search(r"other hosts are sending", status_lines(output, second)), status_lines(output, second)
    assert re.search(r"storage .* 1 incoming", status_lines(output, fleet.storage.name)), output[-3000:]
    assert not read_transfer_records(fleet.hosts[second]), "pf-plot2 started no copy"
    fleetops.wait_for(lambda: not any(fleetops.transfers_running(fleet).values()), 90, "pf-plot1's copy to end",
                      diagnose=lambda: fleetops.diagnose(fleet))
    output = fleetops.run_pass(fleet).stdout
    assert re.search(r"no room", status_lines(output, second)), status_lines(output, second)
    assert [t[0] for t in transfer_summary(fleet)] == ["done"], transfer_summary(fleet)
    assert len(fleetops.plots_in_dst(fleet, [second])) == 1 and not storage_leftovers(fleet)
    ledger.assert_invariants(min_finished=2)


# ---------------------------------------------------------------------------------------------- 6
def test_fault6_two_passes_at_once(fleet, ledger):
    """Two reconcile passes started at the same moment: no slot started twice, no plot moved twice."""
    overrides = plotter_overrides(fleet, max_jobs=1, max_jobs_per_tmp=1)
    for name in overrides:  # the first plot still runs when the second pass decides
        overrides[name].update(MEDIUM_PLOT)
    fleet.write_inventory(overrides=overrides)
    passes = [fleetops.spawn_pass(fleet, log_path=fleet.root / ("concurrent-start-%d.out" % i)) for i in (1, 2)]
    for proc in passes:
        assert proc.wait(timeout=180) == 0
    for host in fleet.plotters:
        assert fleetops.job_count(fleet, host.name) == 1, "%s: one slot, started once" % host.name
    fleetops.wait_plots_done(fleet)
    fleetops.pause(fleet)
    passes = [fleetops.spawn_pass(fleet, log_path=fleet.root / ("concurrent-move-%d.out" % i)) for i in (1, 2)]
    for proc in passes:
        assert proc.wait(timeout=180) == 0
    fleetops.settle(fleet)
    for host in fleet.plotters:
        done = [r.get("plot_id") for r in read_transfer_records(host) if r.get("state") == "done"]
        assert len(done) == len(set(done)), "%s: a plot moved twice: %s" % (host.name, done)
    ledger.assert_invariants(min_finished=2)


# ---------------------------------------------------------------------------------------------- 7
def test_fault7_plotter_crashing_at_once_backs_off(fleet, ledger):
    """pf-plot1's plotter (its Python) is missing: plot_start refuses, naming it, and launches nothing.
    pf-plot2's plotter dies at once on a bad argument (k18 with stripe 8192: `Stripe size too large`):
    after the crash, backoff stops further starts and says so. Four passes in a row, no start storm."""
    overrides = plotter_overrides(fleet, max_jobs=2, max_starts=1, crash_window_minutes=10, backoff_base_minutes=10)
    missing = str(fleet.root / "missing" / "python3")
    overrides["pf-plot1"]["plotfleet_plotter_python"] = missing
    overrides["pf-plot2"]["plotfleet_stripe"] = 8192
    fleet.write_inventory(overrides=overrides)
    outputs = []
    for _ in range(4):
        outputs.append(fleetops.run_pass(fleet).stdout)
    text = "\n".join(outputs)
    assert not fleetops.launch_records(fleet, "pf-plot1"), "nothing launched with a missing plotter"
    assert re.search(r"pf-plot1.*%s" % re.escape(missing), text), outputs[-1][-4000:]
    crashes = len(fleetops.launch_records(fleet, "pf-plot2"))
    assert 1 <= crashes <= 2, "pf-plot2: %d launches in 4 passes (a start storm)\n%s" % (
        crashes, status_lines(outputs[-1], "pf-plot2"))
    assert re.search(r"backoff|back off|crash", status_lines(outputs[-1], "pf-plot2"), re.I), \
        status_lines(outputs[-1], "pf-plot2")
    assert not any(fleetops.live_plots(fleet).values())
    ledger.assert_invariants(min_finished=0)


# ---------------------------------------------------------------------------------------------- 8
def test_fault8_garbage_logs_and_reused_pid(fleet, ledger):
    """Garbage, truncated and binary files in the log dir, and a launch record whose pid now belongs to
    another process: plot_info and the pass work (no traceback), the states are right, plots go on."""
    host = fleet.hosts["pf-plot1"]
    logs = host.log_dir
    with open(os.path.join(logs, "binary.log"), "wb") as handle:
        handle.write(os.urandom(65536))
    with open(os.path.join(logs, "garbage.log"), "w") as handle:
        handle.write("not a plot log\n\x1b[31mcolour\x1b[0m\n" + "x" * 100000 + "\n")
    open(os.path.join(logs, "empty.log"), "w").close()
    with open(os.path.join(logs, "truncated.log"), "w") as handle:
        handle.write(TRUNCATED_LOG)
    with open(os.path.join(logs, "nul-tail.log"), "wb") as handle:
        handle.write(TRUNCATED_LOG.replace("5a", "6b").encode()[:400] + b"\0" * 4096)
    # A process that is not a plotter, living in pf-plot1's namespace, takes the recorded pid.
    squatter, squatter_pid, squatter_host_pid = fleet.spawn_in_host(host.name, ["sleep", "300"])
    try:
        jobs = os.path.join(host.state_dir, "jobs")
        os.makedirs(jobs, exist_ok=True)
        launch_id = "f" * 32
        record = {"version": 1, "launch_id": launch_id, "plot_id": None, "plotter": "chiapos",
                  "plotter_kind": "chiapos", "argv": [str(VENV_BIN / "python"), "plotfleet-chiapos-x.py", "-k", "18"],
                  "pid": squatter_host_pid, "proc_start": time.time() - 86400, "log": os.path.join(logs, "gone.log"),
                  "tmp_dir": host.tmp_dirs[0], "tmp2_dir": host.tmp_dirs[0], "dst_dir": host.dst_dirs[0], "k": 18,
                  "count": 1, "started": time.time() - 86400, "unit": None, "method": "setsid"}
        with open(os.path.join(jobs, launch_id + ".json"), "w") as handle:
            json.dump(record, handle)
        info = fleetops.plot_info(fleet, host.name)
        assert not info["jobs"], "no live job: garbage logs and a reused pid are no plots"
        states = dict((entry.get("id"), entry.get("state")) for entry in info["history"])
        assert states.get(TRUNCATED_ID) == "dead", info["history"]
        out = fleetops.start_plots(fleet, per_host=1, names=[host.name])
        assert all("Traceback" not in text for text in out)
        fleetops.wait_plots_done(fleet)
        assert os.path.exists("/proc/%d" % squatter_pid), "the process holding the reused pid was not signalled"
    finally:
        kill_pids([squatter_pid])
        squatter.wait(timeout=10)
    fleetops.settle(fleet)
    info = fleetops.plot_info(fleet, host.name)
    finished = [e for e in info["history"] if e.get("state") == "finished"]
    assert finished, info["history"]
    ledger.assert_invariants(min_finished=1)


# ---------------------------------------------------------------------------------------------- 9
def test_fault9_host_reboot_kills_all_plots(fleet, ledger):
    """Every plot process of pf-plot1 is killed (a reboot): its jobs become `dead`; their temp files stay
    while cleanup is off, and with cleanup on only their temp files go (a foreign temp file stays)."""
    host = fleet.hosts["pf-plot1"]
    # The killed plots died within minutes of starting: no crash backoff here, plots start again later.
    rules = dict(rules_vars(max_jobs=2, max_jobs_per_tmp=1, crash_window_minutes=0), **SLOW_PLOT)
    fleet.write_inventory(overrides={host.name: rules})
    fleetops.start_plots(fleet, per_host=2, names=[host.name], max_passes=4)
    fleetops.wait_for(lambda: temp_files(host), 30, "temp files of the running plots")
    foreign = os.path.join(host.tmp_dirs[0], "plot-k18-2020-01-01-00-00-%s.plot.table1.tmp" % ("ab" * 32))
    with open(foreign, "w") as handle:
        handle.write("not from any job on this host")
    pids = fleet.plot_pids(host.name)
    assert pids, "plots are running on %s" % host.name
    victims = ids_of(host)
    kill_pids(pids)
    assert not fleet.plot_pids(host.name)
    fleetops.pause(fleet, [host.name])
    left = [p for p in temp_files(host) if p != foreign]
    assert left, "the killed plots left temp files"

    info = fleetops.plot_info(fleet, host.name)
    states = dict((e.get("id"), e.get("state")) for e in info["history"])
    assert all(states.get(i) == "dead" for i in victims), info["history"]
    out = fleetops.run_pass(fleet)
    assert all(os.path.exists(p) for p in left), "cleanup is off: temp files stay"
    assert "(plotfleet_cleanup_dead_tmp is off)" in status_lines(out.stdout, host.name), out.stdout[-4000:]

    overrides = {host.name: dict(rules, **cleanup_vars(True))}
    fleet.write_inventory(overrides=overrides)
    out = fleetops.run_pass(fleet)
    assert out.returncode == 0, out.stdout[-5000:]
    assert not any(os.path.exists(p) for p in left), "cleanup on: the dead jobs' temp files are gone"
    assert re.search(r"deleted \d+ temp files of dead jobs", status_lines(out.stdout, host.name)), out.stdout[-4000:]
    again = fleetops.run_pass(fleet)
    assert re.search(r"%s\s*:.*changed=0" % host.name, again.stdout), "nothing left to clean: changed=0"
    assert os.path.exists(foreign), "a temp file of no known job stays"
    # Cleanup stays on and one of two new plots crashes: the next pass deletes the crashed job's temp
    # files while the other plot runs in the same tmp dirs; that one finishes (none of its files went).
    fleetops.unpause(fleet, [host.name])
    fleetops.start_plots(fleet, per_host=2, names=[host.name], max_passes=4)
    fleetops.pause(fleet, [host.name])
    fleetops.wait_for(lambda: len(set(re.findall(r"[0-9a-f]{64}", " ".join(temp_files(host))))) >= 3, 30,
                      "temp files of both new plots (and the foreign one)")
    pids = fleet.plot_pids(host.name)
    assert len(pids) == 2, pids
    kill_pids(pids[:1])
    info = fleetops.plot_info(fleet, host.name)
    survivors = [job["id"] for job in info["jobs"]]
    crashed = [e for e in info["history"] if e.get("state") == "dead" and e.get("tmp_files")]
    assert len(survivors) == 1 and len(crashed) == 1, info
    out = fleetops.run_pass(fleet)
    assert out.returncode == 0, out.stdout[-5000:]
    assert not any(os.path.exists(p) for p in crashed[0]["tmp_files"]), "the crashed job's temp files are gone"
    fleetops.wait_plots_done(fleet)
    states = dict((e.get("id"), e.get("state")) for e in fleetops.plot_info(fleet, host.name)["history"])
    assert states.get(survivors[0]) == "finished", "the plot running beside the cleanup finished"
    ledger.assert_invariants(min_finished=1)


def status_lines(output, name):
    """The lines of the status table about one host (from a pass's output), rows joined (the table wraps
    a long reason onto the next lines; the debug output quotes each line), for searches and messages."""
    text = unwrapped(output.replace("\\n", "\n"))
    start = text.find("── %s " % name)
    return text[start:start + 2500] if start >= 0 else text[-3000:]


def unwrapped(text):
    """The status table's lines (`"...",` items of the debug output) joined with a space."""
    return re.sub(r'",\s*\n\s*"\s*', " ", text)


def temp_files(host):
    return [os.path.join(d, n) for d in host.tmp_dirs for n in os.listdir(d) if n.endswith(".tmp")]


