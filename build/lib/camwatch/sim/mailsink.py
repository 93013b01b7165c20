"""A local SMTP sink for the demo (aiosmtpd): every email received is written to a folder as .eml."""

from __future__ import annotations

import itertools
import re
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _FolderHandler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.counter = itertools.count(1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        subject = str(make_header(decode_header(msg.get("Subject", ""))))
        slug = re.sub(r"[^\w]+", "-", subject, flags=re.UNICODE).strip("-")[:80]
        to = ",".join(envelope.rcpt_tos)
        (self.folder / f"{next(self.counter):04d}-{to}-{slug}.eml").write_bytes(envelope.original_content)
        return "250 OK"


class MailSink:
    def __init__(self, folder: Path, port: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.port = folder, port
        self.controller = Controller(_FolderHandler(folder), hostname="127.0.0.1", port=port)

    def __enter__(self) -> MailSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
