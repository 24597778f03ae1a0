"""Verification data access: pipeline-bucket objects and presigned report downloads."""

from __future__ import annotations


class S3Reader:
    def __init__(self, bucket: str):
        self.bucket = bucket

    def get(self, key: str) -> bytes:
        from agri_common.platform.aws import client

        body: bytes = client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body


class S3Presigner:
    """Presigned GET URLs of the audit bucket (signed locally with this function's credentials)."""

    def __init__(self, bucket: str):
        self.bucket = bucket

    def url(self, key: str, expires_in: int) -> str:
        from agri_common.platform.aws import client

        url: str = client("s3").generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
        )
        return url
