"""A plot_pass with nothing to do imports neither stopping (dead-tmp cleanup) nor metrics (metrics_path), nor the
transfer worker (moving) or uuid (starting):
host_pass imports them where they are used (issue 15: part of a pass's cost is the interpreter's import time);
a storage host's pass (mode storage) imports neither starting nor moving.
Run in a fresh interpreter, as AnsiballZ runs the module; a pass that uses them still works (test_plot_pass.py,
tests/integration/test_plot_pass_check_mode.py)."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PASS = r"""
import json, sys
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.plotfleet.chia.plugins.module_utils import host_pass
from ansible_collections.plotfleet.chia.plugins.modules import plot_pass
raw = json.loads(sys.argv[1])
params = dict(ArgumentSpecValidator(plot_pass.argument_spec()).validate(raw).validated_parameters)
result = host_pass.run(params, False, [])
utils = "ansible_collections.plotfleet.chia.plugins.module_utils."
print(json.dumps({"changed": result["changed"], "reasons": result["reasons"], "uuid": "uuid" in sys.modules,
                  "loaded": sorted(m[len(utils):] for m in sys.modules if m.startswith(utils))}))
"""


def run_pass(tmp_path, **extra):
    for name in ("tmp", "dst", "logs", "state"):
        (tmp_path / name).mkdir(exist_ok=True)
    raw = dict({"log_dir": str(tmp_path / "logs"), "state_dir": str(tmp_path / "state"),
                "tmp_dirs": [str(tmp_path / "tmp")], "dst_dirs": [str(tmp_path / "dst")],
                "rules": {"max_jobs": 0}, "plotter": {"kind": "chiapos", "k": 18}}, **extra)
    out = subprocess.run([sys.executable, "-c", PASS, json.dumps(raw)], cwd=str(tmp_path), check=True,
                         env={"PYTHONPATH": str(REPO / "collections"), "PATH": "/usr/bin:/bin"},
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    return json.loads(out.splitlines()[-1])


def test_a_pass_with_nothing_to_do_imports_no_cleanup_and_no_metrics(tmp_path):
    result = run_pass(tmp_path)
    assert result["changed"] is False and result["reasons"], result
    assert "hoststate" in result["loaded"] and "starting" in result["loaded"]  # what it does use
    assert "moving" not in result["loaded"]  # no destinations: no move step
    assert not {"stopping", "metrics"} & set(result["loaded"]), result["loaded"]


def test_a_pass_that_starts_no_transfer_and_no_plot_loads_neither_worker_nor_uuid(tmp_path):
    # moving imports the transfer worker (and through it the storage agent) where a transfer needs it;
    # starting imports uuid (which loads platform) only to name a launch
    dst = tmp_path / "storage"
    dst.mkdir()
    result = run_pass(tmp_path, destinations=[{"path": str(dst), "free_bytes": 10 ** 12}])
    assert result["changed"] is False and "moving" in result["loaded"], result
    assert not {"transfer_worker", "draining", "storage_agent"} & set(result["loaded"]), result["loaded"]
    assert result["uuid"] is False


def test_metrics_are_imported_when_a_pass_writes_them(tmp_path):
    result = run_pass(tmp_path, metrics_path=str(tmp_path / "plotfleet.prom"))
    assert "metrics" in result["loaded"] and (tmp_path / "plotfleet.prom").exists()


def test_a_storage_hosts_pass_imports_neither_starting_nor_moving(tmp_path):
    storage = tmp_path / "storage"
    storage.mkdir()
    result = run_pass(tmp_path, mode="storage", tmp_dirs=[], dst_dirs=[], storage_dirs=[str(storage)])
    assert result["changed"] is False and {"hoststate", "storage_state", "storage_slots"} <= set(result["loaded"])
    assert not {"starting", "moving", "launch", "stopping"} & set(result["loaded"]), result["loaded"]
