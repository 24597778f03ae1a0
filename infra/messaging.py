"""What the functions that text need from the stage's configuration (docs/decisions/0020).

Every SMS the app sends has a DLT template name (``agri_common.sms.template_name``): the notification
kinds of each language file (``functions/notifications/templates/<language>.json``) and the claim code
(``functions/farmers/claiming.SMS_TEMPLATE``). :func:`sms_environment` gives a function the sender id
and, when the stage registers with DLT, the ids of *its* templates only (``SMS_DLT``, compact JSON);
a registration that lacks any of them stops the synth with the missing names, so adding a template or
a language without registering it fails CI (prod must have a registration: infra/config.py).
"""

from __future__ import annotations

from infra.config import StageConfig
from infra.routes import ensure_import_paths

ensure_import_paths()
from agri_common.sms import dlt_environment  # noqa: E402  (the layer is on sys.path only now)


def notification_sms_templates() -> tuple[str, ...]:
    from functions.notifications.templates import sms_template_names

    return sms_template_names()


def claim_code_sms_templates() -> tuple[str, ...]:
    from functions.farmers.claiming import SMS_TEMPLATE

    return (SMS_TEMPLATE,)


def all_sms_templates() -> tuple[str, ...]:
    return tuple(sorted({*notification_sms_templates(), *claim_code_sms_templates()}))


def missing_dlt_templates(config: StageConfig, names: tuple[str, ...] | None = None) -> list[str]:
    """The template names the stage's DLT registration lacks (empty without a registration)."""
    if config.sms_dlt is None:
        return []
    return sorted(set(all_sms_templates() if names is None else names) - set(config.sms_dlt.templates))


def sms_environment(config: StageConfig, names: tuple[str, ...]) -> dict[str, str]:
    """``SMS_SENDER_ID`` and ``SMS_DLT`` (with these templates' ids) for a function that sends these texts."""
    env: dict[str, str] = {}
    if config.sms_sender_id:
        env["SMS_SENDER_ID"] = config.sms_sender_id
    if config.sms_dlt is not None:
        missing = missing_dlt_templates(config, names)
        if missing:
            raise ValueError(
                f"stage {config.name!r}: context.stages.{config.name}.sms_dlt.templates in cdk.json has no DLT "
                f"template id for {', '.join(missing)}: register each text with DLT (docs/notifications.md) first"
            )
        env["SMS_DLT"] = dlt_environment(config.sms_dlt.entity_id, {n: config.sms_dlt.templates[n] for n in names})
    return env
