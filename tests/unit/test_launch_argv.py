"""argv builders per plotter kind, plotter validation, and the setsid detach (with tiny real processes)."""

import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import launch, stopping

F = "a" * 96
P = "b" * 96
C = "xch1" + "q" * 58


def plotter(**extra):
    base = {"kind": "chia", "k": 32, "count": 1, "farmer_public_key": F, "pool_public_key": P, "compression": 0,
            "bladebit_mode": "ramplot", "extra_args": []}
    base.update(extra)
    return base


@pytest.mark.parametrize("settings,expected", [
    (plotter(threads=4, buckets=128, buffer_mib=3389),
     ["/bin/chia", "plots", "create", "-k", "32", "-n", "1", "-t", "/t 1", "-2", "/t2", "-d", "/d",
      "-r", "4", "-u", "128", "-b", "3389", "-f", F, "-p", P, "-x"]),
    (plotter(k=25, pool_public_key=None, pool_contract_address=C, extra_args=["--nobitfield"]),
     ["/bin/chia", "plots", "create", "-k", "25", "-n", "1", "-t", "/t 1", "-2", "/t2", "-d", "/d",
      "-f", F, "-c", C, "-x", "--override-k", "--nobitfield"]),
    (plotter(kind="madmax", threads=8, buckets=256, count=3, compression=5),
     ["/bin/chia", "-k", "32", "-n", "3", "-r", "8", "-u", "256", "-t", "/t 1/", "-2", "/t2/", "-d", "/d/",
      "-f", F, "-p", P, "-C", "5"]),
    (plotter(kind="bladebit", threads=16, compression=7, count=2),
     ["/bin/chia", "-f", F, "-p", P, "-n", "2", "-t", "16", "--compress", "7", "ramplot", "/d"]),
    (plotter(kind="bladebit", bladebit_mode="diskplot", buckets=256, extra_args=["--cache", "64G"]),
     ["/bin/chia", "-f", F, "-p", P, "-n", "1", "diskplot", "-b", "256", "-t1", "/t 1", "-t2", "/t2",
      "--cache", "64G", "/d"]),
])
def test_argv(settings, expected):
    assert launch.build_argv(settings, "/bin/chia", "/t 1", "/t2", "/d") == expected


def test_chiapos_argv_runs_the_driver_under_the_given_python():
    settings = plotter(kind="chiapos", k=18, stripe=2000, buckets=32, threads=2, buffer_mib=200,
                       farmer_public_key=None, pool_public_key=None)
    argv = launch.build_argv(settings, "/venv/bin/python", "/t", "/t", "/d", driver="/s/bin/plotfleet-chiapos-ab.py")
    assert argv == ["/venv/bin/python", "/s/bin/plotfleet-chiapos-ab.py", "-k", "18", "-n", "1", "-t", "/t",
                    "-2", "/t", "-d", "/d", "-r", "2", "-u", "32", "-b", "200", "-s", "2000"]


@pytest.mark.parametrize("settings,error", [
    (plotter(kind="xyz"), "plotter.kind: unknown plotter 'xyz' "
                          "(one of chia, chiapos, madmax, bladebit, pos2, bladebit_cuda, gigahorse, custom)"),
    (plotter(k=24), "plotter.k: 24 is out of range for plotter kind chia (25..35)"),
    (plotter(kind="chiapos", k=17), "plotter.k: 17 is out of range for plotter kind chiapos (18..35)"),
    (plotter(kind="bladebit", k=33), "plotter.k: 33 is out of range for plotter kind bladebit (32..32)"),
    (plotter(count=0), "plotter.count must be >= 1, got 0"),
    (plotter(compression=3), "plotter.compression: plotter kind chia makes uncompressed plots only"),
    (plotter(kind="madmax", compression=12), "plotter.compression must be 0..9, got 12"),
    (plotter(pool_contract_address=C), "plotter.pool_public_key and plotter.pool_contract_address are "
                                       "mutually exclusive"),
    (plotter(farmer_public_key=None), "plotter.farmer_public_key and one of plotter.pool_public_key / "
                                      "plotter.pool_contract_address are required for plotter kind chia"),
    (plotter(farmer_public_key="abc"), "plotter.farmer_public_key must be 96 hex digits (a 48-byte BLS public key)"),
    (plotter(pool_public_key=None, pool_contract_address="xch"), "plotter.pool_contract_address must be an "
                                                                 "xch1... (or txch1...) address"),
    (plotter(nice=25), "plotter.nice must be -20..19, got 25"),
])
def test_validate_plotter(settings, error):
    assert launch.validate_plotter(settings) == [error]


