"""The order in which pytest-xdist's workers get the integration and fleet tests: the longest first.

Each suite keeps its tests' seconds in its durations.json (tests/integration/, tests/fleet/), copied from
tests/output/durations-<suite>.json, which every run writes (tests/conftest.py); copy it again when tests
were added or got much slower. A test not listed counts as the median.

- integration (`--dist loadfile`, SlowestFirst): plain loadfile sends whole files in the order of their
  test count, so a file of long tests sent last keeps one worker busy while the other has nothing left.
  Here the work units go out longest first and the short ones fill the end. A unit is a file (its tests
  share module fixtures and run one after another, as before), except the files in SPLIT_BY_TEST, whose
  tests share nothing: each of their tests is a unit.
- fleet (`--dist worksteal`, dealt): worksteal gives each worker a contiguous share of the collection (the
  first len//2 tests to the first worker) and lets a worker that ran out steal from the end of the
  other's queue. The tests are dealt out longest first, each to the share with the fewest seconds so
  far; each share runs its longest first, so the short tests are left for the end, where stealing evens
  out what is left.
"""

import json
import statistics

# Each Ansible target runs in its own output_dir (test_targets.py); one target takes a minute or two.
SPLIT_BY_TEST = {"tests/integration/test_targets.py"}


def known_seconds(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _median(seconds):
    return statistics.median(seconds.values()) if seconds else 1.0


def dealt(nodeids, workers, seconds):
    """nodeids reordered: `workers` contiguous shares (sized as worksteal cuts them), each longest first."""
    default = _median(seconds)
    ranked = sorted(nodeids, key=lambda nodeid: -seconds.get(nodeid, default))
    sizes, left = [], len(ranked)
    for share in range(workers):  # worksteal: each idle worker takes len(pending) // workers-left
        sizes.append(left // (workers - share))
        left -= sizes[-1]
    shares, sums = [[] for _ in sizes], [0.0] * len(sizes)
    for nodeid in ranked:
        share = min((i for i in range(len(sizes)) if len(shares[i]) < sizes[i]), key=lambda i: sums[i])
        shares[share].append(nodeid)
        sums[share] += seconds.get(nodeid, default)
    return [nodeid for share in shares for nodeid in share]


def unit_of(nodeid):
    """The integration work unit of a test: its file, or the test itself in SPLIT_BY_TEST."""
    path = nodeid.split("::", 1)[0]
    return nodeid if path in SPLIT_BY_TEST else path


def longest_first(workqueue, seconds):
    """Reorder workqueue (an OrderedDict: unit -> its tests) in place, the unit with the most seconds first."""
    default = _median(seconds)
    cost = dict((unit, sum(seconds.get(nodeid, default) for nodeid in tests)) for unit, tests in workqueue.items())
    for unit in sorted(cost, key=lambda unit: -cost[unit]):
        workqueue.move_to_end(unit)


def slowest_first_scheduler(config, log, seconds):
    from xdist.scheduler import LoadFileScheduling

    class SlowestFirst(LoadFileScheduling):
        """loadfile with SPLIT_BY_TEST's tests apart and the longest units first."""

        ordered = False

        def _split_scope(self, nodeid):
            return unit_of(nodeid)

        def _assign_work_unit(self, node):
            if not self.ordered:  # the first call: the whole collection is in the queue
                self.ordered = True
                longest_first(self.workqueue, seconds)
            super()._assign_work_unit(node)

    return SlowestFirst(config, log)
