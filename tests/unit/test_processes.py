"""processes: ps parsing (Linux capture + hand-made macOS), argv recovery, plotter identification."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import processes

PS_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "ps"


def _fixture(name):
    text = (PS_DIR / ("%s.txt" % name)).read_text()
    meta = json.loads((PS_DIR / ("%s.json" % name if name == "macos-ps" else "%s-argv.json" % name)).read_text())
    return text, meta


def _exists_in(paths):
    known = set(paths)
    return lambda path: path in known or (len(path) > 1 and path.rstrip("/") in known)  # like os.path.exists


def test_linux_capture_parses_every_line_and_recovers_argv_with_spaces():
    text, meta = _fixture("linux-procps")
    procs = processes.parse_ps(text, exists=_exists_in(meta["paths"]))
    assert len(procs) == len([line for line in text.splitlines() if line.strip()])
    by_pid = dict((str(p["pid"]), p) for p in procs)
    for pid, argv in meta["argv"].items():
        assert by_pid[pid]["argv"] == argv, pid
    assert all(p["start"] > 1.7e9 for p in procs)
    kthread = [p for p in procs if p["pid"] == 2][0]
    assert kthread["argv"] == ["[kthreadd]"] and kthread["ppid"] == 0


def test_linux_capture_plotters():
    text, meta = _fixture("linux-procps")
    procs = processes.parse_ps(text, exists=_exists_in(meta["paths"]))
    found = dict((str(p["pid"]), info) for p, info in processes.plotter_processes(procs))
    assert set(found) == set(meta["argv"])
    chia = [i for pid, i in found.items() if i["kind"] == "chia" and i["plotter"] == "chiapos"][0]
    assert (chia["k"], chia["count"], chia["tmp_dir"], chia["dst_dir"]) == (
        32, 2, "/tmp/pfcap/My SSD/tmp", "/tmp/pfcap/farm 1/plots")
    cuda = [i for i in found.values() if i["plotter"] == "bladebit_cuda" and i["tmp_dir"] is None][0]
    assert cuda["dst_dir"] == "/tmp/pfcap/farm 1/plots" and cuda["count"] == 1


def test_macos_fixture_argv_and_plotters():
    text, meta = _fixture("macos-ps")
    procs = processes.parse_ps(text, exists=_exists_in(meta["paths"]))
    by_pid = dict((str(p["pid"]), p) for p in procs)
    assert by_pid["1"]["argv"] == ["/sbin/launchd"]
    for pid, argv in meta["argv"].items():
        assert by_pid[pid]["argv"] == argv, pid
    kept = processes.plotter_processes(procs)
    found = dict((str(p["pid"]), info) for p, info in kept)
    assert set(found) == set(meta["plotters"])
    for pid, expected in meta["plotters"].items():
        got = dict((key, found[pid][key]) for key in expected)
        assert got == expected, pid
    # the madMAx child is kept, its `chia plotters madmax` parent dropped (its pid kept as a wrapper)
    assert found["4380"]["wrapper_pids"] == [4377]
    assert found["5102"]["wrapper_pids"] == [5101]   # caffeinate -i bladebit ...
    # lstart is local time, one-second precision
    assert by_pid["4101"]["start"] == time.mktime((2025, 11, 28, 22, 40, 11, 0, 0, -1))


def test_split_command_without_existing_paths_keeps_parent_dir_heuristic():
    # the tmp dir was removed, its parent exists: the spaces stay inside the path
    exists = _exists_in(["/Volumes/NVMe Scratch", "/opt/bin/chia_plot"])
    argv = processes.split_command("/opt/bin/chia_plot -t /Volumes/NVMe Scratch/gone dir -d /x", exists)
    assert argv == ["/opt/bin/chia_plot", "-t", "/Volumes/NVMe Scratch/gone dir", "-d", "/x"]
    # nothing exists at all: plain split
    assert processes.split_command("a b  c", lambda p: False) == ["a", "b", "c"]


IDENTIFY_CASES = [
    # (argv, expected subset)
    ("chia plots create -k 32 -r 4 -u 128 -b 4000 -t /mnt/tmp -2 /mnt/tmp2 -d /mnt/dst -n 3 -x",
     dict(plotter="chiapos", kind="chia", k=32, tmp_dir="/mnt/tmp", tmp2_dir="/mnt/tmp2", dst_dir="/mnt/dst", count=3)),
    ("/home/u/chia-blockchain/venv/bin/python /home/u/chia-blockchain/venv/bin/chia plots create --size 33 "
     "--num 1 --tmp_dir /t --tmp2_dir /t2 --final_dir /d --override-k",
     dict(plotter="chiapos", kind="chia", k=33, tmp_dir="/t", tmp2_dir="/t2", dst_dir="/d", count=1)),
    ("chia plots create --size=25 --tmp_dir=/t/ --final_dir=/d/ -e",
     dict(plotter="chiapos", k=25, tmp_dir="/t", tmp2_dir="/t", dst_dir="/d", count=None)),
    ("chia plots create -k32 -t/t -d/d", dict(plotter="chiapos", k=32, tmp_dir="/t", dst_dir="/d")),
    ("nohup nice -n 10 chia plots create -t /t -d /d", dict(plotter="chiapos", k=32, tmp_dir="/t", dst_dir="/d")),
    ("sudo -u chia /usr/bin/chia plotters chiapos -k 32 -t /t -d /d -n 2",
     dict(plotter="chiapos", kind="chia", count=2, dst_dir="/d")),
    ("chia plotters madmax -k 32 -n 5 -r 8 -u 256 -v 128 -t /t/ -2 /t2/ -d /d/ -K 2 -G -w -c xch1x -f ab",
     dict(plotter="madmax", kind="chia", k=32, count=5, tmp_dir="/t", tmp2_dir="/t2", dst_dir="/d")),
    ("chia_plot -n -1 -r 16 -u 512 -t /mnt/ssd/ -2 /mnt/ram/ -d /mnt/hdd/ -p pk -f fk",
     dict(plotter="madmax", kind="madmax", k=32, count=-1, tmp_dir="/mnt/ssd", tmp2_dir="/mnt/ram",
          dst_dir="/mnt/hdd")),
    ("./chia_plot --count 2 --tmpdir /a --tmpdir2 /b --finaldir /c --size 30",
     dict(plotter="madmax", k=30, count=2, tmp_dir="/a", tmp2_dir="/b", dst_dir="/c")),
    ("/usr/local/bin/cuda_plot_k32 -n 1 -C 7 -t /t/ -d /d/ -c xch1 -f fk",
     dict(plotter="gigahorse", k=32, tmp_dir="/t", dst_dir="/d")),
    ("bladebit -t 30 -f fk -p pk -n 1 /mnt/dst", dict(plotter="bladebit", kind="bladebit", k=32, count=1,
                                                    tmp_dir=None, dst_dir="/mnt/dst")),
    ("bladebit -t 30 -f fk -c xch1 -n 2 diskplot -b 256 --cache 110G -t1 /mnt/nvme -t2 /mnt/ram /mnt/dst",
     dict(plotter="bladebit", count=2, tmp_dir="/mnt/nvme", tmp2_dir="/mnt/ram", dst_dir="/mnt/dst")),
    ("bladebit_cuda -f fk -c xch1 --compress 7 -n 1 cudaplot --disk-128 -t1 /mnt/t /mnt/dst",
     dict(plotter="bladebit_cuda", tmp_dir="/mnt/t", tmp2_dir="/mnt/t", dst_dir="/mnt/dst")),
    ("bladebit -n 1 -f fk -p pk ramplot -o /mnt/out", dict(plotter="bladebit", dst_dir="/mnt/out")),
    ("chia plotters bladebit diskplot -r 8 -n 1 -d /d -t /t -2 /t2 -c xch1 -f fk --compress 5",
     dict(plotter="bladebit", kind="chia", tmp_dir="/t", tmp2_dir="/t2", dst_dir="/d", count=1)),
    ("/usr/bin/python3 /var/lib/plotfleet/bin/plotfleet-chiapos-ab12.py -k 20 -n 1 -t /t -2 /t2 -d /d -r 2 -u 16 "
     "-b 200 -s 2000",
     dict(plotter="chiapos", kind="chiapos", k=20, count=1, tmp_dir="/t", tmp2_dir="/t2", dst_dir="/d")),
    ("python3 -u -m chiapos -k 18 -t /t -d /d", dict(plotter="chiapos", kind="chiapos", k=18)),
    ("python3 -c from chiapos import DiskPlotter; DiskPlotter().create_plot_disk(...)",
     dict(plotter="chiapos", kind="chiapos")),
]

NOT_PLOTTERS = [
    "chia start farmer", "chia plots check", "chia plots show", "chia_full_node", "bladebit simulate -n 10 /p",
    "bladebit --memory", "tail -f /var/log/chia_plot.log", "grep chia plots create", "vim bladebit.log",
    "/usr/bin/python3 /usr/bin/chia run_daemon --wait-for-unlock", "python3 -c print(1)", "",
]


@pytest.mark.parametrize("command,expected", IDENTIFY_CASES, ids=[c[0][:50] for c in IDENTIFY_CASES])
def test_identify(command, expected):
    argv = command.split(" ", 2) if command.startswith("python3 -c") else command.split()
    info = processes.identify(argv)
    assert info is not None, command
    for key, value in expected.items():
        assert info[key] == value, (command, key, info)


@pytest.mark.parametrize("command", NOT_PLOTTERS)
def test_not_a_plotter(command):
    assert processes.identify(command.split()) is None


def test_parent_child_pair_keeps_child_and_unrelated_pairs_stay():
    def proc(pid, ppid, command):
        return {"pid": pid, "ppid": ppid, "start": 1.0, "argv": command.split(), "command": command}
    procs = [
        proc(10, 1, "chia plotters madmax -k 32 -t /t/ -d /d/"),
        proc(11, 10, "/opt/chia/madmax/chia_plot -k 32 -t /t/ -d /d/ -u 256"),
        proc(20, 1, "sudo chia plots create -t /a -d /b"),
        proc(21, 20, "chia plots create -t /a -d /b"),
        # a chiapos job whose child happens to be another plot in other dirs: both stay
        proc(30, 1, "chia plots create -t /x -d /y"),
        proc(31, 30, "chia plots create -t /other -d /y"),
    ]
    kept = dict((p["pid"], info) for p, info in processes.plotter_processes(procs))
    assert sorted(kept) == [11, 21, 30, 31]
    assert kept[11]["wrapper_pids"] == [10] and kept[21]["wrapper_pids"] == [20]


def test_list_processes_finds_itself_with_start_time_and_argv_with_spaces(tmp_path):
    odd = tmp_path / "dir with spaces"
    odd.mkdir()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", str(odd)])
    try:
        deadline = time.time() + 5
        mine = []
        while time.time() < deadline and not mine:
            mine = [p for p in processes.list_processes() if p["pid"] == child.pid]
        assert mine, "child not listed"
        assert mine[0]["argv"][-1] == str(odd)
        assert mine[0]["ppid"] == os.getpid()
        assert abs(mine[0]["start"] - time.time()) < 60
        # /proc and ps agree on the start time within the record join tolerance (2 s)
        ps_view = [p for p in processes.parse_ps(subprocess.run(processes.PS_ARGV, stdout=subprocess.PIPE,
                                                                universal_newlines=True).stdout)
                   if p["pid"] == child.pid]
        assert ps_view and abs(ps_view[0]["start"] - mine[0]["start"]) <= 2
    finally:
        child.kill()
        child.wait()


def test_log_path_of_is_fd1_file_or_none(tmp_path):
    log = tmp_path / "a log.txt"
    with open(str(log), "w") as out:
        child = subprocess.Popen(["sleep", "30"], stdout=out)
    piped = subprocess.Popen(["sleep", "30"], stdout=subprocess.PIPE)
    try:
        assert processes.log_path_of(child.pid) == str(log)
        assert processes.log_path_of(piped.pid) is None
        assert processes.log_path_of(2 ** 22 + 17) is None
    finally:
        for p in (child, piped):
            p.kill()
            p.wait()


def test_parse_lsof_name():
    assert processes.parse_lsof_name("p4101\nf1\nn/Users/alice/.chia/plotter log.txt\n") == \
        "/Users/alice/.chia/plotter log.txt"
    assert processes.parse_lsof_name("") is None


# ---------------------------------------------------------------------------------------------
# Run states: a SIGSTOPped plotter is suspended

def _stat_fixture(name):
    meta = json.loads((PS_DIR / "ps-stat.json").read_text())[name]
    return (PS_DIR / ("%s.txt" % name)).read_text(), meta


@pytest.mark.parametrize("name", ["linux-procps-stat", "macos-ps-stat"])
def test_ps_stat_fixtures(name):
    text, meta = _stat_fixture(name)
    states = processes.parse_ps_states(text)
    assert states == dict((int(pid), stat) for pid, stat in meta["states"].items())
    assert sorted(pid for pid, stat in states.items() if processes.is_suspended(stat)) == meta["suspended"]


def test_is_suspended():
    assert processes.is_suspended("T") and processes.is_suspended("t") and processes.is_suspended("Ts")
    for state in ("R", "S", "D", "Ss+", "SN", "I", "U", "", None):
        assert not processes.is_suspended(state), state


def _wait_state(pid, wanted, read):
    deadline = time.time() + 5
    while time.time() < deadline:
        if processes.is_suspended(read(pid)) == wanted:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("where", ["proc", "ps"])
def test_run_state_of_a_real_stopped_and_resumed_process(where, monkeypatch):
    """SIGSTOP a real process: /proc (Linux) and ps (the path macOS takes) both say it is suspended."""
    if where == "ps":
        monkeypatch.setattr(processes.sys, "platform", "darwin")   # ps -o pid=,stat= instead of /proc
    child = subprocess.Popen(["sleep", "60"])
    try:
        def read(pid):
            return processes.run_states([pid, 2 ** 22 + 17]).get(pid)
        assert _wait_state(child.pid, False, read)
        os.kill(child.pid, signal.SIGSTOP)
        assert _wait_state(child.pid, True, read)
        if where == "proc":
            (mine,) = [p for p in processes.list_processes() if p["pid"] == child.pid]
            assert processes.is_suspended(mine["state"])
        os.kill(child.pid, signal.SIGCONT)
        assert _wait_state(child.pid, False, read)
        assert 2 ** 22 + 17 not in processes.run_states([2 ** 22 + 17])
    finally:
        child.kill()
        child.wait()
