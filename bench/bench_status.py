"""The status role alone (the report part of a pass) in this checkout against a baseline checkout (issue 15).

Usage: .venv/bin/python bench/bench_status.py [--baseline /tmp/h2/base] [--sizes 1,8] [--rounds 5]
       [--profile-rounds 3] [--json FILE]
The baseline: another checkout, e.g. `git archive 78dd61b | tar -x -C /tmp/h2/base` with this .venv linked in.

Fleet: N plotters + 1 storage host, every one `ansible_connection: local`, whose pass results are inventory vars
(two jobs, five finished plots, dirs and load per plotter; the storage host's dirs): nothing is gathered, so a
run is ansible-playbook's start-up plus the status role (status document, table, report files) over N+1 hosts.
Nothing failed: the role's per-host fail task skips every host, as in a pass with nothing to do.
Method: per N, one warm-up run of each checkout, then --rounds rounds, each running both checkouts back to back
(who goes first alternates per round and per N), each with its own ansible.cfg and collection, the same
inventory and its own report dir; figures are medians of the ansible-playbook process wall time and of its
process tree's CPU time (RUSAGE_CHILDREN). Profile (separate runs after): the pass_timing callback
(bench/pass_timing) times every task; the status part is the sum of the role's tasks.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIMING = REPO / "bench" / "pass_timing"
sys.path.insert(0, str(TIMING))
import analysis  # noqa: E402

GIB = 2 ** 30
PLAYBOOK = [{"name": "Report the fleet", "hosts": "plotters:storage", "gather_facts": False, "tasks": [
    {"name": "Report the fleet", "ansible.builtin.import_role": {"name": "plotfleet.chia.status",
                                                                 "rolespec_validate": False}}]}]


def job(name, number, **over):
    base = {"id": ("%02x" % number) * 32, "plotter": "chiapos", "k": 32, "pid": 1000 + number, "state": "plotting",
            "phase": 2, "step": "2:3", "progress": 0.48, "elapsed_s": 3723, "eta_s": 5000,
            "tmp_dir": "/mnt/%s/nvme1" % name, "dst_dir": "/mnt/%s/dst" % name, "log": "/var/log/pf/%d.log" % number}
    base.update(over)
    return base


def plotter_vars(name, index):
    start = 1700000000 + index * 1000
    history = [job(name, 100 * index + n, state="finished", phase=5, progress=1.0, started=start + n * 40000,
                   finished=start + n * 40000 + 30000, phase_times=[12000, 7000, 9000, 2000]) for n in range(5)]
    dirs = [{"path": p, "exists": True, "free_bytes": 500 * GIB, "total_bytes": 1000 * GIB}
            for p in ("/mnt/%s/nvme1" % name, "/mnt/%s/dst" % name)]
    return {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
            "plotfleet_tmp_dirs": ["/mnt/%s/nvme1" % name], "plotfleet_dst_dirs": ["/mnt/%s/dst" % name],
            "plotfleet_host_state": {"jobs": [job(name, 100 * index + 50), job(name, 100 * index + 51, step="1:4",
                                                                               progress=0.2, phase=1)],
                                     "history": history, "transfers": [], "dirs": dirs,
                                     "load": {"load1": 3.2, "cpus": 16}},
            "plotfleet_start_result": {"started": [], "reasons": ["max_jobs: 2 running (limit 2)"]}}


def write_fleet(root, plotters):
    """(inventory, host count) of N recorded plotters and one storage host."""
    hosts = dict(("pf-plot%d" % i, plotter_vars("pf-plot%d" % i, i)) for i in range(1, plotters + 1))
    hosts["pf-store"] = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
                         "plotfleet_storage_dirs": ["/srv/plots"],
                         "plotfleet_host_state": {"jobs": [], "history": [], "transfers": [], "load": {}, "dirs": [
                             {"path": "/srv/plots", "exists": True, "free_bytes": 9000 * GIB,
                              "total_bytes": 10000 * GIB}]}}
    inventory = root / ("fleet-%d.json" % plotters)
    inventory.write_text(json.dumps({"all": {
        "vars": {"plotfleet_status_table_file": None},
        "hosts": hosts,
        "children": {"plotters": {"hosts": dict((h, {}) for h in hosts if h != "pf-store")},
                     "storage": {"hosts": {"pf-store": {}}}}}}))
    return inventory, len(hosts)


def run_once(checkout, playbook, inventory, hosts, out_dir, env=None):
    """(wall s, CPU s) of one ansible-playbook run in checkout; fails unless every host is ok and unchanged."""
    environ = dict(os.environ, ANSIBLE_CONFIG=str(checkout / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_CALLBACK_RESULT_FORMAT="yaml", ANSIBLE_DEPRECATION_WARNINGS="0")
    environ.update(env or {})
    cmd = [str(REPO / ".venv" / "bin" / "ansible-playbook"), str(playbook), "-i", str(inventory),
           "-e", json.dumps({"plotfleet_status_file": str(out_dir / "status.json")})]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.time()
    proc = subprocess.run(cmd, cwd=str(checkout), env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300)
    ended = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    recap = [line for line in proc.stdout.splitlines() if " : ok=" in line]
    if proc.returncode != 0 or len(recap) != hosts or any("changed=0" not in r or "failed=0" not in r for r in recap):
        raise RuntimeError("%s: rc=%s\n%s" % (checkout, proc.returncode, proc.stdout[-4000:]))
    return began, ended, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def load1():
    with open("/proc/loadavg") as handle:
        return float(handle.read().split()[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="/tmp/h2/base")
    parser.add_argument("--sizes", default="1,8")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile-rounds", type=int, default=3)
    parser.add_argument("--json")
    opts = parser.parse_args()
    sizes = [int(s) for s in opts.sizes.split(",")]
    checkouts = {"this": REPO, "baseline": Path(opts.baseline).resolve()}
    root = Path(tempfile.mkdtemp(prefix="bench-status-"))
    playbook = root / "status.yml"
    playbook.write_text(json.dumps(PLAYBOOK))
    fleets = dict((n, write_fleet(root, n)) for n in sizes)

    def run(kind, n, env=None):
        out = root / ("out-%s-%d" % (kind, n))
        out.mkdir(exist_ok=True)
        return run_once(checkouts[kind], playbook, fleets[n][0], fleets[n][1], out, env)

    for n in sizes:
        for kind in checkouts:
            run(kind, n)   # warm-up: caches, pyc
    walls, cpus, loads = {}, {}, []
    for number in range(opts.rounds):
        loads.append(load1())
        for index, n in enumerate(sizes if number % 2 == 0 else sizes[::-1]):
            kinds = list(checkouts) if (number + index) % 2 == 0 else list(checkouts)[::-1]
            for kind in kinds:
                began, ended, cpu = run(kind, n)
                walls.setdefault((kind, n), []).append(ended - began)
                cpus.setdefault((kind, n), []).append(cpu)
        sys.stderr.write("round %d (load %.2f): %s\n" % (number + 1, loads[-1], ", ".join(
            "%s N=%d %.2fs" % (k, n, walls[(k, n)][-1]) for n in sizes for k in checkouts)))

    print("\n### Status role alone: this checkout vs %s (medians of %d rounds, s)\n" % (opts.baseline, opts.rounds))
    print("| N plotters (+1 storage) | this wall | baseline wall | saved | per-round this/baseline "
          "| this CPU | baseline CPU |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for n in sizes:
        this, base = walls[("this", n)], walls[("baseline", n)]
        ratios = sorted(a / b for a, b in zip(this, base))
        print("| %d | %.2f | %.2f | %.2f | %.2f-%.2f | %.2f | %.2f |" % (
            n, statistics.median(this), statistics.median(base), statistics.median(base) - statistics.median(this),
            ratios[0], ratios[-1], statistics.median(cpus[("this", n)]), statistics.median(cpus[("baseline", n)])))
    print("\nload average (1 min) at each round's start: %s" % ", ".join("%.2f" % v for v in loads))

    tables = {}
    for _round in range(opts.profile_rounds):
        for n in sizes:
            for kind in checkouts:
                events_file = root / ("timing-%s-%d.json" % (kind, n))
                env = {"ANSIBLE_CALLBACK_PLUGINS": str(TIMING / "callback_plugins"),
                       "ANSIBLE_CALLBACKS_ENABLED": "pass_timing", "PLOTFLEET_PASS_TIMING_FILE": str(events_file)}
                began, ended, _cpu = run(kind, n, env)
                events = json.loads(events_file.read_text())["events"]
                tables.setdefault((kind, n), []).append(analysis.task_walls(events, began, ended))
    for kind in checkouts:
        print("\n### %s: wall per task (median of %d profile runs, ms; hosts run/skipped at N=%d)\n" % (
            kind, opts.profile_rounds, sizes[-1]))
        print("| task | action | %s | hosts run/skipped |" % " | ".join("N=%d" % n for n in sizes))
        print("| --- | --- | %s | --- |" % " | ".join("---" for _ in sizes))
        merged = dict((n, analysis.merge_task_tables(tables[(kind, n)])) for n in sizes)
        edges = dict((n, analysis.merge_edges(tables[(kind, n)])) for n in sizes)
        for label in edges[sizes[0]]:
            print("| %s | - | %s | - |" % (label, " | ".join("%.0f" % (edges[n][label] * 1000) for n in sizes)))
        status_sum = dict((n, 0.0) for n in sizes)
        for row_index, (name, action, _wall, ran, skipped) in enumerate(merged[sizes[-1]]):
            per_n = []
            for n in sizes:
                row = merged[n][row_index]
                per_n.append(row[2])
                if name.startswith("plotfleet.chia.status"):
                    status_sum[n] += row[2]
            print("| %s | %s | %s | %d/%d |" % (name, action, " | ".join("%.0f" % (w * 1000) for w in per_n),
                                                ran, skipped))
        print("| **the status role (sum)** | | %s | |" % " | ".join("**%.0f**" % (status_sum[n] * 1000)
                                                                    for n in sizes))
    if opts.json:
        Path(opts.json).write_text(json.dumps({"walls": dict(("%s-%d" % k, v) for k, v in walls.items()),
                                               "cpus": dict(("%s-%d" % k, v) for k, v in cpus.items()),
                                               "loads": loads}, indent=2))


if __name__ == "__main__":
    main()
