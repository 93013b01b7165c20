"""What many tests share: a config builder, the `camwatch` command as a user runs it, the daemon as a
process, waiting on a condition (never on a fixed sleep), and one check of a URL through the pipeline."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from camwatch.analysis import Baseline
from camwatch.config import CheckSettings, Thresholds, adhoc_camera
from camwatch.devices import DeviceFacts
from camwatch.model import CheckResult
from camwatch.pipeline import run_check
from camwatch.urls import split_credentials

TH = Thresholds(baseline_samples=1)


def check_url(url: str, settings: CheckSettings | None = None, baseline: Baseline | None = None,
              th: Thresholds = TH, label: str = "x") -> tuple[CheckResult, Baseline | None]:
    """One check of an address (credentials in it, URL-encoded) through the daemon's own pipeline."""
    bare, user, password = split_credentials(url)
    cam = adhoc_camera(label, rtsp_url=bare, user=user, password=password, check=settings or CheckSettings())
    out = run_check(cam, baseline, th, DeviceFacts())
    return out.result, out.baseline


def wait_for(cond: Callable[[], object], timeout: float, what: str, every: float = 0.5) -> None:
    """Poll `cond` until it is true; a loaded machine only makes this slower, never wrong."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def camwatch(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`camwatch ARGS…` in a subprocess, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "camwatch", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def start_daemon(cfg: Path, log: Path, env: dict[str, str] | None = None, *extra: str) -> subprocess.Popen[bytes]:
    """`camwatch run` in the background, its output appended to `log`."""
    return subprocess.Popen([sys.executable, "-m", "camwatch", "run", "-c", str(cfg), *extra],
                            env={**os.environ, **(env or {})}, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def stop_daemon(proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(10)


def config_text(state_dir: Path, cameras: Iterable[tuple[str, str, str, str]], *,
                communes: Iterable[tuple[str, str]] | None = None, password_env: str = "CAM_PASSWORD",
                sections: str = "", defaults: str = "") -> str:
    """A config: `cameras` are (id, name, commune, rtsp_url); communes default to those the cameras name.

    `sections` is appended TOML (e.g. `[smtp]`), `defaults` extra lines under `[defaults]`."""
    cameras = list(cameras)
    communes = list(communes) if communes is not None else sorted({(c[2], c[2]) for c in cameras})
    out = [f'[district]\nstate_dir = "{state_dir}"\n', sections.strip() + "\n" if sections.strip() else "",
           f'[defaults]\nuser = "admin"\npassword_env = "{password_env}"\n{defaults.strip()}\n']
    out += [f'[[communes]]\nid = "{cid}"\nname = "{name}"\n' for cid, name in communes]
    out += [f'[[cameras]]\nid = "{i}"\nname = "{n}"\ncommune = "{c}"\nrtsp_url = "{u}"\n' for i, n, c, u in cameras]
    return "\n".join(x for x in out if x)
