"""A reconcile pass with nothing to do against a one-task ping playbook, over a real SSH fleet (issue 15).

Usage: .venv/bin/python bench/bench_pass.py [--sizes 1,4,8] [--rounds 5] [--profile-rounds 2] [--json FILE]
       [--baseline DIR ...]
Needs root on Linux (network namespaces, one sshd per host: the fleet of tests/fleet, built by its own
fleetlib with more plotters). Takes the fleet lock (/tmp/plotfleet-fleet.lock) for the whole run.

Fleet: max(sizes) plotters (pf-plot1..N) + 1 storage host, every host its own netns, PID namespace and
sshd; the checkout's ansible.cfg (pipelining) with its ssh_args (ControlPersist=60s), control sockets
in the fleet's own dir. "Nothing to do": the plotters are paused (the pause file, as a drain) with
empty dirs, so every plotter still runs its pass (plot_pass: gather, start and move decisions; before
issue 15's change plot_info, plot_start and plot_move) and nothing starts or moves; each pass must
report changed=0 on every host or the bench fails.
Method: one warm-up pair per N, then `--rounds` rounds; in each round every N runs reconcile.yml and
the ping playbook (`ansible.builtin.ping` over plotters:storage) back to back over the same inventory,
which goes first alternating per round and per N, the N order reversed every other round. Figures are
medians of the ansible-playbook process wall time; ratio = reconcile median / ping median (target <= 2.0).
--baseline DIR: another checkout (e.g. `git archive <commit>` unpacked, .venv linked) whose reconcile.yml runs
in the same rounds, with its own ansible.cfg and collection, the order of the three rotating: before and after
under the same load (the ratios to ping move with the machine's load; this comparison does not).
Profile (after the timed rounds, separate runs): the pass_timing callback (bench/pass_timing/
callback_plugins) times every task and every host's part of it; the interpreter shim
(bench/pass_timing/timed_python.py, as ansible_python_interpreter) times each module run's phases on
the host (interpreter start, AnsiballZ unpack, imports, argument spec, body, and the gathers in it).
"""

import argparse
import configparser
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIMING = REPO / "bench" / "pass_timing"
for path in (REPO / "tests", REPO / "tests" / "fleet", TIMING):
    sys.path.insert(0, str(path))
import analysis  # noqa: E402
import fleetlib  # noqa: E402
import fleetlock  # noqa: E402

from plotfleet_testlib import run_playbook  # noqa: E402

RECONCILE = REPO / "reconcile.yml"
PING_PLAY = """---
- name: Ping the fleet
  hosts: plotters:storage
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""
MAX_PLOTTERS = 10  # addresses .11-.20; storage is .21


# ---------------------------------------------------------------- the fleet (adapter over tests/fleet)
def fleet_with_plotters(count):
    """A tests/fleet Fleet with `count` plotters: fleetlib reads its host names and addresses from module
    constants at call time, so naming more plotters there is all it takes."""
    if not 1 <= count <= MAX_PLOTTERS:
        raise SystemExit("--sizes: 1 to %d plotters" % MAX_PLOTTERS)
    names = tuple("pf-plot%d" % i for i in range(1, count + 1))
    fleetlib.PLOTTERS = names
    for index, name in enumerate(names, 1):
        fleetlib.HOST_IPS[name] = "%s.%d" % (fleetlib.NET, 10 + index)
    return fleetlib.Fleet()


def checkout_ssh_args():
    config = configparser.ConfigParser(interpolation=None)
    config.read(str(REPO / "ansible.cfg"))
    return config.get("ssh_connection", "ssh_args")


def write_inventory(fleet, plotters, path, timed=False):
    """Inventory of the first `plotters` plotters + storage. timed: each host's interpreter is the shim."""
    hosts = {"plotters": fleet.plotters[:plotters], "storage": [fleet.storage]}
    groups = {}
    for group, members in hosts.items():
        groups[group] = {"hosts": {}}
        for host in members:
            hvars = fleet.host_vars(host.name)
            hvars["ansible_ssh_args"] = "%s -o ControlPath=%s/%%C" % (checkout_ssh_args(), fleet.control_dir)
            if timed:
                hvars["ansible_python_interpreter"] = str(shim_link(host))
            groups[group]["hosts"][host.name] = hvars
    Path(path).write_text(json.dumps({"all": {"children": groups}}, indent=1))
    return path


def shim_link(host):
    link = host.root / "timed_python"
    if not link.exists():
        link.symlink_to(TIMING / "timed_python.py")
    return link


