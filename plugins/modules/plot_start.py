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
options:
  plotter:
    description: What to plot and with which plotter.
    type: dict
    required: true
    suboptions:
      kind:
        description:
          - V(chia) runs C(chia plots create -k K -n N -t TMP -2 TMP2 -d DST [-r] [-u] [-b] -f F (-p P|-c C) -x)
            (C(--override-k) added for k < 32; k 25..35, as chia refuses k < 25).
          - V(chiapos) runs the PyPI chiapos module under O(plotter.python) through a small driver that
            plotfleet installs in C(<state_dir>/bin/) (same flags plus C(-s) stripe); k 18..35. Without keys
            it writes a throw-away memo (for tests and demos).
          - V(madmax) runs C(chia_plot -k K -n N [-r] [-u] -t TMP/ -2 TMP2/ -d DST/ -f F (-p P|-c C) [-C L]);
            k 25..34 (k > 32 needs madMAx's k34 build as O(plotter.binary)).
          - V(bladebit) runs BladeBit 3 C(bladebit -f F (-p P|-c C) -n N [-t T] [--compress L] MODE
            [-b B -t1 TMP -t2 TMP2] DST), MODE from O(plotter.bladebit_mode); k 32 only.
          - V(bladebit_cuda) runs BladeBit CUDA C(bladebit_cuda -f F -p P|-c C -n N [-t T] [--compress L]
            cudaplot [EXTRA] [-t1 TMP -t2 TMP2] DST); C(-t1)/C(-t2) only when O(plotter.extra_args) holds
            C(--disk-128) or C(--disk-16); k 32, levels 0..7 and 9. One output dir, chosen by plotfleet (BladeBit
            round-robins several without a space check); give a large O(plotter.count), as the first plot of a
            process pays a long buffer allocation. One job per process, with a current plot.
          - V(gigahorse) runs the Gigahorse GPU plotter C(cuda_plot_k32 -n N -C L -t TMP/ [-2 TMP2/] -d DST/ -f F
            -p P|-c C); C(-2) (partial-RAM mode) only when the job's tmp2 dir is not its tmp dir. Levels 1..9,
            11..20 and 29..33 (C29+ need O(plotter.binary) C(cuda_plot_k32_v3)); k 26, 29..34 with the matching
            C(cuda_plot_kNN) as O(plotter.binary). It copies each finished plot from TMP to DST itself.
          - V(pos2) makes PoS2 plots (C(plot-k{k}-{id}.plot2), chia-blockchain 2.7.5's naming) with PyPI
            C(chia_rs) under O(plotter.python) through a small driver that plotfleet installs in
            C(<state_dir>/bin/) (C(-k K -n N [-s STRENGTH] -t TMP -d DST [-f F (-p P|-c C)])); it writes
            C(<name>.plot2.tmp) in TMP, copies it to DST when that is another dir, then renames. k 18..32, even
            only (mainnet k28). Plot id and memo as chia computes them; without keys, random throw-away keys
            (for tests and demos).
          - V(custom) runs any plotter described by the template O(plotter.custom) (k 16..40, keys optional -
            the template passes what it needs). plotfleet prints one header line into the log (the template's
            patterns, k and dirs), then execs the plotter in the same process, so the log describes itself.
        type: str
        required: true
        choices: [chia, chiapos, madmax, bladebit, bladebit_cuda, gigahorse, pos2, custom]
      custom:
        description:
          - The template of a V(custom) plotter (kind V(custom) only). Walk-through in C(docs/plotters.md).
        type: dict
        suboptions:
          name:
            description: Its name (letters, digits, C(._+-)); plot_info shows it as the jobs' C(custom).
            type: str
            default: custom
          argv:
            description:
              - The command as a list, one element per argument (never a shell string). Placeholders, filled for
                each job - C({tmp_dir}), C({tmp2_dir}), C({dst_dir}) (the dirs plotfleet chose; C({dst_dir}) is
                required), C({k}), C({count}), C({threads}), C({buckets}), C({buffer_mib}), C({stripe}),
                C({strength}), C({compression}), C({farmer_public_key}), C({pool_public_key}),
                C({pool_contract_address}), C({python}), C({binary}) (from the other O(plotter) options; one
                without a value is an error).
              - The first element is the program (a path, or a name looked up in PATH).
            type: list
            elements: str
            required: true
          process:
            description: How plot_info recognises its processes (also ones started by hand).
            type: dict
            suboptions:
              name:
                description: Executable name (basename of argv[0]). Defaults to the template's program's.
                type: str
              argv_pattern:
                description: A regular expression the space-joined command line must contain.
                type: str
          patterns:
            description:
              - Regular expressions (Python C(re), searched in each log line) that let plot_info follow a plot.
                All optional; without them a job is tracked by its process (alive or dead) and its files.
            type: dict
            suboptions:
              start:
                description: A new plot begins (also - an C(id) line when the current plot has an id already).
                type: str
              id:
                description: The plot id, in group C(id) (or the first group), 64 hex digits.
                type: str
              phase:
                description: The plot enters phase N (group C(phase), 1..4, 5 = final copy; without a group, the next).
                type: str
              progress:
                description: Fraction done 0..1 in group C(progress) (or the first group); above 1, a percentage.
                type: str
              finished:
                description: The plot is complete; optional group C(file) with its path (or name in the dst dir).
                type: str
              failed:
                description: The plot failed; optional group C(error) with the reason (else the whole line).
                type: str
      binary:
        description:
          - Plotter executable, a path or a name looked up in PATH. Paths with spaces work (for example the
            macOS app bundle C(/Applications/Chia.app/Contents/Resources/app.asar.unpacked/daemon/chia)).
          - Defaults to C(chia), C(chia_plot), C(bladebit), C(bladebit_cuda) or C(cuda_plot_k32). Not used by
            V(chiapos).
        type: str
      python:
        description: Python interpreter with the PyPI C(chiapos) package (kind V(chiapos)) or C(chia_rs) (kind
          V(pos2)).
        type: str
        default: python3
      strength:
        description: PoS2 plot strength (C(-s), kind V(pos2) only), 2..255; the driver's default 2 when unset.
        type: int
      k:
        description: Plot size.
        type: int
        default: 32
      count:
        description: Plots per job (C(-n)).
        type: int
        default: 1
      threads:
        description: Threads (C(-r), BladeBit C(-t)). The plotter's default when unset.
        type: int
      buckets:
        description: Buckets (C(-u), BladeBit diskplot C(-b)). The plotter's default when unset.
        type: int
      buffer_mib:
        description: Memory buffer in MiB (C(-b)), kinds V(chia) and V(chiapos).
        type: int
      stripe:
        description: Stripe size (kind V(chiapos) only). Small k needs a small stripe (k18 - 2000).
        type: int
      tmp2_dir:
        description:
          - Second temporary dir (C(-2), C(-t2)) for every job. Defaults to the job's tmp dir.
        type: path
      farmer_public_key:
        description: Farmer public key (96 hex digits). Required except for kind V(chiapos).
        type: str
      pool_public_key:
        description: Pool public key (96 hex digits), for solo (OG) plots.
        type: str
      pool_contract_address:
        description: Pool contract address (C(xch1...)), for pool (NFT) plots.
        type: str
      compression:
        description:
          - Compression level 0..9 (V(madmax) C(-C), V(bladebit) and V(bladebit_cuda) C(--compress)); 0 = none.
          - V(gigahorse) C(-C) 1..9, 11..20, 29..33 (it makes no uncompressed plots).
        type: int
        default: 0
      bladebit_mode:
        description: BladeBit command; V(diskplot) uses the tmp dirs, V(ramplot) and V(cudaplot) do not.
        type: str
        default: ramplot
        choices: [ramplot, diskplot, cudaplot]
      extra_args:
        description:
          - More plotter arguments, appended as they are (for BladeBit before the destination dir).
        type: list
        elements: str
        default: []
      nice:
        description: Nice level of the plotter (-20..19).
        type: int
  pause_file:
    description:
      - While this file exists no plot starts (drain); running plots go on. Defaults to C(<state_dir>/pause).
    type: path
  max_starts:
    description: At most this many plots start in one call; each counts for the rules before the next.
    type: int
    default: 1
  start_timeout:
    description: Seconds to wait for a new plotter to show its plot C(ID:) before returning.
    type: float
    default: 5.0
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
      type: list
      elements: dict
    next_start_after:
      description: When only time-based rules (interval, backoff) block, the epoch time they stop blocking.
      type: float
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.plotfleet.chia.plugins.module_utils import (  # noqa: E402
    chiapos_driver,
    hoststate,
    options,
    pos2_driver,
    starting,
)
from ansible_collections.plotfleet.chia.plugins.module_utils.policy import start as policy  # noqa: E402

DRIVERS = {"chiapos": chiapos_driver, "pos2": pos2_driver}


def install_driver(state_dir, kind):
    """The driver script of a driver-run plotter kind, installed in state_dir/bin."""
    return DRIVERS[kind].install_driver(state_dir)

PLOTTER_SPEC = dict(
    kind=dict(type="str", required=True, choices=["chia", "chiapos", "madmax", "bladebit",
                                                  "bladebit_cuda", "gigahorse", "pos2", "custom"]),
    custom=dict(type="dict", options=options.CUSTOM_PLOTTER_SPEC),
    binary=dict(type="str"),
    python=dict(type="str", default="python3"),
    k=dict(type="int", default=32),
    count=dict(type="int", default=1),
    threads=dict(type="int"),
    buckets=dict(type="int"),
    buffer_mib=dict(type="int"),
    stripe=dict(type="int"),
    strength=dict(type="int"),
    tmp2_dir=dict(type="path"),
    farmer_public_key=dict(type="str", no_log=False),
    pool_public_key=dict(type="str", no_log=False),
    pool_contract_address=dict(type="str"),
    compression=dict(type="int", default=0),
    bladebit_mode=dict(type="str", default="ramplot", choices=["ramplot", "diskplot", "cudaplot"]),
    extra_args=dict(type="list", elements="str", default=[]),
    nice=dict(type="int"),
)


def main():
    module = AnsibleModule(
        argument_spec=options.host_argument_spec(
            rules=dict(type="dict", options=policy.RULES_SUBOPTIONS, apply_defaults=True),
            plotter=dict(type="dict", required=True, options=PLOTTER_SPEC),
            pause_file=dict(type="path"),
            max_starts=dict(type="int", default=1),
            start_timeout=dict(type="float", default=5.0),
        ),
        supports_check_mode=True,
    )
    params = dict(module.params)
    options.prepare_plotter(params, keep_template=not module.check_mode)
    errors, binary = starting.validate(params)
    if errors:
        module.fail_json(msg="; ".join(errors), errors=errors, changed=False)
    params["_binary"] = binary

    try:
        result = starting.run(params, module.check_mode, hoststate.gather, install_driver)
    except starting.StartError as exc:
        module.fail_json(msg=exc.msg, **exc.result)
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
