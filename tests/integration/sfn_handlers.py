"""Tiny Lambda handlers for the twin's state-machine test (not product code)."""


def double(event, context):
    return {"value": event["value"] * 2, "request_id": context.aws_request_id}


def explode(event, context):
    raise ValueError(f"cannot handle {event['value']}")
