"""The webhook channel: one signed JSON POST per notification, so a district can bridge alerts to Zalo,
Telegram or an SMS gateway. Delivered from the same outbox as the emails (exactly once per transition and
technician, retried with backoff, permanent failures shown in `camwatch alerts outbox`).

Signature: `X-Camwatch-Signature: sha256=HEX`, the HMAC-SHA256 with the configured key of
`TIMESTAMP.BODY` (`X-Camwatch-Timestamp`, Unix seconds; a receiver refuses old timestamps against replay).
`X-Camwatch-Delivery` is the outbox row's id: the same on a retry, so a receiver can drop a duplicate.

Errors are classified once: no answer, refused connection, 408/425/429 and 5xx are the receiver's failure
(every post waits, in order, and it never counts toward `max_attempts`); any other 4xx is permanent (the
receiver refuses this post and always will). Messages name the host only: a webhook URL often carries a
token in its path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from camwatch import __version__
from camwatch.alerts import messages
from camwatch.alerts.smtp import TransportError
from camwatch.config import Config, Technician
from camwatch.config.settings import WebhookSettings
from camwatch.words import verdict_name

TEMPORARY = {408, 425, 429}


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def document(row: Any, tech: Technician | None) -> dict[str, Any]:
    """The JSON a receiver gets: the event, the technician to tell, the facts, and the text ready to forward."""
    p = dict(row.payload)
    subject, lines = messages.content(p)
    lang = p.get("language", "vi")
    facts = {k: v for k, v in p.items() if k not in ("pictures", "files", "kind", "language", "to_name", "technician")}
    if p.get("verdict"):
        facts["verdict_name"] = verdict_name(p["verdict"], lang)
    return {
        "id": row.id, "event": row.kind, "created_at": row.created_at.isoformat(), "language": lang,
        "technician": {"id": p.get("technician"), "name": p.get("to_name"),
                       "phone": tech.phone if tech else None},
        "title": f"[camwatch] {subject}",
        "text": "\n".join(f"{label}: {value}" if label else value for label, value in lines),
        "pictures": [{"role": x["role"], "taken_at": x.get("at")} for x in p.get("pictures") or []],
        "facts": facts,
    }


class WebhookChannel:
    event = "webhook"

    def __init__(self, settings: WebhookSettings, key: bytes, technicians: dict[str, Technician]) -> None:
        self.s = settings
        self._key = key
        self.technicians = technicians
        self.host = urlsplit(settings.url).netloc

    @classmethod
    def from_config(cls, config: Config) -> WebhookChannel:
        assert config.file.webhook is not None and config.webhook_key is not None
        return cls(config.file.webhook, config.webhook_key.get_secret_value().encode(),
                   {t.id: t for t in config.file.technicians})

    def deliver(self, row: Any) -> None:
        body = json.dumps(document(row, self.technicians.get(row.payload.get("technician", ""))),
                          ensure_ascii=False, sort_keys=True).encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": f"camwatch/{__version__}",
                   "X-Camwatch-Event": row.kind or "", "X-Camwatch-Delivery": str(row.id),
                   "X-Camwatch-Timestamp": stamp, "X-Camwatch-Signature": sign(self._key, stamp, body)}
        try:
            resp = httpx.post(self.s.url, content=body, headers=headers, timeout=self.s.timeout_s, follow_redirects=False)
        except httpx.TimeoutException as err:
            raise TransportError(f"webhook {self.host}: no answer within {self.s.timeout_s:g} s", server=True) from err
        except httpx.HTTPError as err:
            raise TransportError(f"cannot reach the webhook {self.host} ({type(err).__name__})", server=True) from err
        if 200 <= resp.status_code < 300:
            return
        if resp.status_code in TEMPORARY or resp.status_code >= 500:
            raise TransportError(f"webhook {self.host} answered HTTP {resp.status_code}", server=True)
        raise TransportError(f"webhook {self.host} refused the post: HTTP {resp.status_code}", permanent=True)