def test_chiapos_needs_no_keys():
    assert launch.validate_plotter(plotter(kind="chiapos", k=18, farmer_public_key=None, pool_public_key=None)) == []


def test_log_path_names_time_and_launch():
    now = time.mktime((2026, 11, 29, 2, 3, 4, 0, 0, -1))
    assert launch.log_path("/l", "abc", now) == "/l/2026-11-29T02_03_04-abc.log"


def test_resolve_executable(tmp_path):
    exe = tmp_path / "with space" / "plotter"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    assert launch.resolve_executable(str(exe)) is None  # not executable yet
    exe.chmod(0o755)
    assert launch.resolve_executable(str(exe)) == str(exe)
    assert launch.resolve_executable("sh").endswith("/sh")
    assert launch.resolve_executable("no-such-plotter-binary") is None


def test_setsid_detach_writes_to_the_log_and_leaves_our_session(tmp_path):
    log = tmp_path / "job.log"
    script = "echo out; echo err >&2; trap '' TERM; ls /proc/self/fd | wc -l; sleep 30"
    started = launch.detach(["/bin/sh", "-c", script], str(log), nice=5, use_systemd=False)
    pid = started["pid"]
    try:
        assert started["method"] == "setsid" and started["unit"] is None
        assert os.getsid(pid) == pid and os.getpgid(pid) == pid != os.getpgid(0)
        seen = launch.wait_started(pid, str(log), want_id=False, timeout=3, min_wait=0.3)
        assert seen["alive"]
        with open("/proc/%d/stat" % pid) as handle:
            assert int(handle.read().rsplit(")", 1)[1].split()[16]) == 5  # nice
        lines = log.read_text().split()
        assert lines[:2] == ["out", "err"]
        assert int(lines[2]) <= 5  # 0, 1, 2 and the fd `ls` opens: nothing of ours leaked
    finally:
        os.kill(pid, signal.SIGKILL)


def test_detach_reports_a_missing_program(tmp_path):
    with pytest.raises(OSError) as info:
        launch.detach(["/nonexistent/plotter"], str(tmp_path / "x.log"), use_systemd=False)
    assert "/nonexistent/plotter" in str(info.value)


def test_wait_started_sees_an_early_death_and_the_id(tmp_path):
    log = tmp_path / "dead.log"
    pid = launch.detach(["/bin/sh", "-c", "echo 'Caught plotting error: Stripe size too large'; exit 1"],
                        str(log), use_systemd=False)["pid"]
    seen = launch.wait_started(pid, str(log), want_id=True, timeout=3)
    assert not seen["alive"] and seen["head"] == ["Caught plotting error: Stripe size too large"]
    log2 = tmp_path / "ok.log"
    pid = launch.detach(["/bin/sh", "-c", "echo 'ID: %s'; sleep 5" % ("ab" * 32)], str(log2), use_systemd=False)["pid"]
    try:
        seen = launch.wait_started(pid, str(log2), want_id=True, timeout=3, min_wait=0.2)
        assert seen["alive"] and seen["plot_id"] == "ab" * 32
    finally:
        os.kill(pid, signal.SIGKILL)


