"""plotfile: header reader on a real chiapos plot and synthetic v1/v2 headers; plot/temp names."""

import os
import struct
import sys
from pathlib import Path

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import plotfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import plotmove_lib  # noqa: E402

PLOT_ID = bytes(range(32))
MEMO = b"\xaa" * 128


def v1_header(pointers, memo=MEMO):
    return (plotfile.V1_MAGIC + PLOT_ID + bytes([25]) + struct.pack(">H", 4) + b"v1.0"
            + struct.pack(">H", len(memo)) + memo + struct.pack(">10Q", *pointers))


def v2_header(pointers, level=5):
    flags = 1 if level else 0
    return (b"PLOT" + struct.pack("<I", 2) + PLOT_ID + bytes([32]) + struct.pack(">H", 112) + b"\xbb" * 112
            + struct.pack("<I", flags) + (bytes([level]) if level else b"") + struct.pack(">10Q", *pointers)
            + struct.pack("<10Q", *range(1, 11)))


@pytest.fixture(scope="module")
def real_plot():
    return plotmove_lib.cached_plots(1)[0]


def test_real_chiapos_plot_header(real_plot):
    header = plotfile.read_header(str(real_plot))
    assert header["format"] == "v1.0"
    assert header["k"] == 18
    assert header["plot_id"] == plotfile.parse_plot_name(real_plot.name)["plot_id"]
    assert header["complete"] is True
    assert header["memo_bytes"] == 128
    assert "memo" not in header  # the memo holds the plot's secret key
    assert plotfile.check_plot(str(real_plot), expect_id=header["plot_id"], expect_k=18,
                               expect_size=real_plot.stat().st_size) is None


def test_plot_with_zero_table_pointers_is_incomplete(tmp_path, real_plot):
    header = plotfile.read_header(str(real_plot))
    data = bytearray(real_plot.read_bytes())
    end = header["header_bytes"]
    data[end - 80:end] = bytes(80)  # as chiapos leaves them until the plot is finished
    path = tmp_path / real_plot.name
    path.write_bytes(bytes(data))
    assert plotfile.read_header(str(path))["complete"] is False
    assert "incomplete" in plotfile.check_plot(str(path))


def test_truncated_plot_is_rejected(tmp_path, real_plot):
    path = tmp_path / real_plot.name
    path.write_bytes(real_plot.read_bytes()[:200000])
    assert "shorter" in plotfile.check_plot(str(path))


def test_expectations_are_checked(real_plot):
    assert "plot id" in plotfile.check_plot(str(real_plot), expect_id="00" * 32)
    assert "k19" in plotfile.check_plot(str(real_plot), expect_k=19)
    assert "size" in plotfile.check_plot(str(real_plot), expect_size=1)


def test_synthetic_v1_header_and_memo_never_returned():
    header = plotfile.parse_header(v1_header(list(range(300, 310))))
    assert header["plot_id"] == PLOT_ID.hex() and header["k"] == 25 and header["complete"]
    assert header["header_bytes"] == 19 + 32 + 1 + 2 + 4 + 2 + 128 + 80
    assert MEMO.hex() not in repr(header) and "aaaa" not in repr(header)


def test_v2_compressed_header():
    header = plotfile.parse_header(v2_header(list(range(500, 510)), level=5))
    assert header["format"] == "v2" and header["version"] == 2
    assert header["k"] == 32 and header["compression"] == 5 and header["complete"]
    assert header["header_bytes"] == 4 + 4 + 32 + 1 + 2 + 112 + 4 + 1 + 160
    unfinished = plotfile.parse_header(v2_header([0] * 10, level=0))
    assert unfinished["compression"] == 0 and unfinished["complete"] is False


@pytest.mark.parametrize("data", [b"", b"Proof of Space Plot" + b"\x01" * 20, b"PLOT\x02\x00", os.urandom(400),
                                  v1_header(list(range(1, 11)))[:-5]])
def test_not_a_header(data):
    assert plotfile.parse_header(data) is None


def test_missing_file():
    assert plotfile.read_header("/nonexistent/plot-k32.plot") is None
    assert "cannot stat" in plotfile.check_plot("/nonexistent/plot-k32.plot")


PID = "ab" * 32


@pytest.mark.parametrize("name,k,c", [
    ("plot-k32-2021-06-01-12-30-%s.plot" % PID, 32, 0),
    ("plot-k32-c05-2023-06-01-12-30-%s.plot" % PID, 32, 5),
    ("plot-k25-%s.plot" % PID.upper(), 25, 0),
    ("plot-k18-2025-01-01-00-00-%s.plot" % PID, 18, 0),
])
def test_plot_names(name, k, c):
    parsed = plotfile.parse_plot_name(name)
    assert parsed == {"k": k, "compression": c, "plot_id": PID}
    assert not plotfile.is_temp_name(name)


@pytest.mark.parametrize("name", [
    "plot-k32-2021-06-01-12-30-%s.plot.tmp" % PID,
    "plot-k32-2021-06-01-12-30-%s.plot.2.tmp" % PID,
    "plot-k32-2021-06-01-12-30-%s.plot.table3.tmp" % PID,
    "plot-k32-2021-06-01-12-30-%s.plot.sort.tmp" % PID,
    "plot-k32-2021-06-01-12-30-%s.plot.p1.t1.sort_bucket_012.tmp" % PID,
    "plot-k32-2021-06-01-12-30-%s.p2.t3.tmp" % PID,
    ".plot-k32-2021-06-01-12-30-%s.plot.plotfleet-partial" % PID,
])
def test_temp_names_are_never_plots(name):
    assert plotfile.is_temp_name(name)
    assert plotfile.parse_plot_name(name) is None


def test_partial_name_is_hidden_and_temp():
    name = plotfile.partial_name("plot-k32-%s.plot" % PID)
    assert name.startswith(".") and plotfile.is_temp_name(name) and not plotfile.is_plot_name(name)
