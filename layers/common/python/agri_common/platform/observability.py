"""Logger, Tracer and Metrics, created once per process (one Lambda function per process).

Service name and namespace come from ``POWERTOOLS_SERVICE_NAME`` / ``POWERTOOLS_METRICS_NAMESPACE``
(set on every function by the CDK app), with the same defaults here so that a missing variable can
never make a metrics flush fail a request. The Tracer disables itself outside Lambda. It does not patch libraries at import (auto-patching
loads botocore and requests, about 130 ms of cold start even for functions that never call AWS);
:func:`agri_common.platform.aws.client` patches botocore the first time a function builds a client.
"""

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "agri-mrv")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "AgriMrv")

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE, auto_patch=False)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
