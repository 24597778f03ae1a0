"""Request examples of the notification routes (see functions/auth/examples.py)."""

from pydantic.config import JsonDict

PUT_PREFERENCES: JsonDict = {"language": "hi", "channels": ["in_app", "sms"]}