def pause_plotters(fleet):
    for host in fleet.plotters:
        Path(host.state_dir).mkdir(parents=True, exist_ok=True)
        (Path(host.state_dir) / "pause").touch()


# ---------------------------------------------------------------- one run
def recap(output):
    """{host: {ok: n, changed: n, ...}} from the PLAY RECAP."""
    hosts, seen = {}, False
    for line in output.splitlines():
        if line.startswith("PLAY RECAP"):
            seen = True
        elif seen and " : " in line:
            name, counts = line.split(" : ", 1)
            hosts[name.strip()] = dict((k, int(v)) for k, v in (p.split("=") for p in counts.split()))
    return hosts


def run_once(playbook, inventory, hosts, env=None):
    """(began, ended, controller CPU s) of one ansible-playbook run; fails the bench unless every host is ok
    and unchanged. The CPU is the run's process tree on the controller (ansible-playbook, its workers, their
    ssh clients, all reaped before it exits); the hosts' sshd and module processes are not in it."""
    cpu_before = controller_cpu()
    began = time.time()
    proc = run_playbook(playbook, inventory=inventory, env=env, timeout=300)
    ended = time.time()
    cpu = controller_cpu() - cpu_before
    counts = recap(proc.stdout)
    bad = dict((h, c) for h, c in counts.items() if c.get("changed") or c.get("failed") or c.get("unreachable"))
    if proc.returncode != 0 or bad or len(counts) != hosts:
        raise RuntimeError("%s over %d hosts: rc=%s, recap %s\n%s" % (playbook.name, hosts, proc.returncode,
                                                                      counts, proc.stdout[-4000:]))
    return began, ended, cpu


def controller_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load1():
    with open("/proc/loadavg") as handle:
        return float(handle.read().split()[0])


# ---------------------------------------------------------------- timed rounds
def timed_rounds(plays, sizes, rounds, kinds=("reconcile", "ping")):
    """{(kind, n): [wall s]}, {(kind, n): [controller CPU s]} over the rounds, and the load average at
    each round's start. kinds: the playbooks run back to back, in an order that rotates per round and N."""
    walls, cpus, loads = {}, {}, []
    for n in sizes:  # warm-up: control masters, plot_info caches, the controller's page cache
        for kind in kinds:
            run_once(*plays[(kind, n)])
    for number in range(rounds):
        loads.append(load1())
        order = sizes if number % 2 == 0 else list(reversed(sizes))
        for index, n in enumerate(order):
            shift = (number + index) % len(kinds)
            for kind in kinds[shift:] + kinds[:shift]:
                began, ended, cpu = run_once(*plays[(kind, n)])
                walls.setdefault((kind, n), []).append(ended - began)
                cpus.setdefault((kind, n), []).append(cpu)
        sys.stderr.write("round %d: %s\n" % (number + 1, ", ".join(
            "%s N=%d %.2fs" % (k, n, walls[(k, n)][-1]) for n in sizes for k in kinds)))
    return walls, cpus, loads


# ---------------------------------------------------------------- profile runs
def profile_runs(fleet, plays_timed, sizes, rounds):
    """{(kind, n): [(task table, edges)]}, {(kind, n): [shim record + host]}, {(kind, n): [host task times]}."""
    tasks, shims, host_times = {}, {}, {}
    for _round in range(rounds):
        for n in sizes:
            for kind in ("reconcile", "ping"):
                playbook, inventory, hosts = plays_timed[(kind, n)]
                out = fleet.root / ("timing-%s-%d.json" % (kind, n))
                env = {"ANSIBLE_CALLBACK_PLUGINS": str(TIMING / "callback_plugins"),
                       "ANSIBLE_CALLBACKS_ENABLED": "pass_timing", "PLOTFLEET_PASS_TIMING_FILE": str(out)}
                began, ended, _cpu = run_once(playbook, inventory, hosts, env)
                events = json.loads(out.read_text())["events"]
                tasks.setdefault((kind, n), []).append(analysis.task_walls(events, began, ended))
                host_times.setdefault((kind, n), []).append(analysis.host_task_times(events))
                shims.setdefault((kind, n), []).extend(collect_shim_records(fleet))
    return tasks, shims, host_times


def collect_shim_records(fleet):
    records = []
    for host in fleet.hosts.values():
        path = host.root / "pass-timing.jsonl"
        if path.exists():
            for line in path.read_text().splitlines():
                record = json.loads(line)
                record["host"] = host.name
                records.append(record)
            path.unlink()
    return records


