#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: plot_start
short_description: Start Chia plots on a host when the start rules allow it, detached from Ansible
description:
  - Re-reads the host state (as M(plotfleet.chia.plot_info) does), applies O(rules) and starts at most
    O(max_starts) plots, all under a lock in O(state_dir), so two concurrent passes cannot start two
    plots for one slot.
  - Every rule that says no is explained in RV(reasons). In check mode nothing starts and
    RV(would_start) shows what would have started, so a playbook can show the decision.
  - Plots run detached - a transient systemd unit (C(plotfleet-<launch_id>.service)) when systemd is PID 1
    and the module runs as root, otherwise a double fork with C(setsid) - with stdin from /dev/null and
    stdout and stderr appended straight to a new log C(<log_dir>/<YYYY-mm-ddTHH_MM_SS>-<launch_id>.log).
    Killing Ansible, its SSH session or a service does not stop the plot.
  - Each launch writes a launch record C(<state_dir>/jobs/<launch_id>.json). The module returns once the
    plotter is seen alive (for C(chia) and C(chiapos), once its log shows the plot C(ID:), at most
    O(start_timeout) seconds); a plotter that dies at once fails the task with the first lines of its
    log, and stays in the host's history so crash-loop backoff (O(rules.crash_window_minutes)) holds
    the next starts back.
  - The plotter binary itself is run, never C(chia plotters madmax|bladebit) (its Python parent pipes
    the output, and the plot dies with it).
version_added: "0.1.0"
author: plotfleet developers (@plotfleet)
extends_documentation_fragment:
  - plotfleet.chia.host
  - plotfleet.chia.rules
  - plotfleet.chia.start
notes:
  - Supports check mode, which reports RV(would_start) and RV(reasons) and starts nothing.
  - The rules are checked again on the host under the lock; a controller-side decision is only a preview.
"""

EXAMPLES = r"""
- name: Start a plot when the rules allow it
  plotfleet.chia.plot_start:
    log_dir: /var/log/plotfleet
    state_dir: /var/lib/plotfleet
    tmp_dirs: [/mnt/nvme1, /mnt/nvme2]
    dst_dirs: [/mnt/hdd1, /mnt/hdd2]
    rules:
      max_jobs: 6
      max_jobs_per_tmp: 3
      stagger_step: "2:1"
      max_before_step: 1
      time_windows: ["22:00-06:00"]
    plotter:
      kind: madmax
      binary: /usr/local/bin/chia_plot
      threads: 16
      farmer_public_key: "{{ plotfleet_farmer_public_key }}"
      pool_contract_address: "{{ plotfleet_pool_contract_address }}"

- name: Show what would start, and why not
  plotfleet.chia.plot_start:
    log_dir: /var/log/plotfleet
    state_dir: /var/lib/plotfleet
    tmp_dirs: [/mnt/nvme1]
    plotter: {kind: chiapos, python: /opt/venv/bin/python, k: 20, stripe: 2000, buckets: 32}
  check_mode: true
  register: preview

- name: Print the decision
  ansible.builtin.debug:
    msg: "{{ preview.would_start | length }} to start; {{ preview.reasons | join('; ') }}"
"""

RETURN = r"""
started:
  description: The plots started by this call (their launch records, without keys or memo).
  returned: always
  type: list
  elements: dict
  sample:
    - launch_id: 5f0c0a4e1a8d4b6b9a3e0e55f2b1c7d0
      plot_id: 4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a4d3c2b1a
      plotter: chiapos
      plotter_kind: chia
      argv: [chia, plots, create, -k, "32"]
      pid: 12345
      log: /var/log/plotfleet/2026-11-29T02_00_00-5f0c0a4e1a8d4b6b9a3e0e55f2b1c7d0.log
      tmp_dir: /mnt/nvme1
      tmp2_dir: /mnt/nvme1
      dst_dir: /mnt/hdd1
      k: 32
      count: 1
      started: 1764381600.0
      unit: null
      method: setsid
would_start:
  description: The slots the policy chose (in check mode, what would start).
  returned: always
  type: list
  elements: dict
  sample: [{tmp_dir: /mnt/nvme1, tmp2_dir: /mnt/nvme1, dst_dir: /mnt/hdd1}]
reasons:
  description: Why nothing (more) starts, one line per rule that said no. Empty when all wanted starts happen.
  returned: always
  type: list
  elements: str
  sample: ["tmp /mnt/nvme1: 1 job before phase 2:1 (limit 1)", "host: 4 jobs running (limit 4)"]
decision:
  description: The full policy output.
  returned: always
  type: dict
  contains:
    start:
      description: Same as RV(would_start).
      type: list
      elements: dict
    reasons:
      description: Same as RV(reasons).
      type: list
      elements: str
    checks:
      description:
        - Every rule evaluated for the last slot considered, as C({rule, ok, detail}) (C(dir) for per-dir rules).
        - The C(max_jobs) check also has C(count) (plotter processes running; a multi-plot process is one) and
          C(limit), as numbers.
      type: list
      elements: dict
    next_start_after:
      description: When only time-based rules (interval, backoff) block, the epoch time they stop blocking.
      type: float
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

import ansible_collections.plotfleet.chia.plugins.module_utils.compiled_cache  # noqa: E402,F401  (first: .pyc cache)
from ansible_collections.plotfleet.chia.plugins.module_utils import hoststate, options, starting  # noqa: E402


def main():
    module = AnsibleModule(
        argument_spec=options.host_argument_spec(**options.start_options()),
        supports_check_mode=True,
    )
    params = dict(module.params)
    options.prepare_plotter(params, keep_template=not module.check_mode)
    errors, binary = starting.validate(params)
    if errors:
        module.fail_json(msg="; ".join(errors), errors=errors, changed=False)
    params["_binary"] = binary

    try:
        result = starting.run(params, module.check_mode, hoststate.gather, starting.install_driver)
    except starting.StartError as exc:
        module.fail_json(msg=exc.msg, **exc.result)
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