def test_temp_file_selection(tmp_path):
    mine, other = "c" * 64, "d" * 64
    tmp, tmp2, elsewhere = tmp_path / "tmp", tmp_path / "tmp2", tmp_path / "not-configured"
    for directory in (tmp, tmp2, elsewhere):
        directory.mkdir()
    keep = [tmp / ("plot-k18-%s.plot.table1.tmp" % other), tmp / "unrelated.tmp", tmp / ("%s.plot" % mine),
            elsewhere / ("plot-k18-%s.plot.2.tmp" % mine), tmp / ("plot-k18-%s.plot.link.tmp" % mine)]
    delete = [tmp / ("plot-k18-%s.plot.table1.tmp" % mine), tmp / ("plot-k18-%s.plot.sort.tmp" % mine),
              tmp2 / ("plot-k18-%s.plot.2.tmp" % mine)]
    for path in keep[:4] + delete:
        path.write_text("x")
    keep[4].symlink_to(keep[1])
    entry = {"id": mine, "tmp_dir": str(tmp), "tmp2_dir": str(tmp2)}
    assert sorted(stopping.temp_files(entry, [str(tmp), str(tmp2)])) == sorted(str(p) for p in delete)
    assert stopping.temp_files(entry, [str(tmp)]) == sorted(str(p) for p in delete[:2])
    assert stopping.temp_files(dict(entry, tmp2_dir=str(elsewhere)), [str(tmp)]) == sorted(str(p) for p in delete[:2])
    assert stopping.temp_files(dict(entry, id=None), [str(tmp)]) == []


@pytest.mark.parametrize("plot_id,all_jobs,error", [
    ("abc", False, "plot_id: 'abc' is not a plot id prefix (at least 4 hex digits)"),
    ("aaaa", False, "plot_id: aaaa matches 2 running jobs (aaaa11110000, aaaa22220000); give more digits or all=true"),
    ("ffff", False, "plot_id: ffff matches no job on this host"),
    (None, False, "give plot_id (a prefix of at least 4 hex digits) or all=true"),
])
def test_select_refuses(plot_id, all_jobs, error):
    state = {"jobs": [{"id": "aaaa1111" + "0" * 56}, {"id": "aaaa2222" + "0" * 56}], "history": []}
    with pytest.raises(stopping.StopError) as info:
        stopping.select(state, plot_id, all_jobs)
    assert str(info.value) == error


def test_select_matches():
    jobs = [{"id": "aaaa1111" + "0" * 56, "launch_id": "l1"}, {"id": "aaaa2222" + "0" * 56, "tmp_dir": "/t/"},
            {"id": None, "launch_id": "l3"}, {"id": "bbbb" + "0" * 60, "tmp_dir": "/elsewhere", "dst_dir": "/d2"}]
    history = [{"id": "eeee" + "0" * 60, "state": "dead"}, {"id": "eeef" + "0" * 60, "state": "finished"}]
    state = {"jobs": jobs, "history": history}
    assert stopping.select(state, "AAAA1", False) == ([jobs[0]], [])
    assert stopping.select(state, "aaaa", True) == (jobs[:2], [])
    assert stopping.select(state, None, True, ["/t"], ["/d"]) == (jobs[:3], [])  # not another setup's job
    assert stopping.select(state, None, True, [], ["/d2"]) == ([jobs[0], jobs[2], jobs[3]], [])
    assert stopping.select(state, "bbbb", False) == ([jobs[3]], [])
    assert stopping.select(state, "eeee", False) == ([], [history[0]])


def test_start_validation_names_unusable_dirs(tmp_path, monkeypatch):
    from ansible_collections.plotfleet.chia.plugins.module_utils import starting

    (tmp_path / "ro").mkdir()
    real_access = os.access
    # root may write anywhere: pretend this dir is on a read-only mount
    monkeypatch.setattr(os, "access", lambda p, m: False if p.endswith("/ro") else real_access(p, m))
    params = {"plotter": plotter(kind="chiapos", k=18, farmer_public_key=None, pool_public_key=None,
                                 python="/nonexistent/python", tmp2_dir=str(tmp_path / "nope")),
              "rules": {"stagger_step": "x"}, "tmp_dirs": [str(tmp_path / "ro")], "dst_dirs": [str(tmp_path / "d")],
              "max_starts": 0}
    errors, binary = starting.validate(params)
    assert binary is None
    assert errors == [
        "rules.stagger_step must look like '2:1' (phase:step), got 'x'",
        "tmp_dirs: %s/ro is not writable" % tmp_path,
        "dst_dirs: %s/d does not exist" % tmp_path,
        "plotter.tmp2_dir: %s/nope does not exist" % tmp_path,
        "max_starts must be >= 1, got 0",
        "plotter.python: /nonexistent/python not found or not executable",
    ]


