"""chiapos parser: final values read from the real logs, multi-plot, copy phase, errors, progress."""

import time

import pytest
from logs_testlib import fed, fixture_path, read_lines, walk

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

K22_ID = "37c8751886c3005feffb1e215238182af9e04b101bc933826d093b31e91a2dd2"
NET_ID = "d2540dcfcffddbfbd7e60b4aca4d54fb937db71991298fabc253f020a87ff7d4"
OLD_ID = "3eb8a37981de1cc76187a36ed947ab4307943cf92967a7e166841186c7899e24"
N2_IDS = ("ccc216444c4962b8dae1c942dd88d00054eef9d6999f7e6f3c588f132e61a611",
          "bfb074003359ec0ffe7614607b8a14c2f7df4c5819904a410d8ec865df9b186f")
MK = "/tmp/plotfleet-mklogs"

# name -> list of expected plots (subset of keys), values read from the log files themselves
FINAL = {
    "chiapos-k22-b32-t2.log": [dict(
        id=K22_ID, k=22, state="finished", tmp_dir="t", tmp2_dir="t", dst_dir="d", buckets=32, threads=2,
        buffer_mib=200, plot_file="d/plot-k22-test-%s.plot" % K22_ID, total_seconds=24.117, copy_seconds=None,
        phase_seconds={"1": 16.934, "2": 1.305, "3": 5.608, "4": 0.268}, count=None)],
    "plotman__chianetwork.plot.log": [dict(
        id=NET_ID, k=32, state="finished", tmp_dir="/farm/yards/902", tmp2_dir="/farm/yards/902/fake_tmp2",
        dst_dir="/farm/yards/902/fake_dst", buckets=128, threads=4, buffer_mib=5000, count=1,
        plot_file="/farm/yards/902/fake_dst/plot-k32-2021-07-14-22-33-%s.plot" % NET_ID,
        total_seconds=18380.426, copy_seconds=178.438,
        phase_seconds={"1": 8134.66, "2": 3304.86, "3": 6515.266, "4": 425.637})],
    "plotman__2021-04-04T19_00_47.681088-0400.log": [dict(  # chia 1.0: no "Final Directory is:"
        id=OLD_ID, k=32, state="finished", tmp_dir="/farm/yards/901", tmp2_dir="/farm/yards/901",
        dst_dir="/farm/wagons/801", buckets=128, threads=4, buffer_mib=4000, count=1, copy_seconds=501.696,
        plot_file="/farm/wagons/801/plot-k32-2021-04-04-19-00-%s.plot" % OLD_ID)],
    "local-chia-2.7.5__plots-create-n2-k25.log": [
        dict(id=N2_IDS[0], index=1, count=2, k=25, state="finished", tmp_dir="<tmp>/ct", dst_dir="<tmp>/cd",
             plot_file="<tmp>/cd/plot-k25-2026-11-28-22-20-%s.plot" % N2_IDS[0], total_seconds=154.477),
        dict(id=N2_IDS[1], index=2, count=2, k=25, state="finished", tmp_dir="<tmp>/ct", dst_dir="<tmp>/cd",
             plot_file="<tmp>/cd/plot-k25-2026-11-28-22-23-%s.plot" % N2_IDS[1], total_seconds=153.372)],
    "local-chia-2.7.5__plotters-chiapos-k25.log": [dict(
        id="603f9e66cedf8dd6a276c6383a954a8f3a949cc84906ac264acbcec8537aa7c4", k=25, state="finished",
        count=None, dst_dir="<tmp>/cd")],
    "chia-cli-k25.log": [dict(id="f1224cc7f2358d2ad3fbecfbe65c49aacf0e34939c8f0c393aed2fd9d367cb8f", k=25,
                              count=1, state="finished", tmp_dir="ct", tmp2_dir="ct", dst_dir="cd2")],
    "local-chiapos-2.0.12__k20-nobitfield-crossdevice.log": [dict(
        id="3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d", k=20, state="finished",
        tmp_dir="<tmp>/t1", tmp2_dir="<tmp>/t2", dst_dir="/dev/shm/ptfinal", buckets=16, copy_seconds=0.008,
        plot_file="/dev/shm/ptfinal/plot-k20-2026-11-28-00-00-"
                  "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d.plot")],
    "chiapos-k18-stripe-error.log": [dict(id=None, state="failed", phase=0,
                                          error="Caught plotting error: Stripe size too large")],
    "chiapos-k18-rename.log": [dict(
        id="692e98559e35028d79b50b2ccdb883d6bc2f4eda51d9e4ce0bfa580dbfcae764", k=18, state="finished",
        tmp_dir=MK + "/t1", tmp2_dir=MK + "/t1", dst_dir=MK + "/final", buckets=32, threads=2, copy_seconds=None,
        plot_file=MK + "/final/plot-k18-2026-11-29-01-58-"
                       "692e98559e35028d79b50b2ccdb883d6bc2f4eda51d9e4ce0bfa580dbfcae764.plot")],
    "chiapos-k20-tmp2-crossdevice.log": [dict(
        id="583da840a1f5c8bcb55c133e9b859b3c21fe994dc66d61a73861bcedf3287075", k=20, state="finished",
        tmp_dir=MK + "/t1", tmp2_dir=MK + "/t2", dst_dir="/dev/shm/plotfleet-mklogs/final", copy_seconds=0.007,
        plot_file="/dev/shm/plotfleet-mklogs/final/plot-k20-2026-11-29-01-58-"
                  "583da840a1f5c8bcb55c133e9b859b3c21fe994dc66d61a73861bcedf3287075.plot")],
    "chiapos-k18-two-plots.log": [
        dict(id="88852637e647531d4784347e7f8148f6ece32aec9c4f8e56a11b5678f0fe5883", index=1, state="finished",
             tmp2_dir=MK + "/t2", plot_file=MK + "/final/plot-k18-2026-11-29-01-58-"
             "88852637e647531d4784347e7f8148f6ece32aec9c4f8e56a11b5678f0fe5883.plot"),
        dict(id="173e2b5b9fe7be3267990b59fa924c110114f7baa636f6ee0ae56b68314d58e6", index=2, state="finished",
             tmp2_dir=MK + "/t2", plot_file=MK + "/final/plot-k18-2026-11-29-01-58-"
             "173e2b5b9fe7be3267990b59fa924c110114f7baa636f6ee0ae56b68314d58e6.plot")],
    "chiapos-k20-killed-phase1.log": [dict(
        id="994fd27f5d3eef9a1c53fa09cb3d2fb907a0504c0fb8a8e4f3fa6c26930dc9ac", k=20, state="plotting", phase=1,
        step="1:4", plot_file=None, finished_ts=None, error=None)],
}


