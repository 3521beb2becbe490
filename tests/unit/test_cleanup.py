"""Dead-job temp file cleanup (plot_stop ended=true): which jobs, which files, and the open-file guard."""

import os

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import openfiles, stopping

DEAD, FAILED, LIVE, FOREIGN = "d1" * 32, "f1" * 32, "a1" * 32, "e1" * 32


@pytest.fixture
def host(tmp_path):
    """A host with configured tmp and dst dirs holding temp files of dead, failed, live and foreign plots."""
    tmp, dst, other = tmp_path / "tmp", tmp_path / "dst", tmp_path / "someone-else"
    for directory in (tmp, dst, other, tmp_path / "state"):
        directory.mkdir()
    files = {}
    for plot_id in (DEAD, FAILED, LIVE, FOREIGN):
        files[plot_id] = [tmp / ("plot-k18-2025-01-01-00-00-%s.plot.table1.tmp" % plot_id),
                          tmp / ("plot-k18-2025-01-01-00-00-%s.plot.sort_bucket_003.tmp" % plot_id)]
    files[DEAD].append(dst / ("plot-k18-2025-01-01-00-00-%s.plot.2.tmp" % DEAD))
    files["other"] = [other / ("plot-k18-2025-01-01-00-00-%s.plot.table1.tmp" % DEAD)]
    files["not-temp"] = [tmp / ("plot-k18-2025-01-01-00-00-%s.plot" % DEAD), tmp / ("%s.log" % DEAD)]
    for paths in files.values():
        for path in paths:
            path.write_text("x" * 10)

    def entry(plot_id, state, **over):
        base = {"id": plot_id, "state": state, "tmp_dir": str(tmp), "tmp2_dir": str(tmp), "dst_dir": str(dst),
                "launch_id": "l" + (plot_id or "none")[:8], "pid": None}
        base.update(over)
        return base

    state = {"jobs": [entry(LIVE, "plotting", pid=os.getpid())],
             "history": [entry(DEAD, "dead"), entry(FAILED, "failed"), entry(LIVE, "dead"),
                         entry("cd" * 32, "finished"), entry(None, "dead"),
                         entry(FOREIGN, "dead", launch_id=None, tmp_dir=str(other), tmp2_dir=str(other),
                               dst_dir=str(other))],
             "warnings": []}
    params = {"log_dir": str(tmp_path / "logs"), "state_dir": str(tmp_path / "state"), "tmp_dirs": [str(tmp)],
              "dst_dirs": [str(dst)], "plot_id": None, "all": False, "ended": True, "action": "terminate",
              "timeout": 1, "kill": False, "cleanup": True}
    return {"state": state, "params": params, "files": dict((k, [str(p) for p in v]) for k, v in files.items())}


def run(host, check_mode=False, **over):
    params = dict(host["params"], **over)
    host["gathered_with"] = []

    def gather(given):
        host["gathered_with"].append(given)
        return host["state"]
    return stopping.run(params, check_mode, gather)


def existing(paths):
    return [p for p in paths if os.path.exists(p)]


def test_ended_selects_dead_and_failed_jobs_in_scope_only(host):
    picked = stopping.ended_in_scope(host["state"], host["params"]["tmp_dirs"], host["params"]["dst_dirs"])
    # not the live job's old "dead" entry, not finished, not without id, not a foreign setup's job
    assert [e["id"] for e in picked] == [DEAD, FAILED]


def test_every_ended_job_is_looked_at_not_only_the_newest(host):
    run(host, check_mode=True, history_limit=50)
    assert host["gathered_with"][0]["history_limit"] >= 1000000


def test_check_mode_lists_and_deletes_nothing(host):
    result = run(host, check_mode=True)
    assert result["changed"] is True
    assert sorted(result["temp_files"]) == sorted(host["files"][DEAD] + host["files"][FAILED])
    assert result["deleted"] == [] and all(os.path.exists(p) for ps in host["files"].values() for p in ps)
    assert [j["state"] for j in result["jobs"]] == ["dead", "failed"]


def test_run_deletes_only_dead_jobs_temp_files_then_nothing_to_do(host):
    result = run(host)
    assert result["changed"] is True
    assert sorted(result["deleted"]) == sorted(host["files"][DEAD] + host["files"][FAILED])
    assert existing(host["files"][DEAD] + host["files"][FAILED]) == []
    for kept in (LIVE, FOREIGN, "other", "not-temp"):
        assert existing(host["files"][kept]) == host["files"][kept], kept
    again = run(host)
    assert again["changed"] is False and again["deleted"] == [] and again["temp_files"] == []
    assert run(host, check_mode=True)["changed"] is False


