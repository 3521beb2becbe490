"""Where a pass's time goes: summaries of the pass_timing callback's events and the hosts' shim records.

Used by bench/bench_pass.py. All times are wall-clock seconds (time.time()) from the same machine.
"""

import statistics

# The shim's marks, in order, and what lies between each and the next (see timed_python.py).
SHIM_PHASES = [
    ("proc", "exec", "interpreter start"),
    ("exec", "loader", "AnsiballZ unpack + import basic"),
    ("loader", "init", "module imports"),
    ("init", "body", "argument spec"),
    ("body", "exit", "module body"),
    ("exit", "end", "result out"),
]


def task_walls(events, began, ended):
    """[(task name, action, wall s, hosts run, hosts skipped)] in playbook order, plus the run's edges:
    start-up (process start -> first task) and end (last task's end -> process exit)."""
    starts = [e for e in events if e["kind"] in ("task_start", "stats")]
    tasks = []
    for index, event in enumerate(starts[:-1]):
        ends = [e for e in events if e["kind"] == "host_end" and e["uuid"] == event["uuid"]]
        skipped = sum(1 for e in ends if e["status"] == "skipped")
        tasks.append((event["task"], event["action"], starts[index + 1]["t"] - event["t"],
                      len(ends) - skipped, skipped))
    first = starts[0]["t"] if starts else ended
    edges = {"start-up (process start -> first task)": first - began,
             "end (last task done -> process exit)": ended - starts[-1]["t"] if starts else 0.0}
    return tasks, edges


def host_task_times(events):
    """{(action, host): controller-side seconds from the host's worker start to its result}."""
    started = {}
    times = {}
    for event in events:
        key = (event.get("uuid"), event.get("host"))
        if event["kind"] == "host_start":
            started[key] = event["t"]
        elif event["kind"] == "host_end" and key in started and event["status"] != "skipped":
            times[(event["action"], event["host"])] = event["t"] - started[key]
    return times


def shim_phases(record):
    """{phase label: seconds} of one module run, plus the gathers inside its body."""
    phases = {}
    for start, end, label in SHIM_PHASES:
        if start in record and end in record:
            phases[label] = record[end] - record[start]
    phases["gather calls in body"] = sum(c["dt"] for c in record["calls"] if c["name"] == "gather")
    phases["gathers"] = sum(1 for c in record["calls"] if c["name"] == "gather")
    phases["process total"] = record["end"] - record["proc"]
    return phases


def median_by(rows, key, value):
    """{key(row): median of value(row)} over the rows."""
    groups = {}
    for row in rows:
        groups.setdefault(key(row), []).append(value(row))
    return dict((k, statistics.median(v)) for k, v in groups.items())


def merge_task_tables(runs):
    """runs: [(tasks, edges)] of one kind at one N -> ordered [(task, action, median wall, run, skipped)]."""
    order, walls, counts = [], {}, {}
    for tasks, _edges in runs:
        for name, action, wall, ran, skipped in tasks:
            if name not in walls:
                order.append((name, action))
                walls[name] = []
            walls[name].append(wall)
            counts[name] = (ran, skipped)
    return [(name, action, statistics.median(walls[name])) + counts[name] for name, action in order]


def merge_edges(runs):
    labels = list(runs[0][1]) if runs else []
    return dict((label, statistics.median([edges[label] for _tasks, edges in runs])) for label in labels)
