"""A small farmers world for handler-level tests: the farmers Lambda entry point on the in-memory store,
one FPO with a farmer, a plot and a season, and helpers that call each route."""

from __future__ import annotations

import copy
import json
import math

from agri_common.farm_table.records import FpoRecord
from agri_common.platform.clock import utc_iso_seconds_offset
from agri_common.platform.revocation import InMemoryRevocationStore
from agri_common.single_table import Put
from functions.farmers import handler as farmers
from functions.farmers.context import FarmContext
from tests.unit.fakes.assignments import Assignments
from tests.unit.fakes.farm import InMemoryFarmStore
from tests.unit.functions.conftest import call, claims_for

MANAGER = claims_for("fpo_manager", user="mgr", fpo="FPO-1")
CONSENT = {"given": True, "version": "v1", "at": "2025-06-01T10:00:00+05:30"}
WHEAT = {"year": 2025, "season": "rabi", "crop": "wheat", "sowing_date": "2025-11-15", "harvest_date": "2026-04-10"}


def farmer_body(**extra):
    return {
        "name": "Ravi",
        "phone": "9876543210",
        "village": "Rampur",
        "district": "Patiala",
        "state": "Punjab",
        "fpo_id": "FPO-1",
        "consent": CONSENT,
        **extra,
    }


def polygon(lon, lat, size=0.001):
    return {
        "type": "Polygon",
        "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]],
    }


def feature(lon=75.85, lat=30.9, size=0.001, **extra):
    return {"type": "Feature", "properties": {}, "geometry": polygon(lon, lat, size), **extra}


def circle(lon, lat, n, radius_deg=0.002, digits=None, altitude=None):
    """A closed ring of ``n`` distinct positions (n + 1 with the closing one)."""
    ring = [
        [lon + radius_deg * math.cos(2 * math.pi * i / n), lat + radius_deg * math.sin(2 * math.pi * i / n)]
        + ([altitude] if altitude is not None else [])
        for i in range(n)
    ]
    if digits is not None:
        ring = [[round(c, digits) for c in position] for position in ring]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


class Objects:
    def presigned_post(self, key, content_type, max_bytes, expires_in):
        return {"url": "https://uploads.example/", "fields": {"key": key}}

    def head(self, key):
        return {"content_length": 100, "content_type": "application/pdf"}


class World:
    """Install with :meth:`install`, remove with :meth:`uninstall` (a fixture does both)."""

    def __init__(self, monkeypatch):
        self.store = InMemoryFarmStore()
        self.store.transact(
            [
                Put(
                    FpoRecord(
                        fpo_id="FPO-1", name="One", state="Punjab", created_by="a", created_at=utc_iso_seconds_offset()
                    ).to_item()
                )
            ]
        )
        revocations = InMemoryRevocationStore()
        monkeypatch.setattr(farmers, "_revocation", lambda: revocations)
        farmers.app.dependency_overrides[farmers.get_context] = lambda: FarmContext(
            store=self.store, aadhaar_key=lambda: b"k"
        )
        farmers.app.dependency_overrides[farmers.get_assignments] = Assignments().loader
        farmers.app.dependency_overrides[farmers.get_uploads_objects] = Objects

    @staticmethod
    def uninstall():
        farmers.app.dependency_overrides.clear()

    def snapshot(self) -> dict:
        return copy.deepcopy(self.store.items)

    # ---- routes -----------------------------------------------------------------------------------
    @staticmethod
    def request(method, path, body=None, resource=None, params=None, query="", claims=MANAGER):
        """``body``: bytes are sent as they are; anything else as JSON (a str too: a JSON string)."""
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
        return call(farmers, method, path, body, claims=claims, resource=resource or path, params=params, query=query)

    def register(self, **extra):
        r = self.request("POST", "/farmers", farmer_body(**extra))
        assert r.status == 201, r.body
        return r.body

    def get_farmer(self, fid):
        return self.request("GET", f"/farmers/{fid}", resource="/farmers/{farmer_id}", params={"farmer_id": fid})

    def patch_farmer(self, fid, body):
        return self.request("PATCH", f"/farmers/{fid}", body, "/farmers/{farmer_id}", {"farmer_id": fid})

    def list_farmers(self, query="fpo_id=FPO-1"):
        return self.request("GET", "/farmers", query=query)

    def add_plot(self, fid, body):
        return self.request("POST", f"/farmers/{fid}/plots", body, "/farmers/{farmer_id}/plots", {"farmer_id": fid})

    def list_plots(self, fid):
        return self.request(
            "GET", f"/farmers/{fid}/plots", resource="/farmers/{farmer_id}/plots", params={"farmer_id": fid}
        )

    def get_plot(self, pid):
        return self.request("GET", f"/plots/{pid}", resource="/plots/{plot_id}", params={"plot_id": pid})

    def put_plot(self, pid, body):
        return self.request("PUT", f"/plots/{pid}", body, "/plots/{plot_id}", {"plot_id": pid})

    def add_season(self, pid, body):
        return self.request("POST", f"/plots/{pid}/seasons", body, "/plots/{plot_id}/seasons", {"plot_id": pid})

    def sync(self, records):
        return self.request("POST", "/sync", {"records": records})

    def import_farmers(self, csv_text, **extra):
        return self.request(
            "POST", "/imports/farmers", {"fpo_id": "FPO-1", "csv": csv_text, "consent_version": "v1", **extra}
        )

    def import_plots(self, features):
        return self.request(
            "POST", "/imports/plots", {"fpo_id": "FPO-1", "type": "FeatureCollection", "features": features}
        )


def fields(response) -> list[str]:
    return [d["field"] for d in response.body["error"]["details"]]


def where(response, details=None) -> list[str]:
    """The fields of a 422, with the sub-path that the shared text check names in its issue
    ("... (U+001B at position 3 in name)" on body.properties -> body.properties.name)."""
    import re

    out = []
    for d in details if details is not None else response.body["error"]["details"]:
        sub = re.search(r" in ([^ )]+)\)$", d["issue"]) if d["type"] == "text_control_character" else None
        path = re.sub(r"\[(\d+)\]", r".\1", sub.group(1)).lstrip(".") if sub else ""
        out.append(f"{d['field']}.{path}" if path else d["field"])
    return out
