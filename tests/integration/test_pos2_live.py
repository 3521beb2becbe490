"""Real PoS2 plots (chia_rs through plotfleet's pos2 driver) on localhost, followed by plot_info.

plot_start (through real Ansible) launches the driver; plot_info tracks the job while it plots, shows each
plot finished with its `.plot2` file and counts the files as v2 plots of the dst dir.
"""

import os
import re
import subprocess

from startstop_lib import alive, host  # noqa: F401  (host is a fixture)

from plotfleet_testlib import PLOTTER_PYTHON, run_module, wait_for

POS2_K22 = {"kind": "pos2", "python": PLOTTER_PYTHON, "k": 22, "count": 2, "strength": 2}  # ~3 s a plot idle
POS2_K18 = {"kind": "pos2", "python": PLOTTER_PYTHON, "k": 18}


def read(path):
    with open(path) as handle:
        return handle.read()


def info(host):  # noqa: F811
    rc, result = run_module("plot_info", host.args())
    assert rc == 0, result
    return result


def test_plot_info_tracks_a_live_pos2_job_then_its_finished_plot2_files(host):  # noqa: F811
    rc, started = host.start(POS2_K22)
    assert rc == 0 and started["changed"], started
    (record,) = host.records()
    pid, log = record["pid"], record["log"]
    try:
        assert wait_for(lambda: "Writing " in read(log) or not alive(pid), timeout=120), read(log)
        assert alive(pid), read(log)
        live = info(host)
        text = read(log)
        ids = re.findall(r"^ID: ([0-9a-f]{64})$", text, re.M)
        (job,) = [j for j in live["jobs"] if j.get("pid") == pid]
        assert job["plotter"] == "pos2" and job["k"] == 22 and job["state"] in ("plotting", "copying")
        assert job["id"] in ids and job["tmp_dir"] == host.tmp and job["dst_dir"] == host.dst
        assert job["adopted"] is False and job["log"] == log and job["launch_id"] == record["launch_id"]

        assert wait_for(lambda: not alive(pid), timeout=300), "the driver did not finish"
    finally:
        if alive(pid):
            os.kill(pid, 9)
    text = read(log)
    assert "Plot 2/2 done" in text, text
    done = re.findall(r"^Plot \d/2 done in [0-9.]+ seconds: (.*\.plot2)$", text, re.M)
    result = info(host)
    mine = [p for p in result["history"] if p.get("log") == log]
    assert sorted(p["plot_file"] for p in mine) == sorted(done) and all(p["state"] == "finished" for p in mine)
    assert all(p["plotter"] == "pos2" and os.path.isfile(p["plot_file"]) for p in mine)
    (dst,) = [d for d in result["dirs"] if d["path"] == host.dst]
    assert dst["plots_v2"] == 2 and dst["plot_bytes_v2"] == sum(os.path.getsize(p) for p in done)
    assert dst["plots_v1"] == dst["plot_count"] == 0 and dst["temp_bytes"] == 0
    assert os.listdir(host.tmp) == []


def test_plot_start_makes_a_real_k18_plot2(host):  # noqa: F811
    rc, result = host.start(dict(POS2_K18, count=2))
    assert rc == 0 and result["changed"], result
    (record,) = host.records()
    assert record["plotter"] == record["plotter_kind"] == "pos2" and re.match(r"^[0-9a-f]{64}$", record["plot_id"])
    assert wait_for(lambda: not alive(record["pid"]), timeout=120)
    result = info(host)
    mine = [p for p in result["history"] if p.get("log") == record["log"]]
    assert [p["state"] for p in mine] == ["finished", "finished"]
    assert record["plot_id"] in [p["id"] for p in mine]  # the first plot's id
    assert sorted(os.path.basename(p["plot_file"]) for p in mine) == sorted(os.listdir(host.dst))
    (dst,) = [d for d in result["dirs"] if d["path"] == host.dst]
    assert dst["plots_v2"] == 2 and dst["plot_count"] == 0


def test_an_xchplot2_process_is_tracked_by_process_and_output_files(host, tmp_path):  # noqa: F811
    """A stand-in with xchplot2's argv (`xchplot2 plot -k 28 -n 2 ... -o DIR`: a python3 named xchplot2 running
    a script named `plot`) that writes `<name>.plot2.partial`, renames it, and starts the next one."""
    work = tmp_path / "xch"
    work.mkdir()
    (work / "xchplot2").symlink_to(PLOTTER_PYTHON)
    first, second = ("plot-k28-%s.plot2" % (c * 64) for c in "ef")
    (work / "plot").write_text(
        "import os, sys, time\n"
        "out = sys.argv[sys.argv.index('-o') + 1]\n"
        "for name, size in ((%r, 3000), (%r, 2000)):\n"
        "    with open(os.path.join(out, name + '.plot2.partial'), 'wb') as f:\n"
        "        f.write(b'x' * size)\n"
        "    if name.endswith('ee.plot2'):\n"
        "        os.rename(os.path.join(out, name + '.plot2.partial'), os.path.join(out, name))\n"
        "print('Writing plots', flush=True)\n"
        "time.sleep(120)\n" % (first, second))
    log = os.path.join(host.logs, "xchplot2.log")
    with open(log, "w") as out:
        proc = subprocess.Popen([str(work / "xchplot2"), "plot", "-k", "28", "-n", "2", "-f", "a" * 96, "-c",
                                 "xch1" + "q" * 58, "-o", host.dst + "/"], cwd=str(work), stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: "Writing plots" in read(log), timeout=60), read(log)
        result = info(host)
        (job,) = [j for j in result["jobs"] if j.get("pid") == proc.pid]
        assert job["plotter"] == "xchplot2" and job["k"] == 28 and job["count"] == 2
        assert job["dst_dir"] == job["tmp_dir"] == host.dst and job["log"] == log and job["adopted"] is True
        assert job["state"] == "plotting" and job["tmp_bytes"] == 2000      # its growing .plot2.partial
        (dst,) = [d for d in result["dirs"] if d["path"] == host.dst]
        assert (dst["plots_v2"], dst["plot_bytes_v2"], dst["temp_bytes"]) == (1, 3000, 2000)
    finally:
        proc.kill()
        proc.wait()
