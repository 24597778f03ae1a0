"""API handlers validate seasons with the engine's vocabulary at cold start: that must not load NumPy."""

import subprocess
import sys
from pathlib import Path

LAYER = Path(__file__).resolve().parents[4] / "layers" / "carbon_engine" / "python"


def test_request_models_import_without_numpy():
    code = (
        f"import sys; sys.path.insert(0, {str(LAYER)!r}); import carbon_engine, carbon_engine.models; "
        "print('numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_estimate_loads_numpy_when_called():
    code = (
        f"import sys; sys.path.insert(0, {str(LAYER)!r}); from carbon_engine import estimate; "
        "from carbon_engine.montecarlo import ACTIVITY_CLASSES; print('numpy' in sys.modules, len(ACTIVITY_CLASSES))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "True 10"
