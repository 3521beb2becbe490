"""Driving the fleet from the controller: reconcile passes, plot_info over SSH, waiting with timeouts."""

import json
import os
import subprocess
import sys
import time

import pytest
from fleetcheck import finished_ids, is_plot_file, plot_logs, read_any_header, storage_dirs
from fleetlib import cmdline

from plotfleet_testlib import REPO, VENV_BIN, ansible_env, kill_tree, run_module, run_playbook

RECONCILE = REPO / "reconcile.yml"
STATUS = REPO / "status.yml"
LOOP = REPO / "bin" / "plotfleet-loop"


def require(path, what):
    """xfail (naming the missing piece) when a playbook/script another helper writes is not there yet."""
    if not path.exists():
        pytest.xfail("missing %s: %s" % (what, path.relative_to(REPO)))


def require_module(name):
    require(REPO / "plugins" / "modules" / ("%s.py" % name), "module plotfleet.chia.%s" % name)


def run_pass(fleet, inventory=None, extra_vars=None, playbook=RECONCILE, timeout=180, args=()):
    """One ansible-playbook run over the fleet; returns the CompletedProcess (output in .stdout)."""
    require(playbook, "playbook")
    began = time.time()
    proc = run_playbook(playbook, extra_vars=extra_vars, inventory=inventory or fleet.inventory,
                        timeout=timeout, args=args)
    if os.environ.get("PLOTFLEET_FLEET_TRACE"):
        sys.stderr.write("[fleet] %s rc=%s %.1fs\n" % (playbook.name, proc.returncode, time.time() - began))
    return proc


