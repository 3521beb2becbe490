# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Launching plotters so that nothing of plotfleet (or Ansible, or an SSH session) can kill them.

Two halves: argv builders, one per plotter kind (always the plotter binary itself, never
`chia plotters madmax|bladebit`, whose Python parent pipes the output and takes the plot down with
it), and detach() (detach.py, shared with the transfer worker launch): a transient systemd unit where
systemd runs, else double fork + setsid with the output going straight to the log file.
"""

from __future__ import absolute_import, division, print_function

import errno
import os
import re
import shutil
import subprocess
import sys
import time

from ansible_collections.plotfleet.chia.plugins.module_utils import custom_plotter
from ansible_collections.plotfleet.chia.plugins.module_utils import detach as detach_impl

__metaclass__ = type

KINDS = ("chia", "chiapos", "madmax", "bladebit", "pos2", "bladebit_cuda", "gigahorse", "custom")
# k sizes each kind accepts. chia: `chia plots create` refuses k < 25 even with --override-k
# (seen here with chia 2.7.5) and needs --override-k below 32. chiapos (the PyPI module through
# plotfleet's driver) goes down to its minimum, 18, for tests and demos. madMAx k > 32 needs its
# k34 build (point `binary` at it). BladeBit only plots k32.
K_RANGE = {"chia": (25, 35), "chiapos": (18, 35), "madmax": (25, 34), "bladebit": (32, 32), "pos2": (18, 32),
           "bladebit_cuda": (32, 32), "gigahorse": (26, 34), "custom": (16, 40)}
# Kinds run by a plotfleet driver under plotter.python: keys optional (random throw-away keys without).
DRIVER_KINDS = ("chiapos", "pos2")
# Kinds whose keys are optional: the driver kinds, and custom (its template says which keys it passes).
KEYLESS_KINDS = DRIVER_KINDS + ("custom",)
# Gigahorse: one binary per k (and `_v3` for C29+): set `binary` for anything but cuda_plot_k32.
DEFAULT_BINARY = {"chia": "chia", "madmax": "chia_plot", "bladebit": "bladebit", "bladebit_cuda": "bladebit_cuda",
                  "gigahorse": "cuda_plot_k32", "custom": ""}   # custom: the template's argv[0]
GIGAHORSE_KS = (26, 29, 30, 31, 32, 33, 34)   # the cuda_plot_kNN builds that exist
GIGAHORSE_LEVELS = tuple(range(1, 10)) + tuple(range(11, 21)) + tuple(range(29, 34))  # 29..33: cuda_plot_k32_v3
# Plotters whose first SIGTERM means "finish the current plot and its copy, then exit" (Gigahorse; a second
# within 1 s: exit now). plot_stop sends them one SIGTERM and, with kill=true, waits graceful_timeout for it.
GRACEFUL_STOP = ("gigahorse",)
BLADEBIT_CUDA_HYBRID = ("--disk-128", "--disk-16")  # cudaplot modes that need -t1/-t2
BLADEBIT_MODES = ("ramplot", "diskplot", "cudaplot")
HEX96 = re.compile(r"^(0x)?[0-9a-fA-F]{96}$")
CONTRACT = re.compile(r"^t?xch1[0-9a-z]{20,}$")
ID_LINE = re.compile(r"^ID: ([0-9a-fA-F]{64})\s*$", re.M)


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
    errors.extend(_pos2_errors(plotter))
    if kind == "custom":
        errors.extend(custom_plotter.validate(plotter))
    compression = plotter.get("compression") or 0
    if compression and kind in ("chia", "chiapos", "pos2"):
        errors.append("plotter.compression: plotter kind %s makes uncompressed plots only" % kind)
    elif kind in ("bladebit_cuda", "gigahorse"):
        errors.extend(_gpu_errors(kind, plotter.get("k"), compression))
    elif not 0 <= compression <= 9:
        errors.append("plotter.compression must be 0..9, got %s" % compression)
    farmer, pool, contract = (plotter.get(n) for n in ("farmer_public_key", "pool_public_key",
                                                       "pool_contract_address"))
    if pool and contract:
        errors.append("plotter.pool_public_key and plotter.pool_contract_address are mutually exclusive")
    if kind not in KEYLESS_KINDS and not (farmer and (pool or contract)):
        errors.append("plotter.farmer_public_key and one of plotter.pool_public_key / "
                      "plotter.pool_contract_address are required for plotter kind %s" % kind)
    for name, value in (("farmer_public_key", farmer), ("pool_public_key", pool)):
        if value and not HEX96.match(value):
            errors.append("plotter.%s must be 96 hex digits (a 48-byte BLS public key)" % name)
    if contract and not CONTRACT.match(contract):
        errors.append("plotter.pool_contract_address must be an xch1... (or txch1...) address")
    if kind in DRIVER_KINDS and (farmer or pool or contract) and not (farmer and (pool or contract)):
        errors.append("plotter.farmer_public_key and one of plotter.pool_public_key / "
                      "plotter.pool_contract_address go together (or give none for a throw-away memo)")
    if plotter.get("bladebit_mode") and plotter.get("bladebit_mode") not in BLADEBIT_MODES:
        errors.append("plotter.bladebit_mode must be one of %s" % ", ".join(BLADEBIT_MODES))
    if plotter.get("nice") is not None and not -20 <= plotter["nice"] <= 19:
        errors.append("plotter.nice must be -20..19, got %s" % plotter["nice"])
    return errors


def _pos2_errors(plotter):
    """PoS2 (chia_rs) makes even k only, with strength >= 2 (both refused by chia_rs 0.53 otherwise)."""
    errors = []
    if plotter.get("kind") == "pos2" and isinstance(plotter.get("k"), int) and plotter["k"] % 2:
        errors.append("plotter.k: PoS2 plots need an even k, got %s" % plotter["k"])
    strength = plotter.get("strength")
    if strength is not None and not 2 <= strength <= 255:
        errors.append("plotter.strength must be 2..255, got %s" % strength)
    return errors


def _gpu_errors(kind, k, compression):
    """Levels the GPU plotters refuse: BladeBit CUDA has no C8; Gigahorse makes no C0 and has one binary per k."""
    if kind == "bladebit_cuda":
        if not 0 <= compression <= 9 or compression == 8:
            return ["plotter.compression must be 0..7 or 9 for bladebit_cuda (it refuses 8), got %s" % compression]
        return []
    errors = []
    if compression not in GIGAHORSE_LEVELS:
        errors.append("plotter.compression must be 1..9, 11..20 or 29..33 for gigahorse (no uncompressed plots), "
                      "got %s" % compression)
    if isinstance(k, int) and k not in GIGAHORSE_KS:
        errors.append("plotter.k: gigahorse has no cuda_plot_k%s build (k is one of %s)"
                      % (k, ", ".join(str(x) for x in GIGAHORSE_KS)))
    return errors


def _bladebit_cuda_argv(plotter, binary, tmp_dir, tmp2_dir, dst_dir, count, extra):
    """bladebit_cuda GLOBAL cudaplot [OPTS] DST: one output dir (it round-robins several without a space check)."""
    argv = [binary]
    _keys(argv, plotter)
    argv += ["-n", str(count)]
    _opt(argv, "-t", plotter.get("threads"))
    if plotter.get("compression"):
        argv += ["--compress", str(plotter["compression"])]
    argv += ["cudaplot"] + extra
    if any(flag in extra for flag in BLADEBIT_CUDA_HYBRID):
        argv += ["-t1", tmp_dir, "-t2", tmp2_dir]
    return argv + [dst_dir]


def _gigahorse_argv(plotter, binary, tmp_dir, tmp2_dir, dst_dir, count, extra):
    """cuda_plot_kNN: -t only caches finished plots for its own copy to -d; -2 (partial-RAM mode) only when
    tmp2 differs from tmp. GH's -r is a GPU count, so plotter.threads is not passed."""
    argv = [binary, "-n", str(count), "-C", str(plotter.get("compression")), "-t", _slash(tmp_dir)]
    if tmp2_dir and os.path.normpath(tmp2_dir) != os.path.normpath(tmp_dir):
        argv += ["-2", _slash(tmp2_dir)]
    argv += ["-d", _slash(dst_dir)]
    _keys(argv, plotter)
    return argv + extra


