# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The process table, plotter recognition from argv, a running plotter's log (its fd 1), run states.

Process dicts: {"pid", "ppid", "start" (epoch seconds), "argv", "command"}, plus "state" (the
/proc/PID/stat state letter) when read from /proc.
Linux reads /proc (argv is NUL-separated there, so spaces survive). Elsewhere (macOS, BSD) runs
`ps -axww -o pid=,ppid=,lstart=,command=`, whose command column is the argv joined by single
spaces: `split_command` recovers the argv of plotter-looking lines with a heuristic (see there).
"""

from __future__ import absolute_import, division, print_function

import os
import re
import subprocess
import sys
import time

from ansible_collections.plotfleet.chia.plugins.module_utils import custom_plotter

__metaclass__ = type

PS_ARGV = ["ps", "-axww", "-o", "pid=,ppid=,lstart=,command="]
# Cheap pre-filter: only command lines that may be a plotter get the careful argv recovery.
PLOTTER_HINT_RE = re.compile(r"chia|bladebit|plotfleet-chiapos|chiapos|plotfleet-pos2|xchplot2|cuda_plot_k",
                             re.IGNORECASE)
PS_LINE_RE = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\w{3}\s+\w{3}\s+\d{1,2}\s+\d\d:\d\d:\d\d\s+\d{4})\s*(.*)$")
_MONTHS = dict((m, i + 1) for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")))

# Programs that run another program given in their argv (the plotter is what follows).
_WRAPPERS = {
    "nohup": (), "setsid": (), "caffeinate": ("-t", "-w"), "time": (), "stdbuf": ("-i", "-o", "-e"),
    "nice": ("-n",), "ionice": ("-c", "-n", "-p"), "taskset": (), "chrt": (), "env": ("-u", "-C", "-S"),
    "sudo": ("-u", "-g", "-C", "-D", "-h", "-p", "-U", "-r", "-t"), "doas": ("-u",), "numactl": (),
    "systemd-run": (), "unbuffer": (), "ts": (),
}
_PYTHON_RE = re.compile(r"^python(\d+(\.\d+)?)?[a-z]?(\.exe)?$")


# ---------------------------------------------------------------------------------------------
# Process table

def list_processes(warnings=None):
    """All processes as dicts; /proc on Linux, ps elsewhere. Never raises."""
    if sys.platform.startswith("linux") and os.path.isdir("/proc/self"):
        try:
            return _list_proc()
        except (IOError, OSError) as exc:
            if warnings is not None:
                warnings.append("cannot read /proc (%s); falling back to ps" % exc)
    try:
        out = subprocess.run(PS_ARGV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_c_locale_env(),
                             universal_newlines=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        if warnings is not None:
            warnings.append("cannot list processes with ps: %s" % exc)
        return []
    return parse_ps(out)


def _c_locale_env():
    env = dict(os.environ)
    env["LC_ALL"] = "C"   # lstart month/day names in English whatever the user's locale
    return env


def _boot_time():
    with open("/proc/stat", "rb") as handle:
        for line in handle:
            if line.startswith(b"btime "):
                return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


def _list_proc():
    btime = _boot_time()
    ticks = float(os.sysconf("SC_CLK_TCK"))
    procs = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as handle:
                stat = handle.read()
            with open("/proc/%s/cmdline" % name, "rb") as handle:
                cmdline = handle.read()
        except (IOError, OSError):
            continue  # exited while we looked
        # comm (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
        tail = stat[stat.rfind(b")") + 2:].split()
        if tail[:1] in ([b"Z"], [b"X"]):
            continue  # a zombie has exited: its record's job is over (init may reap it seconds later)
        try:
            ppid = int(tail[1])
            start = btime + int(tail[19]) / ticks   # field 22 = starttime, in clock ticks after boot
        except (IndexError, ValueError):
            continue
        if cmdline:
            argv = [arg.decode("utf-8", "surrogateescape") for arg in cmdline.rstrip(b"\0").split(b"\0")]
        else:  # kernel thread / zombie: show [comm] like ps does
            comm = stat[stat.find(b"(") + 1:stat.rfind(b")")].decode("utf-8", "replace")
            argv = ["[%s]" % comm]
        procs.append({"pid": int(name), "ppid": ppid, "start": round(start, 2), "argv": argv,
                      "command": " ".join(argv), "state": tail[0].decode("ascii", "replace")})
    return procs


def parse_lstart(text):
    """`Sat Nov 29 01:58:46 2025` (ps lstart, C locale, local time) -> epoch seconds, or None."""
    parts = text.split()
    if len(parts) != 5 or parts[1] not in _MONTHS:
        return None
    try:
        hh, mm, ss = (int(x) for x in parts[3].split(":"))
        return float(time.mktime((int(parts[4]), _MONTHS[parts[1]], int(parts[2]), hh, mm, ss, 0, 0, -1)))
    except (ValueError, OverflowError):
        return None


def parse_ps(text, exists=os.path.exists):
    """Process dicts from `ps -axww -o pid=,ppid=,lstart=,command=` output (Linux or macOS)."""
    procs = []
    for line in text.splitlines():
        match = PS_LINE_RE.match(line)
        if not match:
            continue
        pid, ppid, lstart, command = match.groups()
        start = parse_lstart(lstart)
        if start is None:
            continue
        if PLOTTER_HINT_RE.search(command):
            argv = split_command(command, exists)
        else:
            argv = command.split()
        procs.append({"pid": int(pid), "ppid": int(ppid), "start": start, "argv": argv or [command],
                      "command": command})
    return procs


def split_command(command, exists=os.path.exists, max_join=12):
    """Best-effort argv from a space-joined command line (ps on macOS cannot show the real argv).

    Heuristic, for paths with spaces (`/Applications/Chia Blockchain.app/...`, `/Volumes/My SSD/tmp`):
    1. split on single spaces (double spaces survive as parts of a token);
    2. a token that starts like a path (`/`, `~`, `./`) is joined with the following tokens while
       the joined text is an existing path, preferring the longest existing one (up to 12 tokens);
    3. if no longer join exists, a path token is still extended while the next tokens do not look
       like flags or paths and the joined text's parent directory exists (a dir that was removed
       since, or a file not yet created, keeps its spaces as long as its parent is still there).
    Anything else stays split on spaces; it cannot be told apart from separate arguments.
    """
    tokens = command.split(" ")
    argv = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "":
            i += 1
            continue
        if _looks_like_path(token):
            best = i
            for j in range(min(len(tokens) - 1, i + max_join), i, -1):
                if exists(" ".join(tokens[i:j + 1])):
                    best = j
                    break
            if best == i and not exists(token):
                j = i
                while (j + 1 < len(tokens) and j - i < max_join and tokens[j + 1]
                       and not tokens[j + 1].startswith("-") and not _looks_like_path(tokens[j + 1])
                       and exists(os.path.dirname(" ".join(tokens[i:j + 2])) or "/")
                       and not exists(os.path.dirname(token) or "/")):
                    j += 1
                best = j
            argv.append(" ".join(tokens[i:best + 1]))
            i = best + 1
        else:
            argv.append(token)
            i += 1
    return argv


def _looks_like_path(token):
    return token.startswith("/") or token.startswith("~") or token.startswith("./") or token.startswith("../")


# ---------------------------------------------------------------------------------------------
# Plotter identification

def _basename(path):
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()


def _strip_wrappers(argv):
    """Drop `nohup`, `nice -n 10`, `sudo -u chia`, `env A=B`... in front of the real program."""
    argv = list(argv)
    for _ in range(8):
        if not argv:
            return argv
        name = _basename(argv[0])
        if name not in _WRAPPERS:
            return argv
        takes_value = _WRAPPERS[name]
        i = 1
        while i < len(argv):
            arg = argv[i]
            if arg in takes_value:
                i += 2
            elif arg.startswith("-") or (name == "env" and "=" in arg):
                i += 1
            elif name in ("taskset", "chrt", "nice", "ionice") and re.match(r"^[\d,x-]+$", arg):
                i += 1  # taskset 0x3 / chrt 10 / positional numbers
            else:
                break
        argv = argv[i:]
    return argv


def _strip_python(argv):
    """[python3, -u, script, args...] -> ("script", [script, args...]); -m module -> ("-m mod", ...)."""
    if not argv or not _PYTHON_RE.match(_basename(argv[0])):
        return None, argv
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "-m" and i + 1 < len(argv):
            return "-m " + argv[i + 1], argv[i + 1:]
        if arg == "-c" and i + 1 < len(argv):
            return "-c", argv[i + 1:]
        if arg in ("-W", "-X", "--check-hash-based-pycs"):
            i += 2
        elif arg.startswith("-"):
            i += 1
        else:
            return "script", argv[i:]
    return None, []


# Flag names per plotter style -> our keys. Long and short, as the plotters spell them.
_CHIA_FLAGS = {
    "-k": "k", "--size": "k", "-n": "count", "--num": "count", "--count": "count",
    "-t": "tmp_dir", "--tmp_dir": "tmp_dir", "--tmpdir": "tmp_dir",
    "-2": "tmp2_dir", "--tmp2_dir": "tmp2_dir", "--tmp_dir2": "tmp2_dir", "--tmpdir2": "tmp2_dir",
    "-d": "dst_dir", "--final_dir": "dst_dir", "--finaldir": "dst_dir",
}
_CHIA_VALUE_FLAGS = set(["-r", "--num_threads", "--threads", "-u", "--buckets", "-b", "--buffer", "-f",
                         "--farmer_public_key", "-p", "--pool_public_key", "-c", "--pool_contract_address",
                         "-a", "--alt_fingerprint", "-i", "--id", "-m", "--memo", "-s", "--stripe",
                         "--buckets3", "--rmulti2", "--plotid", "--plot_id", "--compress",
                         "--cache", "--device", "--farmerkey", "--poolkey", "--contract", "--stagedir",
                         "--hybrid", "--threads3"])
_MADMAX_FLAGS = {
    "-k": "k", "--size": "k", "-n": "count", "--count": "count",
    "-t": "tmp_dir", "--tmpdir": "tmp_dir", "-2": "tmp2_dir", "--tmpdir2": "tmp2_dir",
    "-d": "dst_dir", "--finaldir": "dst_dir", "-s": "stage_dir", "--stagedir": "stage_dir",
}
_MADMAX_VALUE_FLAGS = set(["-r", "--threads", "-u", "--buckets", "-v", "--buckets3", "-p", "--poolkey",
                           "-c", "--contract", "-f", "--farmerkey", "-K", "--rmulti2", "-C", "--level",
                           "-M", "--maxtmp", "-Z", "--unique"])
# bladebit: global options before the command, then command options, then the output dir.
_BLADEBIT_GLOBAL = {"-n": "count", "--count": "count", "-k": "k", "--size": "k"}
_BLADEBIT_GLOBAL_VALUES = set(["-t", "--threads", "-f", "--farmer-key", "-p", "--pool-key", "-c",
                               "--pool-contract", "-i", "--plot-id", "--memo", "--compress", "-z",
                               "--memory-json"])
_BLADEBIT_CMD = {"-t1": "tmp_dir", "--temp1": "tmp_dir", "-t2": "tmp2_dir", "--temp2": "tmp2_dir",
                 "-o": "dst_dir", "--out": "dst_dir"}
_BLADEBIT_CMD_VALUES = set(["-b", "--buckets", "--cache", "--f1-threads", "--fp-threads", "--c-threads",
                            "--p2-threads", "--p3-threads", "-s", "--sizes", "-d", "--device", "--f1",
                            "--fx", "--c", "--p2", "--p3"])
_BLADEBIT_CUDA_FLAGS = set(["--check", "--check-threshold", "-r", "--ndevices"])  # cudaplot values (besides -d)
_BLADEBIT_HYBRID = ("--disk-128", "--disk-16")  # cudaplot modes that use -t1/-t2 ("one given -> both")
_BLADEBIT_COMMANDS = ("ramplot", "diskplot", "cudaplot", "plot")
# Gigahorse GPU plotter (`cuda_plot_k32`, `cuda_plot_k32_v3`, ...): madMAx-style flags; k from the name.
_GIGAHORSE_RE = re.compile(r"^cuda_plot_k(\d\d)(?:_v\d+)?(?:\.exe)?$")
_GIGAHORSE_FLAGS = {
    "-n": "count", "--count": "count", "-t": "tmp_dir", "--tmpdir": "tmp_dir", "-2": "tmp2_dir",
    "--tmpdir2": "tmp2_dir", "-3": "tmp3_dir", "--tmpdir3": "tmp3_dir", "-d": "dst_dir", "--finaldir": "dst_dir",
}
_GIGAHORSE_VALUE_FLAGS = set(["-C", "--level", "-g", "--device", "-r", "--ndevices", "-p", "--poolkey", "-c",
                              "--contract", "-f", "--farmerkey", "-z", "--dstport", "-Q", "--maxtmp", "-A",
                              "--copylimit", "-W", "--maxcopy", "-M", "--memory", "-S", "--streams", "-B",
                              "--chunksize", "-x", "--port", "-Z", "--unique"])
_BLADEBIT_OTHER = ("simulate", "check", "validate", "iotest", "memtest", "help", "version", "-h", "--help",
                   "--version", "--memory", "--memory-json")


def _parse_flags(args, names, value_flags, info):
    """Fill info from --flag value / --flag=value / -fVALUE-free args; return positionals."""
    positionals = []
    i = 0
    while i < len(args):
        arg = args[i]
        value = None
        key = arg
        if arg.startswith("--") and "=" in arg:
            key, value = arg.split("=", 1)
        if key in names or key in value_flags:
            if value is None:
                if i + 1 >= len(args):
                    break
                value = args[i + 1]
                i += 1
            if key in names:
                _set(info, names[key], value)
        elif arg.startswith("-") and len(arg) > 2 and arg[:2] in names and not arg.startswith("--"):
            _set(info, names[arg[:2]], arg[2:])   # -k32 / -t/mnt/tmp
        elif not arg.startswith("-"):
            positionals.append(arg)
        i += 1
    return positionals


def _set(info, key, value):
    if key in ("k", "count"):
        try:
            info[key] = int(value)
        except ValueError:
            pass
    else:
        info[key] = _norm_dir(value)


def _norm_dir(path):
    if path and len(path) > 1:
        return path.rstrip("/") or "/"
    return path


def _info(plotter, kind):
    return {"plotter": plotter, "kind": kind, "k": None, "tmp_dir": None, "tmp2_dir": None, "dst_dir": None,
            "count": None}


def _finish(info, default_k=None):
    if info["k"] is None:
        info["k"] = default_k
    if info["tmp2_dir"] is None and info["tmp_dir"] is not None and info["plotter"] == "chiapos":
        info["tmp2_dir"] = info["tmp_dir"]   # chiapos: tmp2 defaults to tmp
    if info["dst_dir"] is None and info["plotter"] == "chiapos":
        info["dst_dir"] = info["tmp_dir"]    # ... and the final dir too
    info.pop("stage_dir", None)
    info.pop("tmp3_dir", None)
    return info


def identify(argv, custom=()):
    """The plotter a command line runs, with k/dirs/count from its flags; None for anything else.

    custom: templates of `custom` plotters (plot_start's plotter.custom), tried first: a template
    describes the user's own plotter, which may well be one of the known ones under another name.
    """
    if not argv:
        return None
    for spec in custom or ():
        info = _identify_custom(_strip_wrappers(argv), spec)
        if info is not None:
            return info
    argv = _strip_wrappers(argv)
    mode, rest = _strip_python(argv)
    if mode is not None:
        return _identify_python(mode, rest)
    if not rest:
        return None
    name = _basename(rest[0])
    if name in ("chia", "chia.exe"):
        return _identify_chia(rest[1:])
    if _GIGAHORSE_RE.match(name):
        return _identify_gigahorse(rest[1:], int(_GIGAHORSE_RE.match(name).group(1)))
    if name in ("chia_plot", "chia_plot.exe", "chia_plot_k34"):
        info = _info("madmax", "madmax")
        _parse_flags(rest[1:], _MADMAX_FLAGS, _MADMAX_VALUE_FLAGS, info)
        return _finish(info, default_k=32)
    if name in ("bladebit", "bladebit.exe", "bladebit_cuda", "bladebit_cuda.exe"):
        return _identify_bladebit(rest[1:], "bladebit")
    if "plotfleet-chiapos" in name:
        return _identify_chiapos_args(rest[1:], "chiapos")
    if "plotfleet-pos2" in name:
        return _identify_pos2(rest[1:])
    if name in ("xchplot2", "xchplot2.exe"):
        return _identify_xchplot2(rest[1:])
    return None


def _identify_custom(argv, spec):
    if not custom_plotter.matches(argv, spec):
        return None
    info = _info("custom", "custom")
    for key, value in custom_plotter.dirs_from_argv(argv, spec).items():
        info[key] = value if key in ("k", "count") else _norm_dir(value)
    info["custom"] = spec.get("name") or "custom"
    info["tmp2_dir"] = info["tmp2_dir"] or info["tmp_dir"]
    return _finish(info)


# plotfleet's PoS2 driver (pos2_driver.py) and xchplot2 (`plot -k 28 -n N -f PK -c ADDR -o DIR`).
_POS2_FLAGS = {"-k": "k", "--size": "k", "-n": "count", "--num": "count", "-t": "tmp_dir", "--tmp_dir": "tmp_dir",
               "-d": "dst_dir", "--final_dir": "dst_dir"}
_POS2_VALUE_FLAGS = set(["-s", "--strength", "-f", "--farmer_public_key", "-p", "--pool_public_key", "-c",
                         "--pool_contract_address"])
# xchplot2's options: REFERENCE.md of its `cuda-only` branch (--temp-dir: where its host-RAM spill writes).
_XCHPLOT2_FLAGS = {"-k": "k", "--k": "k", "-n": "count", "--num": "count", "-o": "dst_dir", "--out": "dst_dir",
                   "--output": "dst_dir", "--temp-dir": "tmp_dir"}
_XCHPLOT2_VALUE_FLAGS = set(["-f", "--farmer-pk", "-c", "--pool-contract-address", "-p", "--pool-pk", "--pool-ph",
                             "--devices", "-s", "--strength", "--trials", "-i", "--plot-index", "-g", "--meta-group",
                             "-S", "--seed", "--manifest", "--tier", "--max-host-ram", "--cpu-workers", "--config"])


def _identify_pos2(args):
    info = _info("pos2", "pos2")
    _parse_flags(args, _POS2_FLAGS, _POS2_VALUE_FLAGS, info)
    info["tmp_dir"] = info["tmp_dir"] or "."        # the driver's defaults
    info["tmp2_dir"] = info["tmp_dir"]
    info["dst_dir"] = info["dst_dir"] or info["tmp_dir"]
    return _finish(info, default_k=28)


def _identify_xchplot2(args):
    """Only `xchplot2 plot ...`: it writes `<name>.plot2.partial` in its -o dir, then renames it there."""
    if not args or args[0] != "plot":
        return None   # verify, help, ...: not a plot
    info = _info("xchplot2", "xchplot2")
    _parse_flags(args[1:], _XCHPLOT2_FLAGS, _XCHPLOT2_VALUE_FLAGS, info)
    info["tmp_dir"] = info["tmp2_dir"] = info["tmp_dir"] or info["dst_dir"]
    return _finish(info, default_k=28)


def _identify_python(mode, rest):
    if mode == "script" and rest:
        name = _basename(rest[0])
        if name in ("chia", "chia.py"):
            return _identify_chia(rest[1:])
        if "plotfleet-chiapos" in name:
            return _identify_chiapos_args(rest[1:], "chiapos")
        if "plotfleet-pos2" in name:
            return _identify_pos2(rest[1:])
        return None
    if mode.startswith("-m "):
        module = mode[3:]
        if module in ("chia", "chia.cmds.chia"):
            return _identify_chia(rest[1:])
        if module.split(".")[0] == "chiapos":
            return _identify_chiapos_args(rest[1:], "chiapos")
        return None
    if mode == "-c" and rest and ("create_plot_disk" in rest[0] or "chiapos" in rest[0]):
        return _identify_chiapos_args(rest[1:], "chiapos")   # dirs unknown unless passed as flags
    return None


def _identify_chiapos_args(args, kind):
    info = _info("chiapos", kind)
    _parse_flags(args, _CHIA_FLAGS, _CHIA_VALUE_FLAGS, info)
    return _finish(info, default_k=32 if kind == "chia" else None)


def _identify_chia(args):
    """chia [global opts] plots create ... | chia plotters chiapos|madmax|bladebit ..."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in ("--root-path", "-r", "--keys-root-path") else 1
    args = args[i:]
    if len(args) >= 2 and args[0] == "plots" and args[1] == "create":
        return _identify_chiapos_args(args[2:], "chia")
    if len(args) >= 2 and args[0] == "plotters":
        which = args[1]
        if which == "chiapos":
            return _identify_chiapos_args(args[2:], "chia")
        if which == "madmax":
            info = _info("madmax", "chia")
            _parse_flags(args[2:], _MADMAX_FLAGS, _MADMAX_VALUE_FLAGS, info)
            return _finish(info, default_k=32)
        if which == "bladebit":
            return _identify_bladebit(args[2:], "chia")
    return None


def _identify_gigahorse(args, k):
    """cuda_plot_kNN -n N -C L -t TMP/ [-2 TMP2/] [-3 TMP3/] -d DST/ [-d DST2/ ...]: several -t/-d, keep the first.

    -n -1 (and 0) is "plot forever": count None, like madMAx's `Number of Plots: infinite`.
    """
    info = _info("gigahorse", "gigahorse")
    first = {}
    for i, arg in enumerate(args[:-1]):
        field = _GIGAHORSE_FLAGS.get(arg)
        if field and field not in first:
            first[field] = args[i + 1]
    _parse_flags(args, _GIGAHORSE_FLAGS, _GIGAHORSE_VALUE_FLAGS, info)
    for field, value in first.items():
        _set(info, field, value)
    if info["count"] is not None and info["count"] < 1:
        info["count"] = None
    info["k"] = k
    return _finish(info)


def _bladebit_command_at(args):
    """Index of the ramplot/diskplot/cudaplot word in a bladebit argv, None if absent, -1 if not a plot."""
    for i, arg in enumerate(args):
        if arg in _BLADEBIT_COMMANDS:
            prev = args[i - 1] if i else ""
            if prev in ("-z", "--compress") or (prev not in _BLADEBIT_GLOBAL and prev not in _BLADEBIT_GLOBAL_VALUES):
                return i   # `-z` takes an optional level: `-z cudaplot` is the command
        if arg in _BLADEBIT_OTHER:
            return -1   # bladebit simulate/check/...: not a plot
    return None


def _identify_bladebit(args, kind):
    """bladebit v1 `[opts] <out>`, v2/v3 `[opts] ramplot|diskplot|cudaplot [cmd opts] <out>`.

    `cudaplot` is plotter bladebit_cuda (its own log format); its -t1/-t2 only matter with
    --disk-128/--disk-16, where one given stands for both.
    """
    cmd_at = _bladebit_command_at(args)
    if cmd_at == -1:
        return None
    cuda = cmd_at is not None and args[cmd_at] == "cudaplot"
    info = _info("bladebit_cuda" if cuda else "bladebit", kind)
    if kind == "chia":
        # chia plotters bladebit <ramplot|diskplot|cudaplot> -d DST -t TMP -2 TMP2 -n N ...
        names = dict(_CHIA_FLAGS, **{"--tmp_dir": "tmp_dir", "--tmp_dir2": "tmp2_dir", "--final_dir": "dst_dir"})
        rest = args[cmd_at + 1:] if cmd_at is not None else args
        _parse_flags(rest, names, _CHIA_VALUE_FLAGS, info)
        return _finish(info, default_k=32)
    head = args[:cmd_at] if cmd_at is not None else args
    positionals = _parse_flags(head, _BLADEBIT_GLOBAL, _BLADEBIT_GLOBAL_VALUES, info)
    if cmd_at is not None:
        values = _BLADEBIT_CMD_VALUES | _BLADEBIT_CUDA_FLAGS if cuda else _BLADEBIT_CMD_VALUES
        positionals = _parse_flags(args[cmd_at + 1:], _BLADEBIT_CMD, values, info)
    if positionals and info["dst_dir"] is None:
        info["dst_dir"] = _norm_dir(positionals[-1])
    if cuda:
        _cuda_temp_dirs(info, args[cmd_at + 1:])
    return _finish(info, default_k=32)


def _cuda_temp_dirs(info, cmd_args):
    if not any(flag in cmd_args for flag in _BLADEBIT_HYBRID):
        info["tmp_dir"] = info["tmp2_dir"] = None   # full-RAM mode writes no temp files
        return
    info["tmp_dir"] = info["tmp_dir"] or info["tmp2_dir"]
    info["tmp2_dir"] = info["tmp2_dir"] or info["tmp_dir"]


def plotter_processes(procs, custom=()):
    """[(proc, info)] of plotter processes; of a parent/child pair running the same plot, keep the child.

    custom: the templates of custom plotters (custom_plotter.load_templates(state_dir)).

    The pair: `chia plotters madmax` (Python) with its `chia_plot` child, `sudo chia plots create`
    with its child, and so on: same plotter, and the dirs/k they name do not disagree. The dropped
    parents' pids are kept in info["wrapper_pids"] (the log may be their fd 1, not the child's).
    """
    found = {}
    for proc in procs:
        if not custom and not PLOTTER_HINT_RE.search(proc.get("command") or ""):
            continue
        info = identify(proc["argv"], custom)
        if info is not None:
            found[proc["pid"]] = (proc, info)
    dropped = {}
    for pid, (proc, info) in found.items():
        parent = found.get(proc["ppid"])
        if parent is not None and _same_plot(parent[1], info):
            dropped[proc["ppid"]] = pid
    result = []
    for pid, (proc, info) in sorted(found.items()):
        if pid in dropped:
            continue
        wrappers = [parent for parent, child in dropped.items() if child == pid]
        # walk up: a wrapper of a wrapper (sudo -> chia plotters madmax -> chia_plot)
        frontier = list(wrappers)
        while frontier:
            up = [parent for parent, child in dropped.items() if child in frontier]
            wrappers.extend(up)
            frontier = up
        info = dict(info, wrapper_pids=wrappers)
        result.append((proc, info))
    return result


def _same_plot(parent, child):
    if parent["plotter"] != child["plotter"]:
        return False
    for key in ("k", "tmp_dir", "tmp2_dir", "dst_dir", "count"):
        if parent.get(key) is not None and child.get(key) is not None and parent[key] != child[key]:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Logs of running processes

def log_path_of(pid):
    """Path of the regular file that is the process's stdout (its log), or None."""
    if sys.platform.startswith("linux"):
        try:
            target = os.readlink("/proc/%d/fd/1" % pid)
        except OSError:
            return None
    else:
        try:
            out = subprocess.run(["lsof", "-a", "-p", str(pid), "-d", "1", "-Fn"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, universal_newlines=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        target = parse_lsof_name(out)
        if target is None:
            return None
    if not target.startswith("/") or target.endswith(" (deleted)"):
        return None   # a pipe, socket or tty: not a log file
    if not os.path.isfile(target) or target.startswith("/dev/"):
        return None
    return target


def parse_lsof_name(text):
    """The `n` field of `lsof -F n` output (lines p<pid>, f<fd>, n<name>)."""
    for line in text.splitlines():
        if line.startswith("n"):
            return line[1:]
    return None


# ---------------------------------------------------------------------------------------------
# Run states (suspended or not)

# SIGSTOP / SIGTSTP leave a process in state T (t: stopped by a tracer). The state letter comes
# first in both /proc/PID/stat and `ps -o stat=` (Linux and macOS; the flags that follow it,
# `s+<NL` and so on, never use T).
SUSPENDED_STATES = ("T", "t")


def is_suspended(state):
    return bool(state) and state[:1] in SUSPENDED_STATES


def run_states(pids):
    """{pid: state string} for the pids still there: /proc/PID/stat on Linux, `ps -o pid=,stat=` elsewhere."""
    pids = sorted(set(int(pid) for pid in pids or () if pid))
    if not pids:
        return {}
    if sys.platform.startswith("linux") and os.path.isdir("/proc/self"):
        return dict((pid, state) for pid, state in ((pid, _proc_state(pid)) for pid in pids) if state)
    argv = ["ps", "-o", "pid=,stat="]
    for pid in pids:
        argv += ["-p", str(pid)]
    try:
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_c_locale_env(),
                             universal_newlines=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return parse_ps_states(out)


def _proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            stat = handle.read()
    except (IOError, OSError):
        return None
    tail = stat[stat.rfind(b")") + 2:].split()
    return tail[0].decode("ascii", "replace") if tail else None


def parse_ps_states(text):
    """{pid: stat} from `ps -o pid=,stat= -p PID...` output (`  4101 T`, `  4102 S+`, `  4103 Ss`)."""
    states = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].isdigit():
            states[int(parts[0])] = parts[1]
    return states
