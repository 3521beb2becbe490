#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: plot_pass
short_description: One reconcile pass on a plotter in one call - gather, clean up, start, move
description:
  - What the reconcile role runs on every host, in one module call instead of one per step (issue 15 - each
    call costs seconds of interpreter, AnsiballZ and SSH round trip, the steps themselves milliseconds); the
    storage hosts (O(mode=storage)) and the plotters (O(defer_move)) in the same task, and a second round
    (O(mode=move)) only on the plotters that have a plot to move.
  - Gathers the host state once, as M(plotfleet.chia.plot_info) does (RV(host_state)), and then, each step as
    its own module does it - deletes the temp files of dead jobs (M(plotfleet.chia.plot_stop) with
    C(ended=true cleanup=true), only when the gather shows some; RV(cleanup)); applies O(rules) and starts what
    they allow (M(plotfleet.chia.plot_start); RV(start)); moves finished plots to O(destinations)
    (M(plotfleet.chia.plot_move); RV(move)).
  - A step that acts takes the host lock in O(state_dir) and decides on a state gathered under it, as its
    module does, so concurrent passes cannot start two plots for one slot or move a plot twice. A start step
    whose rules allow nothing on the pass's gather returns that decision at once - no lock, no second gather, and
    no run of the plotter's Python to check that it can import C(chiapos) or C(chia_rs) (that check runs
    before a real start only). The host is gathered again only after a step changed it.
  - Check mode reports what each step's module reports in check mode (C(start.would_start),
    C(move.would_move), C(cleanup.temp_files)) and changes nothing.
version_added: "0.1.0"
author: plotfleet developers (@plotfleet)
extends_documentation_fragment:
  - plotfleet.chia.host
  - plotfleet.chia.rules
  - plotfleet.chia.start
  - plotfleet.chia.move