def test_a_file_some_process_holds_open_is_kept(host):
    held = host["files"][DEAD][0]
    with open(held, "rb"):
        assert openfiles.held_open([held, host["files"][DEAD][1]]) == {held}
        result = run(host)
    assert held not in result["deleted"] and os.path.exists(held)
    assert any("still open" in w and held in w for w in result["warnings"])
    assert not os.path.exists(host["files"][DEAD][1])
    assert run(host)["deleted"] == [held]  # closed now: the next pass takes it


def test_waits_while_a_running_jobs_plot_id_is_unknown(host):
    unknown = {"id": None, "pid": 4242, "state": "plotting", "tmp_dir": host["params"]["tmp_dirs"][0]}
    host["state"]["jobs"].append(unknown)
    result = run(host)
    assert result["changed"] is False and result["deleted"] == []
    assert any("4242" in w and "waits" in w for w in result["warnings"])
    assert existing(host["files"][DEAD]) == host["files"][DEAD]


def test_keeps_everything_when_open_files_cannot_be_checked(host, monkeypatch):
    monkeypatch.setattr(openfiles, "held_open", lambda paths: None)
    result = run(host)
    assert result["deleted"] == [] and any("cannot tell" in w for w in result["warnings"])
    assert existing(host["files"][DEAD]) == host["files"][DEAD]


@pytest.mark.parametrize("over, message", [
    ({"cleanup": False}, "set cleanup=true"),
    ({"plot_id": "d1d1"}, "do not give plot_id or all"),
    ({"all": True}, "do not give plot_id or all"),
])
def test_bad_combinations_fail_clearly(host, over, message):
    with pytest.raises(stopping.StopError, match=message):
        run(host, **over)


def test_held_open_from_proc_sees_only_open_files(tmp_path):
    opened, closed = tmp_path / "open.tmp", tmp_path / "closed.tmp"
    opened.write_text("x")
    closed.write_text("x")
    with open(str(opened), "ab"):
        assert openfiles.held_open([str(opened), str(closed)]) == {str(opened)}
    assert openfiles.held_open([str(opened), str(closed)]) == set()
    assert openfiles.held_open([]) == set()


def test_parse_lsof_names():
    # Synthetic: the shape of `lsof -F n -- FILE...` output (p<pid>, f<fd>, n<name> lines), as on macOS.
    text = "p812\nf5\nn/Volumes/nvme/plot-x.plot.table1.tmp\np900\nfcwd\nn/Users/farmer\n"
    wanted = ["/Volumes/nvme/plot-x.plot.table1.tmp", "/Volumes/nvme/plot-x.plot.sort.tmp"]
    assert openfiles.parse_lsof_names(text, wanted) == {wanted[0]}
    assert openfiles.parse_lsof_names("", wanted) == set()


def test_held_for_writing_ignores_readers(tmp_path):
    path = tmp_path / "plot-k18-x.plot"
    path.write_text("x")
    with open(str(path), "rb"):
        assert openfiles.held_for_writing([str(path)]) == set()
        assert openfiles.held_open([str(path)]) == {str(path)}
    with open(str(path), "ab"):
        assert openfiles.held_for_writing([str(path)]) == {str(path)}


def test_an_unidentified_plotter_of_another_setup_does_not_hold_up_the_cleanup(tmp_path):
    """A live job whose plot id is unknown waits the cleanup only if it may write into our dirs: its
    dirs are ours (also through a symlink), unknown, or it is one of our launches."""
    ours, theirs = tmp_path / "tmp", tmp_path / "theirs"
    ours.mkdir()
    theirs.mkdir()
    (tmp_path / "alias").symlink_to(ours)

    def live(**dirs):
        job = {"id": None, "state": "plotting", "pid": 1, "launch_id": None}
        job.update(dirs)
        return job
    elsewhere = live(tmp_dir=str(theirs), tmp2_dir=str(theirs), dst_dir=str(theirs))
    through_alias = live(tmp_dir=str(tmp_path / "alias"), dst_dir=str(theirs))
    unknown_dirs = live()
    launched_here = live(launch_id="abc", tmp_dir=str(theirs), dst_dir=str(theirs))
    state = {"jobs": [elsewhere, through_alias, unknown_dirs, launched_here]}
    waiting = stopping.unidentified_live_jobs(state, [str(ours)], [])
    assert waiting == [through_alias, unknown_dirs, launched_here]