@pytest.mark.parametrize("name", sorted(FINAL))
def test_final_values(name):
    plots = walk(fixture_path(name), "chiapos").plots
    expected = FINAL[name]
    assert len(plots) == len(expected)
    for plot, want in zip(plots, expected):
        for key, value in want.items():
            assert plot[key] == value, (name, key)
        if plot["state"] == "finished":
            assert plot["phase"] == 5 and plot["step"] == "5:3" and plot["progress"] == 1.0   # plotman's last step
            assert plot["plot_name"] == plot["plot_file"].rsplit("/", 1)[-1]
            assert set(plot["phase_seconds"]) == {"1", "2", "3", "4"}
            assert plot["started_ts"] < plot["finished_ts"]


def test_dates_are_local_time_of_the_phase_lines():
    plot = walk(fixture_path("chiapos-k22-b32-t2.log"), "chiapos").plots[0]
    assert time.localtime(plot["started_ts"])[:6] == (2026, 11, 28, 20, 21, 9)
    assert time.localtime(plot["finished_ts"])[:6] == (2026, 11, 28, 20, 21, 33)
    plot = walk(fixture_path("plotman__chianetwork.plot.log"), "chiapos").plots[0]
    assert time.localtime(plot["finished_ts"])[:6] == (2021, 7, 15, 3, 42, 44)  # the `Copy time` line


def test_progress_is_bucket_level_inside_phase_1():
    seen = []
    for line, parser in fed("chiapos-k22-b32-t2.log", "chiapos"):
        if line.startswith("\tBucket") and parser.plots[0]["phase"] == 1:
            seen.append(parser.plots[0]["progress"])
    distinct = sorted(set(seen))
    assert len(distinct) > 100  # 6 tables x 32 buckets, each moves progress
    assert 0 < distinct[0] < distinct[-1] <= 0.44 + 1e-9


def test_progress_without_progress_update_lines_reaches_weights():
    """The 2021 log has no `Progress update:`; phase boundaries land on the default weights."""
    at = {}
    for line, parser in fed("plotman__2021-04-04T19_00_47.681088-0400.log", "chiapos"):
        if line.startswith("Time for phase"):
            at[line[15]] = parser.plots[0]["progress"]
    assert at == {"1": 0.44, "2": 0.62, "3": 0.97, "4": 0.99}


