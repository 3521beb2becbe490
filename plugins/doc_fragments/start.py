# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of a start (plot_start, plot_pass): the plotter and how many plots start."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
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
"""
