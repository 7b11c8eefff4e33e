"""Tell people when a sync fails or a source goes stale: always in the log, and to a webhook if one is set.

The webhook (``XGATE_NOTIFY_WEBHOOK``, e.g. a chat or ticketing endpoint on the internal network) gets a
small JSON document. Its URL may carry a token, so it is a secret setting and never logged. A webhook
that is down is logged, not raised: telling people must not fail the task that is telling them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import requests

from xgate.errors import ConfigError
from xgate.settings import get_settings

log = logging.getLogger("xgate.notify")


def send(event: str, summary: str, **details: object) -> bool:
    """Log the event and POST it to the webhook if one is configured; True if the webhook took it."""
    log.warning("xgate %s: %s", event, summary)
    try:
        webhook = get_settings().notify_webhook
    except ConfigError as exc:  # with settings that cannot be read, the log is all there is
        log.error("xgate notify: no webhook (%s)", exc)
        return False
    if webhook is None:
        return False
    document = {"event": event, "summary": summary, "at": datetime.now(UTC).isoformat(), **details}
    try:
        response = requests.post(webhook.get_secret_value(), json=document, timeout=10)
        response.raise_for_status()
    except requests.RequestException as exc:
        log.error("xgate notify: webhook refused or unreachable (%s)", type(exc).__name__)
        return False
    return True
