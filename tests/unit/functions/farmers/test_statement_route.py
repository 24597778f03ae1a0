"""GET /farmers/{farmer_id}/statement: the farmers Lambda entry point with in-memory stores. The run
reads are the real PipelineRunReads over the pipeline table written by the real ProjectService and a
run's objects under the keys the pipeline writes; the ledger reads are a fake answering per farmer
(the DynamoDB reads are checked on moto: tests/integration/test_farmer_statement_on_moto.py)."""

from __future__ import annotations

import base64
import json

import pytest

from agri_common import pipeline_objects, pipeline_table
from agri_common.farm_table.records import Consent, FarmerRecord, FpoRecord, PlotRecord
from agri_common.platform.revocation import InMemoryRevocationStore
from agri_common.single_table import Put
from functions.farmers import handler as farmers
from functions.farmers.context import FarmContext
from functions.farmers.statement import CreditRange, labels
from functions.farmers.statement_reads import ApprovedRun, PipelineRunReads, issued_ranges
from infra.local.front import proxy_event
from infra.local.lambdas import LambdaContext
from tests.unit import pdfread
from tests.unit.fakes.assignments import Assignments
from tests.unit.fakes.farm import InMemoryFarmStore
from tests.unit.fakes.mrv import MemoryObjects
from tests.unit.functions.conftest import claims_for

FARMER = claims_for("farmer", user="u-ravi", fpo="FPO-1")
OTHER_FARMER = claims_for("farmer", user="u-sita", fpo="FPO-1")
MANAGER = claims_for("fpo_manager", user="mgr", fpo="FPO-1")
OTHER_MANAGER = claims_for("fpo_manager", user="mgr-2", fpo="FPO-2")
ADMIN = claims_for("admin", user="adm", fpo=None)
AUDITOR = claims_for("auditor", user="aud-1", fpo=None)  # assigned to the run's project (see the fixture)
SERIES = "AGM-prj_00000001-2025-prj_00000001_2025_kharif"
RANGES = [CreditRange(f"{SERIES}-000000004", f"{SERIES}-000000006", 3)]


class Ledger:
    """The credits issued per (farmer, project, run); records what was asked."""

    def __init__(self) -> None:
        self.issued_to: dict[tuple[str, str, str], list[CreditRange]] = {}
        self.asked: list[tuple[str, str, str]] = []

    def issued(self, farmer_id: str, project_id: str, run_id: str) -> list[CreditRange]:
        self.asked.append((farmer_id, project_id, run_id))
        return self.issued_to.get((farmer_id, project_id, run_id), [])


def farmer(farmer_id, owner, fpo="FPO-1", membership="approved", language="hi", name="रामेश्वर प्रसाद"):
    return FarmerRecord(
        farmer_id=farmer_id,
        fpo_id=fpo,
        owner_user_id=owner,
        name=name,
        phone="+919876543210",
        village="रामपुर",
        district="Patiala",
        state="Punjab",
        preferred_language=language,
        consent=Consent(given=True, version="v1", at="2025-06-01T10:00:00+05:30"),
        membership=membership,
        created_by="t",
        created_at="2025-06-01T10:00:00+00:00",
    )


def row(farmer_id, plot_id, net, regime="multiple_drainage", crop="Paddy"):
    return {
        "plot_id": plot_id,
        "season_key": "2025-kharif",
        "farmer_id": farmer_id,
        "fpo_id": "FPO-1",
        "water_regime": regime,
        "crop": crop,
        "area_ha": 0.8,
        "net": net,
    }