# ---------------------------------------------------------------- report
def report_medians(walls, cpus, sizes, loads, rounds):
    print("\n### Reconcile with nothing to do vs ping (medians of %d rounds, wall s)\n" % rounds)
    print("| N plotters (+1 storage) | reconcile | ping | ratio | per-round ratios | target <= 2.0 "
          "| controller CPU reconcile / ping |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    summary = {}
    for n in sizes:
        rec, ping = walls[("reconcile", n)], walls[("ping", n)]
        ratio = statistics.median(rec) / statistics.median(ping)
        per_round = sorted(r / p for r, p in zip(rec, ping))
        cpu_rec, cpu_ping = statistics.median(cpus[("reconcile", n)]), statistics.median(cpus[("ping", n)])
        print("| %d | %.2f | %.2f | %.2fx | %.2f-%.2f | %s | %.2f / %.2f s |" % (
            n, statistics.median(rec), statistics.median(ping), ratio, per_round[0], per_round[-1],
            "met" if ratio <= 2.0 else "**not met**", cpu_rec, cpu_ping))
        summary[n] = {"reconcile_s": rec, "ping_s": ping, "ratio": ratio,
                      "reconcile_cpu_s": cpus[("reconcile", n)], "ping_cpu_s": cpus[("ping", n)]}
    report_slopes(summary, sizes)
    print("\nload average (1 min) at each round's start: %s" % ", ".join("%.2f" % v for v in loads))
    return summary


def baseline_kinds(baselines):
    """[(kind, checkout)]: "baseline" for the first --baseline, "baseline2", ... for the others."""
    return [("baseline%s" % (index + 1 if index else ""), Path(base).resolve()) for index, base in enumerate(baselines)]


def report_baseline(walls, cpus, sizes, baseline, kind="baseline"):
    """The baseline checkout's reconcile, run in the same rounds: its ratio to ping and this one's to it."""
    print("\n### Baseline %s in the same rounds (medians, wall s)\n" % baseline)
    print("| N plotters (+1 storage) | baseline | reconcile | ping | baseline / ping | reconcile / baseline "
          "| per-round reconcile / baseline | controller CPU baseline / reconcile |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in sizes:
        base, rec, ping = (statistics.median(walls[(name, n)]) for name in (kind, "reconcile", "ping"))
        per_round = sorted(r / b for r, b in zip(walls[("reconcile", n)], walls[(kind, n)]))
        print("| %d | %.2f | %.2f | %.2f | %.2fx | %.2fx | %.2f-%.2f | %.2f / %.2f s |" % (
            n, base, rec, ping, base / ping, rec / base, per_round[0], per_round[-1],
            statistics.median(cpus[(kind, n)]), statistics.median(cpus[("reconcile", n)])))


def report_slopes(summary, sizes):
    """What one more plotter adds to a pass (least squares over N), wall and controller CPU."""
    if len(sizes) < 2:
        return
    for key, what in (("_s", "wall"), ("_cpu_s", "controller CPU")):
        cells = []
        for kind in ("reconcile", "ping"):
            points = [(n, statistics.median(summary[n][kind + key])) for n in sizes]
            cells.append("%s %.3f s + %.3f s per plotter" % ((kind,) + fit_line(points)))
        print("\n%s per pass: %s" % (what, "; ".join(cells)))


def fit_line(points):
    """(intercept, slope) of the least-squares line through [(x, y)]."""
    mean_x = statistics.mean(x for x, _ in points)
    mean_y = statistics.mean(y for _, y in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
    return mean_y - slope * mean_x, slope


def report_tasks(tasks, sizes):
    for kind in ("reconcile", "ping"):
        print("\n### %s: wall per task (median of the profile runs, ms; hosts run/skipped at N=%d)\n"
              % (kind, sizes[-1]))
        tables = dict((n, analysis.merge_task_tables(tasks[(kind, n)])) for n in sizes)
        edges = dict((n, analysis.merge_edges(tasks[(kind, n)])) for n in sizes)
        print("| task | action | %s | hosts run/skipped |" % " | ".join("N=%d" % n for n in sizes))
        print("| --- | --- |%s --- |" % (" --- |" * len(sizes)))
        for label in edges[sizes[0]]:
            print("| %s | - | %s | - |" % (label, " | ".join("%.0f" % (edges[n][label] * 1000) for n in sizes)))
        by_n = dict((n, dict((row[0], row) for row in tables[n])) for n in sizes)
        for name, action, _wall, ran, skipped in tables[sizes[-1]]:
            cells = ["%.0f" % (by_n[n][name][2] * 1000) if name in by_n[n] else "-" for n in sizes]
            print("| %s | %s | %s | %d/%d |" % (name, action, " | ".join(cells), ran, skipped))


def report_modules(shims, host_times, sizes):
    n = sizes[-1]
    records = shims[("reconcile", n)] + shims[("ping", n)]
    print("\n### Module runs on the hosts at N=%d (median ms over hosts and profile runs)\n" % n)
    labels = [label for _s, _e, label in analysis.SHIM_PHASES] + ["gather calls in body", "process total"]
    print("| module | runs | %s | gathers per run | controller-side host time |" % " | ".join(labels))
    print("| --- | --- |%s --- | --- |" % (" --- |" * len(labels)))
    controller = {}
    for kind in ("reconcile", "ping"):
        for run in host_times[(kind, n)]:
            for (action, _host), seconds in run.items():
                controller.setdefault(action.rsplit(".", 1)[-1], []).append(seconds)
    for module in sorted(set(r["module"] for r in records)):
        mine = [analysis.shim_phases(r) for r in records if r["module"] == module]
        cells = ["%.0f" % (statistics.median([p.get(label, 0.0) for p in mine]) * 1000) for label in labels]
        gathers = statistics.median([p["gathers"] for p in mine])
        host_cell = "%.0f" % (statistics.median(controller[module]) * 1000) if module in controller else "-"
        print("| %s | %d | %s | %g | %s |" % (module, len(mine), " | ".join(cells), gathers, host_cell))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,4,8", help="plotter counts (each + 1 storage host)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--profile-rounds", type=int, default=2)
    ap.add_argument("--json", help="write the raw figures here")
    ap.add_argument("--baseline", action="append", default=[],
                    help="another checkout (its own ansible.cfg and collection) whose reconcile.yml runs interleaved "
                         "with this one's: before/after under the same load (repeat for several)")
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    reason = fleetlib.unavailable_reason()
    if reason:
        print("bench_pass skipped: %s" % reason)
        return 0
    with fleetlock.held():
        fleet = fleet_with_plotters(sizes[-1])
        try:
            return bench(fleet, sizes, args)
        finally:
            problems = fleet.teardown()
            if problems:
                sys.stderr.write("fleet teardown problems: %s\n" % "; ".join(problems))


def bench(fleet, sizes, args):
    fleet.build()
    pause_plotters(fleet)
    ping = fleet.root / "ping.yml"
    ping.write_text(PING_PLAY)
    plays, plays_timed = {}, {}
    for n in sizes:
        inventory = write_inventory(fleet, n, fleet.root / ("inventory-%d.json" % n))
        timed = write_inventory(fleet, n, fleet.root / ("inventory-%d-timed.json" % n), timed=True)
        for kind, playbook in (("reconcile", RECONCILE), ("ping", ping)):
            plays[(kind, n)] = (playbook, inventory, n + 1)
            plays_timed[(kind, n)] = (playbook, timed, n + 1)
        for kind, base in baseline_kinds(args.baseline):  # its own config: collections_path, roles_path in its dir
            plays[(kind, n)] = (base / "reconcile.yml", inventory, n + 1, {"ANSIBLE_CONFIG": str(base / "ansible.cfg")})
    print("machine: nproc %d, load average %s" % (os.cpu_count(), open("/proc/loadavg").read().strip()))
    kinds = ("reconcile", "ping") + tuple(kind for kind, _base in baseline_kinds(args.baseline))
    walls, cpus, loads = timed_rounds(plays, sizes, args.rounds, kinds)
    summary = report_medians(walls, cpus, sizes, loads, args.rounds)
    for kind, base in baseline_kinds(args.baseline):
        report_baseline(walls, cpus, sizes, base, kind)
        for size in sizes:  # in --json too
            summary[size].update({kind + "_s": walls[(kind, size)], kind + "_cpu_s": cpus[(kind, size)]})
    if args.profile_rounds < 1:
        return write_json(args, summary, loads, {})
    tasks, shims, host_times = profile_runs(fleet, plays_timed, sizes, args.profile_rounds)
    report_tasks(tasks, sizes)
    report_modules(shims, host_times, sizes)
    return write_json(args, summary, loads, shims)


def write_json(args, summary, loads, shims):
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "loads": loads, "shims": {
            "%s-%d" % key: value for key, value in shims.items()}}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
