#!/usr/bin/env python3
"""Run test suites at the same time, each into its own log; print each one's result as it ends and
then the whole log of every suite that failed. Exit 1 when any suite failed.

    tests/run_suites.py LOG_DIR NAME='command' [NAME='command' ...]

Each command runs under bash in its own process group. Ctrl-C or SIGTERM is passed on as SIGINT, so
that pytest still runs its teardowns (the fleet's namespaces, mounts and sshd are removed).
Used by `make test` (see the Makefile); the suites must not share ports, namespaces or paths.
"""

import os
import re
import signal
import subprocess
import sys
import time

# pytest's closing line ("==== 93 passed, 1 skipped in 301.2s ====", or without the = under -q): in the summary.
GRACE_S = 60
CLOSING = re.compile(r"^(=+ )?[0-9]+ (passed|failed|errors?|skipped|deselected|xfailed|xpassed)\b.* in [0-9.]+s\b.*$|"
                     r"^=+ no tests ran\b.*$")


def parse(argv):
    if len(argv) < 2 or any("=" not in arg for arg in argv[1:]):
        sys.exit(__doc__)
    return argv[0], [tuple(arg.split("=", 1)) for arg in argv[1:]]


def start(name, command, log_dir):
    log_path = os.path.join(log_dir, "%s.log" % name)
    log = open(log_path, "w")
    proc = subprocess.Popen(["bash", "-c", command], stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=default_signals)
    log.close()
    return {"name": name, "command": command, "log": log_path, "proc": proc, "began": time.time()}


def default_signals():
    """In the child: SIGINT acts again (a shell that started us in the background ignores it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def closing_line(log_path):
    found = ""
    with open(log_path, errors="replace") as handle:
        for line in handle:
            if CLOSING.match(line.strip()):
                found = line.strip()
    return found


def report(suite, rc):
    elapsed = time.time() - suite["began"]
    verdict = "ok" if rc == 0 else "FAILED (rc=%s)" % rc
    print("[%s] %s in %.0fs  %s  (log: %s)" % (suite["name"], verdict, elapsed, closing_line(suite["log"]),
                                              suite["log"]), flush=True)


def interrupt(suites, sig=signal.SIGINT):
    for suite in suites:
        if suite["proc"].poll() is None:
            try:
                os.killpg(suite["proc"].pid, sig)
            except OSError:
                pass


def escalate(suites, since):
    """After SIGINT, pytest runs its teardowns; whatever still runs a minute later is ended harder."""
    waited = time.time() - since
    if waited > GRACE_S + 30:
        interrupt(suites, signal.SIGKILL)
    elif waited > GRACE_S:
        interrupt(suites, signal.SIGTERM)


def wait_all(suites, interrupted):
    results, running = {}, list(suites)
    while running:
        if interrupted:
            escalate(running, interrupted[0])
        for suite in list(running):
            rc = suite["proc"].poll()
            if rc is not None:
                running.remove(suite)
                results[suite["name"]] = rc
                report(suite, rc)
        time.sleep(0.5)
    return results


def main(argv):
    log_dir, commands = parse(argv)
    os.makedirs(log_dir, exist_ok=True)
    suites = [start(name, command, log_dir) for name, command in commands]
    print("running at once: %s (logs in %s)" % (", ".join(name for name, _ in commands), log_dir), flush=True)

    interrupted = []

    def on_signal(signum, frame):
        interrupted.append(time.time())
        interrupt(suites)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    results = wait_all(suites, interrupted)
    failed = [suite for suite in suites if results[suite["name"]] != 0]
    for suite in failed:
        print("\n%s %s failed: its log (%s) %s" % ("=" * 20, suite["name"], suite["command"], "=" * 20))
        with open(suite["log"], errors="replace") as handle:
            sys.stdout.write(handle.read())
    if interrupted:
        print("\ninterrupted", flush=True)
        return 130
    if failed:
        print("\nFAILED suites: %s" % ", ".join(suite["name"] for suite in failed), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