class World:
    def __init__(self, monkeypatch):
        self.farm = InMemoryFarmStore()
        self.farm.transact(
            [
                Put(FpoRecord(fpo_id=f, name=f"FPO {f}", state="Punjab", created_by="a", created_at="t").to_item())
                for f in ("FPO-1", "FPO-2")
            ]
        )
        for record in (
            farmer("F-ravi", "u-ravi"),
            farmer("F-sita", "u-sita", language="ta", name="Sita"),
            farmer("F-gone", "u-gone", membership="removed", name="Gone"),
            farmer("F-none", None, name="No account"),  # in the run, no credits
            farmer("F-out", "u-out", name="Not in the run"),
            farmer("F-two", "u-two", fpo="FPO-2", name="FPO two"),
        ):
            self.farm.transact([Put(record.to_item())])
        plot = PlotRecord(
            plot_id="P-1",
            farmer_id="F-ravi",
            fpo_id="FPO-1",
            owner_user_id="u-ravi",
            name="नदी वाला खेत",
            geometry_json="{}",
            area_ha=0.8,
            centroid=[75.85, 30.9],
            geohash="ttnf",
            cells=[],
            created_by="t",
            created_at="t",
        )
        self.farm.transact([Put(plot.to_item())])
        self.assignments = Assignments()  # the pipeline table: the real ProjectService writes the project
        self.project_id = self.assignments.project("FPO-1")
        self.assignments.assign(self.project_id)  # the auditor is assigned: still no statement
        self.other_project = self.assignments.project("FPO-2")
        self.run_id = self.add_run(self.project_id, "2025-kharif", "approved")
        self.pending_run = self.add_run(self.project_id, "2024-kharif", "awaiting_auditor")
        self.other_run = self.add_run(self.other_project, "2025-kharif", "approved")
        self.objects = MemoryObjects()
        units = [["F-gone", "F-none"], ["F-out", "F-ravi"], ["F-sita", "F-zz"]]  # F-out: planned, nothing computed
        chunk_rows = [
            [row("F-gone", "P-9", 0.5), row("F-none", "P-8", -0.25)],
            [row("F-ravi", "P-2", 2.5, regime="continuously_flooded"), row("F-ravi", "P-1", 1.25)],
            [row("F-sita", "P-3", 1.0, regime="single_drainage"), row("F-zz", "P-7", 9.0)],
        ]
        self.write_run_objects(self.run_id, units, chunk_rows)
        self.ledger = Ledger()
        self.ledger.issued_to[("F-ravi", self.project_id, self.run_id)] = RANGES
        self.ledger.issued_to[("F-sita", self.project_id, self.run_id)] = [
            CreditRange(f"{SERIES}-000000007", f"{SERIES}-000000007", 1)
        ]
        self.ledger.issued_to[("F-gone", self.project_id, self.run_id)] = [
            CreditRange(f"{SERIES}-000000001", f"{SERIES}-000000001", 1)
        ]
        revocations = InMemoryRevocationStore()
        monkeypatch.setattr(farmers, "_revocation", lambda: revocations)
        farmers.app.dependency_overrides[farmers.get_context] = lambda: FarmContext(
            store=self.farm, aadhaar_key=lambda: b"k", clock=lambda: "2026-11-27T09:00:00+00:00"
        )
        farmers.app.dependency_overrides[farmers.get_assignments] = self.assignments.loader
        farmers.app.dependency_overrides[farmers.get_run_reads] = lambda: PipelineRunReads(
            self.assignments.store, self.objects
        )
        farmers.app.dependency_overrides[farmers.get_ledger_reads] = lambda: self.ledger

    def add_run(self, project_id, period, status):
        run_id = pipeline_table.run_id(project_id, period)
        run = pipeline_table.RunRecord(
            project_id=project_id,
            run_id=run_id,
            period=period,
            status=status,
            attempt=1,
            started_by="a",
            started_at="t",
            updated_at="t",
        )
        task = pipeline_table.TaskRecord(
            task_id=pipeline_table.task_id(run_id, 1),
            project_id=project_id,
            run_id=run_id,
            attempt=1,
            status="decided",
            task_token="x",
            methodology="vm0051",
            findings_key="f",
            sample_key="s",
            created_at="t",
            decision={"decision": "approve", "decided_at": "2026-11-20T10:00:00Z", "decided_by": "aud-1"},
        )
        self.assignments.store.transact([Put(run.to_item()), Put(task.to_item())])
        return run_id

    def write_run_objects(self, run_id, units, chunk_rows, generation=1):
        put = self.objects.put
        put(pipeline_objects.plan_key(run_id, generation), json.dumps({"chunk_count": len(units)}).encode())
        for index, (group, rows) in enumerate(zip(units, chunk_rows)):
            put(pipeline_objects.manifest_key(run_id, generation, index), json.dumps({"units": group}).encode())
            lines = "\n".join(json.dumps(r) for r in rows) + "\n"
            put(pipeline_objects.chunk_key(run_id, generation, index, pipeline_objects.ROWS), lines.encode())


@pytest.fixture
def world(monkeypatch):
    w = World(monkeypatch)
    yield w
    farmers.app.dependency_overrides.clear()


def get(farmer_id, claims, query):
    event = proxy_event(
        "/farmers/{farmer_id}/statement",
        "GET",
        f"/farmers/{farmer_id}/statement",
        query=query,
        params={"farmer_id": farmer_id},
        claims=claims,
    )
    ctx = LambdaContext(
        function_name="test",
        memory_limit_in_mb=128,
        invoked_function_arn="arn:aws:lambda:x:1:function:test",
        aws_request_id="req-1",
        timeout_s=10,
    )
    return farmers.lambda_handler(event, ctx)