def test_nobitfield_phase2_uses_its_bucket_lines():
    p2 = []
    for _line, parser in fed("local-chiapos-2.0.12__k20-nobitfield-crossdevice.log", "chiapos"):
        if parser.plots and parser.plots[0]["phase"] == 2:
            p2.append(parser.plots[0]["progress"])
    assert len(set(p2)) > 12 and min(p2) >= 0.44 and max(p2) <= 0.62


def test_cross_device_copy_is_state_copying_until_the_rename():
    states = {}
    for line, parser in fed("chiapos-k20-tmp2-crossdevice.log", "chiapos"):
        for marker in ("Total time", "Copied final file", "Copy time", "Removed temp2", "Renamed final file"):
            if line.startswith(marker):
                p = parser.plots[0]
                states[marker] = (p["state"], p["phase"], p["plot_file"] is not None)
    assert states == {"Total time": ("copying", 5, False), "Copied final file": ("copying", 5, False),
                      "Copy time": ("copying", 5, False), "Removed temp2": ("copying", 5, False),
                      "Renamed final file": ("finished", 5, True)}


def _variant(name, before, extra):
    """Real log lines with synthetic `extra` lines inserted before the first line starting with `before`."""
    lines = read_lines(fixture_path(name))
    i = next(n for n, x in enumerate(lines) if x.startswith(before))
    return lines[:i] + extra + lines[i:], i


def test_could_not_rename_is_a_warning_and_the_plot_stays_copying():
    msg = ('Could not rename "/tmp/a.plot.2.tmp" to "/tmp/a.plot". Error Permission denied. '
           'Retrying in five minutes.')
    lines, i = _variant("chiapos-k18-rename.log", "Renamed final file", [msg])
    plots = model.parse_lines(lines[:i + 1], "chiapos")
    assert plots[0]["state"] == "copying" and plots[0]["warning"] == msg and plots[0]["error"] is None
    plots = model.parse_lines(lines, "chiapos")
    assert plots[0]["state"] == "finished"


@pytest.mark.parametrize("msg", [
    "Only wrote 0 of 1048576 bytes at offset 0 to /tmp/x.table1.tmp with length 1048576. Error 1. "
    "Retrying in five minutes.",
    'Could not copy "/tmp/t2/x.plot.2.tmp" to "/dst/x.plot.2.tmp". Error No space left on device. '
    "Retrying in five minutes.",
])
def test_retried_io_errors_fail_the_plot_until_progress_resumes(msg):
    before = "Computing table 3" if msg.startswith("Only") else "Copy time"
    lines, i = _variant("chiapos-k20-tmp2-crossdevice.log", before, [msg])
    stuck = model.parse_lines(lines[:i + 1], "chiapos")[0]
    assert stuck["state"] == "failed" and stuck["error"] == msg
    recovered = model.parse_lines(lines, "chiapos")[0]
    assert recovered["state"] == "finished" and recovered["error"] is None


def test_caught_plotting_error_mid_plot_is_final():
    lines, i = _variant("chiapos-k22-b32-t2.log", "Compressing tables 2 and 3",
                        ["Caught plotting error: std::bad_alloc"])
    plot = model.parse_lines(lines[:i + 1] + lines[i + 1:i + 3], "chiapos")[0]
    assert plot["state"] == "failed" and plot["error"] == "Caught plotting error: std::bad_alloc"
    assert plot["phase"] == 3 and 0.62 < plot["progress"] < 0.97


def test_plot_that_never_completed_is_failed_when_the_log_moves_on():
    a = read_lines(fixture_path("chiapos-k20-killed-phase1.log"))
    b = read_lines(fixture_path("chiapos-k18-rename.log"))
    plots = model.parse_lines(a + b, "chiapos")
    assert [p["state"] for p in plots] == ["failed", "finished"]
    assert "next plot" in plots[0]["error"]


def test_dirs_with_and_in_their_names_are_fixed_by_the_phase3_path():
    lines = read_lines(fixture_path("chiapos-k18-rename.log"))
    lines = [x.replace("/tmp/plotfleet-mklogs/t1", "/mnt/salt and pepper/t1") for x in lines]
    plot = model.parse_lines(lines, "chiapos")[0]
    assert plot["tmp_dir"] == "/mnt/salt and pepper/t1" and plot["tmp2_dir"] == "/mnt/salt and pepper/t1"


def test_python_preamble_sets_count_and_index():
    plots = model.parse_lines(read_lines(fixture_path("local-chia-2.7.5__plots-create-n2-k25.log")))
    assert [(p["index"], p["count"]) for p in plots] == [(1, 2), (2, 2)]
