"""SQS on the twin as on AWS: the template's queues created in moto, and each
``AWS::Lambda::EventSourceMapping`` with an SQS source run by a poller thread that delivers
batches to its function the way Lambda's SQS poller does (an ``aws:sqs`` event of up to
``BatchSize`` records; with ``ReportBatchItemFailures``, only the records the function names stay
in the queue; any exception leaves the whole batch). What is not deleted comes back after the
queue's visibility timeout, and moto moves it to the dead-letter queue after ``maxReceiveCount``.

``functions/`` is unaware: the delivery function gets the same event it gets on AWS. One AWS-side
setup that ops do once is done here too: the email senders the functions name (``EMAIL_SENDER``)
are verified SES identities in moto, so SES accepts the mail (moto keeps it in ``sent_messages``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra.local.template import ACCOUNT_ID, Resolver, resources_of

POLL_WAIT_S = 1  # long-poll seconds per receive: short, so stop() returns quickly


@dataclass
class Mapping:
    queue_url: str
    queue_arn: str
    function_lid: str
    batch_size: int
    partial_failures: bool


@dataclass
class LocalQueues:
    template: dict
    resolver: Resolver
    mappings: list[Mapping] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    delivered: int = 0  # batches handed to functions (for tests and the twin's own checks)

    def provision(self) -> LocalQueues:
        """Create the queues (dead-letter queues first, so a redrive policy can name them)."""
        import boto3

        sqs = boto3.client("sqs")
        queues = resources_of(self.template, "AWS::SQS::Queue")
        ordered = sorted(queues, key=lambda q: "RedrivePolicy" in q[1].get("Properties", {}))
        for lid, res in ordered:
            props = res.get("Properties", {})
            name = props.get("QueueName") or f"{self.resolver.stack_name}-{lid}"[:80]
            attributes: dict[str, str] = {}
            for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"):
                if key in props:
                    attributes[key] = str(self.resolver.resolve(props[key]))
            if "RedrivePolicy" in props:
                attributes["RedrivePolicy"] = json.dumps(self.resolver.resolve(props["RedrivePolicy"]))
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            arn = f"arn:aws:sqs:{self.resolver.region}:{ACCOUNT_ID}:{name}"
            self.resolver.refs[lid] = url
            self.resolver.attrs[lid] = {"Arn": arn, "QueueName": name, "QueueUrl": url}
        by_arn = {self.resolver.attrs[lid]["Arn"]: self.resolver.attrs[lid]["QueueUrl"] for lid, _ in queues}
        for _, res in resources_of(self.template, "AWS::Lambda::EventSourceMapping"):
            props = res["Properties"]
            arn = self.resolver.resolve(props.get("EventSourceArn"))
            target = props.get("FunctionName")
            if arn not in by_arn or not (isinstance(target, dict) and "Ref" in target):
                continue  # not an SQS source of ours
            self.mappings.append(
                Mapping(
                    queue_url=by_arn[arn],
                    queue_arn=arn,
                    function_lid=target["Ref"],
                    batch_size=int(props.get("BatchSize", 10)),
                    partial_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                )
            )
        return self

    def verify_email_senders(self, environment: dict[str, str]) -> None:
        sender = environment.get("EMAIL_SENDER")
        if sender:
            import boto3

            boto3.client("ses").verify_email_identity(EmailAddress=sender)

    def start(self, invoke: dict[str, Callable[[dict], Any]]) -> None:
        for mapping in self.mappings:
            if mapping.function_lid not in invoke:
                continue
            thread = threading.Thread(
                target=self._poll, args=(mapping, invoke[mapping.function_lid]), daemon=True, name="sqs-poller"
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=POLL_WAIT_S + 5)

    def drain(self, invoke: dict[str, Callable[[dict], Any]]) -> int:
        """Deliver what is in the queues now, in this thread (tests without pollers); the batches run."""
        import boto3

        sqs = boto3.client("sqs")
        done = 0
        for mapping in self.mappings:
            while self._deliver_once(sqs, mapping, invoke[mapping.function_lid], wait=0):
                done += 1
        return done

    def _poll(self, mapping: Mapping, function: Callable[[dict], Any]) -> None:
        import boto3

        sqs = boto3.client("sqs")
        while not self._stop.is_set():
            try:
                self._deliver_once(sqs, mapping, function, wait=POLL_WAIT_S)
            except Exception:  # the poller must survive a moto hiccup during shutdown
                if self._stop.wait(POLL_WAIT_S):
                    return

    def _deliver_once(self, sqs: Any, mapping: Mapping, function: Callable[[dict], Any], *, wait: int) -> bool:
        resp = sqs.receive_message(
            QueueUrl=mapping.queue_url,
            MaxNumberOfMessages=min(mapping.batch_size, 10),
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
        )
        messages = resp.get("Messages") or []
        if not messages:
            return False
        event = {"Records": [self._record(mapping, m) for m in messages]}
        try:
            answer = function(event)
        except Exception:
            return True  # the whole batch returns after the visibility timeout, as on AWS
        self.delivered += 1
        failed: set[str] = set()
        if mapping.partial_failures and isinstance(answer, dict):
            failed = {f.get("itemIdentifier") for f in answer.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=mapping.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return True

    def _record(self, mapping: Mapping, message: dict) -> dict:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": mapping.queue_arn,
            "awsRegion": self.resolver.region,
        }
