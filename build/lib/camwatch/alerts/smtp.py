"""SMTP delivery (smtplib): STARTTLS or implicit TLS, login, a timeout on every step, and errors
classified once into temporary (retry later) or permanent (this address will never work)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from pydantic import SecretStr

from camwatch.config import Config, SmtpSettings


class TransportError(Exception):
    """`permanent`: this address will never work. `server`: the server itself is unreachable or
    refusing us (every email waits, in order), not just this message."""

    def __init__(self, message: str, permanent: bool = False, server: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.server = server


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
        try:
            if s.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=ctx)
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            with client:
                if s.security == "starttls":
                    client.starttls(context=ctx)
                if s.user and self._password is not None:
                    client.login(s.user, self._password)
                refused = client.send_message(msg)
                if refused:
                    code, text = next(iter(refused.values()))
                    raise TransportError(f"recipient refused: {code} {text.decode(errors='replace')}", permanent=code >= 500)
        except smtplib.SMTPRecipientsRefused as err:
            code, text = next(iter(err.recipients.values()))
            raise TransportError(f"recipient refused: {code} {text.decode(errors='replace')}", permanent=code >= 500) from err
        except smtplib.SMTPAuthenticationError as err:
            raise TransportError(f"SMTP login refused ({err.smtp_code}): check the SMTP user and password",
                                 server=True) from err
        except smtplib.SMTPResponseException as err:
            msg_text = err.smtp_error.decode(errors="replace") if isinstance(err.smtp_error, bytes) else str(err.smtp_error)
            raise TransportError(f"SMTP error {err.smtp_code}: {msg_text}", permanent=500 <= err.smtp_code < 600) from err
        except (smtplib.SMTPException, OSError) as err:
            raise TransportError(f"cannot reach the SMTP server {s.host}:{s.port}: {err}", server=True) from err
