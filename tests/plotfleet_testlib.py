"""Helpers shared by the test suites: run plotfleet modules and playbooks through real Ansible.

Modules always run on the system Python (/usr/bin/python3), as on a real worker; the venv only
provides the controller (ansible-core, jmespath) and the plotter (PyPI chiapos).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"
SYSTEM_PYTHON = "/usr/bin/python3"
# The Python that has PyPI chiapos installed (the venv's); the `chiapos` plotter runs under it.
PLOTTER_PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable

if str(REPO / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "collections"))


def ansible_env(extra=None):
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env["ANSIBLE_CALLBACK_RESULT_FORMAT"] = "json"
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_DEPRECATION_WARNINGS"] = "0"
    env["PATH"] = "%s:%s" % (VENV_BIN, env.get("PATH", ""))
    if extra:
        env.update(extra)
    return env


def run_module(module, args, check=False, host="localhost", inventory=None, env=None, timeout=300):
    """Run plotfleet.chia.<module> ad hoc; return (rc, result dict) for one host."""
    cmd = [str(VENV_BIN / "ansible"), host, "-m", "plotfleet.chia.%s" % module, "-a", json.dumps(args)]
    if inventory:
        cmd += ["-i", str(inventory)]
    if check:
        cmd.append("--check")
    proc = subprocess.run(cmd, cwd=str(REPO), env=ansible_env(dict(env or {}, ANSIBLE_STDOUT_CALLBACK="oneline")),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)
    out = proc.stdout
    marker = "=> "
    if marker not in out:
        raise AssertionError("no module result in output (rc=%s):\n%s\n%s" % (proc.returncode, out, proc.stderr))
    result, _ = json.JSONDecoder().raw_decode(out[out.index(marker) + len(marker):].strip())
    return proc.returncode, result


def run_playbook(playbook, extra_vars=None, check=False, inventory=None, env=None, args=(), timeout=600):
    """Run ansible-playbook from the repository root; return the CompletedProcess (text output)."""
    cmd = [str(VENV_BIN / "ansible-playbook"), str(playbook)]
    if inventory:
        cmd += ["-i", str(inventory)]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    cmd += list(args)
    return subprocess.run(cmd, cwd=str(REPO), env=ansible_env(env), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=timeout)


CHIA_VENV = REPO / ".venv-chia"


def chia_venv_pending():
    """The file make test's background install of .venv-chia writes its exit code to, None when no install runs."""
    return os.environ.get("PLOTFLEET_CHIA_VENV_RC") or None


def wait_chia_venv(timeout=1800):
    """Wait for make test's install of .venv-chia (if one runs); an install that failed fails the caller."""
    rc_file = chia_venv_pending()
    if rc_file is None:
        return
    deadline = time.time() + timeout
    while not os.path.exists(rc_file):
        if time.time() > deadline:
            raise AssertionError("the install of %s did not end in %d s (%s)" % (CHIA_VENV, timeout, rc_file))
        time.sleep(1)
    with open(rc_file) as handle:
        rc = handle.read().strip()
    if rc != "0":
        log = os.path.join(os.path.dirname(rc_file), "chia-venv.log")
        tail = open(log, errors="replace").read()[-3000:] if os.path.exists(log) else "(no %s)" % log
        raise AssertionError("the install of %s failed (rc %s):\n%s" % (CHIA_VENV, rc, tail))


def wait_for(predicate, timeout=60, interval=0.1):
    """Poll predicate until it returns something truthy (returned) or timeout passes (its last value)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def descendants(pid):
    """Every process below pid, read from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(pid):
    """SIGKILL pid, its process group and every process below it, as a crash of that machine's
    controller would. ansible-core's workers call setsid(), so killing the group alone leaves them
    (and the task they run) going. The tree is stopped first so that nothing forks past the kill."""
    stopped = set()
    while True:
        tree = set([pid] + descendants(pid)) - stopped
        if not tree:
            break
        for each in tree:
            _signal(each, signal.SIGSTOP)
        stopped |= tree
    for each in stopped:
        _signal(each, signal.SIGKILL)
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    # SIGKILL lands asynchronously: until they are gone, a killed plot would still look alive to a test.
    wait_for(lambda: not any(running(each) for each in stopped), timeout=30, interval=0.05)


def running(pid):
    """pid is a live process (not gone, not a zombie)."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except OSError:
        pass
