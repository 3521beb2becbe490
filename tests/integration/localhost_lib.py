"""A localhost "fleet" for playbook tests: inventory with the test's own dirs, and readers of the results."""

import json
import re

from plotfleet_testlib import PLOTTER_PYTHON

# Per-tmp-dir rules only (max_jobs is high): other tests' plots may run on this machine too.
# k=22 plots take ~25 s here, ~45 % of it in phase 1: a pass right after the start finds the plot in
# phase 1 (inside the 2:1 stagger), whatever the machine's speed.
PLOT = {"plotfleet_plotter": "chiapos", "plotfleet_plotter_python": PLOTTER_PYTHON, "plotfleet_k": 22,
        "plotfleet_buckets": 32, "plotfleet_stripe": 65536, "plotfleet_buffer_mib": 300, "plotfleet_threads": 2}


def recap(output, host="localhost"):
    match = re.search(r"^%s\s+:\s+(.*)$" % re.escape(host), output, re.M)
    assert match, output[-3000:]
    return dict((key, int(value)) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1)))


def host_vars(tmp_path, name="localhost", **over):
    root = tmp_path / name
    values = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
              "plotfleet_log_dir": str(root / "logs"), "plotfleet_state_dir": str(root / "state"),
              "plotfleet_tmp_dirs": [str(root / "tmp")], "plotfleet_dst_dirs": [str(root / "dst")],
              "plotfleet_storage_dirs": [str(root / "storage")], "plotfleet_max_jobs": 50,
              "plotfleet_max_jobs_per_tmp": 2, "plotfleet_stagger_step": "2:1", "plotfleet_max_before_step": 1,
              "plotfleet_min_start_interval_minutes": 0, "plotfleet_crash_window_minutes": 0,
              "plotfleet_status_file": str(tmp_path / "status.json"),
              "plotfleet_status_table_file": str(tmp_path / "status.txt")}
    values.update(PLOT)
    values.update(over)
    for key in ("tmp", "dst", "storage"):
        (root / key).mkdir(parents=True, exist_ok=True)
    return values


def write_inventory(tmp_path, hosts, storage=None):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": hosts, "children": {
        "plotters": {"hosts": dict((name, {}) for name in hosts)},
        "storage": {"hosts": dict((name, {}) for name in (storage if storage is not None else hosts))}}}}))
    return inventory


def my_jobs(doc, root):
    """Jobs in this test's tmp dir (plot_info also lists plotter processes other tests left running)."""
    return [job for job in doc["jobs"] if str(job.get("tmp_dir") or "").startswith(str(root))]


def status_doc(tmp_path):
    return json.loads((tmp_path / "status.json").read_text())


def plots(path):
    return sorted(path.glob("*.plot"))
