"""A real plotting fleet on this machine: network namespaces, veth links on a bridge, one sshd each.

Hosts (namespaces share the filesystem, so every host keeps its own dirs under one temp root):
  pf-plot1, pf-plot2  plotters (tmp, dst, log and state dirs; their own SSH key for storage)
  pf-store1           storage  (storage dirs, one of them a small tmpfs for the "storage full" fault)
The controller is the root namespace; it reaches every host over real SSH with its own key.
Everything built here is torn down by Fleet.teardown(), which never raises and tolerates a half-built fleet.
"""

import os
import platform
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from plotfleet_testlib import PLOTTER_PYTHON, REPO


def fleet_index():
    """Which fleet this process builds: 0 alone; pytest-xdist worker gwN builds fleet N, so that several
    fleets (their own bridge, namespaces, links and subnet) run side by side in one `make fleet`."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


INDEX = fleet_index()
SUFFIX = "-%d" % INDEX if INDEX else ""  # fleet 0 keeps the names a fleet has always had
BRIDGE = "pf-br%d" % INDEX
# Not /tmp: each host mounts its own dir on /tmp.
FLEET_PARENT = "/var/tmp"
NET = "10.231.%d" % INDEX
CONTROLLER_IP = NET + ".1"
PLOTTERS = ("pf-plot1", "pf-plot2")
STORAGE = ("pf-store1",)
HOST_IPS = {"pf-plot1": NET + ".11", "pf-plot2": NET + ".12", "pf-store1": NET + ".21"}
SSHD = "/usr/sbin/sshd"
INIT_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fleet_init.py")
# Small enough that a k18 plot (3.9 MB) fits once but not twice.
SMALL_STORAGE_SIZE = "6m"
SMALL_STORAGE_SOURCE = "pf-small" + SUFFIX  # the tmpfs's name in /proc/mounts (stale ones are found by it)
# One fleet of each index at a time on the machine (fleet 0: the lock the developers take by hand too).
LOCK_PATH = "/tmp/plotfleet-fleet%s.lock" % SUFFIX
# Plot settings for the whole suite: k18 plots take about 1.5 s of CPU.
# The drivers plot_start installs on a plotter (their argv names them): chiapos (v1) and pos2 (PoS2 .plot2).
PLOT_DRIVERS = ("plotfleet-chiapos", "plotfleet-pos2")
PLOT_SETTINGS = {"k": 18, "stripe": 2000, "buckets": 32, "threads": 1, "buffer_mib": 100}


def sh(argv, check=True, timeout=30, **kwargs):
    """Run a command (argv list), return CompletedProcess with text output."""
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=timeout, **kwargs)
    if check and proc.returncode != 0:
        raise RuntimeError("%s failed (rc=%s): %s%s" % (" ".join(argv), proc.returncode, proc.stdout, proc.stderr))
    return proc


def unavailable_reason():
    """Why this machine cannot build the fleet (None when it can)."""
    if platform.system() != "Linux":
        return "the SSH fleet needs Linux network namespaces (this is %s)" % platform.system()
    if os.geteuid() != 0:
        return "the SSH fleet needs root for `ip netns` (running as uid %d)" % os.geteuid()
    for tool in ("ip", "ssh", "ssh-keygen", "rsync", "tc", "mount"):
        if not shutil.which(tool):
            return "the SSH fleet needs `%s` (install iproute2/openssh-client/rsync)" % tool
    if not os.access(SSHD, os.X_OK):
        return "the SSH fleet needs %s (install openssh-server)" % SSHD
    return None


def ns_pids(ns):
    """Pids of every process living in network namespace `ns` (empty if it does not exist)."""
    proc = sh(["ip", "netns", "pids", ns], check=False)
    return [int(p) for p in proc.stdout.split() if p.isdigit()]


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return [part.decode("utf-8", "replace") for part in handle.read().split(b"\0") if part]
    except OSError:
        return []


def is_sshd(pid):
    argv = cmdline(pid)
    return bool(argv) and os.path.basename(argv[0].split(":")[0]).startswith(("sshd", "sshd-session"))


def is_ssh_mux(pid):
    argv = cmdline(pid)
    return bool(argv) and argv[0].startswith("ssh: ") and argv[-1].endswith("[mux]")


def children_of(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def ns_local_pid(pid):
    """The pid a process has inside its own (innermost) PID namespace."""
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    return pid


def kill_pids(pids, sig=signal.SIGKILL, wait_s=5.0):
    """Signal each pid; wait until they are gone (zombies of our own children are reaped by their parents)."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    deadline = time.time() + wait_s
    while time.time() < deadline and any(os.path.exists("/proc/%d" % pid) and cmdline(pid) for pid in pids):
        time.sleep(0.05)


