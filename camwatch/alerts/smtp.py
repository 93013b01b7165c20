"""SMTP delivery (smtplib): STARTTLS or implicit TLS, login, a timeout on every step, and errors
classified once, by who failed:

- the server refused this recipient (5xx to RCPT): permanent, for this email only;
- the server answered about this email and refused it for now (4xx to RCPT, 4xx/5xx to MAIL or DATA,
  e.g. `554 transaction failed`): retried with this email's own backoff; counts toward `max_attempts`;
- the server failed (no connection, a timeout, a dropped connection, `421`, a refused greeting, TLS or
  login): every email waits a short while, and it never counts toward `max_attempts`.
Once the server has accepted the email (250 after DATA), nothing that follows (QUIT) can fail it."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from pydantic import SecretStr

from camwatch.config import Config, SmtpSettings


class TransportError(Exception):
    """`permanent`: this address will never work. `server`: the server itself is unreachable or failing
    (every delivery of the channel waits, in order; never counted as an attempt). Neither: the server
    answered about this delivery and refused it for now (retried with its own backoff; counted)."""

    def __init__(self, message: str, permanent: bool = False, server: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.server = server


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def refused(code: int, reply: bytes | str) -> TransportError:
    """A reply to RCPT for our one recipient."""
    if code == 421:
        return TransportError(f"SMTP server closing the connection ({code} {_text(reply)})", server=True)
    return TransportError(f"recipient refused: {code} {_text(reply)}", permanent=code >= 500)


def answered(code: int, reply: bytes | str) -> TransportError:
    """A refusal of MAIL or DATA: about this email (retried, counted), unless the server is closing (421)."""
    if code == 421:
        return TransportError(f"SMTP server closing the connection ({code} {_text(reply)})", server=True)
    return TransportError(f"SMTP server refused the email for now: {code} {_text(reply)}")


class SmtpTransport:
    def __init__(self, settings: SmtpSettings, password: SecretStr | None = None) -> None:
        self.s = settings
        self._password = password.get_secret_value() if password is not None else None

    @classmethod
    def from_config(cls, config: Config) -> SmtpTransport:
        assert config.file.smtp is not None
        return cls(config.file.smtp, config.smtp_password)

    def send(self, msg: EmailMessage) -> None:
        s = self.s
        ctx = ssl.create_default_context()
        client: smtplib.SMTP | None = None
        polite = True  # the server answered: say QUIT; after a timeout or a drop, just close
        try:
            if s.security == "tls":
                client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=ctx)
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            client.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                client.starttls(context=ctx)
            if s.user and self._password is not None:
                client.login(s.user, self._password)
            try:
                rejected = client.send_message(msg)
            except smtplib.SMTPRecipientsRefused as err:
                code, text = next(iter(err.recipients.values()))
                raise refused(code, text) from err
            except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as err:
                raise answered(err.smtp_code, err.smtp_error) from err
            if rejected:
                code, text = next(iter(rejected.values()))
                raise refused(code, text)
        except TransportError:
            raise
        except smtplib.SMTPAuthenticationError as err:
            raise TransportError(f"SMTP login refused ({err.smtp_code}): check the SMTP user and password",
                                 server=True) from err
        except smtplib.SMTPResponseException as err:  # the greeting, EHLO, STARTTLS: the server, not this email
            raise TransportError(f"SMTP server {s.host}:{s.port} answered {err.smtp_code} "
                                 f"{_text(err.smtp_error)}", server=True) from err
        except (smtplib.SMTPException, OSError) as err:
            polite = False
            raise TransportError(f"cannot reach the SMTP server {s.host}:{s.port}: {err}", server=True) from err
        finally:
            if client is not None:
                _quit(client, polite, s.timeout_s)


def _quit(client: smtplib.SMTP, polite: bool, timeout_s: float) -> None:
    """Say goodbye, briefly; a server slow or rude at QUIT changes nothing (the email is accepted or refused
    already)."""
    try:
        if polite and client.sock is not None:
            client.sock.settimeout(min(5.0, timeout_s))
            client.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        client.close()
