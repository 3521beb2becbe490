#!/usr/bin/python3
"""Interpreter shim that times one Ansible module run on a host, for bench/bench_pass.py (issue 15).

bench_pass.py points a host's ansible_python_interpreter at a symlink to this file in the host's own
dir (<fleet>/<host>/timed_python). With pipelining the AnsiballZ payload arrives on stdin; this runs it
in this same /usr/bin/python3 process (no second interpreter) and appends one JSON line to
pass-timing.jsonl beside the symlink, with wall-clock marks (time.time()):
  proc    the process started (/proc, 10 ms resolution)      exec   this shim runs
  loader  AnsiballZ unpacked, ansible's module loader starts   init   the module's AnsibleModule() call
  body    AnsibleModule() done (arguments checked)             exit   exit_json/fail_json called
  end     back here, the result printed
and calls: every hoststate.gather / processes.list_processes call of the module body, with its time.
Only for profiling runs; the measured passes run the plain /usr/bin/python3.
"""

import json
import os
import re
import runpy
import sys
import time

TIMED_FUNCTIONS = {
    "ansible_collections.plotfleet.chia.plugins.module_utils.hoststate": ["gather"],
    "ansible_collections.plotfleet.chia.plugins.module_utils.processes": ["list_processes"],
}
MODULE_NAME = re.compile(r"ansible_collections\.\w+\.\w+\.plugins\.modules\.\w+|ansible\.modules\.\w+")


def process_start_time():
    """When this process started (the kernel counts in clock ticks since boot)."""
    with open("/proc/self/stat") as handle:
        ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/stat") as handle:
        boot = next(int(line.split()[1]) for line in handle if line.startswith("btime "))
    return boot + ticks / float(os.sysconf("SC_CLK_TCK"))


def timed(name, func, record):
    def wrapper(*args, **kwargs):
        began = time.time()
        try:
            return func(*args, **kwargs)
        finally:
            record["calls"].append({"name": name, "t": began, "dt": time.time() - began})
    return wrapper


def patch_module_body(record):
    """Once the loader has imported ansible's basic: mark AnsibleModule() and the exit, time the gathers."""
    from ansible.module_utils import basic

    module_class = basic.AnsibleModule
    original_init = module_class.__init__

    def init(self, *args, **kwargs):
        record.setdefault("init", time.time())
        original_init(self, *args, **kwargs)
        record.setdefault("body", time.time())
        for module_name, functions in TIMED_FUNCTIONS.items():
            module = sys.modules.get(module_name)
            for function in functions if module else ():
                setattr(module, function, timed(function, getattr(module, function), record))

    def exit_marker(original):
        def wrapper(self, *args, **kwargs):
            record.setdefault("exit", time.time())
            return original(self, *args, **kwargs)
        return wrapper

    module_class.__init__ = init
    module_class.exit_json = exit_marker(module_class.exit_json)
    module_class.fail_json = exit_marker(module_class.fail_json)


def main():
    record = {"exec": time.time(), "calls": []}
    out = os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "pass-timing.jsonl")
    script = os.path.abspath(sys.argv[0])
    if len(sys.argv) > 1:  # not pipelined: the payload is a file, run as `python AnsiballZ_x.py`
        script = sys.argv[1]
        sys.argv = sys.argv[1:]
        with open(script) as handle:
            source = handle.read()
    else:
        source = sys.stdin.read()
    found = MODULE_NAME.search(source)
    record["module"] = found.group(0).rsplit(".", 1)[1] if found else "?"
    original_run_module = runpy.run_module

    def run_module(*args, **kwargs):
        record["loader"] = time.time()
        patch_module_body(record)
        return original_run_module(*args, **kwargs)

    runpy.run_module = run_module
    code = compile(source, "<ansiballz>", "exec")
    try:
        exec(code, {"__name__": "__main__", "__file__": script})
    finally:
        sys.stdout.flush()
        record["end"] = time.time()
        record["proc"] = process_start_time()
        with open(out, "a") as handle:
            handle.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
