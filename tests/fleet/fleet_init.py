"""PID 1 of one fleet host (its own PID namespace, so the host sees only its own processes, as a real
host does). Runs sshd and reaps the orphans that detached plots and transfers leave behind.

  unshare --pid --fork --mount-proc python3 fleet_init.py HOST_TMP /usr/sbin/sshd -D -e -f CONFIG

HOST_TMP is bind-mounted on /tmp in the host's own mount namespace: hosts share the filesystem, but
each has its own /tmp (ssh control sockets and other per-host temp files must not meet across hosts).

SIGUSR1: start sshd (if it is not running); SIGUSR2: stop sshd (open sessions and plots live on);
SIGTERM: exit, which ends every process of the host (the kernel kills a PID namespace with its init).
"""

import os
import signal
import subprocess
import sys
import time

HOST_TMP = sys.argv[1]
SSHD_ARGV = sys.argv[2:]
state = {"sshd": None}


def start_sshd(*_args):
    if state["sshd"] is None:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGUSR1, signal.SIG_DFL)
            signal.signal(signal.SIGUSR2, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.execv(SSHD_ARGV[0], SSHD_ARGV)
        state["sshd"] = pid


def stop_sshd(*_args):
    if state["sshd"] is not None:
        try:
            os.kill(state["sshd"], signal.SIGTERM)
        except ProcessLookupError:
            pass


def main():
    subprocess.check_call(["mount", "--make-rprivate", "/"])
    # A checkout under /tmp (a CI clone, say) must stay visible to the host: the plotter's Python lives in
    # its .venv. Bind it into HOST_TMP at the same relative path, then put HOST_TMP (with it) on /tmp.
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
    if repo.startswith("/tmp/"):
        inner = os.path.join(HOST_TMP, os.path.relpath(repo, "/tmp"))
        os.makedirs(inner, exist_ok=True)
        subprocess.check_call(["mount", "--bind", repo, inner])
    subprocess.check_call(["mount", "--rbind", HOST_TMP, "/tmp"])
    signal.signal(signal.SIGUSR1, start_sshd)
    signal.signal(signal.SIGUSR2, stop_sshd)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    start_sshd()
    while True:
        try:
            pid, _status = os.wait()
        except ChildProcessError:
            time.sleep(0.2)
            continue
        if pid == state["sshd"]:
            state["sshd"] = None


if __name__ == "__main__":
    main()
