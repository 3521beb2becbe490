"""Several calls of one module through real Ansible in one ansible-playbook run.

Each `ansible localhost -m ...` (run_module) starts Ansible anew, a few CPU seconds each, which on a
busy 2-core machine is most of a test that tries many bad inputs one after the other. Here every call
is a task of one playbook (ignore_errors, so each call still runs and fails on its own); the results
come back as run_module returns them: (rc, result), rc 2 when the call failed.
"""

import json
import tempfile
from pathlib import Path

from plotfleet_testlib import REPO, run_playbook


def run_module_calls(module, calls, check=False, timeout=300):
    """[(rc, result)] of plotfleet.chia.<module> run with each args dict of calls, in order, on localhost."""
    with tempfile.TemporaryDirectory(prefix="plotfleet-calls-") as work:
        results = Path(work) / "results.json"
        tasks = [{"name": "call %d" % i, "plotfleet.chia.%s" % module: args, "register": "call_%d" % i,
                  "ignore_errors": True, "check_mode": check} for i, args in enumerate(calls)]
        tasks.append({"name": "Hand the results to the test", "check_mode": False, "ansible.builtin.copy": {
            "dest": str(results),
            "content": "{{ [%s] | to_json }}" % ", ".join("call_%d" % i for i in range(len(calls)))}})
        playbook = Path(work) / "calls.yml"
        playbook.write_text(json.dumps([{"name": "Calls of %s" % module, "hosts": "localhost",
                                         "gather_facts": False, "tasks": tasks}]))
        proc = run_playbook(playbook, inventory=REPO / "inventory" / "localhost.yml", timeout=timeout)
        assert proc.returncode == 0 and results.exists(), proc.stdout[-6000:]
        return [(2 if result.get("failed") else 0, result) for result in json.loads(results.read_text())]
