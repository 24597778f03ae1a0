"""IPCC methods, one module per source/gas. Each exposes ``terms(plots, scenario, ctx)``
returning :class:`carbon_engine.terms.Term` objects (t of gas, or t CO2 for stock changes)."""

from __future__ import annotations

from typing import Protocol

from ..inputs import PlotArrays
from ..terms import Term
from . import biomass, burning, co2, n2o, rice, soc
from .context import MethodContext


class Method(Protocol):
    """A method module: its terms for one scenario (``"baseline"`` or ``"project"``)."""

    def terms(self, plots: PlotArrays, scenario: str, ctx: MethodContext) -> list[Term]: ...


METHODS: tuple[Method, ...] = (rice, n2o, co2, burning, soc, biomass)


def all_terms(plots: PlotArrays, ctx: MethodContext) -> list[Term]:
    """Terms of every method for both scenarios."""
    out: list[Term] = []
    for scenario in ("baseline", "project"):
        for method in METHODS:
            out.extend(method.terms(plots, scenario, ctx))
    return out


__all__ = ["METHODS", "Method", "MethodContext", "all_terms"]
