"""The base of every settings model: strict (unknown keys are errors, values frozen), and the one secret type."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Credentials(Strict):
    """A user and a password: inline (a lab), from the environment, or from a file (a systemd credential).

    The one secret type of camwatch: cameras, ONVIF, SMTP and the metrics endpoint all use it."""

    user: str | None = None
    password: SecretStr | None = None
    password_env: str | None = None
    password_file: Path | None = None

    @property
    def has_password(self) -> bool:
        return any(x is not None for x in (self.password, self.password_env, self.password_file))
