# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Starting a program so that nothing of plotfleet (or Ansible, or an SSH session) can kill it.

Used for plotters (launch.py) and transfer workers (transfer.py). detach() runs the program as a
transient systemd unit where systemd runs (it then also survives a restart of the sshd or of a
service it was started from), else with double fork + setsid. Either way the program has stdin
/dev/null, stdout+stderr appended to a log, cwd /, and leads its own session and process group
(pid == pgid == sid).
"""

from __future__ import absolute_import, division, print_function

import errno
import os
import shutil
import signal
import subprocess

__metaclass__ = type

SYSTEMD_DIR = "/run/systemd/system"
ENV_KEYS = ("PATH", "HOME", "LANG", "CHIA_ROOT")  # what a systemd unit inherits from us (it starts clean)
# Python ignores SIGPIPE/SIGXFSZ and exec keeps ignored signals ignored: the program gets defaults.
RESET_SIGNALS = ("SIGPIPE", "SIGXFSZ", "SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGCHLD")


def systemd_usable():
    """systemd is PID 1 and we may create system units (root). Users' units die with logind sessions."""
    return os.path.isdir(SYSTEMD_DIR) and os.geteuid() == 0 and shutil.which("systemd-run") is not None


def detach(argv, log, nice=None, unit=None, use_systemd=None, warnings=None):
    """Start argv (argv[0] an absolute path) detached, output appended to log.

    Returns {"pid", "method": "systemd-run"|"setsid", "unit": name or None}. systemd-run is used when
    use_systemd (default: systemd_usable()) and a unit name is given; if it fails, setsid is used and a
    warning appended. Raises OSError when the program cannot be executed (setsid method).
    """
    if use_systemd is None:
        use_systemd = systemd_usable()
    if use_systemd and unit:
        started = _spawn_systemd(argv, log, nice, unit, warnings)
        if started:
            return started
    if nice is not None and warnings is not None and os.geteuid() != 0 and nice < _own_nice():
        warnings.append("plotter.nice %d is below this process's nice level %d: the plot runs at %d "
                        "(only root may lower it)" % (nice, _own_nice(), _own_nice()))
    return {"pid": _spawn_setsid(argv, log, nice), "method": "setsid", "unit": None}


def _own_nice():
    return os.getpriority(os.PRIO_PROCESS, 0)


def _set_nice(nice):
    """The plotter's nice level as configured (absolute, as systemd's Nice=): os.nice() would add it to
    ours, so a plot started from a niced loop or cron job would run nicer than asked."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    except PermissionError:
        pass  # below our own level without privileges: it keeps ours (detach() warned)


def _spawn_systemd(argv, log, nice, unit, warnings):
    name = unit if unit.endswith(".service") else unit + ".service"
    cmd = ["systemd-run", "--unit", name, "--collect", "--quiet",
           "-p", "StandardInput=null", "-p", "StandardOutput=append:%s" % log,
           "-p", "StandardError=append:%s" % log, "-p", "WorkingDirectory=/", "-p", "KillMode=control-group"]
    if nice is not None:
        cmd += ["-p", "Nice=%d" % nice]
    for key in ENV_KEYS:
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


def _spawn_setsid(argv, log, nice):
    """Double fork + setsid: the program's parent exits at once, so it belongs to no session of ours.
    Exec errors come back through a close-on-exec pipe (EOF without data: exec worked)."""
    log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    pid_r, pid_w = os.pipe()
    err_r, err_w = os.pipe()  # os.pipe() fds are close-on-exec (PEP 446)
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
            os.setsid()  # again: the program leads its own session and process group (pid == pgid == sid)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(log_fd, 1)
            os.dup2(log_fd, 2)
            _close_fds(keep=err_w)
            for signame in RESET_SIGNALS:
                if hasattr(signal, signame):
                    signal.signal(getattr(signal, signame), signal.SIG_DFL)
            if hasattr(signal, "pthread_sigmask"):
                signal.pthread_sigmask(signal.SIG_SETMASK, [])
            os.chdir("/")
            if nice is not None:
                _set_nice(nice)
            os.execv(argv[0], argv)
        except BaseException as exc:  # noqa: B036 - report to the parent, never return into the caller's code
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
        raise OSError(errno.ECHILD, "the detaching child died before forking %s" % argv[0])
    return int(pid_text)


def _close_fds(keep):
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:  # macOS: no /proc
        fds = range(3, min(os.sysconf("SC_OPEN_MAX"), 65536))
    for fd in fds:
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass


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
