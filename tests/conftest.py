import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import plotfleet_testlib  # noqa: E402,F401  (puts collections/ on sys.path for module_utils imports)
