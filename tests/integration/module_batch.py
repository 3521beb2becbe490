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


def _wait(until, timeout, delay=0.2, **facts):
    """until may name this step's own result SELF (the pattern templated once, on the first try)."""
    return {"task": {"ansible.builtin.set_fact": dict(facts, waited=True), "until": until,
                     "retries": int(timeout / delay), "delay": delay, "ignore_errors": True},
            "read": lambda result: not result.get("failed")}


def run_steps(steps, timeout=300):
    """The results of steps (call, proc_state, wait_*), run in order in one playbook on localhost."""
    with tempfile.TemporaryDirectory(prefix="plotfleet-calls-") as work:
        results = Path(work) / "results.json"
        tasks = [_task(step, "step_%d" % i) for i, step in enumerate(steps)]
        tasks.append({"name": "Hand the results to the test", "check_mode": False, "ansible.builtin.copy": {
            "dest": str(results), "mode": "0600",
            "content": "{{ [%s] | to_json }}" % ", ".join("step_%d" % i for i in range(len(steps)))}})
        playbook = Path(work) / "steps.yml"
        playbook.write_text(json.dumps([{"name": "Steps of a test", "hosts": "localhost",
                                         "gather_facts": False, "tasks": tasks}]))
        proc = run_playbook(playbook, inventory=REPO / "inventory" / "localhost.yml", timeout=timeout)
        assert proc.returncode == 0 and results.exists(), proc.stdout[-6000:]
        return [step["read"](result) for step, result in zip(steps, json.loads(results.read_text()))]


def _task(step, register):
    task = dict(step["task"], name=register.replace("_", " "), register=register)
    if "until" in task:
        task["until"] = task["until"].replace("SELF", register)
    return task


def run_module_calls(module, calls, check=False, timeout=300):
    """[(rc, result)] of plotfleet.chia.<module> run with each args dict of calls, in order, on localhost."""
    return run_steps([call(module, args, check=check) for args in calls], timeout=timeout)
