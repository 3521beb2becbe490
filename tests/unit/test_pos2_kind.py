"""The pos2 plotter kind: its argv and validation (launch.py), and recognising PoS2 plotters by argv."""

import pytest

import plotfleet_testlib  # noqa: F401  (puts collections/ on sys.path)
from ansible_collections.plotfleet.chia.plugins.module_utils import launch, processes

FARMER, POOL = "a" * 96, "b" * 96
DRIVER = "/srv/pf/state/bin/plotfleet-pos2-0123456789ab.py"


def test_argv_runs_the_driver_with_strength_dirs_and_keys():
    plotter = {"kind": "pos2", "k": 18, "count": 2, "strength": 3, "farmer_public_key": FARMER,
               "pool_public_key": POOL, "extra_args": ["--x"]}
    argv = launch.build_argv(plotter, "/usr/bin/python3", "/t", "/t", "/d", driver=DRIVER)
    assert argv == ["/usr/bin/python3", DRIVER, "-k", "18", "-n", "2", "-s", "3", "-t", "/t", "-d", "/d",
                    "-f", FARMER, "-p", POOL, "--x"]


def test_argv_without_strength_or_keys_leaves_the_driver_defaults():
    argv = launch.build_argv({"kind": "pos2", "k": 20}, "py", "/t", "/t", "/d", driver=DRIVER)
    assert argv == ["py", DRIVER, "-k", "20", "-n", "1", "-t", "/t", "-d", "/d"]


@pytest.mark.parametrize("settings, error", [
    ({"k": 19}, "even k"),
    ({"k": 16}, "out of range"),
    ({"k": 34}, "out of range"),
    ({"k": 18, "strength": 1}, "plotter.strength must be 2..255"),
    ({"k": 18, "compression": 3}, "uncompressed plots only"),
    ({"k": 18, "farmer_public_key": FARMER}, "go together"),
])
def test_validation_refuses(settings, error):
    errors = launch.validate_plotter(dict(settings, kind="pos2"))
    assert any(error in e for e in errors), errors


def test_validation_accepts_no_keys_and_full_keys():
    assert launch.validate_plotter({"kind": "pos2", "k": 18}) == []
    assert launch.validate_plotter({"kind": "pos2", "k": 28, "strength": 2, "farmer_public_key": FARMER,
                                    "pool_contract_address": "xch1" + "q" * 58}) == []


def test_identify_the_driver_under_python_and_run_directly():
    expected = {"plotter": "pos2", "kind": "pos2", "k": 18, "count": 3, "tmp_dir": "/t", "tmp2_dir": "/t",
                "dst_dir": "/d"}
    argv = ["/usr/bin/python3", DRIVER, "-k", "18", "-n", "3", "-s", "2", "-t", "/t/", "-d", "/d", "-f", FARMER,
            "-p", POOL]
    assert processes.identify(argv) == expected
    assert processes.identify(argv[1:]) == expected
    assert processes.identify(["nice", "-n", "10", "python3", "-u"] + argv[1:]) == expected


def test_identify_the_driver_defaults_dst_to_tmp():
    info = processes.identify(["python3", DRIVER, "-k", "18", "-t", "/t"])
    assert (info["tmp_dir"], info["tmp2_dir"], info["dst_dir"], info["count"]) == ("/t", "/t", "/t", None)


def test_identify_xchplot2_plot_and_not_its_other_commands():
    argv = ["/opt/xchplot2/xchplot2", "plot", "-k", "28", "-n", "10", "-f", FARMER, "-c", "xch1" + "q" * 58,
            "-o", "/mnt/nvme/plots/", "--devices", "0,1", "--skip-existing"]
    assert processes.identify(argv) == {"plotter": "xchplot2", "kind": "xchplot2", "k": 28, "count": 10,
                                        "tmp_dir": "/mnt/nvme/plots", "tmp2_dir": "/mnt/nvme/plots",
                                        "dst_dir": "/mnt/nvme/plots"}
    assert processes.identify(["xchplot2", "verify", "/p/plot-k28-%s.plot2" % ("0" * 64), "--trials", "9"]) is None
    assert processes.identify(["xchplot2"]) is None
    long_flags = ["xchplot2", "plot", "--k", "28", "--num", "40", "--farmer-pk", FARMER, "--pool-ph", "ab" * 32,
                  "--seed", "cd" * 32, "--temp-dir", "/mnt/spill", "--out", "/mnt/hdd 1"]
    info = processes.identify(long_flags)
    assert (info["k"], info["count"], info["tmp_dir"], info["dst_dir"]) == (28, 40, "/mnt/spill", "/mnt/hdd 1")


def test_plotter_processes_finds_both_whatever_the_paths_are_called():
    procs = [{"pid": 10, "ppid": 1, "start": 1.0, "argv": ["python3", DRIVER, "-k", "18", "-t", "/t"],
              "command": "python3 %s -k 18 -t /t" % DRIVER},
             {"pid": 11, "ppid": 1, "start": 1.0, "argv": ["./xchplot2", "plot", "-k", "28", "-o", "/o"],
              "command": "./xchplot2 plot -k 28 -o /o"}]
    found = processes.plotter_processes(procs)
    assert [(p["pid"], info["plotter"]) for p, info in found] == [(10, "pos2"), (11, "xchplot2")]
