"""draining.py: a drain worker waits for more plots only while a live plotter writes into its source
dirs, and then only POLL_S at a time; with none, it exits at once. A real stand-in process with a
plotter's argv (xchplot2's `plot ... -o DIR`), found through the real process table."""

import subprocess
import sys

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import draining


@pytest.fixture
def plotter_writing_into(tmp_path):
    """Start a stand-in plotter whose output dir is the given dir; yields a starter."""
    started = []

    def start(directory):
        (tmp_path / "xchplot2").symlink_to(sys.executable)
        (tmp_path / "plot").write_text("import time\nprint('Writing plots', flush=True)\ntime.sleep(60)\n")
        proc = subprocess.Popen([str(tmp_path / "xchplot2"), "plot", "-k", "28", "-n", "5", "-o", str(directory) + "/"],
                                cwd=str(tmp_path), stdout=subprocess.PIPE)
        proc.stdout.readline()
        started.append(proc)
        return proc
    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def drain_for(tmp_path, src):
    return {"state_dir": str(tmp_path / "state"), "log_dir": str(tmp_path / "logs"), "dst_dirs": [str(src)],
            "destinations": [{"path": str(tmp_path / "dest")}]}


def test_without_a_plotter_the_worker_exits_as_soon_as_nothing_is_left(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    slept = []
    assert draining.wait_for_next(drain_for(tmp_path, src), sleep=slept.append) is None
    assert slept == [] and not draining.plots_coming(drain_for(tmp_path, src))


def test_while_a_plotter_writes_into_the_source_dir_the_worker_keeps_looking(tmp_path, plotter_writing_into):
    src, elsewhere = tmp_path / "src", tmp_path / "elsewhere"
    src.mkdir()
    elsewhere.mkdir()
    proc = plotter_writing_into(elsewhere)
    assert not draining.plots_coming(drain_for(tmp_path, src)), "a plotter writing elsewhere brings no plots here"
    proc.kill()
    proc.wait()
    (tmp_path / "xchplot2").unlink()
    plotter_writing_into(src)
    assert draining.plots_coming(drain_for(tmp_path, src))
    clock = iter([0.0, 0.0, 1.0, 2.0, draining.IDLE_EXIT_S + 1, draining.IDLE_EXIT_S + 2]).__next__
    slept = []
    assert draining.wait_for_next(drain_for(tmp_path, src), clock=clock, sleep=slept.append) is None
    assert slept and set(slept) == {draining.POLL_S}, "polls every POLL_S, then gives up after IDLE_EXIT_S"


def test_a_custom_plotter_of_a_kept_template_writing_into_the_source_dir_keeps_the_worker_looking(tmp_path):
    """Custom plotters are recognised from the templates plot_start kept in state_dir, as in plot_info."""
    from ansible_collections.plotfleet.chia.plugins.module_utils import custom_plotter
    src = tmp_path / "src"
    src.mkdir()
    exe = tmp_path / "myplot"
    exe.symlink_to(sys.executable)
    proc = subprocess.Popen([str(exe), "-c", "import time; time.sleep(60)", "-k", "28", "-d", str(src)])
    try:
        assert not draining.plots_coming(drain_for(tmp_path, src)), "without the template it is nobody's plotter"
        custom_plotter.save_template(str(tmp_path / "state"), {
            "kind": "custom", "k": 28, "binary": str(exe), "custom": {
                "name": "myplot", "argv": ["{binary}", "-c", "{python}", "-k", "{k}", "-d", "{dst_dir}"],
                "process": {"name": "myplot", "argv_pattern": "time.sleep"}}})
        assert draining.plots_coming(drain_for(tmp_path, src))
    finally:
        proc.kill()
        proc.wait()
