"""The delivery function: reads the notification queue (SQS event source, partial batch failures).

Each message is one :class:`agri_common.notify.NotificationEvent`. A message that is not one (a
bug, never retried usefully) is logged and dropped; a failed delivery is reported as that
message's failure, so SQS redelivers it alone after the visibility timeout and, after the receive
limit, moves it to the dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from agri_common.notify import NotificationEvent
from agri_common.platform.observability import logger
from agri_common.platform.settings import BaseSettingsModel, load_settings
from agri_common.sms import sms_sender
from functions.notifications.delivery import Deliverer, SesEmail
from functions.notifications.recipients import CognitoDirectory, Recipients


class DeliverySettings(BaseSettingsModel):
    farm_table: str
    pipeline_table: str
    user_pool_id: str
    email_sender: str | None = None  # a verified SES identity; without one, email is skipped


def default_deliverer() -> Deliverer:
    from agri_common.single_table import DynamoTableStore
    from functions.notifications.store import NotificationStore

    s = load_settings(DeliverySettings)
    farm = DynamoTableStore(s.farm_table)
    return Deliverer(
        NotificationStore(farm),
        Recipients(CognitoDirectory(s.user_pool_id), DynamoTableStore(s.pipeline_table), farm),
        sms_sender(),  # SMS_SENDER_ID, SMS_DLT (agri_common.sms)
        SesEmail(s.email_sender) if s.email_sender else None,
    )


_deliverer = default_deliverer  # looked up per call: tests swap it


def handle_record(record: SQSRecord) -> None:
    try:
        event = NotificationEvent.model_validate_json(record.body)
    except ValidationError:
        logger.error("not a notification event; dropped", extra={"message_id": record.message_id})
        return
    _deliverer().deliver(event)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.SQS)
    return dict(
        process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
    )
