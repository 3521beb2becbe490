# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side, setup.yml: the checks to run on a host and the problems (with fixes) they show."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DEFAULT_BINARIES = {"chia": "chia", "madmax": "chia_plot", "bladebit": "bladebit", "bladebit_cuda": "bladebit_cuda",
                    "gigahorse": "cuda_plot_k32"}
VERSION_FLAGS = {"chia": ["version"], "madmax": ["--version"], "bladebit": ["--version"],
                 "bladebit_cuda": ["--version"]}
# Programs only looked up on PATH, never run: Gigahorse has no documented no-op flag, and a custom plotter's
# program may plot whatever it is given.
LOOKED_UP = ("gigahorse", "custom")
# Plotter kinds run by a plotfleet driver in plotter.python, and the package that Python must import.
DRIVER_PACKAGES = {"chiapos": "chiapos", "pos2": "chia_rs"}
WHICH_CODE = "import shutil, sys; sys.exit(0 if shutil.which(sys.argv[1]) else 1)"
MACOS_CHIA = "/Applications/Chia.app/Contents/Resources/app.asar.unpacked/daemon/chia"
MIN_PYTHON = (3, 8)


def setup_dirs(configured):
    """[{variable, path}] from {"plotfleet_tmp_dirs": [paths], ...}."""
    rows = []
    for variable in sorted(configured or {}):
        for path in configured[variable] or []:
            rows.append({"variable": variable, "path": str(path)})
    return rows


def plotter_probe(plotter):
    """argv of a harmless command that fails when the configured plotter cannot run."""
    plotter = plotter or {}
    kind = plotter.get("kind") or "chia"
    if kind in DRIVER_PACKAGES:
        return [plotter.get("python") or "python3", "-c", "import %s" % DRIVER_PACKAGES[kind]]
    if kind in LOOKED_UP:
        return ["python3", "-c", WHICH_CODE, _program(plotter)]
    return [plotter.get("binary") or DEFAULT_BINARIES.get(kind, kind)] + VERSION_FLAGS.get(kind, ["--version"])


def _program(plotter):
    if plotter.get("kind") != "custom":
        return plotter.get("binary") or DEFAULT_BINARIES.get(plotter.get("kind"), "")
    program = ((plotter.get("custom") or {}).get("argv") or [""])[0]
    for name in ("python", "binary"):
        program = program.replace("{%s}" % name, str(plotter.get(name) or ("python3" if name == "python" else "")))
    return program


def ssh_probe(destination, ssh_options=None):
    """argv: ssh to a storage destination and check its dir is writable (BatchMode: no prompts)."""
    argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
    if destination.get("ssh_key"):
        argv += ["-i", destination["ssh_key"]]
    if destination.get("port"):
        argv += ["-p", str(destination["port"])]
    argv += list(ssh_options or [])
    target = destination["host"]
    if destination.get("user"):
        target = "%s@%s" % (destination["user"], target)
    # The remote shell parses this: quote the path (paths with spaces).
    argv += [target, "test -d %s && test -w %s" % (_quote(destination["path"]), _quote(destination["path"]))]
    return argv


def _quote(text):
    return "'" + str(text).replace("'", "'\"'\"'") + "'"


def _dir_problems(results):
    problems = []
    for result in results or []:
        item = result.get("item") or {}
        stat = result.get("stat") or {}
        where = "%s: %s" % (item.get("variable"), item.get("path"))
        if result.get("failed"):
            problems.append("%s: cannot be checked (%s)" % (where, result.get("msg")))
        elif not stat.get("exists"):
            problems.append("%s does not exist. Fix: mount the disk there (or create the dir; "
                            "setup.yml -e plotfleet_setup_create_dirs=true creates it)" % where)
        elif not stat.get("isdir"):
            problems.append("%s is not a directory. Fix: point %s at a directory" % (where, item.get("variable")))
        elif stat.get("writeable") is False:
            problems.append("%s is not writable by the connecting user. Fix: chown it to that user" % where)
    return problems


def _plotter_problems(plotter, probe):
    if not plotter or not probe or probe.get("skipped"):
        return []
    problems = []
    kind = plotter.get("kind")
    if probe.get("rc") not in (0, None) or probe.get("failed"):
        said = (probe.get("stderr") or probe.get("msg") or "").strip().splitlines()[-1:] or [""]
        if kind in DRIVER_PACKAGES:
            python, package = plotter.get("python") or "python3", DRIVER_PACKAGES[kind]
            problems.append("plotfleet_plotter=%s: %s cannot import %s (%s). Fix: %s -m pip install %s, or set "
                            "plotfleet_plotter_python to a Python that has it" % (
                                kind, python, package, said[0] or "rc %s" % probe.get("rc"), python, package))
        elif kind == "custom":
            problems.append("plotfleet_plotter=custom: the program of plotfleet_custom_plotter.argv, %s, is not "
                            "found or not executable. Fix: install it, or give its full path as argv[0]"
                            % _program(plotter))
        else:
            binary = plotter.get("binary") or DEFAULT_BINARIES.get(kind, kind)
            problems.append("plotfleet_plotter=%s: %s does not run (%s). Fix: install it or set "
                            "plotfleet_plotter_binary to its path (macOS app: %s)"
                            % (kind, binary, said[0], MACOS_CHIA))
    if kind in ("chia", "madmax", "bladebit") and not plotter.get("farmer_public_key"):
        problems.append("plotfleet_farmer_public_key is not set: %s plots need it (public key from `chia keys "
                        "show`; without it chia reads the keychain, which fails over SSH on macOS)" % kind)
    if kind in ("chia", "madmax", "bladebit") and not (plotter.get("pool_public_key")
                                                       or plotter.get("pool_contract_address")):
        problems.append("neither plotfleet_pool_public_key nor plotfleet_pool_contract_address is set: "
                        "%s plots need one of them" % kind)
    return problems


def _ssh_problems(results, host, key):
    problems = []
    for result in results or []:
        if result.get("skipped") or result.get("rc") == 0:
            continue
        dest = result.get("item") or {}
        said = (result.get("stderr") or result.get("msg") or "").strip().splitlines()[-1:] or [""]
        target = ("%s@%s" % (dest.get("user"), dest.get("host"))) if dest.get("user") else dest.get("host")
        key_file = key or "~/.ssh/id_ed25519"
        port = (" -p %s" % dest["port"]) if dest.get("port") else ""
        fix = ("on %s: ssh-keygen -t ed25519 -N '' -f %s (if missing), then ssh-copy-id -i %s%s %s; make %s "
               "writable" % (host, key_file, key_file, port, target, dest.get("path")))
        problems.append("%s cannot write to storage %s:%s over SSH (%s). Fix: %s" % (
            host, target, dest.get("path"), said[0] or "rc %s" % result.get("rc"), fix))
    return problems


def _python_problems(version):
    if not version:
        return []
    try:
        parts = tuple(int(p) for p in str(version).split(".")[:2])
    except ValueError:
        return []
    if parts < MIN_PYTHON:
        return ["the host's Python is %s; plotfleet's modules need %d.%d or newer. Fix: install python3 and set "
                "ansible_python_interpreter" % ((version,) + MIN_PYTHON)]
    return []


def setup_problems(checks):
    """Every problem setup.yml found on one host, each ending with its fix."""
    return (_python_problems(checks.get("python_version")) + _dir_problems(checks.get("dirs"))
            + _plotter_problems(checks.get("plotter"), checks.get("plotter_probe"))
            + _ssh_problems(checks.get("ssh"), checks.get("host"), checks.get("ssh_key")))