class Host:
    """One fleet host: its namespace, address, dirs and sshd."""

    def __init__(self, name, root):
        self.name = name
        self.ns = name + SUFFIX
        self.ip = HOST_IPS[name]
        self.veth = self.ns + "-h"  # root-namespace end; the namespace end is <ns>-n
        self.root = Path(root) / name
        self.sshd_dir = self.root / "sshd"
        self.boot_proc = None     # `ip netns exec ... unshare` (root-namespace pid)
        self.init_pid = None      # fleet_init.py, PID 1 of the host's PID namespace
        self.sshd_running = False
        self.sshd_log = None
        self.is_plotter = name in PLOTTERS
        self.is_storage = name in STORAGE

    # Plotter dirs
    @property
    def tmp_dirs(self):
        return [str(self.root / "tmp1"), str(self.root / "tmp2")]

    @property
    def dst_dirs(self):
        return [str(self.root / "dst")]

    @property
    def log_dir(self):
        return str(self.root / "log")

    @property
    def state_dir(self):
        return str(self.root / "state")

    @property
    def ssh_key(self):
        """The plotter's own key for reaching storage."""
        return str(self.root / "ssh" / "id_ed25519")

    # Storage dirs
    @property
    def storage_dirs(self):
        return [str(self.root / "storage1")]

    @property
    def small_storage_dir(self):
        return str(self.root / "small")

    @property
    def home(self):
        """HOME of the host's SSH sessions (~/.plotfleet: storage slots, replot journal): its own, as on a
        real host, and apart from this machine's /root, which the localhost integration suite uses meanwhile."""
        return str(self.root / "home")

    @property
    def tmp_root(self):
        """Mounted on /tmp inside the host."""
        return str(self.root / "slash-tmp")

    def data_dirs(self):
        """Every dir whose files the invariants watch."""
        if self.is_plotter:
            return self.tmp_dirs + self.dst_dirs + [self.log_dir]
        return self.storage_dirs + [self.small_storage_dir]

    def all_dirs(self):
        dirs = self.data_dirs() + [self.state_dir]
        return dirs if self.is_plotter else dirs + [self.log_dir]


