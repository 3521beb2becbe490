"""plot_info recognises a custom plotter started by hand, from the template plot_start kept in state_dir."""

import subprocess
import sys
import time

from ansible_collections.plotfleet.chia.plugins.module_utils import custom_plotter, hoststate


def gather(tmp_path, dst):
    return hoststate.gather({"log_dir": str(tmp_path / "logs"), "state_dir": str(tmp_path / "state"),
                             "tmp_dirs": [dst], "dst_dirs": [dst], "history_limit": 50, "stall_after_s": None})


def own_jobs(state, pid):
    return [job for job in state["jobs"] if job.get("pid") == pid]


def test_a_hand_started_process_of_a_kept_template_is_a_live_job(tmp_path):
    (tmp_path / "state").mkdir()
    dst = tmp_path / "dst"
    dst.mkdir()
    exe = tmp_path / "myplot"
    exe.symlink_to(sys.executable)   # a process whose executable is named like the template's program
    custom_plotter.save_template(str(tmp_path / "state"), {"kind": "custom", "k": 28, "custom": {
        "name": "myplot", "argv": ["{binary}", "-c", "{python}", "-k", "{k}", "-d", "{dst_dir}"],
        "process": {"name": "myplot", "argv_pattern": "time.sleep"}}, "binary": str(exe)})
    proc = subprocess.Popen([str(exe), "-c", "import time; time.sleep(60)", "-k", "28", "-d", str(dst)])
    try:
        deadline = time.time() + 10
        jobs = []
        while not jobs and time.time() < deadline:   # the process must show up in the process table first
            jobs = own_jobs(gather(tmp_path, str(dst)), proc.pid)
        (job,) = jobs
        assert (job["plotter"], job["k"], job["dst_dir"]) == ("custom", 28, str(dst))
        # Without the kept template the same process is nobody's plotter.
        (tmp_path / "state" / "plotters" / "myplot.json").unlink()
        assert own_jobs(gather(tmp_path, str(dst)), proc.pid) == []
    finally:
        proc.kill()
        proc.wait()
