# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Launching plotters so that nothing of plotfleet (or Ansible, or an SSH session) can kill them.

Two halves: argv builders, one per plotter kind (always the plotter binary itself, never
`chia plotters madmax|bladebit`, whose Python parent pipes the output and takes the plot down with
it), and detach(): a transient systemd unit where systemd runs, else double fork + setsid with the
output going straight to the log file.
"""

from __future__ import absolute_import, division, print_function

import errno
import os
import re
import shutil
import signal
import subprocess
import time

__metaclass__ = type

KINDS = ("chia", "chiapos", "madmax", "bladebit")
# k sizes each kind accepts. chia: `chia plots create` refuses k < 25 even with --override-k
# (seen here with chia 2.7.5) and needs --override-k below 32. chiapos (the PyPI module through
# plotfleet's driver) goes down to its minimum, 18, for tests and demos. madMAx k > 32 needs its
# k34 build (point `binary` at it). BladeBit only plots k32.
K_RANGE = {"chia": (25, 35), "chiapos": (18, 35), "madmax": (25, 34), "bladebit": (32, 32)}
DEFAULT_BINARY = {"chia": "chia", "madmax": "chia_plot", "bladebit": "bladebit"}
BLADEBIT_MODES = ("ramplot", "diskplot", "cudaplot")
HEX96 = re.compile(r"^(0x)?[0-9a-fA-F]{96}$")
CONTRACT = re.compile(r"^t?xch1[0-9a-z]{20,}$")
ID_LINE = re.compile(r"^ID: ([0-9a-fA-F]{64})\s*$", re.M)
SYSTEMD_DIR = "/run/systemd/system"


# ---------------------------------------------------------------- validation and argv

def validate_plotter(plotter):
    """Errors (strings naming the option) for plotter settings that cannot make a plot. No I/O."""
    errors = []
    kind, k = plotter.get("kind"), plotter.get("k")
    if kind not in KINDS:
        return ["plotter.kind: unknown plotter %r (one of %s)" % (kind, ", ".join(KINDS))]
    low, high = K_RANGE[kind]
    if not isinstance(k, int) or not low <= k <= high:
        errors.append("plotter.k: %s is out of range for plotter kind %s (%d..%d)" % (k, kind, low, high))
    for name in ("count", "threads", "buckets", "buffer_mib", "stripe"):
        value = plotter.get(name)
        if value is not None and value < 1:
            errors.append("plotter.%s must be >= 1, got %s" % (name, value))
    compression = plotter.get("compression") or 0
    if compression and kind in ("chia", "chiapos"):
        errors.append("plotter.compression: plotter kind %s makes uncompressed plots only" % kind)
    elif not 0 <= compression <= 9:
        errors.append("plotter.compression must be 0..9, got %s" % compression)
    farmer, pool, contract = (plotter.get(n) for n in ("farmer_public_key", "pool_public_key",
                                                       "pool_contract_address"))
    if pool and contract:
        errors.append("plotter.pool_public_key and plotter.pool_contract_address are mutually exclusive")
    if kind != "chiapos" and not (farmer and (pool or contract)):
        errors.append("plotter.farmer_public_key and one of plotter.pool_public_key / "
                      "plotter.pool_contract_address are required for plotter kind %s" % kind)
    for name, value in (("farmer_public_key", farmer), ("pool_public_key", pool)):
        if value and not HEX96.match(value):
            errors.append("plotter.%s must be 96 hex digits (a 48-byte BLS public key)" % name)
    if contract and not CONTRACT.match(contract):
        errors.append("plotter.pool_contract_address must be an xch1... (or txch1...) address")
    if kind == "chiapos" and (farmer or pool or contract) and not (farmer and (pool or contract)):
        errors.append("plotter.farmer_public_key and one of plotter.pool_public_key / "
                      "plotter.pool_contract_address go together (or give none for a throw-away memo)")
    if plotter.get("bladebit_mode") and plotter.get("bladebit_mode") not in BLADEBIT_MODES:
        errors.append("plotter.bladebit_mode must be one of %s" % ", ".join(BLADEBIT_MODES))
    if plotter.get("nice") is not None and not -20 <= plotter["nice"] <= 19:
        errors.append("plotter.nice must be -20..19, got %s" % plotter["nice"])
    return errors


def _opt(argv, flag, value):
    if value is not None:
        argv += [flag, str(value)]


def _keys(argv, plotter):
    _opt(argv, "-f", plotter.get("farmer_public_key"))
    _opt(argv, "-p", plotter.get("pool_public_key"))
    _opt(argv, "-c", plotter.get("pool_contract_address"))


def _slash(path):
    # madMAx builds file names by appending to the dir string: it needs the trailing separator.
    return path if path.endswith(os.sep) else path + os.sep


def build_argv(plotter, binary, tmp_dir, tmp2_dir, dst_dir, driver=None):
    """The argv list of one plotter launch. binary: the resolved plotter (for chiapos: the python)."""
    kind, k, count = plotter["kind"], plotter["k"], plotter.get("count") or 1
    extra = [str(a) for a in plotter.get("extra_args") or []]
    if kind == "chia":
        argv = [binary, "plots", "create", "-k", str(k), "-n", str(count), "-t", tmp_dir, "-2", tmp2_dir,
                "-d", dst_dir]
        _opt(argv, "-r", plotter.get("threads"))
        _opt(argv, "-u", plotter.get("buckets"))
        _opt(argv, "-b", plotter.get("buffer_mib"))
        _keys(argv, plotter)
        argv.append("-x")  # plotfleet moves finished plots itself: do not add dst to the harvester
        if k < 32:
            argv.append("--override-k")
        return argv + extra
    if kind == "chiapos":
        argv = [binary, driver, "-k", str(k), "-n", str(count), "-t", tmp_dir, "-2", tmp2_dir, "-d", dst_dir]
        _opt(argv, "-r", plotter.get("threads"))
        _opt(argv, "-u", plotter.get("buckets"))
        _opt(argv, "-b", plotter.get("buffer_mib"))
        _opt(argv, "-s", plotter.get("stripe"))
        _keys(argv, plotter)
        return argv + extra
    if kind == "madmax":
        argv = [binary, "-k", str(k), "-n", str(count)]
        _opt(argv, "-r", plotter.get("threads"))
        _opt(argv, "-u", plotter.get("buckets"))
        argv += ["-t", _slash(tmp_dir), "-2", _slash(tmp2_dir), "-d", _slash(dst_dir)]
        _keys(argv, plotter)
        if plotter.get("compression"):
            argv += ["-C", str(plotter["compression"])]
        return argv + extra
    # bladebit v3: global options, then the command and its options, then the output dir last.
    argv = [binary]
    _keys(argv, plotter)
    argv += ["-n", str(count)]
    _opt(argv, "-t", plotter.get("threads"))
    if plotter.get("compression"):
        argv += ["--compress", str(plotter["compression"])]
    mode = plotter.get("bladebit_mode") or "ramplot"
    argv.append(mode)
    if mode == "diskplot":
        _opt(argv, "-b", plotter.get("buckets"))
        argv += ["-t1", tmp_dir, "-t2", tmp2_dir]
    return argv + extra + [dst_dir]


def resolve_executable(name):
    """Absolute path of an executable given as a path or a name on PATH, or None."""
    if not name:
        return None
    if os.sep in name:
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    return shutil.which(name)


def log_path(log_dir, launch_id, now):
    stamp = time.strftime("%Y-%m-%dT%H_%M_%S", time.localtime(now))
    return os.path.join(log_dir, "%s-%s.log" % (stamp, launch_id))


# ---------------------------------------------------------------- detaching

def systemd_usable():
    """systemd is PID 1 and we may create system units (root). Users' units die with logind sessions."""
    return os.path.isdir(SYSTEMD_DIR) and os.geteuid() == 0 and shutil.which("systemd-run") is not None


