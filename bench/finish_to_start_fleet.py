"""The SSH fleet of tests/fleet for bench_finish_to_start.py --fleet: one plotter + one storage host.

Each host is a network + PID + mount namespace with its own sshd (tests/fleet/fleetlib.py, unchanged;
one plotter named). The plotter sees only its own processes, so max_jobs 1 is the slot here. Pids in
its launch records are the namespace's: host_pid() finds the same process in this machine's /proc.
Held under the fleet lock (/tmp/plotfleet-fleet.lock) from build to teardown.
"""

import configparser
import contextlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for path in (REPO / "tests", REPO / "tests" / "fleet"):
    sys.path.insert(0, str(path))
import fleetlib  # noqa: E402
import fleetlock  # noqa: E402

PLOTTER = "pf-plot1"


@contextlib.contextmanager
def fleet_slots():
    """Build the fleet under its lock; yield make_slot(work, k) (a clean fleet each call); tear down."""
    with fleetlock.held():
        fleetlib.PLOTTERS = (PLOTTER,)
        fleet = fleetlib.Fleet()
        try:
            fleet.build()
            yield lambda work, k: make_slot(fleet, work, k)
        finally:
            problems = fleet.teardown()
            if problems:
                sys.stderr.write("fleet teardown problems: %s\n" % "; ".join(problems))


def checkout_ssh_args():
    """The checkout's ssh_args (ControlPersist=60s), as a real fleet run with this ansible.cfg has them."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(str(REPO / "ansible.cfg"))
    return config.get("ssh_connection", "ssh_args")


def make_slot(fleet, work, k):
    fleet.reset()  # no plot, file or record of an earlier T
    plotter = fleet.hosts[PLOTTER]
    slot_rules = {"plotfleet_tmp_dirs": plotter.tmp_dirs[:1], "plotfleet_k": k, "plotfleet_max_jobs": 1,
                  "plotfleet_max_jobs_per_tmp": 1, "plotfleet_max_starts": 1,
                  "plotfleet_min_start_interval_minutes": 0, "plotfleet_crash_window_minutes": 0}
    groups = {"plotters": {"hosts": {}}, "storage": {"hosts": {}}}
    for group, host in (("plotters", plotter), ("storage", fleet.storage)):
        hvars = fleet.host_vars(host.name, {PLOTTER: slot_rules})
        hvars["ansible_ssh_args"] = "%s -o ControlPath=%s/%%C" % (checkout_ssh_args(), fleet.control_dir)
        groups[group]["hosts"][host.name] = hvars
    inventory = work / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"children": groups}}, indent=1))
    return {"state": Path(plotter.state_dir), "dst": Path(plotter.dst_dirs[0]), "inventory": inventory,
            "host_pid": lambda pid: host_pid(plotter, pid)}


def host_pid(host, ns_pid):
    """This machine's pid of the process that is ns_pid inside the host's PID namespace (None: gone)."""
    for pid in fleetlib.ns_pids(host.ns):
        try:
            if fleetlib.ns_local_pid(pid) == ns_pid:
                return pid
        except OSError:
            continue
    return None