class Fleet:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="pf-fleet-", dir=FLEET_PARENT))
        os.chmod(str(self.root), 0o755)
        self.hosts = dict((name, Host(name, self.root)) for name in PLOTTERS + STORAGE)
        self.controller_key = str(self.root / "controller" / "id_ed25519")
        self.control_dir = self.root / "cp"
        self.inventory = self.root / "inventory.yml"
        self.status_json = self.root / "status.json"
        self.mounts = []
        self.shaped = set()
        self.down = set()

    @property
    def plotters(self):
        return [self.hosts[name] for name in PLOTTERS]

    @property
    def storage(self):
        return self.hosts[STORAGE[0]]

    # ---------------------------------------------------------------- build
    def build(self):
        remove_stale_fleet()
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation dir
        self.control_dir.mkdir()
        self._keygen(self.controller_key)
        sh(["ip", "link", "add", BRIDGE, "type", "bridge"])
        sh(["ip", "addr", "add", CONTROLLER_IP + "/24", "dev", BRIDGE])
        sh(["ip", "link", "set", BRIDGE, "up"])
        for host in self.hosts.values():
            self._make_dirs(host)
            self._make_netns(host)
        # Mount before sshd starts: `ip netns exec` gives sshd a private copy of the mount table.
        small = self.storage.small_storage_dir
        sh(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % SMALL_STORAGE_SIZE, SMALL_STORAGE_SOURCE, small])
        self.mounts.append(small)
        for host in self.hosts.values():
            self._write_sshd_config(host)
            self.start_sshd(host.name)
        self.write_inventory()
        for host in self.hosts.values():
            self.wait_ssh(host.name)
        for plotter in self.plotters:
            self.wait_ssh_between(plotter.name, self.storage.name)
        return self

    def _keygen(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", os.path.basename(os.path.dirname(path)), "-f", path])

    def _make_dirs(self, host):
        for path in host.all_dirs() + [str(host.sshd_dir), host.tmp_root, host.home]:
            os.makedirs(path, exist_ok=True)
        if host.is_plotter:
            self._keygen(host.ssh_key)

    def _make_netns(self, host):
        inner = host.ns + "-n"
        sh(["ip", "netns", "add", host.ns])
        sh(["ip", "link", "add", host.veth, "type", "veth", "peer", "name", inner])
        sh(["ip", "link", "set", inner, "netns", host.ns])
        sh(["ip", "link", "set", host.veth, "master", BRIDGE])
        sh(["ip", "link", "set", host.veth, "up"])
        self.in_ns(host.name, ["ip", "link", "set", "lo", "up"])
        self.in_ns(host.name, ["ip", "addr", "add", host.ip + "/24", "dev", inner])
        self.in_ns(host.name, ["ip", "link", "set", inner, "up"])

    def _write_sshd_config(self, host):
        keys = [Path(self.controller_key + ".pub").read_text()]
        if host.is_storage:
            keys += [Path(p.ssh_key + ".pub").read_text() for p in self.plotters]
        (host.sshd_dir / "authorized_keys").write_text("".join(keys))
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host.sshd_dir / "host_ed25519")])
        config = [
            "Port 22",
            "ListenAddress %s" % host.ip,
            "HostKey %s" % (host.sshd_dir / "host_ed25519"),
            "PidFile %s" % (host.sshd_dir / "sshd.pid"),
            "AuthorizedKeysFile %s" % (host.sshd_dir / "authorized_keys"),
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "MaxStartups 50:30:100",
            "MaxSessions 50",
            # A cut link must not leave server-side sessions (and rsync receivers) hanging for minutes.
            "ClientAliveInterval 2",
            "ClientAliveCountMax 3",
            "Subsystem sftp internal-sftp",
            "SetEnv HOME=%s" % host.home,
        ]
        (host.sshd_dir / "sshd_config").write_text("\n".join(config) + "\n")

    # ---------------------------------------------------------------- the host's init and sshd
    def _boot(self, host):
        """Start the host's PID 1 (fleet_init.py) in its own PID namespace; it starts sshd."""
        sshd = [SSHD, "-D", "-e", "-f", str(host.sshd_dir / "sshd_config")]
        argv = ["ip", "netns", "exec", host.ns, "unshare", "--pid", "--fork", "--mount-proc",
                "/usr/bin/python3", INIT_SCRIPT, host.tmp_root] + sshd
        host.sshd_log = open(str(host.sshd_dir / "sshd.log"), "a")
        host.boot_proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=host.sshd_log,
                                          stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 10
        while not children_of(host.boot_proc.pid):
            if host.boot_proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("init of %s did not start: %s" % (host.name, self._sshd_log_text(host)))
            time.sleep(0.02)
        host.init_pid = children_of(host.boot_proc.pid)[0]

    def _sshd_log_text(self, host):
        try:
            return (host.sshd_dir / "sshd.log").read_text()
        except OSError:
            return ""

    def start_sshd(self, name):
        host = self.hosts[name]
        before = self._sshd_log_text(host).count("Server listening")
        if host.init_pid is None:
            self._boot(host)
        else:
            os.kill(host.init_pid, signal.SIGUSR1)
        deadline = time.time() + 10
        while self._sshd_log_text(host).count("Server listening") <= before:
            if time.time() > deadline or (host.boot_proc and host.boot_proc.poll() is not None):
                raise RuntimeError("sshd of %s did not start listening: %s" % (name, self._sshd_log_text(host)))
            time.sleep(0.05)
        host.sshd_running = True

    def stop_sshd(self, name):
        """Stop the listening sshd only (as `systemctl stop ssh` does: open sessions live on)."""
        host = self.hosts[name]
        os.kill(host.init_pid, signal.SIGUSR2)
        deadline = time.time() + 10
        while self.sshd_listeners(name):
            if time.time() > deadline:
                raise RuntimeError("sshd of %s did not stop" % name)
            time.sleep(0.05)
        host.sshd_running = False

    def sshd_listeners(self, name):
        """The listening sshd (it renames itself `sshd: /usr/sbin/sshd -D ... [listener] ...`)."""
        config = str(self.hosts[name].sshd_dir / "sshd_config")
        return [pid for pid in ns_pids(self.hosts[name].ns)
                if is_sshd(pid) and " -D " in " ".join(cmdline(pid)) and config in " ".join(cmdline(pid))]

    # ---------------------------------------------------------------- network faults
    def link_down(self, name):
        sh(["ip", "link", "set", self.hosts[name].veth, "down"])
        self.down.add(name)

    def link_up(self, name):
        sh(["ip", "link", "set", self.hosts[name].veth, "up"])
        self.down.discard(name)

    def shape(self, name, rate="8mbit"):
        """Slow the link towards host `name` (so a transfer to it takes seconds)."""
        sh(["tc", "qdisc", "replace", "dev", self.hosts[name].veth, "root", "tbf", "rate", rate,
            "burst", "32kbit", "latency", "400ms"])
        self.shaped.add(name)

    def unshape(self, name):
        sh(["tc", "qdisc", "del", "dev", self.hosts[name].veth, "root"], check=False)
        self.shaped.discard(name)

    # ---------------------------------------------------------------- running things
    def in_ns(self, name, argv, check=True, timeout=30):
        return sh(["ip", "netns", "exec", self.hosts[name].ns] + list(argv), check=check, timeout=timeout)

    def ssh_argv(self, name, key=None, extra=()):
        return ["ssh", "-i", key or self.controller_key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5"] + \
            list(extra) + ["root@" + self.hosts[name].ip]

    def ssh(self, name, command, check=True, timeout=30):
        return sh(self.ssh_argv(name) + [command], check=check, timeout=timeout)

    def wait_ssh(self, name, timeout=15):
        deadline = time.time() + timeout
        while True:
            proc = self.ssh(name, "true", check=False, timeout=10)
            if proc.returncode == 0:
                return
            if time.time() > deadline:
                raise RuntimeError("cannot ssh to %s: %s" % (name, proc.stderr))
            time.sleep(0.2)

    def wait_ssh_between(self, src, dst):
        """The plotter `src` reaches storage `dst` over SSH with its own key, from its namespace."""
        argv = self.ssh_argv(dst, key=self.hosts[src].ssh_key) + ["true"]
        self.in_ns(src, argv, timeout=15)

    def busy_pids(self, name, idle=True):
        """Every process of a host that is not sshd or its init (plots, transfers, module runs).
        idle=False leaves out idle ssh control masters (`ssh: <path> [mux]`) kept by ControlPersist."""
        host = self.hosts[name]
        keep = (host.init_pid, host.boot_proc.pid if host.boot_proc else None)
        return [pid for pid in ns_pids(host.ns) if pid not in keep and not is_sshd(pid)
                and (idle or not is_ssh_mux(pid))]

    def spawn_in_host(self, name, argv):
        """Run argv inside the host (its network, mount and PID namespaces). Returns (Popen, pid as the
        host sees it); the Popen is nsenter, the process is its child."""
        host = self.hosts[name]
        proc = subprocess.Popen(["nsenter", "-t", str(host.init_pid), "-n", "-m", "-p", "--"] + list(argv),
                                stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 10
        while not children_of(proc.pid):
            if time.time() > deadline:
                raise RuntimeError("could not start %s in %s" % (argv, name))
            time.sleep(0.02)
        child = children_of(proc.pid)[0]
        return proc, child, ns_local_pid(child)

    def plot_pids(self, name):
        """Plot processes of a host: the ones whose argv reference the host's dirs (as a reboot would kill):
        plotfleet's chiapos and pos2 drivers."""
        host = self.hosts[name]
        marker = str(host.root) + "/"
        return [pid for pid in self.busy_pids(name) if any(marker in arg for arg in cmdline(pid))
                and any(driver in " ".join(cmdline(pid)) for driver in PLOT_DRIVERS)]

    # ---------------------------------------------------------------- inventory
    def host_vars(self, name, overrides=None):
        host = self.hosts[name]
        hvars = {
            "ansible_host": host.ip,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": self.controller_key,
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
            # Own control sockets (torn down with the fleet); a cut link is noticed within seconds.
            "ansible_ssh_args": "-o ControlMaster=auto -o ControlPersist=30s -o ControlPath=%s/%%C "
                                "-o ServerAliveInterval=2 -o ServerAliveCountMax=2" % self.control_dir,
            "ansible_timeout": 5,
            # The controller's report files (defaults are under ~/.plotfleet).
            "plotfleet_status_file": str(self.status_json),
            "plotfleet_status_table_file": str(self.root / "status.txt"),
        }
        if host.is_plotter:
            hvars.update(plotter_vars(self, host))
        if host.is_storage:
            hvars.update(storage_vars(self, host))
        hvars.update((overrides or {}).get(name, {}))
        return hvars

    def write_inventory(self, overrides=None, path=None):
        """Write the fleet inventory (plotfleet_* vars per host, so playbook group_vars cannot shadow them)."""
        inventory = {"all": {"children": {
            "plotters": {"hosts": dict((h.name, self.host_vars(h.name, overrides)) for h in self.plotters)},
            "storage": {"hosts": dict((h.name, self.host_vars(h.name, overrides)) for h in [self.storage])},
        }}}
        path = Path(path or self.inventory)
        path.write_text("# generated by tests/fleet/fleetlib.py\n" + yaml.safe_dump(inventory, sort_keys=True))
        return path

    # ---------------------------------------------------------------- between tests
    def reset(self):
        """Back to an idle fleet with empty dirs: links up, sshd running, no plot or transfer processes."""
        for name in list(self.down):
            self.link_up(name)
        for name in list(self.shaped):
            self.unshape(name)
        for host in self.hosts.values():
            if not host.sshd_running:
                self.start_sshd(host.name)
        for host in self.hosts.values():
            kill_pids(self.busy_pids(host.name))
        for host in self.hosts.values():
            for path in host.all_dirs():
                clear_dir(path)
        self.write_inventory()
        for host in self.hosts.values():
            self.wait_ssh(host.name)

    # ---------------------------------------------------------------- teardown
    def teardown(self):
        """Remove everything; never raises. Returns a list of problems (for the log)."""
        problems = []

        def attempt(what, func, *args):
            try:
                func(*args)
            except Exception as exc:  # teardown must go on
                problems.append("%s: %s" % (what, exc))

        for sock in self.control_dir.glob("*") if self.control_dir.exists() else []:
            attempt("close control master", sh, ["ssh", "-O", "exit", "-o", "ControlPath=%s" % sock, "x"], False, 10)
        for host in self.hosts.values():
            if host.init_pid:  # the kernel ends a PID namespace with its init
                attempt("kill init of %s" % host.name, kill_pids, [host.init_pid])
            attempt("kill processes of %s" % host.name, kill_pids, ns_pids(host.ns))
            if host.boot_proc:
                attempt("reap init", host.boot_proc.wait, 5)
            if host.sshd_log:
                host.sshd_log.close()
        for mount in reversed(self.mounts):
            attempt("umount %s" % mount, sh, ["umount", "-l", mount])
        for host in self.hosts.values():
            attempt("delete netns %s" % host.ns, sh, ["ip", "netns", "del", host.ns], False)
            attempt("delete veth %s" % host.veth, sh, ["ip", "link", "del", host.veth], False)
        attempt("delete bridge", sh, ["ip", "link", "del", BRIDGE], False)
        attempt("remove %s" % self.root, shutil.rmtree, str(self.root))
        return problems


# Start rules for the fleet tests: quick starts, two jobs per plotter (one per tmp dir), both in one pass.
DEFAULT_RULES = {"max_jobs": 2, "max_jobs_per_tmp": 1, "max_before_step": 1, "min_start_interval_minutes": 0,
                 "max_starts": 2}
# The variable that turns on deleting the temp files of dead jobs (fault 9).
CLEANUP_VAR = "plotfleet_cleanup_dead_tmp"


def rules_vars(**rules):
    """Inventory variables for start rules given by their policy names (max_jobs=1 -> plotfleet_max_jobs)."""
    return dict(("plotfleet_%s" % name, value) for name, value in rules.items())


def cleanup_vars(on):
    return {CLEANUP_VAR: bool(on)}


def pos2_vars(k=18, plots_per_job=1, strength=2):
    """Inventory variables that make a plotter plot PoS2 (.plot2) with the `pos2` kind (chia_rs in the
    plotter Python, the same one that has chiapos)."""
    return {"plotfleet_plotter": "pos2", "plotfleet_k": k, "plotfleet_plots_per_job": plots_per_job,
            "plotfleet_strength": strength}


def plotter_vars(fleet, host):
    """The plotfleet_* settings of a plotter in the fleet (names from roles/reconcile/defaults/main.yml)."""
    settings = {
        "plotfleet_log_dir": host.log_dir,
        "plotfleet_state_dir": host.state_dir,
        "plotfleet_tmp_dirs": host.tmp_dirs,
        "plotfleet_dst_dirs": host.dst_dirs,
        "plotfleet_plotter": "chiapos",
        "plotfleet_plotter_python": PLOTTER_PYTHON,
        "plotfleet_k": PLOT_SETTINGS["k"],
        "plotfleet_stripe": PLOT_SETTINGS["stripe"],
        "plotfleet_buckets": PLOT_SETTINGS["buckets"],
        "plotfleet_threads": PLOT_SETTINGS["threads"],
        "plotfleet_buffer_mib": PLOT_SETTINGS["buffer_mib"],
        # The plotter's own key for storage; the test hosts' keys are new each run.
        "plotfleet_move_ssh_key": host.ssh_key,
        "plotfleet_move_max_per_destination": 2,
        "plotfleet_move_ssh_options": ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                                       "-o", "LogLevel=ERROR"],
    }
    settings.update(rules_vars(**DEFAULT_RULES))
    return settings


def storage_vars(fleet, host):
    return {"plotfleet_storage_dirs": host.storage_dirs, "plotfleet_storage_ssh_user": "root",
            "plotfleet_log_dir": host.log_dir, "plotfleet_state_dir": host.state_dir}


def clear_dir(path):
    """Empty a dir (keep the dir itself: it may be a mount point)."""
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                pass


def remove_stale_fleet():
    """A previous run killed hard may have left our namespaces and bridge behind: remove them."""
    existing = sh(["ip", "netns", "list"], check=False).stdout
    for ns in [name + SUFFIX for name in PLOTTERS + STORAGE]:
        # Exactly this fleet's names ("pf-plot1" must not match fleet 1's "pf-plot1-1").
        if re.search(r"^%s(\s|$)" % re.escape(ns), existing, re.M):
            kill_pids(ns_pids(ns))
            sh(["ip", "netns", "del", ns], check=False)
        sh(["ip", "link", "del", ns + "-h"], check=False)
    sh(["ip", "link", "del", BRIDGE], check=False)
    # The small storage tmpfs of a fleet whose teardown never ran (pytest killed hard).
    with open("/proc/mounts") as handle:
        stale = [line.split()[1] for line in handle if line.split()[0] == SMALL_STORAGE_SOURCE]
    for mount in stale:
        if mount.startswith(FLEET_PARENT + "/pf-fleet-"):
            sh(["umount", "-l", mount], check=False)
            shutil.rmtree(mount.rsplit("/", 2)[0], ignore_errors=True)


__all__ = ["Fleet", "unavailable_reason", "REPO"]
