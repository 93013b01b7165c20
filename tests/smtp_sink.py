"""A real SMTP server (aiosmtpd) on loopback for the email tests, with knobs for failures."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from camwatch.sim.fleet import free_port


@dataclass
class Sink:
    messages: list[EmailMessage] = field(default_factory=list)
    reject: dict[str, str] = field(default_factory=dict)  # address → SMTP reply, e.g. "550 no such user"
    kill_pid_at: str | None = None  # "rcpt" (claimed, not sent) or "data" (sent, not marked)
    kill_pid: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.reject:
            return self.reject[address]
        if self.kill_pid_at == "rcpt" and self.kill_pid:
            os.kill(self.kill_pid, signal.SIGKILL)
            self.kill_pid_at = None
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.messages.append(msg)  # type: ignore[arg-type]
        if self.kill_pid_at == "data" and self.kill_pid:
            os.kill(self.kill_pid, signal.SIGKILL)  # the server has the message; the sender dies before "250"
            self.kill_pid_at = None
        return "250 Message accepted"


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()  # aiosmtpd's Controller(port=0) cannot check its own readiness
        self.sink = Sink()
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
