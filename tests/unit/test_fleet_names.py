"""Several namespace fleets side by side (`make fleet` on pytest-xdist workers): fleet N (worker gwN) has
its own name for everything the machine holds once (namespaces, links, bridge, subnet, tmpfs, lock), and
fleet 0 keeps the names a fleet alone has always had."""

import json
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
DUMP = ("import json, sys; sys.path[:0] = [%r, %r]; import fleetlib\n"
        "hosts = [fleetlib.Host(n, '/nowhere') for n in fleetlib.PLOTTERS + fleetlib.STORAGE]\n"
        "print(json.dumps({'ns': [h.ns for h in hosts], 'links': [h.veth for h in hosts] + [h.ns + '-n' for h in hosts]"
        " + [fleetlib.BRIDGE], 'ips': [h.ip for h in hosts] + [fleetlib.CONTROLLER_IP],"
        " 'names': [h.name for h in hosts], 'lock': fleetlib.LOCK_PATH, 'tmpfs': fleetlib.SMALL_STORAGE_SOURCE}))"
        % (str(TESTS), str(TESTS / "fleet")))


def names(worker=None):
    env = {"PATH": "/usr/bin:/bin"}
    if worker:
        env["PYTEST_XDIST_WORKER"] = worker
    out = subprocess.run([sys.executable, "-c", DUMP], env=env, stdout=subprocess.PIPE, check=True,
                         universal_newlines=True, timeout=60).stdout
    return json.loads(out)


def test_fleet_0_keeps_its_names():
    alone, gw0 = names(), names("gw0")
    assert alone == gw0
    assert alone["ns"] == ["pf-plot1", "pf-plot2", "pf-store1"] and "pf-br0" in alone["links"]
    assert alone["lock"] == "/tmp/plotfleet-fleet.lock" and alone["tmpfs"] == "pf-small"


def test_fleet_1_shares_nothing_the_machine_holds_once_with_fleet_0():
    zero, one = names("gw0"), names("gw1")
    assert one["names"] == zero["names"], "the tests address hosts by the same inventory names"
    for key in ("ns", "links", "ips"):
        assert not set(one[key]) & set(zero[key]), key
    assert one["lock"] != zero["lock"] and one["tmpfs"] != zero["tmpfs"]
    assert all(len(link) <= 15 for link in one["links"] + zero["links"]), "IFNAMSIZ: 15 characters at most"
