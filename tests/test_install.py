"""The production path, as a new user takes it: build the wheel, `scripts/install.sh` it into a fresh prefix
(no demo extras), and use the installed `camwatch`, not the checkout."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from camwatch.sim.fleet import Fleet
from tests.conftest import PASSWORD
from tests.test_layout import COMMANDS

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    base = tmp_path_factory.mktemp("install")
    wheels = base / "dist"
    src = base / "src"  # built from a copy: setuptools writes build/ into the tree it builds
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "*state",
                                                             "__pycache__", ".pytest_cache", ".ruff_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(src)],
                   check=True, timeout=600, capture_output=True)
    (wheel,) = wheels.glob("camwatch-*.whl")
    paths = {"prefix": base / "opt" / "camwatch", "etc": base / "etc" / "camwatch", "units": base / "units",
             "wheel": wheel}
    env = {**os.environ, "CAMWATCH_PREFIX": str(paths["prefix"]), "CAMWATCH_ETC": str(paths["etc"]),
           "CAMWATCH_UNIT_DIR": str(paths["units"]), "CAMWATCH_NO_SYSTEMCTL": "1"}
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHON", None)  # install.sh chooses, as in production: the system's Python
    r = subprocess.run([str(ROOT / "scripts" / "install.sh"), str(wheel)], env=env, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    paths["log"] = base / "install.log"
    paths["log"].write_text(r.stdout + r.stderr)
    paths["env"] = base  # where the env for a second run is rebuilt
    yield paths


def cw(installed: dict[str, Path], *args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
       ) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(installed["prefix"] / "bin" / "camwatch"), *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd or installed["env"], env={**clean, **(env or {})})


def test_the_wheel_carries_the_migrations_and_runs_without_the_checkout(installed: dict[str, Path]) -> None:
    site = next(iter((installed["prefix"] / "lib").glob("python3*/site-packages")))
    assert (site / "camwatch" / "store" / "migrations" / "env.py").exists()
    assert not list(site.glob("camwatch*.pth")), "an editable install would hide a broken wheel"
    assert not (site / "aiosmtpd").exists() and not (site / "skimage").exists(), "the demo extras are optional"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_answers_help_from_the_wheel(installed: dict[str, Path], command: str) -> None:
    r = cw(installed, command, "--help")
    assert r.returncode == 0 and f"usage: camwatch {command}" in r.stdout, r.stderr


def test_the_simulator_commands_name_the_missing_extra(installed: dict[str, Path]) -> None:
    r = cw(installed, "demo", "--minutes", "0.1")
    assert r.returncode == 2 and "pip install 'camwatch[sim]'" in r.stderr and "Traceback" not in r.stderr


def test_db_upgrade_and_a_check_from_the_wheel(installed: dict[str, Path], fleet: Fleet, tmp_path: Path) -> None:
    cfg = tmp_path / "cameras.toml"
    cfg.write_text(f'[district]\nstate_dir = "{tmp_path / "state"}"\n', encoding="utf-8")
    r = cw(installed, "db", "upgrade", "-c", str(cfg))
    from camwatch.store import repo

    assert r.returncode == 0 and f"at revision {repo.head_revision()}" in r.stdout, r.stdout + r.stderr
    assert r.stderr.count("INFO") == 0, "no Alembic chatter"
    from urllib.parse import quote

    url = fleet.url("day").replace("rtsp://", f"rtsp://admin:{quote(PASSWORD, safe='')}@")
    r = cw(installed, "check", "--url", url, cwd=tmp_path)
    assert r.returncode == 0 and "verdict   ok" in r.stdout, r.stdout + r.stderr
    assert PASSWORD not in r.stdout + r.stderr and not (tmp_path / "state" / "snapshots").exists()


def test_install_lays_out_etc_with_private_credentials_and_a_verified_unit(installed: dict[str, Path]) -> None:
    etc = installed["etc"]
    for secret in ("camera-password", "smtp-password"):
        assert stat.S_IMODE((etc / secret).stat().st_mode) == 0o600
    text = (etc / "cameras.toml").read_text(encoding="utf-8")
    assert 'state_dir = "/var/lib/camwatch"' in text and 'password_file = "camera-password"' in text
    unit = (installed["units"] / "camwatch.service").read_text()
    assert f"ExecStart={installed['prefix']}/bin/camwatch run" in unit and "ExecReload=/bin/kill -HUP $MAINPID" in unit
    log = installed["log"].read_text()
    assert "systemd-analyze verify ok" in log and "Next steps:" in log
    r = cw(installed, "check-config", "-c", str(etc / "cameras.toml"))  # the credential beside the config
    assert r.returncode == 0 and "103 cameras" in r.stdout, r.stdout + r.stderr


def test_the_services_dynamic_user_can_read_its_config_and_run_its_python(installed: dict[str, Path]) -> None:
    """The unit runs as a DynamicUser with ProtectHome=yes: /etc/camwatch and cameras.toml readable by it (no
    secret in them), the virtualenv's interpreter outside /root and /home, the unit's Documentation= there."""
    etc, prefix = installed["etc"], installed["prefix"]
    assert stat.S_IMODE(etc.stat().st_mode) & 0o005 == 0o005
    assert stat.S_IMODE((etc / "cameras.toml").stat().st_mode) & 0o004
    home = next(ln.split("=", 1)[1].strip() for ln in (prefix / "pyvenv.cfg").read_text().splitlines()
                if ln.startswith("home"))
    assert not home.startswith(("/root/", "/home/")), home
    assert Path(home, "python3").stat().st_mode & 0o001  # anyone may run it
    assert (prefix / "README.md").exists()


def test_install_again_upgrades_and_keeps_the_config(installed: dict[str, Path]) -> None:
    etc = installed["etc"]
    (etc / "cameras.toml").write_text((etc / "cameras.toml").read_text() + "\n# edited by the district\n")
    (etc / "camera-password").write_text("s3cret")
    env = {**os.environ, "CAMWATCH_PREFIX": str(installed["prefix"]), "CAMWATCH_ETC": str(etc),
           "CAMWATCH_UNIT_DIR": str(installed["units"]), "CAMWATCH_NO_SYSTEMCTL": "1"}
    env.pop("VIRTUAL_ENV", None)
    r = subprocess.run([str(ROOT / "scripts" / "install.sh"), str(installed["wheel"])], env=env, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "kept as it is" in r.stdout and (etc / "cameras.toml").read_text().endswith("# edited by the district\n")
    assert (etc / "camera-password").read_text() == "s3cret"


def test_the_readme_shows_the_next_steps_install_prints_word_for_word(installed: dict[str, Path]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("prints the next steps:\n\n```text\n", 1)[1].split("```", 1)[0].strip().splitlines()
    printed = installed["log"].read_text().split("Next steps:", 1)[1].strip().splitlines()[:len(block) - 1]
    here = [ln.replace(str(installed["prefix"]), "/opt/camwatch").replace(str(installed["etc"]), "/etc/camwatch")
            for ln in printed]
    assert block[0] == "Next steps:" and [ln.strip() for ln in block[1:]] == [ln.strip() for ln in here]