options:
  metrics_path:
    description:
      - Prometheus textfile written from the pass's gather, as
        O(plotfleet.chia.plot_info#module:metrics_path) of M(plotfleet.chia.plot_info) does. Unset - none.
      - Not in check mode - neither the file nor the counters in C(<state_dir>/metrics-counters.json) are written.
    type: path
  storage_dirs:
    description:
      - Storage dirs of a storage host (O(mode=storage)) or of a plotter that is also one; gathered with the others
        (reported in C(host_state.dirs)) but never a destination of its own starts. Given, the gather adds what
        M(plotfleet.chia.plot_info) adds for a storage host (as in O(mode=storage)), in O(mode=plotter) too.
    type: list
    elements: path
    default: []
  mode:
    description:
      - V(plotter) - the whole pass (gather, clean up, start, move).
      - V(storage) - a storage host's pass - the gather only, returning in RV(host_state) what
        M(plotfleet.chia.plot_info) returns for a storage host (with C(storage_incoming) over O(dst_dirs) and
        O(storage_dirs) and, given O(replot), C(replot_room) and C(replot_status)); RV(cleanup), RV(start) and
        RV(move) are skipped. The reconcile role runs every host's pass with this one module, in one task, so a
        pass builds one AnsiballZ payload and pays one round for every host (issue 15). O(plotter) is still
        required (its kind) but not used.
      - V(move) - the move step alone (a fresh gather under it, as M(plotfleet.chia.plot_move) does), with
        O(destinations) - the second round of a plotter whose O(defer_move) pass left plots for the offers of
        that pass. RV(cleanup) and RV(start) are skipped; no RV(host_state).
    type: str
    choices: [plotter, storage, move]
    default: plotter
  defer_move:
    description:
      - O(mode=plotter) - the storage hosts' offers are not known yet (their pass runs in the same round). When a
        finished plot in the source dirs could move (its transfer record, if any, does not forbid it), nothing
        moves - RV(move) is C({skipped - true, deferred - true, plots - [paths]}) and a O(mode=move) call with the
        offers of this pass moves them. Otherwise the move step runs without destinations (so it can move nothing;
        it acknowledges finished transfers and lists them as always). O(destinations) are not used.
    type: bool
    default: false
  replot:
    description:
      - With O(storage_dirs) (O(mode=storage), or a plotter that is also storage) - as
        O(plotfleet.chia.plot_info#module:replot) of M(plotfleet.chia.plot_info) (the host's C(plotfleet_replot)
        with C(storage_dirs) added). Unset - no C(replot_room) nor C(replot_status).
    type: dict
  cleanup_dead_tmp:
    description: Delete the temp files that dead, failed or stopped jobs left (see RV(cleanup)).
    type: bool
    default: true
  start_enabled:
    description: Start plots as O(rules) allow. V(false) - the start step is skipped (C(start.skipped)).
    type: bool
    default: true
  move_enabled:
    description:
      - Move finished plots to O(destinations). V(false), or no destinations - the move step is skipped
        (C(move.skipped)).
    type: bool
    default: true
  start_problems:
    description:
      - Problems the caller found with the start settings (the reconcile role - its plotfleet_* variables, named as
        the user wrote them, as plot_start would refuse them). With one, the start step fails with them, joined by
        C(; ), after the gather and the cleanup (RV(host_state) is still returned).
    type: list
    elements: str
    default: []
  dir_variables:
    description:
      - The configured dirs by the name of the setting that configures them (C({plotfleet_tmp_dirs - [...]})). A dir the
        gather finds missing or unusable fails the module before any step, the message naming the setting.
    type: dict
    default: {}
notes:
  - Supports check mode (see above). A second run with nothing to do reports C(changed=false).
  - The storage hosts' free space comes in O(destinations), from their own pass (O(mode=storage)) earlier - or,
    with O(defer_move), in the O(mode=move) call after it.
seealso:
  - module: plotfleet.chia.plot_info
  - module: plotfleet.chia.plot_stop
  - module: plotfleet.chia.plot_start
  - module: plotfleet.chia.plot_move
"""

EXAMPLES = r"""
- name: One pass on a plotter - clean up, start what the rules allow, move finished plots
  plotfleet.chia.plot_pass:
    log_dir: /var/log/plotfleet
    state_dir: /var/lib/plotfleet
    tmp_dirs: [/mnt/nvme1, /mnt/nvme2]
    dst_dirs: [/mnt/nvme1/done]
    rules: {max_jobs: 6, max_jobs_per_tmp: 3, stagger_step: "2:1", max_before_step: 1}
    plotter: {kind: madmax, threads: 16, farmer_public_key: "{{ farmer_key }}", pool_contract_address: "{{ pool }}"}
    destinations:
      - {path: /mnt/hdd01/plots, must_be_mount: true}
      - {path: /srv/plots, host: storage1.example.net, user: plotter, free_bytes: 4000000000000}
  register: plotfleet_pass_result

- name: What would start and move, and why not
  plotfleet.chia.plot_pass:
    log_dir: /var/log/plotfleet
    state_dir: /var/lib/plotfleet
    tmp_dirs: [/mnt/nvme1]
    plotter: {kind: chiapos, python: /opt/venv/bin/python, k: 20, stripe: 2000, buckets: 32}
    destinations: [{path: /mnt/hdd01/plots}]
  check_mode: true
  register: preview

- name: Print the decision
  ansible.builtin.debug:
    msg: "{{ preview.start.would_start | length }} to start; {{ preview.move.would_move | length }} to move"

- name: Clean up and start now; leave the moves for the offers the storage hosts make in this same round
  plotfleet.chia.plot_pass:
    log_dir: /var/log/plotfleet
    state_dir: /var/lib/plotfleet
    tmp_dirs: [/mnt/nvme1]
    dst_dirs: [/mnt/nvme1/done]
    plotter: {kind: madmax, threads: 16, farmer_public_key: "{{ farmer_key }}", pool_contract_address: "{{ pool }}"}
    defer_move: true
  register: first_round

- name: Move what waited, to this pass's offers
  plotfleet.chia.plot_pass:
    mode: move
    log_dir: /var/log/plotfleet
    state_dir: /var/lib/plotfleet
    tmp_dirs: [/mnt/nvme1]
    dst_dirs: [/mnt/nvme1/done]
    plotter: {kind: madmax}
    destinations: [{path: /srv/plots, host: storage1.example.net, free_bytes: 4000000000000}]
  when: first_round.move.deferred | default(false)
"""

RETURN = r"""
reasons:
  description: Why nothing (more) starts or moves - C(start.reasons), then C(move.reasons).
  returned: always
  type: list
  elements: str
  sample: ["host: 4 jobs running (limit 4)"]
host_state:
  description:
    - The host state gathered at the start of the pass - the return values of M(plotfleet.chia.plot_info)
      (C(jobs), C(history), C(dirs), C(transfers), C(load), C(host_warnings), ...; with O(storage_dirs) also
      C(storage_incoming), C(replot_room), C(replot_status) as plot_info returns them for a storage host).
  returned: except in O(mode=move)
  type: dict
cleanup:
  description:
    - What M(plotfleet.chia.plot_stop) C(ended=true cleanup=true) returns (C(jobs), C(temp_files), C(deleted),
      C(summary)), or C({skipped - true, skip_reason}) when O(cleanup_dead_tmp) is off or no dead job left
      temp files.
  returned: always
  type: dict
start:
  description:
    - What M(plotfleet.chia.plot_start) returns (C(started), C(would_start), C(reasons), C(decision)), or
      C({skipped - true, skip_reason}) when O(start_enabled=false).
  returned: always
  type: dict
  sample: {changed: false, started: [], would_start: [], reasons: ["host: 4 jobs running (limit 4)"]}
move:
  description:
    - What M(plotfleet.chia.plot_move) returns (C(moved), C(started), C(completed), C(would_move), C(reasons),
      C(transfers)), or C({skipped - true, skip_reason}) when O(move_enabled=false) or there are no destinations;
      with O(defer_move) and plots that wait for the offers, C({skipped - true, deferred - true, plots}).
  returned: always
  type: dict
  sample: {changed: false, moved: [], started: [], completed: [], would_move: [], reasons: [], transfers: []}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

import ansible_collections.plotfleet.chia.plugins.module_utils.compiled_cache  # noqa: E402,F401  (first: .pyc cache)
from ansible_collections.plotfleet.chia.plugins.module_utils import host_pass, options  # noqa: E402


def argument_spec():
    return options.host_argument_spec(
        metrics_path=dict(type="path"),
        storage_dirs=dict(type="list", elements="path", default=[]),
        mode=dict(type="str", choices=["plotter", "storage", "move"], default="plotter"),
        defer_move=dict(type="bool", default=False),
        replot=dict(type="dict"),
        cleanup_dead_tmp=dict(type="bool", default=True),
        start_enabled=dict(type="bool", default=True),
        move_enabled=dict(type="bool", default=True),
        start_problems=dict(type="list", elements="str", default=[]),
        dir_variables=dict(type="dict", default={}),
        **dict(options.start_options(), **options.move_options())
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = dict(module.params)
    problems = host_pass.option_problems(params)
    if problems:
        module.fail_json(msg="; ".join(problems), changed=False)
    options.prepare_plotter(params, keep_template=not module.check_mode)
    warnings = []
    try:
        result = host_pass.run(params, module.check_mode, warnings)
    except host_pass.PassError as exc:
        module.fail_json(msg=exc.msg, **exc.result)
    for warning in warnings:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
