"""Several calls of plotfleet modules through real Ansible in one ansible-playbook run.

Each `ansible localhost -m ...` (run_module) starts Ansible anew, about 3 CPU seconds each, which on a
busy 2-core machine is most of a test that makes many calls one after the other; a task of a playbook
costs about half a second. Here every call is a task of one playbook (ignore_errors, so each call still
runs and fails on its own); the results come back as run_module returns them: (rc, result), rc 2 when
the call failed. Between calls, a test can read a process's state or wait for a process state or a
file, in the same run (controller-side lookups: no module runs for them).
"""

import json
import tempfile
from pathlib import Path

from plotfleet_testlib import REPO, run_playbook


def call(module, args, check=False):
    """A step: plotfleet.chia.<module> with args (values may be Jinja on earlier steps: step_<i>)."""
    return {"task": {"plotfleet.chia.%s" % module: args, "ignore_errors": True, "check_mode": check},
            "read": lambda result: (2 if result.get("failed") else 0, result)}


def _stat_of(pid):
    return "lookup('ansible.builtin.file', '/proc/%d/stat', errors='ignore')" % pid


def proc_state(pid):
    """A step: the state letter of pid (as in /proc/<pid>/stat: R, S, T, Z ...), None once it is gone."""
    return {"task": {"ansible.builtin.set_fact": {"proc_stat": "{{ %s }}" % _stat_of(pid)}},
            "read": lambda result: _state_letter(result["ansible_facts"]["proc_stat"])}


def _state_letter(stat):
    return stat.rsplit(")", 1)[1].split()[0] if stat and ")" in stat else None


def wait_proc_state(pid, stopped, timeout=10):
    """A step: wait until pid is stopped (state T) or, with stopped=False, is not; the result: it was."""
    test = "==" if stopped else "!="
    until = "(%s or '').rsplit(')', 1)[-1].split()[:1] %s ['T']" % (_stat_of(pid), test)
    return _wait(until, timeout)


def wait_glob(pattern, timeout=30):
    """A step: wait until a file matches pattern (Jinja allowed, on earlier steps); the result: one did."""
    return _wait("lookup('ansible.builtin.fileglob', SELF.ansible_facts.glob_pattern, wantlist=True) | length > 0",
                 timeout, glob_pattern=pattern)


def listdir(path):
    """A step: the names in dir path, hidden ones too, sorted (os.listdir at that point of the run)."""
    return {"task": {"ansible.builtin.find": {"paths": str(path), "hidden": True, "file_type": "any"}},
            "read": lambda result: sorted(f["path"].rsplit("/", 1)[-1] for f in result["files"])}


def remove(path):
    """A step: delete the file path (the test's own change to the host between two calls)."""
    return {"task": {"ansible.builtin.file": {"path": str(path), "state": "absent"}},
            "read": lambda result: not result.get("failed")}


def wait_transfers(state_dir, timeout=90):
    """A step: wait until state_dir has transfer records and each says done or failed (plotmove_lib's
    wait_transfers_finished in a playbook); the result: the records then, by id. A task's arguments are
    templated once, its `until` on every try: the wait is one task, reading the records a second one."""
    records = "query('ansible.builtin.file', *query('ansible.builtin.fileglob', '%s/transfers/*.json')) " \
              "| map('from_json') | sort(attribute='id') | list" % state_dir
    until = "(%s | length > 0) and (%s | rejectattr('state', 'in', ['done', 'failed']) | list | length == 0)" % (
        records, records)
    return {"before": _wait(until, timeout, delay=0.1)["task"],
            "task": {"ansible.builtin.set_fact": {"records": "{{ %s }}" % records}},
            "read": _finished_records}


def _finished_records(result, before):
    records = result["ansible_facts"]["records"]
    assert not before.get("failed"), "transfers still running: %s" % records
    return records


def _wait(until, timeout, delay=0.2, **facts):
    """until may name this step's own result SELF (the pattern templated once, on the first try)."""
    return {"task": {"ansible.builtin.set_fact": dict(facts, waited=True), "until": until,
                     "retries": int(timeout / delay), "delay": delay, "ignore_errors": True},
            "read": lambda result: not result.get("failed")}


def run_steps(steps, timeout=300):
    """The results of steps (call, proc_state, wait_*), run in order in one playbook on localhost."""
    with tempfile.TemporaryDirectory(prefix="plotfleet-calls-") as work:
        results = Path(work) / "results.json"
        tasks = []
        for i, step in enumerate(steps):
            if "before" in step:  # a task of the step's own, run first, its result handed to read as well
                tasks.append(_task({"task": step["before"]}, "step_%d_before" % i))
            tasks.append(_task(step, "step_%d" % i))
        tasks.append({"name": "Hand the results to the test", "check_mode": False, "ansible.builtin.copy": {
            "dest": str(results), "mode": "0600",
            "content": "{{ [%s] | to_json }}" % ", ".join(
                "[step_%d, step_%d_before]" % (i, i) if "before" in step else "[step_%d]" % i
                for i, step in enumerate(steps))}})
        playbook = Path(work) / "steps.yml"
        playbook.write_text(json.dumps([{"name": "Steps of a test", "hosts": "localhost",
                                         "gather_facts": False, "tasks": tasks}]))
        proc = run_playbook(playbook, inventory=REPO / "inventory" / "localhost.yml", timeout=timeout)
        assert proc.returncode == 0 and results.exists(), proc.stdout[-6000:]
        return [step["read"](*result) for step, result in zip(steps, json.loads(results.read_text()))]


def _task(step, register):
    task = dict(step["task"], name=register.replace("_", " "), register=register)
    if "until" in task:
        task["until"] = task["until"].replace("SELF", register)
    return task


def run_module_calls(module, calls, check=False, timeout=300):
    """[(rc, result)] of plotfleet.chia.<module> run with each args dict of calls, in order, on localhost."""
    return run_steps([call(module, args, check=check) for args in calls], timeout=timeout)