def detach(argv, log, nice=None, unit=None, use_systemd=None, warnings=None):
    """Start argv detached with stdout+stderr appended to log. Returns {pid, method, unit}.

    Raises OSError when the program cannot be executed at all.
    """
    if use_systemd is None:
        use_systemd = systemd_usable()
    if use_systemd and unit:
        started = _spawn_systemd(argv, log, nice, unit, warnings)
        if started:
            return started
    return {"pid": _spawn_setsid(argv, log, nice), "method": "setsid", "unit": None}


def _spawn_systemd(argv, log, nice, unit, warnings):
    name = unit if unit.endswith(".service") else unit + ".service"
    cmd = ["systemd-run", "--unit", name, "--collect", "--quiet",
           "-p", "StandardInput=null", "-p", "StandardOutput=append:%s" % log,
           "-p", "StandardError=append:%s" % log, "-p", "WorkingDirectory=/", "-p", "KillMode=control-group"]
    if nice is not None:
        cmd += ["-p", "Nice=%d" % nice]
    for key in ("PATH", "HOME", "LANG", "CHIA_ROOT"):
        if os.environ.get(key):
            cmd.append("--setenv=%s=%s" % (key, os.environ[key]))
    proc = subprocess.run(cmd + ["--"] + list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    if proc.returncode != 0:
        if warnings is not None:
            warnings.append("systemd-run failed (%s); started with setsid instead" % proc.stderr.strip()[:200])
        return None
    show = subprocess.run(["systemctl", "show", "-p", "MainPID", "--value", name], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    try:
        pid = int(show.stdout.strip() or 0)
    except ValueError:
        pid = 0
    return {"pid": pid or None, "method": "systemd-run", "unit": name}


def _close_fds(keep):
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        fds = range(3, min(os.sysconf("SC_OPEN_MAX"), 65536))
    for fd in fds:
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _spawn_setsid(argv, log, nice):
    """Double fork + setsid: the plotter's parent exits at once, so it belongs to no session of ours."""
    log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    pid_r, pid_w = os.pipe()
    err_r, err_w = os.pipe()  # close-on-exec: EOF without data means exec worked
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked child
        try:
            os.close(pid_r)
            os.close(err_r)
            os.setsid()
            grandchild = os.fork()
            if grandchild:
                os.write(pid_w, str(grandchild).encode())
                os._exit(0)
            os.close(pid_w)
            os.setsid()  # again: the plotter leads its own session and process group (pid == pgid == sid)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(log_fd, 1)
            os.dup2(log_fd, 2)
            _close_fds(keep=err_w)
            # Python ignores SIGPIPE/SIGXFSZ, and exec keeps ignored signals ignored: undo that.
            for name in ("SIGPIPE", "SIGXFSZ", "SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGCHLD"):
                if hasattr(signal, name):
                    signal.signal(getattr(signal, name), signal.SIG_DFL)
            if hasattr(signal, "pthread_sigmask"):
                signal.pthread_sigmask(signal.SIG_SETMASK, [])
            os.chdir("/")
            if nice:
                os.nice(nice)
            os.execv(argv[0], argv)
        except BaseException as exc:  # report to the parent, never return into Ansible's code
            try:
                os.write(err_w, ("%s: %s" % (argv[0], getattr(exc, "strerror", None) or exc)).encode())
            finally:
                os._exit(127)
    os.close(pid_w)
    os.close(err_w)
    os.close(log_fd)
    os.waitpid(child, 0)
    pid_text = _read_all(pid_r)
    error = _read_all(err_r)
    if error:
        raise OSError(errno.ENOEXEC, error)
    if not pid_text:
        raise OSError(errno.ECHILD, "the detaching child died before forking the plotter")
    return int(pid_text)


def _read_all(fd):
    chunks = []
    try:
        while True:
            data = os.read(fd, 4096)
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


# ---------------------------------------------------------------- watching the start

def pid_alive(pid):
    """True while pid runs (a zombie counts as dead: our grandchild is reaped by init, not us)."""
    if not pid:
        return False
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            stat = handle.read().decode("ascii", "replace")
        return stat[stat.rindex(")") + 2:][:1] not in ("Z", "X")
    except (IOError, OSError, ValueError):
        if os.path.isdir("/proc/self"):
            return False
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    out = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, universal_newlines=True).stdout.strip()
    return bool(out) and not out.startswith("Z")


def read_head(path, limit=65536):
    try:
        with open(path, "rb") as handle:
            return handle.read(limit).decode("utf-8", "replace")
    except (IOError, OSError):
        return ""


def wait_started(pid, log, want_id, timeout=5.0, min_wait=1.0, poll=0.1, clock=time.monotonic,
                 sleep=time.sleep):
    """Watch a fresh launch: {alive, plot_id, head}. chiapos checks its arguments before it prints
    `ID:`, so with want_id that line ends the wait; otherwise the plotter must live min_wait seconds."""
    begin = clock()
    while True:
        alive = pid_alive(pid)
        text = read_head(log)
        match = ID_LINE.search(text)
        plot_id = match.group(1).lower() if match else None
        waited = clock() - begin
        if not alive or (want_id and plot_id) or (waited >= min_wait and not want_id) or waited >= timeout:
            return {"alive": alive, "plot_id": plot_id, "head": text.splitlines()[:20]}
        sleep(poll)
