"""Per-task, per-host timing of a playbook run, for bench/bench_pass.py (issue 15).

Enabled only on purpose (ansible.posix's profile_tasks is not installed offline):
  ANSIBLE_CALLBACK_PLUGINS=bench/pass_timing/callback_plugins ANSIBLE_CALLBACKS_ENABLED=pass_timing
  PLOTFLEET_PASS_TIMING_FILE=/path/out.json ansible-playbook ...
Writes one JSON document: every event with its wall-clock time (time.time(), the same clock the bench
and the hosts' interpreter shim use), so the bench can split a pass into start-up, tasks and end.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import time

from ansible.plugins.callback import CallbackBase

__metaclass__ = type

DOCUMENTATION = """
name: pass_timing
type: aggregate
short_description: wall-clock time of every task and every host's part of it (bench only)
description:
  - Writes the events of a playbook run with their times to E(PLOTFLEET_PASS_TIMING_FILE).
requirements:
  - enabled in ANSIBLE_CALLBACKS_ENABLED
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "pass_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.events = []
        self.path = os.environ.get("PLOTFLEET_PASS_TIMING_FILE")

    def _event(self, kind, task=None, host=None, **extra):
        event = {"t": time.time(), "kind": kind}
        if task is not None:
            event.update(task=task.get_name(), action=task.action, uuid=task._uuid)
        if host is not None:
            event["host"] = host
        event.update(extra)
        self.events.append(event)

    def v2_playbook_on_start(self, playbook):
        self._event("playbook_start")

    def v2_playbook_on_play_start(self, play):
        self._event("play_start", play=play.get_name())

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._event("task_start", task)

    def v2_playbook_on_include(self, included_file):
        self._event("include", hosts=[h.get_name() for h in included_file._hosts])

    def v2_runner_on_start(self, host, task):
        self._event("host_start", task, host.get_name())

    def _result(self, status, result):
        self._event("host_end", result._task, result._host.get_name(), status=status,
                    changed=bool(result._result.get("changed")))

    def v2_runner_on_ok(self, result):
        self._result("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result("failed", result)

    def v2_runner_on_skipped(self, result):
        self._result("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._result("unreachable", result)

    def v2_playbook_on_stats(self, stats):
        self._event("stats")
        if self.path:
            with open(self.path, "w") as handle:
                json.dump({"events": self.events}, handle)
