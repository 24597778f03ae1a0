"""Factor library: the versioned factors file, region resolution and overrides.

Every factor lives in one JSON file (``ipcc2019.v1.json`` beside this module) with its value,
95 % bounds, distribution, unit, source (IPCC table or equation) and confirmation status.
Regions map generic names (``rice.ef_c``) to table rows (``rice.ef_c.south_asia``) through
``aliases`` and may replace any factor through ``overrides``; a region may name a ``parent``
whose aliases and overrides it inherits, so an Indian state only lists what differs.

An alternative file (e.g. with India state values) can be used without code changes by
setting the environment variable ``CARBON_ENGINE_FACTORS`` to its path, or by passing a
:class:`FactorLibrary` to :func:`carbon_engine.estimate`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

DEFAULT_FILE = "ipcc2019.v1.json"
ENV_VAR = "CARBON_ENGINE_FACTORS"
DISTRIBUTIONS = ("constant", "normal", "lognormal")


@dataclass(frozen=True)
class FactorSpec:
    """One factor: default value, 95 % bounds, distribution and provenance."""

    name: str
    value: float
    low: float | None
    high: float | None
    distribution: str
    unit: str
    source: str
    status: str
    bounds: tuple[float | None, float | None] = (0.0, None)
    note: str | None = None
    range_status: str | None = None  # status of low/high when it differs from the value's (e.g. value C, range U)

    @property
    def range_unconfirmed(self) -> bool:
        """True when the drawn range (not the value) is unconfirmed."""
        return self.uncertain and (self.range_status or self.status) == "U"

    @property
    def uncertain(self) -> bool:
        """True when the factor is drawn in the Monte Carlo (has a range and a distribution)."""
        return self.distribution != "constant" and self.low is not None and self.high is not None

    @property
    def range(self) -> tuple[float, float]:
        """The 95 % bounds (low, high) of a factor that has them (a ValueError for one without)."""
        if self.low is None or self.high is None:
            raise ValueError(f"factor {self.name} has no range (low/high)")
        return self.low, self.high

    @classmethod
    def from_json(cls, name: str, raw: Mapping[str, Any]) -> FactorSpec:
        dist = raw.get("distribution", "constant")
        if dist not in DISTRIBUTIONS:
            raise ValueError(f"factor {name}: unknown distribution {dist!r}")
        bounds = raw.get("bounds") or [0.0, None]
        spec = cls(
            name=name,
            value=float(raw["value"]),
            low=None if raw.get("low") is None else float(raw["low"]),
            high=None if raw.get("high") is None else float(raw["high"]),
            distribution=dist,
            unit=raw.get("unit", ""),
            source=raw["source"],
            status=raw.get("status", "U"),
            bounds=(bounds[0], bounds[1]),
            note=raw.get("note"),
            range_status=raw.get("range_status"),
        )
        if spec.range_status not in (None, "T", "C", "U"):
            raise ValueError(f"factor {name}: unknown range_status {spec.range_status!r}")
        if dist != "constant" and (spec.low is None or spec.high is None or not spec.low <= spec.value <= spec.high):
            raise ValueError(f"factor {name}: value must lie within [low, high] for a drawn factor")
        if dist == "lognormal" and (spec.low or 0.0) <= 0.0:
            raise ValueError(f"factor {name}: lognormal needs low > 0")
        return spec


@dataclass(frozen=True)
class FactorLibrary:
    """The parsed factors file. Use :meth:`for_region` to get the factors that apply."""

    version: str
    factors: Mapping[str, FactorSpec]
    regions: Mapping[str, Mapping[str, Any]]
    gwp: Mapping[str, Mapping[str, Any]]
    path: str = ""
    sha256: str = ""  # of the file's bytes (or of the canonical JSON when built from a dict)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], path: str = "", sha256: str | None = None) -> FactorLibrary:
        factors = {n: FactorSpec.from_json(n, raw) for n, raw in doc["factors"].items()}
        if sha256 is None:
            sha256 = hashlib.sha256(json.dumps(doc, sort_keys=True).encode("utf-8")).hexdigest()
        return cls(
            version=doc["version"], factors=factors, regions=doc["regions"], gwp=doc["gwp"], path=path, sha256=sha256
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> FactorLibrary:
        """Load a factors file; default: $CARBON_ENGINE_FACTORS or the packaged file."""
        path = path or os.environ.get(ENV_VAR)
        if path:
            raw = Path(path).read_bytes()
        else:
            raw = resources.files(__name__).joinpath(DEFAULT_FILE).read_bytes()
            path = f"carbon_engine/factors/{DEFAULT_FILE}"
        return cls.from_dict(json.loads(raw.decode("utf-8")), str(path), hashlib.sha256(raw).hexdigest())

    def region_chain(self, region: str) -> list[str]:
        """Region and its ancestors, most specific first."""
        chain: list[str] = []
        current: str | None = region
        while current is not None:
            if current not in self.regions:
                raise KeyError(current)
            if current in chain:
                raise ValueError(f"region parent cycle at {current}")
            chain.append(current)
            current = self.regions[current].get("parent")
        return chain

    def for_region(self, region: str) -> RegionFactors:
        """Factors with the region's aliases and overrides applied (child wins over parent)."""
        aliases: dict[str, str] = {}
        specs = dict(self.factors)
        for name in reversed(self.region_chain(region)):
            entry = self.regions[name]
            aliases.update(entry.get("aliases", {}))
            for fname, patch in entry.get("overrides", {}).items():
                base = specs.get(fname)
                merged = {**_spec_to_json(base), **patch} if base else dict(patch)
                if base and ("low" in patch or "high" in patch) and "range_status" not in patch:
                    merged["range_status"] = None  # a new range does not inherit the old range's status
                specs[fname] = FactorSpec.from_json(fname, merged)
        return RegionFactors(region=region, version=self.version, specs=specs, aliases=aliases)


def _spec_to_json(spec: FactorSpec) -> dict[str, Any]:
    return {
        "value": spec.value,
        "low": spec.low,
        "high": spec.high,
        "distribution": spec.distribution,
        "unit": spec.unit,
        "source": spec.source,
        "status": spec.status,
        "bounds": list(spec.bounds),
        "note": spec.note,
        "range_status": spec.range_status,
    }


@dataclass(frozen=True)
class RegionFactors:
    """Factors resolved for one region: generic names go through the region's aliases."""

    region: str
    version: str
    specs: Mapping[str, FactorSpec]
    aliases: Mapping[str, str] = field(default_factory=dict)

    def resolve(self, name: str) -> str:
        """Concrete factor name for a generic or concrete name."""
        return self.aliases.get(name, name)

    def spec(self, name: str) -> FactorSpec:
        resolved = self.resolve(name)
        if resolved not in self.specs:
            raise KeyError(f"factor {resolved!r} is not defined for region {self.region!r}")
        return self.specs[resolved]

    def has(self, name: str) -> bool:
        return self.resolve(name) in self.specs

    def alias(self, name: str) -> str | None:
        return self.aliases.get(name)

    def unconfirmed(self) -> list[str]:
        """Names of factors whose status is U (unconfirmed)."""
        return sorted(n for n, s in self.specs.items() if s.status == "U")


@lru_cache(maxsize=1)
def default_library() -> FactorLibrary:
    """The library used when none is passed (cached; respects $CARBON_ENGINE_FACTORS at first use)."""
    return FactorLibrary.load()