def pdf_of(resp) -> bytes:
    assert resp["statusCode"] == 200, resp.get("body")
    assert resp["isBase64Encoded"] is True
    assert resp["multiValueHeaders"]["Content-Type"] == ["application/pdf"]
    data = base64.b64decode(resp["body"])
    assert data.startswith(b"%PDF-")
    return data


def error(resp) -> tuple[int, str, str]:
    e = json.loads(resp["body"])["error"]
    return resp["statusCode"], e["code"], e["message"]


def test_the_farmer_gets_their_statement_in_their_language_with_their_plots_tonnes_and_serials(world):
    data = pdf_of(get("F-ravi", FARMER, f"run_id={world.run_id}"))
    text = pdfread.text(data)
    assert pdfread.page_count(data) == 1
    for word in [
        "कार्बन क्रेडिट विवरण",  # Hindi: the farmer's preferred language
        "रामेश्वर प्रसाद",
        "FPO FPO-1 (FPO-1)",
        "नदी वाला खेत (P-1)",  # the plot's stored name
        "P-2",
        "कई बार पानी निकाला (AWD)",  # P-1 now
        "पूरे मौसम पानी भरा",  # the project's baseline (rice): "Paddy" is rice
        "1.250",
        "2.500",
        "3.750 टन CO2e",  # the farmer's rows, summed
        "3 क्रेडिट",
        world.run_id,
    ]:
        assert word in text, word
    compact = "".join(text.split())
    assert f"{SERIES}-000000004…000000006(3)" in compact
    assert "F-sita" not in text and "P-3" not in text and "P-9" not in text  # nobody else's rows
    assert "attachment" in resp_headers(world, FARMER)["Content-Disposition"]
    assert world.ledger.asked[-1] == ("F-ravi", world.project_id, world.run_id)


def resp_headers(world, claims):
    resp = get("F-ravi", claims, f"run_id={world.run_id}")
    return {k: v[0] for k, v in resp["multiValueHeaders"].items()}


@pytest.mark.parametrize("claims", [MANAGER, ADMIN], ids=["fpo_manager", "admin"])
def test_the_fpos_manager_and_admins_get_it_too(world, claims):
    text = pdfread.text(pdf_of(get("F-ravi", claims, f"run_id={world.run_id}")))
    assert "नदी वाला खेत (P-1)" in text and "3.750 टन CO2e" in text


@pytest.mark.parametrize(
    "farmer_id, claims",
    [
        ("F-ravi", OTHER_FARMER),  # another farmer of the same FPO
        ("F-ravi", OTHER_MANAGER),  # another FPO's manager
        ("F-ravi", AUDITOR),  # an auditor, even one assigned to the run's project
        ("F-gone", MANAGER),  # a removed member: no longer the manager's farmer
        ("F-none", FARMER),  # a profile without an account is nobody's own
        ("F-two", MANAGER),
    ],
)
def test_whoever_may_not_have_it_gets_exactly_the_missing_farmers_404(world, farmer_id, claims):
    missing = error(get("F-missing", ADMIN, f"run_id={world.run_id}"))
    assert missing == (404, "not_found", "farmer not found")
    assert error(get(farmer_id, claims, f"run_id={world.run_id}")) == missing
    # whatever the run: a caller who may not see the farmer learns nothing about runs
    assert error(get(farmer_id, claims, "run_id=prj_0000ffff_2025_kharif")) == missing
    assert error(get(farmer_id, claims, f"run_id={world.other_run}")) == missing
    assert world.ledger.asked == []


def test_the_farmer_keeps_their_statement_after_leaving_the_fpo(world):
    text = pdfread.text(pdf_of(get("F-gone", ADMIN, f"run_id={world.run_id}")))
    assert "P-9" in text and "0.500" in text


def test_one_credit_is_singular(world):
    text = pdfread.text(pdf_of(get("F-sita", ADMIN, f"run_id={world.run_id}")))  # no Tamil statement: English
    assert "1 credit (1 credit = 1 tonne CO2e)" in text and "1 credits" not in text


def test_a_run_that_is_missing_unapproved_elsewhere_or_without_the_farmer_is_one_404(world):
    answers = {
        run_id: error(get(farmer_id, FARMER if farmer_id == "F-ravi" else ADMIN, f"run_id={run_id}"))
        for farmer_id, run_id in [
            ("F-ravi", "prj_0000ffff_2025_kharif"),  # no such run
            ("F-ravi", world.pending_run),  # not approved
            ("F-ravi", world.other_run),  # another FPO's project
            ("F-out", world.run_id),  # planned, but no plot-season of theirs computed, no credit
        ]
    }
    for run_id, answer in answers.items():
        assert answer == (
            404,
            "statement_run_not_found",
            f"No approved run {run_id} counted this farmer: the run does not exist, is not approved yet, "
            "or did not include them",
        )


