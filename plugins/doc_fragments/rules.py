# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The start rules (policy.RULES_SUBOPTIONS): when a host may start a new plot."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  rules:
    description:
      - "When a new plot may start on this host. All rules are optional; every rule that says no adds a
        reason to RV(reasons), for example C(tmp /mnt/nvme1: 1 job before phase 2:1 (limit 1))."
      - Running jobs are the live plotter processes found on the host (launched by plotfleet or by hand).
    type: dict
    suboptions:
      max_jobs:
        description: At most this many plotting jobs on the host.
        type: int
        default: 4
      max_jobs_per_tmp:
        description: At most this many jobs using one tmp dir.
        type: int
        default: 2
      max_jobs_per_tmp_overrides:
        description:
          - Per tmp dir caps that replace O(rules.max_jobs_per_tmp), a dict of tmp dir path to job limit.
        type: dict
        default: {}
      stagger_step:
        description:
          - Phase stagger per tmp dir, with O(rules.max_before_step). A job counts as "before" while its
            step (C(phase:sub-step), e.g. C(2:1) is the first step of phase 2) is lower than this.
        type: str
        default: "2:1"
      max_before_step:
        description: At most this many jobs per tmp dir before O(rules.stagger_step).
        type: int
        default: 1
      min_start_interval_minutes:
        description:
          - Minutes between any two starts on the host (from the newest start among running jobs and
            history). V(0) turns the rule off.
        type: float
        default: 0.0
      max_phase1_jobs:
        description: At most this many jobs in phase 1 on the host. Off when unset.
        type: int
      check_free_space:
        description:
          - Require free space for the new plot - the tmp dir needs the plot's working space (chiapos about
            2.4x the final size, 243 GiB for k32; madMAx 2.2x; BladeBit diskplot 4.1x; BladeBit RAM/CUDA
            none), the dst dir the final size (times O(plotter.count)), O(plotter.tmp2_dir) the final size -
            each after subtracting what running jobs targeting that dir will still write.
          - Final sizes are 101.4 GiB for k32 and double per k (measured k18 3.6 MB, k22 73 MB, k25 677 MB);
            compressed BladeBit plots are smaller (C1 87.5 GiB ... C9 74.8 GiB at k32).
        type: bool
        default: true
      tmp_space_bytes:
        description: Working space of one plot on its tmp dir, replacing the estimate above.
        type: int
      dst_space_bytes:
        description: Final size of one plot, replacing the estimate above.
        type: int
      max_load_per_cpu:
        description: Start only while the 1-minute load average divided by the number of CPUs is at most this.
        type: float
      min_cpu_idle_percent:
        description: Start only while the CPU is at least this idle (percent).
        type: float
      min_mem_available_bytes:
        description: Start only while at least this much memory is available.
        type: int
      time_windows:
        description:
          - Start only inside one of these local-time windows, C(HH:MM-HH:MM); a window may cross midnight
            (V(22:00-06:00)). Empty means any time. Running plots are never stopped by the window.
        type: list
        elements: str
        default: []
      crash_window_minutes:
        description:
          - Crash-loop backoff. A job that failed or died within this many minutes of starting is a crash;
            after N crashes in a row no plot starts for O(rules.backoff_base_minutes) * 2^(N-1) minutes
            (at most O(rules.backoff_max_minutes)) after the last one. A finished job, or one that lived
            longer than this, ends the streak. N counts processes - a multi-plot process (C(-n N)) that dies is
            one crash, however many of its plots it leaves dead. V(0) turns backoff off.
        type: float
        default: 10.0
      backoff_base_minutes:
        description: First backoff delay in minutes.
        type: float
        default: 5.0
      backoff_max_minutes:
        description: Longest backoff delay in minutes.
        type: float
        default: 240.0
"""
