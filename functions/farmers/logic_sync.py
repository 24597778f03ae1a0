"""Offline sync: a batch of creates and updates made offline, each applied at most once.

Each record carries a client-generated ``client_id``. Its change and a receipt
``SYNC#<user>#<client_id>`` (holding a hash of the record's content) are written in one
transaction, so a record is either fully applied with its receipt or not at all. Replays:

- receipt present, same content hash  -> ``duplicate`` (nothing written);
- receipt present, different content  -> ``conflict`` with error ``idempotency_conflict`` (a client id
  names one change; the same code as a reused ``client_token`` on the credit routes' 409), nothing written;
- stale ``base_version``              -> ``conflict`` with the server's current version and content;
- anything the routes would refuse    -> ``invalid`` with the same field errors.

Creates get ids derived from (user, client_id), so even the record itself cannot be created twice.
Receipts are read up front with BatchGetItem (five requests for 500 records).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from pydantic import ValidationError

from agri_common.farm_table import keys
from agri_common.platform.errors import AppError, validation_details
from agri_common.platform.inputs import forbidden_value
from agri_common.platform.principal import Principal, Role, require_role
from functions.farmers import models as m
from functions.farmers.context import FarmContext, Receipt, ReceiptExists, VersionConflict, content_hash, derived_id
from functions.farmers.logic import FarmerService
from functions.farmers.logic_plots import PlotService
from functions.farmers.logic_seasons import SeasonService


class Invalid(Exception):
    def __init__(self, errors: list[dict[str, Any]]):
        self.errors = errors


def _need(value: Any, field: str) -> Any:
    if value is None:
        raise Invalid([{"field": field, "issue": "required for this entity and action", "type": "missing"}])
    return value


class _Named(TypedDict):
    """What every result repeats of its record."""

    client_id: str
    entity: str


class SyncService:
    def __init__(self, ctx: FarmContext):
        self.ctx = ctx
        self.farmers = FarmerService(ctx)
        self.plots = PlotService(ctx)
        self.seasons = SeasonService(ctx)

    def apply(self, caller: Principal, req: m.SyncRequest) -> m.SyncResponse:
        require_role(caller, Role.FARMER, Role.FPO_MANAGER, Role.ADMIN)  # sync only writes: never an auditor
        seen: dict[str, int] = {}
        receipts = {
            item["client_id"]: item
            for item in self.ctx.store.batch_get([keys.sync_receipt(caller.user_id, r.client_id) for r in req.records])
        }
        results: list[m.SyncResult] = []
        for index, record in enumerate(req.records):
            if record.client_id in seen:
                results.append(
                    m.SyncResult(
                        client_id=record.client_id,
                        status="invalid",
                        entity=record.entity,
                        errors=[
                            {
                                "field": f"body.records.{index}.client_id",
                                "type": "duplicate_in_batch",
                                "issue": f"also used by record {seen[record.client_id]}",
                            }
                        ],
                    )
                )
                continue
            seen[record.client_id] = index
            results.append(self._one(caller, record, receipts.get(record.client_id)))
        counts = {s: sum(1 for r in results if r.status == s) for s in ("applied", "duplicate", "conflict", "invalid")}
        return m.SyncResponse(results=results, **counts)

    def _one(self, caller: Principal, record: m.SyncRecord, receipt_item: dict[str, Any] | None) -> m.SyncResult:
        base: _Named = {"client_id": record.client_id, "entity": record.entity}
        forbidden = forbidden_value(record.data)  # before the hash: a lone surrogate cannot be encoded
        if forbidden:
            sub, problem = forbidden
            kind = "text_control_character" if problem.startswith("U+") else "number_out_of_range"
            issue = f"may not hold {problem}"
            return m.SyncResult(
                **base, status="invalid", errors=[{"field": f"data{sub}", "type": kind, "issue": issue}]
            )
        digest = content_hash(record.model_dump(mode="json"))
        if receipt_item is not None:
            return self._replayed(base, receipt_item, digest)
        receipt = Receipt(caller.user_id, record.client_id, digest)
        try:
            record_id, version = self._apply(caller, record, receipt)
            return m.SyncResult(**base, status="applied", id=record_id, version=version)
        except ReceiptExists:  # applied concurrently by another request with the same client id
            return self._replayed(base, self.ctx.store.get(keys.sync_receipt(caller.user_id, record.client_id)), digest)
        except VersionConflict as conflict:
            return m.SyncResult(
                **base,
                status="conflict",
                id=record.id,
                version=conflict.current.get("version"),
                current=conflict.current,
            )
        except ValidationError as exc:
            return m.SyncResult(
                **base,
                status="invalid",
                errors=[
                    dict(d)
                    for d in validation_details(
                        [{**e, "loc": ("data", *e.get("loc", ()))} for e in exc.errors(include_url=False)]
                    )
                ],
            )
        except Invalid as exc:
            return m.SyncResult(**base, status="invalid", errors=exc.errors)
        except AppError as exc:
            return m.SyncResult(
                **base,
                status="invalid",
                errors=[{"field": "data", "type": exc.code, "issue": exc.message}, *map(dict, exc.details or [])],
            )

    @staticmethod
    def _replayed(base: _Named, receipt_item: Mapping[str, Any] | None, digest: str) -> m.SyncResult:
        """``receipt_item`` None: the receipt a concurrent request wrote cannot be read back (never expected:
        receipts are read consistently and not deleted); the change is then not claimed as applied."""
        if receipt_item is not None and receipt_item.get("content_hash") == digest:
            return m.SyncResult(
                **base, status="duplicate", id=receipt_item.get("id"), version=receipt_item.get("version")
            )
        return m.SyncResult(
            **base,
            status="conflict",
            errors=[
                {
                    "field": "client_id",
                    "type": "idempotency_conflict",
                    "issue": "this client_id was already used for a different change; generate a new one per change",
                }
            ],
        )

    def _apply(self, caller: Principal, r: m.SyncRecord, receipt: Receipt) -> tuple[str, int]:
        if r.entity == "farmer":
            if r.action == "create":
                register = m.RegisterFarmerRequest.model_validate(r.data)
                farmer = self.farmers.register(
                    caller, register, farmer_id=derived_id("F", caller.user_id, r.client_id), receipt=receipt
                )
                return farmer.farmer_id, farmer.version
            patch = m.PatchFarmerRequest.model_validate({**r.data, "version": _need(r.base_version, "base_version")})
            farmer = self.farmers.patch(caller, _need(r.id, "id"), patch, receipt=receipt)
            return farmer.farmer_id, farmer.version
        if r.entity == "plot":
            feature = m.PlotFeature.model_validate(r.data)
            if r.action == "create":
                plot = self.plots.create(
                    caller,
                    _need(r.id, "id"),
                    feature,
                    plot_id=derived_id("P", caller.user_id, r.client_id),
                    receipt=receipt,
                )
            else:
                plot = self.plots.replace(
                    caller, _need(r.id, "id"), feature, _need(r.base_version, "base_version"), receipt=receipt
                )
            return plot.plot_id, plot.version
        data = m.SeasonData.model_validate(r.data)
        if r.action == "create":
            season = self.seasons.create(caller, _need(r.id, "id"), data, receipt=receipt)
        else:
            season = self.seasons.update(
                caller, _need(r.id, "id"), data, _need(r.base_version, "base_version"), receipt=receipt
            )
        return f"{season.plot_id}/{season.season_key}", season.version
