"""Configuration: `settings` (the validated models the code uses) and `load` (TOML → `Config`)."""

from camwatch.config.load import (
    DEFAULT_CONFIG,
    Changes,
    Config,
    ConfigError,
    ConfigIssue,
    ResolvedCamera,
    SecretError,
    adhoc_camera,
    changes,
    load,
    loads,
    locate,
    resolve_secret,
)
from camwatch.config.settings import (
    Camera,
    CheckSettings,
    Commune,
    ConfigFile,
    Credentials,
    HealthSettings,
    SmtpSettings,
    Technician,
    Thresholds,
)

__all__ = [
    "DEFAULT_CONFIG", "Camera", "Changes", "CheckSettings", "Commune", "Config", "ConfigError", "ConfigFile", "ConfigIssue",
    "Credentials", "HealthSettings", "ResolvedCamera", "SecretError", "SmtpSettings", "Technician", "Thresholds",
    "adhoc_camera", "changes", "load", "loads", "locate", "resolve_secret",
]
