# -*- coding: utf-8 -*-
# Copyright: plotfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of a move (plot_move, plot_pass): where finished plots go and how."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  source_dirs:
    description:
      - Directories to take finished plots from, besides O(dst_dirs).
      - A directory that is also a local destination is never a source.
    type: list
    elements: path
    default: []
  destinations:
    description:
      - Where plots may go, tried in order of free space minus the bytes reserved by transfers in
        flight (a destination on the source's own filesystem first, as a rename costs nothing).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Directory on the destination host (absolute).
        type: str
        required: true
      host:
        description:
          - Storage host to rsync to over SSH. V(null) means a directory on this host.
        type: str
      user:
        description: SSH user on O(destinations[].host).
        type: str
      port:
        description: SSH port on O(destinations[].host).
        type: int
      ssh_key:
        description: Private key file on this host used to reach O(destinations[].host).
        type: path
      must_be_mount:
        description:
          - Skip this destination unless O(destinations[].path) is a mount point (an unmounted
            disk would otherwise fill the filesystem below it).
        type: bool
        default: false
      mounted:
        description:
          - Whether a remote O(destinations[].path) is a mount point, as its storage host's
            M(plotfleet.chia.plot_info) saw it this pass (filled in by
            P(plotfleet.chia.move_destinations#filter)). With O(destinations[].must_be_mount), V(false)
            rules the dir out before any choice (reason C(not a mount point)); unknown leaves the check
            to the transfer worker at the far end. Local destinations are always checked here.
        type: bool
      problem:
        description:
          - Why the storage host found this dir unusable this pass (for example C(No such file or
            directory)); the dir is then skipped with this reason, the host's other dirs are still used.
        type: str
      free_bytes:
        description:
          - Free bytes at a remote destination, gathered by the controller in the same pass.
            Local destinations are always measured. Unknown free space does not block a transfer
            (the worker checks before copying).
        type: int
      min_free_bytes:
        description: Bytes to leave free at this destination.
        type: int
        default: 0
      incoming_bytes:
        description:
          - Bytes other hosts are still sending to this destination (their running transfers, as
            plot_info reports them in the same pass); they are taken off its free space, so that
            plotters sharing a storage dir do not all start copies that only one of them can finish.
            The reconcile role fills it in (P(plotfleet.chia.move_destinations#filter)).
        type: int
        default: 0
      incoming_plots:
        description:
          - The storage host's own count behind O(destinations[].incoming_bytes), by plot file name (bytes
            each copy still has to write; P(plotfleet.chia.move_destinations#filter) fills it in from the
            storage host's offer). A copy of this plotter's own among them is not counted twice - its
            running transfer is reserved already - its bytes are taken out, and the larger of what is left
            and O(destinations[].incoming_senders_bytes) counts.
        type: dict
      incoming_senders_bytes:
        description:
          - The part of O(destinations[].incoming_bytes) the other plotters' own gathered transfers account
            for (P(plotfleet.chia.move_destinations#filter); 0 in a reconcile pass, where each plotter gathers
            in its own call). Only read with O(destinations[].incoming_plots).
        type: int
        default: 0
      cpu_aes:
        description:
          - Whether the destination host's CPU has AES instructions, gathered by the controller
            (M(plotfleet.chia.plot_info) RV(plotfleet.chia.plot_info#module:load.cpu_aes)). See O(ssh_ciphers).
        type: bool
      replot:
        description:
          - Replot at this remote destination (docs/replot.md), filled in by
            P(plotfleet.chia.move_destinations#filter) only where its storage host has it on -
            C(room_bytes) (what replot could free there for one arrival now; counted as free space when
            choosing), C(arrivals) (the plot formats that may make room there, V(v1) C(.plot) and V(v2)
            C(.plot2); C(room_bytes) is counted only for a plot of one of them) and C(policy) (the storage
            host's C(plotfleet_replot) with C(storage_dirs), and C(offered_at), the offer's identity,
            stamped by P(plotfleet.chia.storage_offer#filter)). A transfer
            there asks the storage agent for a C(replot-session) - the agent deletes the fewest old plots that
            make room, under its lock, and the transfer record keeps what went (its C(replot)). Unset - no replot.
        type: dict
  max_transfers_per_destination:
    description:
      - Transfers running at once towards one destination.
      - For a remote destination the storage host enforces it across all plotters - the worker's ssh session
        takes a slot in the dir (under a lock on the storage host, C(~/.plotfleet/storage-slots.json) of
        the SSH user; a slot whose process is gone is free again) and also needs room beside the copies
        already running there. Refused, the copy goes to the next dir of that host this run found usable
        (fewest transfers running, then most free space), else it fails as V(busy) and waits for the next run.
    type: int
    default: 1
  max_transfers_per_source:
    description:
      - Transfers running at once from one source filesystem.
      - An NVMe staging disk reads far faster than one HDD writes (2-3 GB/s against about 250 MB/s), and a
        GPU plotter needs 2-4 HDDs written at once to keep up, so the default is 4 (sizing in docs/moving.md).
      - Each transfer's worker takes the next waiting plot itself when its copy is done (a drain worker),
        within these caps, until none is left.
    type: int
    default: 4
  retry_after_s:
    description:
      - Seconds to wait before a failed transfer of a plot is tried again (after a full, unmounted or
        missing destination the plot goes elsewhere at once). The reason and the time left are in RV(reasons).
      - The decision reads the failure kind (C(transfers[].failure) of the result), never the message text.
      - V(0) means "storage is back, retry now" - every failed transfer is tried again in this run,
        a C(conflict) too (it is checked again, nothing is overwritten), and the destinations held as
        full, not mounted or missing are released. Otherwise a C(conflict) waits for a person.
    type: int
    default: 600
  max_attempts:
    description:
      - Failed transfers of one plot after which it is no longer retried; the plot stays where it
        is and RV(reasons) names the record file to delete to try again.
      - A refused slot (C(busy)) and a held destination (C(full), C(unmounted), C(missing) - a full disk,
        or replot paused or at a limit there) are no failure of the plot and are not counted.
    type: int
    default: 5
  bwlimit_kbps:
    description: Bandwidth limit per transfer in KiB/s (rsync C(--bwlimit); also applied to local copies).
    type: int
  rsync_path:
    description: The C(rsync) program on this host. Default is C(rsync) from E(PATH).
    type: str
  ssh_options:
    description:
      - Extra C(ssh) arguments for remote destinations, for example
        V(["-o", "StrictHostKeyChecking=accept-new"]). C(BatchMode=yes) is always set.
    type: list
    elements: str
    default: []
  ssh_ciphers:
    description:
      - SSH ciphers for remote transfers (encryption is most of the CPU a transfer costs).
      - V(auto) prefers AES-GCM when this host and the destination both have AES instructions
        (O(destinations[].cpu_aes)), the fastest cipher there, and otherwise leaves ssh's default
        (chacha20-poly1305, faster without AES hardware, as on a Raspberry Pi 4).
      - V(default) always leaves the choice to ssh; any other value is passed as C(-o Ciphers=VALUE).
      - A C(Ciphers) option in O(ssh_options) wins over this one.
    type: str
    default: auto
  delete_source:
    description: Delete the source plot after the copy is verified and renamed into place.
    type: bool
    default: true
  python:
    description: Python interpreter that runs the detached transfer worker. Default is the module's own.
    type: str
"""
