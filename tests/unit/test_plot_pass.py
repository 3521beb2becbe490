"""plot_pass's decisions (module_utils/host_pass.py) on real host dirs, gathered by the real hoststate."""

import os

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.plotfleet.chia.plugins.module_utils import host_pass, hoststate, starting
from ansible_collections.plotfleet.chia.plugins.modules import plot_pass


def pass_params(tmp_path, **extra):
    """The module's params (its argument spec's defaults and types) for a host laid out in tmp_path."""
    for name in ("tmp", "dst", "logs", "state"):
        (tmp_path / name).mkdir(exist_ok=True)
    raw = {"log_dir": str(tmp_path / "logs"), "state_dir": str(tmp_path / "state"),
           "tmp_dirs": [str(tmp_path / "tmp")], "dst_dirs": [str(tmp_path / "dst")],
           "rules": {"max_jobs": 1000, "max_jobs_per_tmp": 1, "crash_window_minutes": 0},
           "plotter": {"kind": "chiapos", "k": 18, "stripe": 2000, "buckets": 32}}
    raw.update(extra)
    result = ArgumentSpecValidator(plot_pass.argument_spec()).validate(raw)
    assert not result.error_messages, result.error_messages
    return dict(result.validated_parameters)


def recording_python(tmp_path):
    """A 'Python' that notes every run in a file and cannot import anything (exit 1)."""
    marker = tmp_path / "python-ran"
    script = tmp_path / "bin" / "python3"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\necho \"$@\" >> %s\nexit 1\n" % marker)
    script.chmod(0o755)
    return str(script), marker


def test_the_plotters_python_runs_only_before_a_real_start(tmp_path):
    python, marker = recording_python(tmp_path)
    params = pass_params(tmp_path, plotter={"kind": "chiapos", "k": 18, "python": python})
    (tmp_path / "state" / "pause").write_text("")
    state = host_pass.gather(params, [])

    paused = host_pass.start_plots(dict(params), state, check_mode=False)
    assert paused["started"] == [] and paused["would_start"] == []
    assert paused["reasons"] == ["pause file %s exists: draining, no new starts" % (tmp_path / "state" / "pause")]
    assert not marker.exists(), "the probe ran although nothing could start"

    os.unlink(str(tmp_path / "state" / "pause"))
    with pytest.raises(host_pass.PassError) as failed:
        host_pass.start_plots(dict(params), state, check_mode=False)
    assert failed.value.msg == "plotter.python: %s cannot import chiapos (pip install chiapos)" % python
    assert marker.read_text().startswith("-c import chiapos")
    assert not os.listdir(str(tmp_path / "logs")), "nothing was launched"


def count_calls(monkeypatch, owner, name):
    """Count the calls of a real function (it still runs)."""
    calls, real = [], getattr(owner, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)
    monkeypatch.setattr(owner, name, counted)
    return calls


def test_a_pass_with_nothing_to_do_gathers_once_and_takes_no_lock(tmp_path, monkeypatch):
    params = pass_params(tmp_path, destinations=[{"path": str(tmp_path / "store")}])
    (tmp_path / "store").mkdir()
    (tmp_path / "state" / "pause").write_text("")
    gathers = count_calls(monkeypatch, hoststate, "gather")
    locked_starts = count_calls(monkeypatch, starting, "run")

    result = host_pass.run(params, False, [])
    assert len(gathers) == 1 and locked_starts == []
    assert result["changed"] is False
    assert result["start"]["reasons"] == result["reasons"][:1]
    assert result["move"]["moved"] == [] and result["move"]["would_move"] == []
    assert result["cleanup"] == host_pass.skipped("no dead job left temp files")
    assert set(result["host_state"]) >= {"jobs", "history", "dirs", "transfers", "host_warnings"}


def test_a_start_the_rules_allow_decides_again_under_the_lock(tmp_path, monkeypatch):
    """Check mode, so nothing launches: the locked path (plot_start's own) makes the decision."""
    python, marker = recording_python(tmp_path)
    params = pass_params(tmp_path, plotter={"kind": "chiapos", "k": 18, "python": python})
    locked_starts = count_calls(monkeypatch, starting, "run")
    with pytest.raises(host_pass.PassError) as failed:
        host_pass.run(params, True, [])
    assert len(locked_starts) == 1 and marker.exists()
    assert "cannot import chiapos" in failed.value.msg
    assert "jobs" in failed.value.result["host_state"], "a failed pass still returns the state it gathered"


def test_a_missing_configured_dir_stops_the_pass_naming_its_variable(tmp_path):
    params = pass_params(tmp_path, dir_variables={"plotfleet_tmp_dirs": [str(tmp_path / "gone")]},
                         tmp_dirs=[str(tmp_path / "gone")])
    with pytest.raises(host_pass.PassError) as failed:
        host_pass.run(params, False, [])
    assert failed.value.msg.startswith("plotfleet_tmp_dirs: %s" % (tmp_path / "gone")), failed.value.msg
    assert "host_state" in failed.value.result


def test_the_callers_start_problems_stop_the_start_step_only_when_starts_are_on(tmp_path):
    params = pass_params(tmp_path, start_problems=["plotfleet_k: 17 is out of range"])
    with pytest.raises(host_pass.PassError) as failed:
        host_pass.run(params, False, [])
    assert failed.value.msg == "plotfleet_k: 17 is out of range"
    result = host_pass.run(dict(params, start_enabled=False), False, [])
    assert result["start"] == host_pass.skipped("start_enabled is false")


def test_disabled_steps_are_skipped_as_a_skipped_task_would_be(tmp_path):
    params = pass_params(tmp_path, start_enabled=False, move_enabled=False, cleanup_dead_tmp=False)
    result = host_pass.run(params, False, [])
    assert result["changed"] is False
    for step in ("cleanup", "start", "move"):
        assert result[step]["skipped"] is True and result[step]["changed"] is False
    no_destinations = host_pass.run(dict(params, move_enabled=True), False, [])
    assert no_destinations["move"] == host_pass.skipped("no destinations")


def test_dead_temp_files_are_those_of_ended_jobs():
    state = {"history": [{"state": "dead", "tmp_files": ["/t/a.tmp"]}, {"state": "finished", "tmp_files": ["/t/b"]},
                         {"state": "stopped", "tmp_files": ["/t/c.tmp"]}, {"state": "failed"}]}
    assert host_pass.dead_temp_files(state) == ["/t/a.tmp", "/t/c.tmp"]
