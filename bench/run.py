"""Run every benchmark in bench/ (bench_*.py) in turn with the current Python; print their output."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def main():
    failures = 0
    for script in sorted(BENCH.glob("bench_*.py")):
        print("=== %s" % script.name, flush=True)
        failures += subprocess.call([sys.executable, str(script)] + sys.argv[1:]) != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
