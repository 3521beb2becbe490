"""BladeBit parser: the real RAM (v1) and diskplot (v2) logs, plus tolerance for unknown lines."""

from logs_testlib import fed, fixture_path, read_lines, walk

from ansible_collections.plotfleet.chia.plugins.module_utils.logs import model

RAM_ID = "1fc7b57baae24da78e3bea44d58ab51f162a3ed4d242bab2fbcc24f6577d88b3"
DISK_ID = "8f781fecff9d78b83b7116580af550b62530a623750738a19dcea498a7a73010"


def test_ram_plot():
    plot = walk(fixture_path("plotman__bladebit.plot.log"), "bladebit").plots[0]
    want = dict(id=RAM_ID, k=32, count=1, state="finished", threads=88, dst_dir="/mnt/tmp/01/manual-transfer",
                plot_file="/mnt/tmp/01/manual-transfer/plot-k32-2021-08-29-22-22-%s.plot" % RAM_ID,
                phase_seconds={"1": 313.98, "2": 44.6, "3": 203.26, "4": 1.11}, total_seconds=582.91)
    for key, value in want.items():
        assert plot[key] == value, key


def test_disk_plot():
    plot = walk(fixture_path("plotman__bladebit2disk.plot.log"), "bladebit").plots[0]
    want = dict(id=DISK_ID, k=32, count=1, state="finished", threads=64, buckets=256,
                tmp_dir="/farm/yards/907/1", tmp2_dir="/farm/yards/907/2", dst_dir="/farm/yards/907/d",
                plot_file="/farm/yards/907/d/plot-k32-2022-05-04-00-44-%s.plot" % DISK_ID,
                phase_seconds={"1": 526.48, "2": 100.36, "3": 562.95}, total_seconds=1189.79)
    for key, value in want.items():
        assert plot[key] == value, key


def test_ram_progress_by_phase():
    at = {}
    for line, parser in fed("plotman__bladebit.plot.log", "bladebit"):
        if line.startswith("Finished Phase"):
            at[line[15]] = parser.plots[0]["progress"]
    assert at["1"] == 0.50 and at["2"] == 0.58 and at["3"] == 0.96 and at["4"] == 0.97


def test_killed_mid_phase_2_is_still_plotting():
    lines = read_lines(fixture_path("plotman__bladebit2disk.plot.log"))
    cut = lines[:lines.index("Finished marking table 4 in 24.05 seconds.") + 1]
    plot = model.parse_lines(cut, "bladebit")[0]
    assert plot["state"] == "plotting" and plot["step"] == "2:3" and plot["plot_file"] is None   # tables 6..2: 2:1..2:5


def test_unknown_cudaplot_style_lines_are_ignored():
    lines = read_lines(fixture_path("plotman__bladebit.plot.log"))
    noisy = []
    for line in lines:
        noisy.append(line)
        noisy.append(" GPU-0 memory: 12.4 GiB / 24.0 GiB  [cudaplot] Bucket 3/256 done")
        noisy.append("Completed Phase 1 in 12.3 seconds")  # v3 wording not in the step grid
    assert model.parse_lines(noisy, "bladebit") == model.parse_lines(lines, "bladebit")


def test_fatal_error_fails_the_plot():
    lines = read_lines(fixture_path("plotman__bladebit.plot.log"))
    i = lines.index("Running Phase 2")
    plot = model.parse_lines(lines[:i] + ["Error: Failed to allocate buffers."], "bladebit")[0]
    assert plot["state"] == "failed" and plot["error"] == "Error: Failed to allocate buffers."