def test_a_farmer_in_the_run_without_credits_gets_a_statement_that_says_so(world):
    text = pdfread.text(pdf_of(get("F-none", MANAGER, f"run_id={world.run_id}")))
    assert "P-8" in text and "-0.250" in text
    assert "0.000 टन CO2e" in text  # the ledger's weight: never negative
    assert labels("hi")["no_credits"] in text and "--serial" not in "".join(text.split())


@pytest.mark.parametrize(
    "farmer_id, query, english",
    [
        ("F-ravi", "lang=en", False),  # the profile's language (hi) has a statement: it wins
        ("F-sita", "", True),  # Tamil has no statement yet and no lang: English
        ("F-sita", "lang=en", True),
        ("F-sita", "lang=hi", False),
    ],
)
def test_the_language_is_the_profiles_else_lang_else_english(world, farmer_id, query, english):
    text = pdfread.text(pdf_of(get(farmer_id, ADMIN, f"run_id={world.run_id}&{query}")))
    assert ("Carbon credit statement" in text) is english
    assert ("कार्बन क्रेडिट विवरण" in text) is not english


@pytest.mark.parametrize(
    "query, code",
    [
        ("lang=xx", "unknown_language"),  # no label file
        ("lang=EN", "validation_error"),  # not a language code
        ("lang=hi", "validation_error"),  # no run_id
        ("run_id=../etc", "validation_error"),
    ],
)
def test_bad_queries_are_422_before_any_read(world, query, code):
    if "run_id" not in query and code == "unknown_language":
        query += f"&run_id={world.run_id}"
    resp = get("F-ravi", FARMER, query)
    assert resp["statusCode"] == 422 and json.loads(resp["body"])["error"]["code"] == code
    assert world.ledger.asked == []


def test_the_farmers_chunk_is_found_by_a_binary_search_over_the_manifests(world):
    """Reads: the plan, about log2(chunks) manifests, and one chunk's rows, wherever the farmer is."""
    objects = MemoryObjects()
    reads = PipelineRunReads(world.assignments.store, objects)
    units = [[f"F-{c:03d}-{u}" for u in range(3)] for c in range(40)]
    rows = [[row(u, f"P-{u}", 1.0) for u in group if not u.endswith("-2")] for group in units]
    World.write_run_objects(type("W", (), {"objects": objects})(), world.run_id, units, rows)
    run = reads.approved_run(world.run_id)
    assert isinstance(run, ApprovedRun) and run.approved_at == "2026-11-20T10:00:00Z"
    for farmer_id in (
        "F-000-0",
        "F-000-1",
        "F-017-0",
        "F-017-1",
        "F-039-0",
        "F-039-1",
        "F-039-2",
        "F-040-0",
        "A",
        "F-017-9",
    ):
        objects.gets = []
        original = objects.get

        def counting(key, original=original):
            objects.gets.append(key)
            return original(key)

        objects.get = counting
        found = reads.farmer_rows(run, farmer_id)
        objects.get = original
        expected = [r for group in rows for r in group if r["farmer_id"] == farmer_id]
        assert found == expected, farmer_id
        assert len(objects.gets) <= 1 + 7 + 1, (farmer_id, objects.gets)  # plan, ceil(log2 40)+1 manifests, rows


def test_only_an_approved_run_with_its_project_is_read():
    from tests.unit.fakes.mrv import MemoryStore

    reads = PipelineRunReads(MemoryStore(), MemoryObjects())
    assert reads.approved_run("prj_00000001_2025_kharif") is None  # nothing stored
    assert reads.approved_run("not a run id") is None


def test_issued_ranges_are_this_runs_issuance_records_in_serial_order():
    def body(run_id, start, kind="issuance"):
        return {
            "kind": kind,
            "run_id": run_id,
            "start": start,
            "serial_start": f"S-{start}",
            "serial_end": f"S-{start + 1}",
            "quantity": 2,
        }

    bodies = [body("r1", 9), body("r2", 1), body("r1", 3), body("r1", 5, kind="transfer")]
    assert issued_ranges(bodies, "r1") == [CreditRange("S-3", "S-4", 2), CreditRange("S-9", "S-10", 2)]
