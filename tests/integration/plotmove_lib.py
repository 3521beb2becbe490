"""Helpers for the plot_move tests and benchmark: real chiapos plots, tmpfs mounts, a loopback sshd."""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from plotfleet_testlib import PLOTTER_PYTHON, REPO, run_module, wait_for  # noqa: E402,F401

PLOT_CACHE = Path(tempfile.gettempdir()) / ("plotfleet-test-plots-%d" % os.getuid())
MAKE_PLOT = r"""
import os, sys
from chiapos import DiskPlotter
out, k = sys.argv[1], int(sys.argv[2])
plot_id = os.urandom(32)
name = "plot-k%d-2025-01-01-00-00-%s.plot" % (k, plot_id.hex())
stripe, buckets = (2000, 32) if k <= 20 else (65536, 32)
DiskPlotter().create_plot_disk(out, out, out, name, k, os.urandom(128), plot_id, 300, buckets, stripe, 2, False)
print(name)
"""


def cached_plots(count, k=18):
    """count distinct real plots of size k (made once with chiapos, then reused from a cache)."""
    directory = PLOT_CACHE / ("k%d" % k)
    directory.mkdir(parents=True, exist_ok=True)
    plots = sorted(directory.glob("plot-k*.plot"))
    while len(plots) < count:
        work = Path(tempfile.mkdtemp(prefix="mk-", dir=str(directory)))
        proc = subprocess.run([PLOTTER_PYTHON, "-c", MAKE_PLOT, str(work), str(k)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=300)
        name = proc.stdout.strip().splitlines()[-1]
        assert proc.returncode == 0 and (work / name).exists(), proc.stdout[-2000:]
        os.rename(str(work / name), str(directory / name))
        shutil.rmtree(str(work))
        plots = sorted(directory.glob("plot-k*.plot"))
    return plots[:count]


def place_plots(dest_dir, count, k=18):
    """Copy count cached plots into dest_dir; return their new paths."""
    result = []
    for plot in cached_plots(count, k):
        target = Path(dest_dir) / plot.name
        shutil.copyfile(str(plot), str(target))
        result.append(target)
    return result


@contextlib.contextmanager
def tmpfs(path, size="64m"):
    """Mount a tmpfs (another filesystem) at path; always unmounted afterwards."""
    os.makedirs(str(path), exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", str(path)], check=True)
    try:
        yield Path(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def can_mount():
    return os.geteuid() == 0 and shutil.which("mount") is not None


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sshd:
    """A real sshd on 127.0.0.1:<free port> with its own host key and a key-only root login."""

    def __init__(self, workdir, log_level="ERROR"):
        self.log_level = log_level  # DEBUG1 logs the negotiated cipher of each connection
        self.dir = Path(workdir)
        self.port = free_port()
        self.client_key = self.dir / "client_key"
        self.proc = None

    def available():
        return os.geteuid() == 0 and Path("/usr/sbin/sshd").exists() and shutil.which("rsync") is not None
    available = staticmethod(available)

    def __enter__(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        host_key = self.dir / "host_key"
        for key in (host_key, self.client_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        authorized = self.dir / "authorized_keys"
        shutil.copyfile(str(self.client_key) + ".pub", str(authorized))
        os.chmod(str(authorized), 0o600)
        config = self.dir / "sshd_config"
        config.write_text("\n".join([
            "Port %d" % self.port, "ListenAddress 127.0.0.1", "HostKey %s" % host_key,
            "PidFile %s" % (self.dir / "sshd.pid"), "AuthorizedKeysFile %s" % authorized,
            "PermitRootLogin prohibit-password", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes", "UsePAM no", "StrictModes no", "LogLevel %s" % self.log_level,
            # the storage agent's slots go here, not into root's real ~/.plotfleet
            "SetEnv PLOTFLEET_STORAGE_STATE=%s" % (self.dir / "storage-state"), ""]))
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation dir
        self.log = open(str(self.dir / "sshd.log"), "wb")
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sshd exited: %s" % (self.dir / "sshd.log").read_text())
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                break
            time.sleep(0.1)
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    @property
    def ssh_options(self):
        return ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]

    def destination(self, path, **extra):
        dest = {"path": str(path), "host": "127.0.0.1", "user": "root", "port": self.port,
                "ssh_key": str(self.client_key)}
        dest.update(extra)
        return dest

    def ssh_argv(self):
        return ["ssh", "-i", str(self.client_key), "-p", str(self.port), "-o", "BatchMode=yes"] + self.ssh_options


def move_args(tmp, destinations, **extra):
    args = {"log_dir": str(tmp / "logs"), "state_dir": str(tmp / "state"), "dst_dirs": [str(tmp / "src")],
            "destinations": destinations}
    args.update(extra)
    return args


def transfer_records(state_dir):
    directory = Path(state_dir) / "transfers"
    if not directory.is_dir():
        return []
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


def wait_transfers_finished(state_dir, timeout=90):
    """Wait until every transfer record says done or failed (the worker writes that at its end)."""
    def finished():
        recs = transfer_records(state_dir)
        return recs if recs and all(r["state"] in ("done", "failed") for r in recs) else None
    result = wait_for(finished, timeout=timeout, interval=0.1)
    assert result, "transfers still running: %s" % transfer_records(state_dir)
    return result
