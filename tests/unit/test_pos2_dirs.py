"""plot_info dirs count v1 (.plot) and v2 (.plot2) plots apart; the status table's disk lines show both."""

import time

import plotfleet_testlib  # noqa: F401  (puts collections/ on sys.path)
from ansible_collections.plotfleet.chia.plugins.module_utils import hoststate
from ansible_collections.plotfleet.chia.plugins.plugin_utils import fleet_status, fleet_table

ID1, ID2, ID3 = "a1" * 32, "b2" * 32, "c3" * 32


def test_dirs_count_v1_and_v2_plots_and_bytes_apart(tmp_path):
    dst, tmp = tmp_path / "dst", tmp_path / "tmp"
    dst.mkdir()
    tmp.mkdir()
    (dst / ("plot-k32-2026-01-01-00-00-%s.plot" % ID1)).write_bytes(b"1" * 100)
    (dst / ("plot-k18-%s.plot2" % ID2)).write_bytes(b"2" * 30)
    (dst / ("plot-k18-%s.plot2" % ID3)).write_bytes(b"3" * 12)
    (dst / ("plot-k18-%s.plot2.tmp" % ID1)).write_bytes(b"t" * 7)       # the pos2 driver's temp
    (dst / ("plot-k28-%s.plot2.partial" % ID1)).write_bytes(b"p" * 5)   # xchplot2's: not a plot
    (dst / ("plot-k28-%s.plot2.partial.Ab3xQ9" % ID2)).write_bytes(b"q" * 3)   # xchplot2's newer partial
    (dst / "notes.plot2").write_bytes(b"x")                                # not a plot name
    (dst / ("plot-k18-%s.plot2" % ("d4" * 32))).mkdir()                  # not a file
    entries = hoststate._dirs({"tmp_dirs": [str(tmp)], "dst_dirs": [str(dst)]}, {})
    by_path = dict((e["path"], e) for e in entries)
    d = by_path[str(dst)]
    assert (d["plots_v1"], d["plot_bytes_v1"], d["plots_v2"], d["plot_bytes_v2"]) == (1, 100, 2, 42)
    assert (d["plot_count"], d["plot_bytes"]) == (1, 100)          # the existing keys keep their meaning
    assert (d["temp_bytes"], d["temp_count"]) == (7 + 5 + 3, 3)   # the driver's .plot2.tmp and xchplot2's partials
    t = by_path[str(tmp)]
    assert (t["plots_v1"], t["plots_v2"], t["plot_bytes_v2"]) == (0, 0, 0)


def test_missing_dir_has_zero_counts_and_its_error(tmp_path):
    (entry,) = hoststate._dirs({"tmp_dirs": [str(tmp_path / "gone")]}, {})
    assert entry["exists"] is False and entry["error"]
    assert (entry["plots_v1"], entry["plots_v2"], entry["plot_bytes_v2"]) == (0, 0, 0)


def _disk_line(entry):
    host = {"plotfleet_tmp_dirs": [], "plotfleet_dst_dirs": [entry["path"]],
            "plotfleet_host_state": {"jobs": [], "history": [], "dirs": [entry], "transfers": []}}
    status = fleet_status.build_status({"p1": host}, ["p1"], ["p1"], [], now=time.time())
    (line,) = [x for x in fleet_table.render(status, 120).splitlines() if x.startswith("  disk")]
    return line


def test_disk_lines_show_v1_and_v2_plots():
    base = {"path": "/mnt/dst", "free_bytes": 1 << 30, "total_bytes": 2 << 30, "plot_count": 3}
    assert _disk_line(dict(base, plots_v2=2)).endswith("3 v1 + 2 v2 plots")
    assert _disk_line(dict(base, plot_count=0, plots_v2=1)).endswith("1 v2 plot")
    assert _disk_line(dict(base, plots_v2=0)).endswith("3 plots")       # no PoS2 plots: as before
    assert _disk_line(dict(base)).endswith("3 plots")                   # a host without the new keys
