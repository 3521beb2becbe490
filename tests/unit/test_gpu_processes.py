"""GPU plotters in the process table: BladeBit CUDA (`bladebit_cuda`/`bladebit ... cudaplot`) and Gigahorse.

tests/fixtures/ps/gpu-ps.txt was recorded on this machine (`LC_ALL=C ps -axww -o pid=,ppid=,lstart=,command=`)
from stand-in processes: a tiny C program that only sleeps, copied as `cuda_plot_k32`, `cuda_plot_k30_v3`,
`bladebit_cuda` and `bladebit`, started with the argv a farmer would give the real plotter;
gpu-ps-argv.json holds their /proc/PID/cmdline (the real argv).
"""

import json
from pathlib import Path

import pytest

from ansible_collections.plotfleet.chia.plugins.module_utils import processes

PS_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "ps"
CAP = "/tmp/gpu/pfcap"
EXPECTED = {
    "26780": dict(plotter="gigahorse", kind="gigahorse", k=32, count=None, tmp_dir=CAP + "/nvme/gh",
                  tmp2_dir=None, dst_dir=CAP + "/hdd01"),
    "26781": dict(plotter="gigahorse", kind="gigahorse", k=30, count=3, tmp_dir=CAP + "/nvme/gh",
                  tmp2_dir=CAP + "/nvme/t1", dst_dir=CAP + "/hdd01"),
    "26782": dict(plotter="bladebit_cuda", kind="bladebit", k=32, count=0, tmp_dir=CAP + "/nvme/t1",
                  tmp2_dir=CAP + "/nvme/t1", dst_dir=CAP + "/hdd01"),
    "26783": dict(plotter="bladebit_cuda", kind="bladebit", k=32, count=30, tmp_dir=None, tmp2_dir=None,
                  dst_dir=CAP + "/hdd01"),
}


def _recorded():
    text = (PS_DIR / "gpu-ps.txt").read_text()
    argv = json.loads((PS_DIR / "gpu-ps-argv.json").read_text())
    return text, argv


def _subset(info, keys):
    return dict((key, info[key]) for key in keys)


@pytest.mark.parametrize("pid", sorted(EXPECTED))
def test_identify_from_the_real_argv(pid):
    info = processes.identify(_recorded()[1][pid])
    assert _subset(info, EXPECTED[pid]) == EXPECTED[pid]


def test_the_ps_lines_are_found_as_plotters_with_the_same_dirs():
    text, argv = _recorded()
    procs = processes.parse_ps(text, exists=lambda path: False)
    assert dict((str(p["pid"]), p["argv"]) for p in procs) == argv   # no spaces: the split is exact
    found = dict((str(p["pid"]), info) for p, info in processes.plotter_processes(procs))
    assert set(found) == set(EXPECTED)
    for pid, expected in EXPECTED.items():
        assert _subset(found[pid], expected) == expected, pid


@pytest.mark.parametrize("command,expected", [
    # several -t / -d: the first one is the plot's (plotfleet starts it with one of each)
    ("/opt/gh/cuda_plot_k32 -n 5 -t /a/ -t /b/ -d /d1/ -d /d2/ -C 7",
     dict(plotter="gigahorse", count=5, tmp_dir="/a", dst_dir="/d1")),
    ("cuda_plot_k26.exe -n 0 -t D:\\tmp\\ -d @sink", dict(plotter="gigahorse", k=26, count=None, dst_dir="@sink")),
    ("cuda_plot_k32 --count 2 --tmpdir /t --tmpdir2 /t2 --finaldir /d -3 /t3",
     dict(plotter="gigahorse", count=2, tmp_dir="/t", tmp2_dir="/t2", dst_dir="/d")),
    # full-RAM cudaplot writes no temp files: -t1/-t2 without --disk-* are not its dirs
    ("bladebit_cuda -n 1 cudaplot -t1 /nvme /out", dict(plotter="bladebit_cuda", tmp_dir=None, dst_dir="/out")),
    ("bladebit_cuda -n 1 cudaplot --disk-16 -t2 /t2 /out", dict(tmp_dir="/t2", tmp2_dir="/t2", dst_dir="/out")),
    ("bladebit_cuda -n 2 cudaplot --disk-128 --temp1 /t1 --temp2 /t2 /o1 /o2",
     dict(tmp_dir="/t1", tmp2_dir="/t2", count=2)),
    ("bladebit_cuda -z cudaplot /out", dict(plotter="bladebit_cuda", dst_dir="/out")),
    ("chia plotters bladebit cudaplot -d /d -n 3 -f fk -c xch1", dict(plotter="bladebit_cuda", kind="chia", count=3)),
    # not GPU: the RAM and disk plotters stay bladebit, madMAx stays madmax
    ("bladebit -n 1 diskplot -t1 /t1 /out", dict(plotter="bladebit", tmp_dir="/t1")),
    ("chia_plot -n 2 -t /t/ -d /d/", dict(plotter="madmax")),
])
def test_identify_cases(command, expected):
    info = processes.identify(command.split())
    assert _subset(info, expected) == expected


@pytest.mark.parametrize("command", ["cuda_plot_k32_sink -p 1337", "chia_plot_sink -- /d", "bladebit_cuda simulate /p",
                                     "cuda_plot_kxx -n 1", "nvidia-smi"])
def test_not_plotters(command):
    assert processes.identify(command.split()) is None