class _Done(object):
    def __init__(self, returncode, stdout="", stderr=""):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def test_systemd_run_command_and_main_pid(monkeypatch):
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        return _Done(0, "4242\n") if cmd[0] == "systemctl" else _Done(0)

    monkeypatch.setattr(launch.subprocess, "run", fake_run)
    started = launch.detach(["/opt/chia app/chia", "plots", "create"], "/l/a b.log", nice=10, unit="plotfleet-x",
                            use_systemd=True)
    assert started == {"pid": 4242, "method": "systemd-run", "unit": "plotfleet-x.service"}
    run = calls[0]
    assert run[:6] == ["systemd-run", "--unit", "plotfleet-x.service", "--collect", "--quiet", "-p"]
    assert "StandardOutput=append:/l/a b.log" in run and "StandardError=append:/l/a b.log" in run
    assert "Nice=10" in run and "StandardInput=null" in run
    assert run[run.index("--") + 1:] == ["/opt/chia app/chia", "plots", "create"]
    assert calls[1] == ["systemctl", "show", "-p", "MainPID", "--value", "plotfleet-x.service"]


def test_systemd_run_failure_falls_back_to_setsid(monkeypatch, tmp_path):
    monkeypatch.setattr(launch.subprocess, "run", lambda cmd, **kw: _Done(1, "", "Failed to connect to bus"))
    warnings = []
    started = launch.detach(["/bin/sh", "-c", "exit 0"], str(tmp_path / "l.log"), unit="plotfleet-y",
                            use_systemd=True, warnings=warnings)
    assert started["method"] == "setsid" and started["pid"] > 0
    assert warnings == ["systemd-run failed (Failed to connect to bus); started with setsid instead"]


@pytest.mark.parametrize("settings,parser", [
    ({"kind": "chia"}, "chiapos"), ({"kind": "chiapos"}, "chiapos"), ({"kind": "madmax"}, "madmax"),
    ({"kind": "bladebit", "bladebit_mode": "ramplot"}, "bladebit"),
    ({"kind": "bladebit", "bladebit_mode": "cudaplot"}, "bladebit_cuda"),
    ({"kind": "gigahorse"}, "gigahorse"),
])
def test_a_launch_records_the_plotter_whose_log_it_prints(settings, parser):
    from ansible_collections.plotfleet.chia.plugins.module_utils import starting
    assert starting.recorded_plotter(settings) == parser


@pytest.mark.parametrize("parent_nice, asked", [(3, 5), (7, 0)])
def test_setsid_detach_sets_the_nice_level_asked_not_added_to_the_callers(tmp_path, parent_nice, asked):
    """plotter.nice is a level, as systemd's Nice= makes it: from a caller at nice 3 (a niced loop or
    cron job) a plot asked at 5 runs at 5, not 8; as root, one asked at 0 from nice 7 runs at 0."""
    if asked < parent_nice and os.geteuid() != 0:
        pytest.skip("lowering the nice level needs root")
    pid_file = tmp_path / "pid"
    code = ("import os, sys; os.nice(%d); from ansible_collections.plotfleet.chia.plugins.module_utils import "
            "launch; s = launch.detach(['/bin/sleep', '30'], sys.argv[1], nice=%d, use_systemd=False); "
            "open(sys.argv[2], 'w').write(str(s['pid']))" % (parent_nice, asked))
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "job.log"), str(pid_file)], check=True,
                   env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    pid = int(pid_file.read_text())
    try:
        with open("/proc/%d/stat" % pid) as handle:
            assert int(handle.read().rsplit(")", 1)[1].split()[16]) == asked
    finally:
        os.kill(pid, signal.SIGKILL)
