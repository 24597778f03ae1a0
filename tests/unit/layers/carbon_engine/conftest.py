"""Make ``carbon_engine`` (layer source tree) and the test helpers importable."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAYER = HERE.parents[3] / "layers" / "carbon_engine" / "python"
for path in (LAYER, HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