def _custom_argv(plotter, binary, tmp_dir, tmp2_dir, dst_dir):
    """The template filled in, behind a header-then-exec step: the log's first line describes the log
    (custom_plotter.py), then the plotter itself runs in the same process (same pid, same log fd)."""
    argv = custom_plotter.render(plotter, binary, tmp_dir, tmp2_dir, dst_dir)
    argv += [str(a) for a in plotter.get("extra_args") or []]
    line = custom_plotter.header(plotter, tmp_dir, tmp2_dir, dst_dir)
    return custom_plotter.exec_argv(sys.executable or "python3", line, argv)


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
    if kind == "pos2":
        argv = [binary, driver, "-k", str(k), "-n", str(count)]
        _opt(argv, "-s", plotter.get("strength"))
        argv += ["-t", tmp_dir, "-d", dst_dir]
        _keys(argv, plotter)
        return argv + extra
    if kind == "custom":
        return _custom_argv(plotter, binary, tmp_dir, tmp2_dir, dst_dir)
    if kind == "bladebit_cuda":
        return _bladebit_cuda_argv(plotter, binary, tmp_dir, tmp2_dir, dst_dir, count, extra)
    if kind == "gigahorse":
        return _gigahorse_argv(plotter, binary, tmp_dir, tmp2_dir, dst_dir, count, extra)
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


# ---------------------------------------------------------------- detaching (shared with transfers: detach.py)

SYSTEMD_DIR = detach_impl.SYSTEMD_DIR
systemd_usable = detach_impl.systemd_usable


def detach(argv, log, nice=None, unit=None, use_systemd=None, warnings=None):
    """Start argv detached with stdout+stderr appended to log. Returns {pid, method, unit}.

    Raises OSError when the program cannot be executed at all. See detach.detach().
    """
    return detach_impl.detach(argv, log, nice=nice, unit=unit, use_systemd=use_systemd, warnings=warnings)


# ---------------------------------------------------------------- stopping gracefully

def graceful_pids(jobs):
    """pids of the jobs whose plotter stops gracefully on one SIGTERM (GRACEFUL_STOP)."""
    return set(job["pid"] for job in jobs if job.get("pid") and job.get("plotter") in GRACEFUL_STOP)


def graceful_note(pids):
    return ("pid %s (gigahorse) finishes its current plot and its copy, then exits (plot_stop with kill=true "
            "waits graceful_timeout for that, then SIGKILLs)" % ", ".join(str(p) for p in sorted(pids)))


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
