"""The real `chia plots create` (PyPI chia-blockchain, `make chia-venv`) driven by plotfleet: plot_start
launches it detached with public keys only, plot_info tracks it from its own log, a second start is
refused, plot_stop ends it and deletes exactly its temp files (not the files beside them). k=25 is the
smallest the chia CLI takes; the plot (about 3 minutes here) is stopped in phase 1."""

import os
import subprocess

import pytest
from startstop_lib import Host, alive

from plotfleet_testlib import CHIA_VENV, chia_venv_pending, run_module, wait_for

CHIA = CHIA_VENV / "bin" / "chia"

pytestmark = pytest.mark.live
# make test installs chia beside the running suite: then the fixtures wait for it (tests/conftest.py).
if not CHIA.exists() and not chia_venv_pending():
    if os.environ.get("CI"):
        raise RuntimeError("%s is missing: `make chia-venv` installs chia-blockchain (make test does)" % CHIA)
    pytestmark = [pytest.mark.live, pytest.mark.skip(reason="no %s: run `make chia-venv`" % CHIA)]


@pytest.fixture(scope="module")
def chia_root(tmp_path_factory, chia_venv_installed):
    """A fresh CHIA_ROOT: `chia init` writes the config `chia plots create` reads (no keys in it)."""
    assert CHIA.exists(), "%s is missing after its install" % CHIA
    root = tmp_path_factory.mktemp("chia-root")
    subprocess.run([str(CHIA), "init"], env=dict(os.environ, CHIA_ROOT=str(root)), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, timeout=120)
    return str(root)


@pytest.fixture(scope="module")
def public_key(chia_venv_installed):
    """A BLS public key (G1) from a fixed throw-away seed: plots made with it farm nothing."""
    code = "from chia_rs import AugSchemeMPL; print(bytes(AugSchemeMPL.key_gen(bytes(range(32))).get_g1()).hex())"
    return subprocess.run([str(CHIA_VENV / "bin" / "python"), "-c", code], stdout=subprocess.PIPE, check=True,
                          universal_newlines=True).stdout.strip()


def start(host, plotter, env):
    # max_jobs counts every plotter on the machine (other suites may plot now); one job per tmp dir here.
    # The chia CLI loads for seconds before it prints the plot's ID (much longer on a busy machine): wait for it.
    # No stagger: the cap alone must refuse the second start.
    rules = {"crash_window_minutes": 0, "max_jobs": 1000, "max_jobs_per_tmp": 1, "max_before_step": 100}
    return run_module("plot_start", host.args(plotter=plotter, rules=rules, start_timeout=180), env=env)


def test_chia_plots_create_start_track_refuse_stop(tmp_path, chia_root, public_key):
    host = Host(tmp_path)
    plotter = {"kind": "chia", "binary": str(CHIA), "k": 25, "threads": 2, "buckets": 32, "buffer_mib": 1000,
               "farmer_public_key": public_key, "pool_public_key": public_key}
    env = {"CHIA_ROOT": chia_root}
    try:
        rc, result = start(host, plotter, env)
        assert rc == 0 and result["changed"] and len(result["started"]) == 1, result
        started = result["started"][0]
        pid, plot_id = started["pid"], started["plot_id"]
        assert plot_id and len(plot_id) == 64, started
        argv = open("/proc/%d/cmdline" % pid, "rb").read().split(b"\0")
        assert b"plots" in argv and b"create" in argv and b"--override-k" in argv and b"-x" in argv
        # The module that launched it is gone; the plotter lives on in its own session.
        assert alive(pid) and os.getsid(pid) == pid
        assert wait_for(lambda: [n for n in os.listdir(host.tmp) if plot_id in n and n.endswith(".tmp")], 60)

        rc, info = run_module("plot_info", host.args(), env=env)
        (job,) = [j for j in info["jobs"] if j["pid"] == pid]
        assert job["id"] == plot_id and job["k"] == 25 and job["state"] == "plotting" and job["phase"] == 1
        assert job["tmp_dir"] == host.tmp and job["dst_dir"] == host.dst and not job["adopted"]
        assert job["launch_id"] == started["launch_id"] and job["log"] == started["log"]

        rc, again = start(host, plotter, env)
        assert rc == 0 and again["changed"] is False and again["started"] == [], again
        assert again["reasons"] == ["tmp %s: 1 job (limit 1)" % host.tmp], again["reasons"]

        # Beside its temp files: another plot's temp file, and a file named with its id that is no temp file.
        keep = [os.path.join(host.tmp, "plot-k25-2026-01-01-00-00-%s.plot.table1.tmp" % ("ab" * 32)),
                os.path.join(host.tmp, "notes-%s.txt" % plot_id)]
        for path in keep:
            with open(path, "w") as handle:
                handle.write("not this job's temp file")
        rc, stopped = host.stop(plot_id=plot_id[:8], cleanup=True, timeout=60, kill=True)
        assert rc == 0 and stopped["jobs"][0]["exited"] is True, stopped
        assert not alive(pid)
        assert stopped["deleted"] and all(plot_id in os.path.basename(p) and p.endswith(".tmp")
                                          for p in stopped["deleted"])
        assert sorted(os.path.join(host.tmp, n) for n in os.listdir(host.tmp)) == sorted(keep)
        assert host.plots() == []
    finally:
        host.kill_all()
