"""Runs each Ansible integration target in tests/integration/targets/<name>/ on localhost.

Targets follow ansible.posix's style (tasks/main.yml, check mode, run, check mode again, run
again, assert changed / not changed and the values). Each target gets a fresh `output_dir`.
"""

import json
import tempfile
from pathlib import Path

import pytest

from plotfleet_testlib import PLOTTER_PYTHON, REPO, run_playbook

TARGETS = REPO / "tests" / "integration" / "targets"
NAMES = sorted(p.name for p in TARGETS.iterdir() if (p / "tasks" / "main.yml").exists()) if TARGETS.exists() else []


@pytest.mark.parametrize("target", NAMES)
def test_integration_target(target):
    with tempfile.TemporaryDirectory(prefix="plotfleet-it-") as output_dir:
        playbook = Path(output_dir) / "play.yml"
        playbook.write_text(json.dumps([{
            "name": "Integration target %s" % target,
            "hosts": "localhost",
            "gather_facts": False,
            "vars": {"output_dir": output_dir, "plotter_python": PLOTTER_PYTHON, "repo_dir": str(REPO)},
            "roles": [str(TARGETS / target)],
        }]))
        proc = run_playbook(playbook, inventory=REPO / "inventory" / "localhost.yml")
        assert proc.returncode == 0, proc.stdout[-6000:]
