"""Evidence uploads: a presigned S3 POST per file, recorded on the plot (or one of its seasons).

The presigned POST pins the object key, the exact Content-Type and a content-length-range up to
the declared size (images and PDF only; limits in models.py), so S3 itself refuses anything else.
The evidence item is written when the upload is issued, status ``pending``; ``POST
/uploads/{upload_id}/complete`` HEADs the object and marks it ``stored`` with its real size.
"""

from __future__ import annotations

from typing import Protocol, TypedDict

from agri_common.farm_table import aggregates as agg
from agri_common.farm_table import keys
from agri_common.farm_table.records import EvidenceRecord, FarmerRecord
from agri_common.platform.errors import ConflictError
from agri_common.platform.principal import Principal, Role, ensure_can_access, require_role
from agri_common.single_table import Put, Txn, Update, commit
from functions.farmers import membership
from functions.farmers import models as m
from functions.farmers.context import FarmContext, field_error, new_id, not_found
from functions.farmers.logic_plots import PlotService

PRESIGN_SECONDS = 900


class PresignedPost(TypedDict):
    """Where and how the client posts the file (S3's presigned POST)."""

    url: str
    fields: dict[str, str]


class ObjectHead(TypedDict):
    """What the store says of an uploaded object."""

    content_length: int
    content_type: str | None


class ObjectStore(Protocol):
    def presigned_post(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> PresignedPost: ...

    def head(self, key: str) -> ObjectHead | None: ...


def evidence_out(record: EvidenceRecord) -> m.EvidenceOut:
    return m.EvidenceOut.model_validate(record.model_dump())


class UploadService:
    def __init__(self, ctx: FarmContext, objects: ObjectStore):
        self.ctx = ctx
        self.objects = objects
        self.plots = PlotService(ctx)

    def issue(self, caller: Principal, req: m.UploadRequest) -> m.UploadOut:
        require_role(caller, Role.FARMER, Role.FPO_MANAGER, Role.ADMIN)
        plot = self.plots.get_record(caller, req.plot_id)
        # the plot of an erased farmer stays (it backs issued credits), but no file is added to it: the
        # 404 of a missing farmer, as for a season (docs/decisions/0022)
        self.plots.farmers.load_existing(plot.farmer_id)
        if req.season_key and self.ctx.store.get(keys.season(plot.plot_id, req.season_key)) is None:
            raise field_error(
                "body.season_key", f"Season {req.season_key} is not recorded for this plot", "unknown_season"
            )
        upload_id = new_id("U")
        object_key = f"evidence/{plot.fpo_id}/{plot.plot_id}/{upload_id}.{m.UPLOAD_TYPES[req.content_type]}"
        now = self.ctx.clock()
        record = EvidenceRecord(
            upload_id=upload_id,
            plot_id=plot.plot_id,
            season_key=req.season_key,
            fpo_id=plot.fpo_id,
            owner_user_id=plot.owner_user_id,
            object_key=object_key,
            content_type=req.content_type,
            max_bytes=req.size_bytes,
            description=req.description,
            latitude=req.latitude,
            longitude=req.longitude,
            captured_at=req.captured_at.isoformat() if req.captured_at else None,
            uploaded_by=caller.user_id,
            created_at=now,
        )
        self.ctx.store.transact(Txn().add(Put(record.to_item(), if_absent=True)).ops)
        post = self.objects.presigned_post(object_key, req.content_type, req.size_bytes, PRESIGN_SECONDS)
        return m.UploadOut(
            upload_id=upload_id,
            object_key=object_key,
            url=post["url"],
            fields=post["fields"],
            expires_in_s=PRESIGN_SECONDS,
            evidence=evidence_out(record),
        )

    def _farmer(self, plot_id: str) -> FarmerRecord:
        """Whose evidence it is: a non-member's stored evidence moves no FPO totals until approval."""
        plot = self.plots.load(plot_id)
        if plot is None:  # evidence is issued on a stored plot, and plots are not deleted
            raise not_found("plot")
        return self.plots.farmers.load_existing(plot.farmer_id)

    def complete(self, caller: Principal, upload_id: str) -> m.EvidenceOut:
        require_role(caller, Role.FARMER, Role.FPO_MANAGER, Role.ADMIN)  # a write: auditors read evidence only
        items, _ = self.ctx.store.query(keys.upload_index(upload_id)["gsi1pk"], index=True)
        record: EvidenceRecord | None = EvidenceRecord.from_item(items[0]) if items else None
        if record is None:
            raise not_found("upload")  # the answer ensure_can_access gives one the caller may not see
        ensure_can_access(caller, record.owned(), what="upload")
        if record.status == "stored":
            return evidence_out(record)
        head = self.objects.head(record.object_key)
        if head is None:
            raise ConflictError("The file has not been uploaded yet", code="upload_missing")
        if head["content_length"] > record.max_bytes or head["content_type"] != record.content_type:
            raise ConflictError("The uploaded object does not match the issued upload", code="upload_mismatch")

        def build() -> tuple[Txn, EvidenceRecord]:
            txn = Txn()
            txn.add(
                Update(
                    record.key(),
                    set={"status": "stored", "size_bytes": head["content_length"], "updated_at": self.ctx.clock()},
                    expect={"status": "pending"},
                    if_exists=True,
                ),
                race=True,
            )
            txn.add(Update(keys.plot(record.plot_id), add={"evidence_count": 1}, if_exists=True))
            txn.add(agg.fpo_totals(record.fpo_id, {"evidence_files": 1}))
            return membership.gate(txn, self._farmer(record.plot_id)), record.model_copy(
                update={"status": "stored", "size_bytes": head["content_length"]}
            )

        try:
            # 2 attempts: a lost membership guard (the farmer approved meanwhile) is rebuilt and counted;
            # a concurrent completion fails both and is reported below
            return evidence_out(commit(self.ctx.store, build, attempts=2))
        except ConflictError as exc:  # completed concurrently: report the stored state
            again = self.ctx.store.query(keys.upload_index(upload_id)["gsi1pk"], index=True)[0]
            if not again:
                raise not_found("upload") from exc
            return evidence_out(EvidenceRecord.from_item(again[0]))


class S3UploadBucket:
    """:class:`ObjectStore` on the uploads bucket."""

    def __init__(self, bucket: str):
        self.bucket = bucket

    def presigned_post(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> PresignedPost:
        from agri_common.platform.aws import client

        post: PresignedPost = client("s3").generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in,
        )
        return post

    def head(self, key: str) -> ObjectHead | None:
        from agri_common.platform.aws import client

        s3 = client("s3")
        try:
            resp = s3.head_object(Bucket=self.bucket, Key=key)
        except s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return {"content_length": resp["ContentLength"], "content_type": resp.get("ContentType")}
