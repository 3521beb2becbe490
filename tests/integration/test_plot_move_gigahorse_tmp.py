"""plot_move never takes a `.plot` out of the `-t` dir of a live Gigahorse (issue 12), end to end: a process
with Gigahorse's argv (`cuda_plot_k32 ... -t DIR/ -d HDD/`, Python sleeping under that argv[0]) is found by
plot_move's own gather, and the complete real plot in its -t dir stays there while it lives (Gigahorse's
copy thread owns it); once the process is gone, the same plot moves.
"""

import shutil
import subprocess
import sys

import plotmove_lib as lib
import pytest
from plotmove_lib import run_module

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="plot_move finds processes in /proc")

SLEEP = "import time; time.sleep(120)"   # Python's `-c CODE` reads as Gigahorse's `-c <contract>`


def test_a_plot_in_a_live_gigahorse_tmp_dir_stays_until_the_process_is_gone(tmp_path):
    for name in ("src", "logs", "hdd", "disk"):
        (tmp_path / name).mkdir()
    plot = lib.cached_plots(1)[0]
    shutil.copyfile(str(plot), str(tmp_path / "src" / plot.name))   # GH's -t dir, a source dir of the mover
    argv = ["cuda_plot_k32", "-c", SLEEP, "-n", "-1", "-C", "8", "-t", "%s/" % (tmp_path / "src"),
            "-d", "%s/" % (tmp_path / "hdd")]
    with open(str(tmp_path / "logs" / "gigahorse.log"), "w") as log:
        proc = subprocess.Popen(argv, executable=sys.executable, stdout=log, stderr=subprocess.STDOUT)
    args = lib.move_args(tmp_path, [{"path": str(tmp_path / "disk")}])
    try:
        rc, res = run_module("plot_move", args)
        assert rc == 0 and res["started"] == [] and not res["changed"], res
        source = str(tmp_path / "src" / plot.name)
        assert [r for r in res["reasons"] if r.startswith(source + ": in a dir of a live")], res["reasons"]
        assert (tmp_path / "src" / plot.name).exists() and not list((tmp_path / "disk").iterdir())
    finally:
        proc.kill()
        proc.wait()
    rc, res = run_module("plot_move", args)
    assert rc == 0 and [s["plot"] for s in res["started"] + res["moved"]] == [plot.name], res
    lib.wait_for(lambda: (tmp_path / "disk" / plot.name).exists() and not (tmp_path / "src" / plot.name).exists(),
                 timeout=60)
