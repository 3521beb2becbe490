"""argv builders and validation for the GPU plotter kinds bladebit_cuda and gigahorse (the binary itself)."""

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import launch, processes

F = "a" * 96
P = "b" * 96
C = "xch1" + "q" * 58


def plotter(**extra):
    base = {"kind": "bladebit_cuda", "k": 32, "count": 1, "farmer_public_key": F, "pool_public_key": P,
            "compression": 7, "bladebit_mode": None, "extra_args": []}
    base.update(extra)
    return base


@pytest.mark.parametrize("settings,expected", [
    (plotter(count=50, threads=14),
     ["/opt/bladebit_cuda", "-f", F, "-p", P, "-n", "50", "-t", "14", "--compress", "7", "cudaplot", "/d"]),
    (plotter(pool_public_key=None, pool_contract_address=C, compression=1, extra_args=["--disk-128", "-d", "1"]),
     ["/opt/bladebit_cuda", "-f", F, "-c", C, "-n", "1", "--compress", "1", "cudaplot", "--disk-128", "-d", "1",
      "-t1", "/t 1", "-t2", "/t2", "/d"]),
    (plotter(kind="gigahorse", compression=8, count=20),
     ["/opt/bladebit_cuda", "-n", "20", "-C", "8", "-t", "/t 1/", "-2", "/t2/", "-d", "/d/", "-f", F, "-p", P]),
    (plotter(kind="gigahorse", compression=30, extra_args=["-g", "1", "-Q", "2"]),
     ["/opt/bladebit_cuda", "-n", "1", "-C", "30", "-t", "/t 1/", "-2", "/t2/", "-d", "/d/", "-f", F, "-p", P,
      "-g", "1", "-Q", "2"]),
])
def test_argv(settings, expected):
    assert launch.build_argv(settings, "/opt/bladebit_cuda", "/t 1", "/t2", "/d") == expected


def test_gigahorse_full_ram_mode_has_no_tmp2_when_it_is_the_tmp_dir():
    argv = launch.build_argv(plotter(kind="gigahorse", compression=7), "cuda_plot_k32", "/t", "/t/", "/d")
    assert "-2" not in argv and argv[argv.index("-t") + 1] == "/t/"


@pytest.mark.parametrize("kind,binary,plotter_name", [
    ("bladebit_cuda", "/usr/local/bin/bladebit_cuda", "bladebit_cuda"),
    ("gigahorse", "/opt/gh/cuda_plot_k32", "gigahorse"),
])
def test_what_plotfleet_starts_is_recognised_as_that_plotter_with_its_dirs(kind, binary, plotter_name):
    extra = ["--disk-128"] if kind == "bladebit_cuda" else []
    argv = launch.build_argv(plotter(kind=kind, count=9, extra_args=extra), binary, "/nv me/t", "/nv me/t2", "/hdd 1")
    info = processes.identify(argv)
    assert info["plotter"] == plotter_name and info["count"] == 9 and info["k"] == 32
    assert (info["tmp_dir"], info["tmp2_dir"], info["dst_dir"]) == ("/nv me/t", "/nv me/t2", "/hdd 1")


def test_never_through_the_chia_wrapper():
    for kind in ("bladebit_cuda", "gigahorse"):
        argv = launch.build_argv(plotter(kind=kind), launch.DEFAULT_BINARY[kind], "/t", "/t", "/d")
        assert argv[0] == launch.DEFAULT_BINARY[kind] and "plotters" not in argv
    assert launch.DEFAULT_BINARY == dict(launch.DEFAULT_BINARY, bladebit_cuda="bladebit_cuda",
                                         gigahorse="cuda_plot_k32")


@pytest.mark.parametrize("settings,error", [
    (plotter(compression=8), "plotter.compression must be 0..7 or 9 for bladebit_cuda (it refuses 8), got 8"),
    (plotter(k=31), "plotter.k: 31 is out of range for plotter kind bladebit_cuda (32..32)"),
    (plotter(kind="gigahorse", compression=0),
     "plotter.compression must be 1..9, 11..20 or 29..33 for gigahorse (no uncompressed plots), got 0"),
    (plotter(kind="gigahorse", compression=10),
     "plotter.compression must be 1..9, 11..20 or 29..33 for gigahorse (no uncompressed plots), got 10"),
    (plotter(kind="gigahorse", k=28), "plotter.k: gigahorse has no cuda_plot_k28 build (k is one of 26, 29, 30, 31, "
                                      "32, 33, 34)"),
    (plotter(kind="gigahorse", pool_public_key=None),
     "plotter.farmer_public_key and one of plotter.pool_public_key / plotter.pool_contract_address are required "
     "for plotter kind gigahorse"),
])
def test_validate(settings, error):
    assert launch.validate_plotter(settings) == [error]


@pytest.mark.parametrize("settings", [plotter(), plotter(compression=0), plotter(compression=9),
                                      plotter(kind="gigahorse", compression=20, k=30),
                                      plotter(kind="gigahorse", compression=33)])
def test_valid(settings):
    assert launch.validate_plotter(settings) == []
