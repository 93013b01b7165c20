"""A real SMTP server (aiosmtpd) on loopback for the email tests, with knobs for failures."""

from __future__ import annotations

import asyncio
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
    reject: dict[str, str] = field(default_factory=dict)  # address → SMTP reply to RCPT, e.g. "550 no such user"
    # "mail" / "data" → the replies to the next such commands, one each (e.g. ["451 4.3.0 try later"]) …
    answers: dict[str, list[str]] = field(default_factory=dict)
    # … and, once those are used up, the reply to every one (a server-wide fault: "554 5.3.0 transaction failed")
    fail: dict[str, str] = field(default_factory=dict)
    data_delay_s: float = 0.0  # a slow server: it sleeps this long in DATA before accepting
    data_started: int = 0  # DATA commands received (answered or not yet)
    kill_pid_at: str | None = None  # "rcpt" (claimed, not sent) or "data" (sent, not marked)
    kill_pid: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _reply(self, stage: str) -> str | None:
        with self.lock:
            queue = self.answers.get(stage)
            return queue.pop(0) if queue else self.fail.get(stage)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, mail_options: Any) -> str:
        reply = self._reply("mail")
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.reject:
            return self.reject[address]
        if self.kill_pid_at == "rcpt" and self.kill_pid:
            os.kill(self.kill_pid, signal.SIGKILL)
            self.kill_pid_at = None
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.data_started += 1
        if self.data_delay_s:
            await asyncio.sleep(self.data_delay_s)
        reply = self._reply("data")
        if reply:
            return reply
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
