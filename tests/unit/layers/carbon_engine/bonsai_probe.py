"""Runs inside .venv-crosscheck (bonsai-ipcc 0.5.3, numpy 1.26): prints bonsai's direct N2O (kg N2O)
for the cross-check cases as JSON. Input on argv: {"F_SN": .., "F_ON": .., "F_CR": ..} (kg N)."""

import json
import sys

import bonsai_ipcc
from bonsai_ipcc.agriculture.generic import elementary as gen
from bonsai_ipcc.agriculture.soils import elementary as el

n = json.loads(sys.argv[1])
ef1 = bonsai_ipcc.IPCC().agriculture.soils.parameter.ef1


def val(cult: str, moist: str) -> float:
    return float(ef1.loc[(2019, "World", cult, moist, "def"), "value"])


def direct(f_sn: float, f_on: float, f_cr: float, factor: float) -> float:
    return float(gen.n2o(el.n2o_n_inputs(f_sn, f_on, f_cr, 0.0, factor)))


print(
    json.dumps(
        {
            "A": direct(n["F_SN"], 0, 0, val("N_synthetic", "wet"))
            + direct(0, n["F_ON"], n["F_CR"], val("N_organic", "wet")),
            "B": direct(n["F_SN"], n["F_ON"], n["F_CR"], val("N_unspec", "dry")),
            "C": direct(n["F_SN"], n["F_ON"], n["F_CR"], val("rice_cont_flooding", "undefined")),
            "D": direct(n["F_SN"], n["F_ON"], n["F_CR"], val("rice_drainage", "undefined")),
        }
    )
)