def spawn_pass(fleet, inventory=None, extra_vars=None, playbook=RECONCILE, log_path=None):
    """Start ansible-playbook in its own process group (to be killed as a whole); returns the Popen."""
    require(playbook, "playbook")
    cmd = [str(VENV_BIN / "ansible-playbook"), str(playbook), "-i", str(inventory or fleet.inventory)]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    out = open(str(log_path), "w") if log_path else subprocess.DEVNULL
    return subprocess.Popen(cmd, cwd=str(REPO), env=ansible_env(), stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def kill_group(proc):
    """The controller crashes: ansible-playbook, its process group and its workers (own sessions)."""
    kill_tree(proc.pid)
    proc.wait(timeout=10)


def plot_info(fleet, name):
    """plot_info on one host over SSH, as the controller would call it."""
    require_module("plot_info")
    host = fleet.hosts[name]
    args = {"log_dir": host.log_dir, "state_dir": host.state_dir, "tmp_dirs": host.tmp_dirs,
            "dst_dirs": host.dst_dirs}
    rc, result = run_module("plot_info", args, host=name, inventory=fleet.inventory, timeout=60)
    assert rc == 0 and not result.get("failed"), "plot_info on %s failed: %s" % (name, result)
    return result


def wait_for(predicate, timeout, what, interval=0.25, diagnose=None):
    """Poll until predicate() is truthy; fail with `what` (and diagnostics) after timeout seconds."""
    deadline = time.time() + timeout
    began = time.time()
    while True:
        value = predicate()
        if value:
            if os.environ.get("PLOTFLEET_FLEET_TRACE"):
                sys.stderr.write("[fleet] waited %.1fs for %s\n" % (time.time() - began, what))
            return value
        if time.time() > deadline:
            detail = diagnose() if diagnose else ""
            pytest.fail("timed out after %ss waiting for %s\n%s" % (timeout, what, detail))
        time.sleep(interval)


def live_plots(fleet, names=None):
    return dict((n, fleet.plot_pids(n)) for n in (names or [h.name for h in fleet.plotters]))


def transfers_running(fleet, names=None):
    """Processes on the plotters that are neither plots nor idle ssh control masters (transfers, module runs)."""
    return dict((h.name, sorted(set(fleet.busy_pids(h.name, idle=False)) - set(fleet.plot_pids(h.name))))
                for h in fleet.plotters if names is None or h.name in names)


def plots_in_dst(fleet, names=None):
    """Complete .plot (and PoS2 .plot2) files still sitting in the plotters' dst dirs."""
    found = []
    for host in fleet.plotters:
        if names and host.name not in names:
            continue
        for path in host.dst_dirs:
            for entry in os.scandir(path):
                if is_plot_file(entry.name):
                    found.append(entry.path)
    return found


def plots_at_storage(fleet):
    """{path: header} of the plots at storage, .plot and .plot2 (header["format"]: v1 or pos2)."""
    found = {}
    for path in storage_dirs(fleet):
        for entry in os.scandir(path):
            if is_plot_file(entry.name):
                header = read_any_header(entry.path)
                found[entry.path] = header
    return found


def job_count(fleet, name):
    """Plots launched on a host so far: logs with an `ID:` line (a crash before it shows in launch records)."""
    return len(plot_logs(fleet.hosts[name]))


def launch_records(fleet, name):
    jobs = os.path.join(fleet.hosts[name].state_dir, "jobs")
    return sorted(os.listdir(jobs)) if os.path.isdir(jobs) else []


def diagnose(fleet):
    """Text describing the fleet now, for a failure message."""
    lines = []
    for host in fleet.hosts.values():
        busy = [(pid, " ".join(cmdline(pid))[:120]) for pid in fleet.busy_pids(host.name)]
        lines.append("%s: busy pids %s" % (host.name, busy))
        for path in host.data_dirs():
            try:
                lines.append("  %s: %s" % (path, sorted(os.listdir(path))))
            except OSError as exc:
                lines.append("  %s: %s" % (path, exc))
    lines.append("finished ids: %s" % sorted(finished_ids(fleet)))
    return "\n".join(lines)


def pause(fleet, names=None):
    """Drain: the default pause file on each plotter (no new starts, running plots finish and move)."""
    for host in fleet.plotters:
        if names is None or host.name in names:
            os.makedirs(host.state_dir, exist_ok=True)
            open(os.path.join(host.state_dir, "pause"), "w").close()


def unpause(fleet, names=None):
    for host in fleet.plotters:
        if names is not None and host.name not in names:
            continue
        try:
            os.unlink(os.path.join(host.state_dir, "pause"))
        except FileNotFoundError:
            pass


def settle(fleet, timeout=90, extra_vars=None, inventory=None):
    """Pause the plotters, then run passes until no plot runs, no transfer runs and every finished plot
    left the plotters. Returns the outputs of the passes run.
    """
    pause(fleet)
    outputs = []
    deadline = time.time() + timeout
    while True:
        plotting = any(fleet.plot_pids(h.name) for h in fleet.plotters)
        other = any(transfers_running(fleet).values())
        waiting = plots_in_dst(fleet)
        if not plotting and not other and not waiting:
            return outputs
        if time.time() > deadline:
            pytest.fail("fleet did not settle in %ss\n%s\nlast pass:\n%s"
                        % (timeout, diagnose(fleet), outputs[-1][-4000:] if outputs else "(none)"))
        if waiting and not other:
            outputs.append(run_pass(fleet, inventory=inventory, extra_vars=extra_vars).stdout)
        else:
            if os.environ.get("PLOTFLEET_FLEET_TRACE"):
                sys.stderr.write("[fleet] settle waits: %s\n" % [(p, " ".join(cmdline(p))[:150]) for h in fleet.plotters
                                                             for p in fleet.busy_pids(h.name, idle=False)])
            time.sleep(0.5)


def start_plots(fleet, per_host=1, names=None, max_passes=4, extra_vars=None):
    """Run passes until each plotter (or each of `names`) has launched per_host more plots, each of
    which printed its plot id. Returns the outputs of the passes."""
    names = names or [h.name for h in fleet.plotters]
    want = dict((n, (len(launch_records(fleet, n)) + per_host, job_count(fleet, n) + per_host)) for n in names)

    def launched():
        return all(len(launch_records(fleet, n)) >= want[n][0] for n in names)

    outputs = []
    for _ in range(max_passes):
        if launched():
            break
        proc = run_pass(fleet, extra_vars=extra_vars)
        outputs.append(proc.stdout)
    last = outputs[-1][-5000:] if outputs else ""
    wait_for(launched, 5, "%d plot(s) launched on each of %s" % (per_host, names),
             diagnose=lambda: diagnose(fleet) + "\nlast pass:\n" + last)
    # A plot prints its `ID:` line within a second of its start.
    wait_for(lambda: all(job_count(fleet, n) >= want[n][1] for n in names), 15, "the new plots' ID lines",
             diagnose=lambda: diagnose(fleet) + "\nlast pass:\n" + last)
    return outputs


def wait_plots_done(fleet, names=None, timeout=90):
    wait_for(lambda: not any(live_plots(fleet, names).values()), timeout, "the running plots to finish",
             diagnose=lambda: diagnose(fleet))


def kill_pass_when(proc, condition, timeout=120):
    """SIGKILL the pass (its whole process group) as soon as condition() holds.

    Returns True when the pass was still running at that moment (a real mid-pass kill).
    """
    wait_for(lambda: condition() or proc.poll() is not None, timeout, "the moment to kill the controller")
    alive = proc.poll() is None
    kill_group(proc)
    return alive
