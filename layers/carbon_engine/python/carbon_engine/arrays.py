"""Array type aliases of the engine: the dtype each activity vector and factor table has.

Annotations only (``numpy.typing``); nothing here runs at evaluation time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
"""Per-plot activity, factor draws and metric values (float64)."""
IntArray = npt.NDArray[np.int64]
"""Category indices (water regime, key of a factor row, plot index of a tree group)."""
BoolArray = npt.NDArray[np.bool_]
"""Per-plot masks."""
AnyArray = npt.NDArray[Any]
"""An array whose dtype the caller chooses (e.g. a list of indices or a slice target)."""
