""".plot2 (PoS2) files: names, and the header check the mover can use, on real chia_rs plots."""

import os

import chia_rs  # requirements-test.txt
import pytest
from chia_rs.sized_bytes import bytes32

import plotfleet_testlib  # noqa: F401  (puts collections/ on sys.path)
from ansible_collections.plotfleet.chia.plugins.module_utils import plotfile

ID = "ab" * 32


@pytest.fixture(scope="module")
def plot2(tmp_path_factory):
    """A real k18 plot group (strength 3, meta group 5) named the way chia names it, by its index-0 plot id."""
    work = tmp_path_factory.mktemp("plot2")
    tmp = str(work / "x.plot2.tmp")
    group = bytes32(bytes(range(32)))
    chia_rs.create_v2_single_plot_group(tmp, 18, 3, group, 0, 5, b"\x11" * 112)
    plot_id = bytes(chia_rs.Prover(tmp).plot_id_for_index(0)).hex()
    path = str(work / ("plot-k18-%s.plot2" % plot_id))
    os.rename(tmp, path)
    return path, plot_id


def test_names():
    v2 = "plot-k28-%s.plot2" % ID
    assert plotfile.is_plot2_name(v2) and not plotfile.is_plot2_name("plot-k28-%s.plot" % ID)
    assert plotfile.parse_plot_name(v2, v2=True) == {"k": 28, "compression": 0, "plot_id": ID}
    # the mover calls these without v2=: it moves .plot2 plots (PLOT2_IS_PLOT on); v2=False keeps them out
    assert plotfile.PLOT2_IS_PLOT is True
    assert plotfile.is_plot_name(v2) and plotfile.parse_plot_name(v2)["plot_id"] == ID
    assert not plotfile.is_plot_name(v2, v2=False) and plotfile.parse_plot_name(v2, v2=False) is None
    assert plotfile.is_plot_name(v2, v2=True) and plotfile.is_plot_name("plot-k32-%s.plot" % ID)
    temps = ("plot-k28-%s.plot2.tmp", "plot-k28-%s.plot2.partial", "plot-k28-%s.plot2.partial.Ab3xQ9")
    for name in (t % ID for t in temps):
        assert plotfile.is_temp_name(name) and not plotfile.is_plot_name(name, v2=True)
    assert not plotfile.is_plot2_name("plot-k28-2025-01-01-00-00-%s.plot2" % ID)   # chia names v2 without a date


def test_header_of_a_real_plot(plot2):
    path, plot_id = plot2
    header = plotfile.read_header(path)
    assert header["format"] == "pos2" and header["version"] == 2
    assert (header["k"], header["strength"], header["meta_group"], header["memo_bytes"]) == (18, 3, 5, 112)
    assert header["plot_id"] == plot_id and header["plot_group_id"] == bytes(range(32)).hex()
    assert header["complete"] and 0 < header["table_pointers"][0] < os.path.getsize(path)
    assert "memo" not in header and ("11" * 16) not in repr(header)
    assert plotfile.check_plot(path, plot_id, 18, os.path.getsize(path)) is None


def test_header_check_refuses_what_is_not_that_plot(plot2, tmp_path):
    path, plot_id = plot2
    assert "differs" in plotfile.check_plot(path, expect_id="00" * 32)
    assert "differs" in plotfile.check_plot(path, expect_k=20)
    with open(path, "rb") as handle:
        data = handle.read()
    cut = tmp_path / "cut.plot2"
    cut.write_bytes(data[:4096])           # the header is there, the data it points to is not
    assert "shorter" in plotfile.check_plot(str(cut))
    cut.write_bytes(data[:40])             # a header being written
    assert plotfile.check_plot(str(cut)) == "not a plot (no plot header)"
    odd = bytearray(data[:4096])
    odd[37] = 19                           # an odd k: chia_rs would not open it
    assert plotfile.parse_header(bytes(odd)) is None


def test_plot_ids_of_other_indexes_are_those_chia_rs_computes(tmp_path):
    """pos2_plot_id() for a plot index other than 0 (a group file's header holds no index)."""
    path = str(tmp_path / "i.plot2")
    group = bytes32(bytes(range(100, 132)))
    chia_rs.create_v2_single_plot_group(path, 18, 2, group, 513, 7, b"\x22" * 128)
    prover = chia_rs.Prover(path)
    assert plotfile.pos2_plot_id(bytes(group), 7, 513) == bytes(prover.plot_id_for_index(513)).hex()
    assert plotfile.read_header(path)["plot_id"] == bytes(prover.plot_id_for_index(0)).hex()
