"""A simulated camera fleet on loopback: GStreamer's RTSP server as a subprocess, driven by a control file.

One simulator for tests, the demo and benchmarks. Faults switch at run time with `Fleet.set()`.
"""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from camwatch.sim.scenes import ensure_clips, ensure_shape

log = logging.getLogger(__name__)

SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = os.environ.get("CAMWATCH_GST_PYTHON", "/usr/bin/python3")


def clip_cache() -> Path:
    return Path(os.environ.get("CAMWATCH_CLIPS", Path.home() / ".cache" / "camwatch" / "clips"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FleetError(RuntimeError):
    pass


class Fleet:
    def __init__(self, workdir: Path, mounts: dict[str, str], *, port: int = 0, user: str | None = "admin",
                 password: str | None = "p@ss:w#rd", clips: Path | None = None, hostile_ports: bool = True) -> None:
        self.workdir = Path(workdir)
        self.mounts = dict(mounts)
        self.port = port or free_port()
        self.user, self.password = user, password
        self.clips = clips or clip_cache()
        self.hang_port = free_port() if hostile_ports else None
        self.garbage_port = free_port() if hostile_ports else None
        self.control = self.workdir / "fleet-control.json"
        self.proc: subprocess.Popen[bytes] | None = None

    # ---------------------------------------------------------------- control
    def _write_control(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        tmp = self.control.with_suffix(".tmp")
        tmp.write_text(json.dumps({"user": self.user, "password": self.password, "mounts": self.mounts}), encoding="utf-8")
        before = self.control.stat().st_mtime_ns if self.control.exists() else 0
        os.replace(tmp, self.control)
        st = self.control.stat()
        if st.st_mtime_ns <= before:  # make sure the server sees a new mtime, however coarse the clock
            os.utime(self.control, ns=(st.st_atime_ns, before + 1_000_000))

    def set(self, mount: str, scene: str) -> None:
        """Switch what a camera shows (for its next session)."""
        if mount not in self.mounts:
            raise KeyError(mount)
        if "@" in scene:
            ensure_shape(self.clips, scene)
        self.mounts[mount] = scene
        self._write_control()

    def url(self, mount: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{mount}"

    # ---------------------------------------------------------------- life cycle
    def start(self, timeout_s: float = 60.0) -> Fleet:
        if not Path(SYSTEM_PYTHON).exists():
            raise FleetError(f"{SYSTEM_PYTHON} not found: the simulator needs Debian's python3-gi and GStreamer")
        ensure_clips(self.clips)
        for spec in {s for s in self.mounts.values() if "@" in s}:
            ensure_shape(self.clips, spec)
        self._write_control()
        cmd = [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--port", str(self.port), "--control", str(self.control),
               "--clips", str(self.clips)]
        if self.hang_port and self.garbage_port:
            cmd += ["--hang-port", str(self.hang_port), "--garbage-port", str(self.garbage_port)]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        out = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                out += line
                if b"ready on" in line:
                    return self
            if self.proc.poll() is not None:
                break
        self.stop()
        raise FleetError(f"the RTSP simulator did not start: {out.decode(errors='replace')[-500:]}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self) -> Fleet:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def gst_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists() or shutil.which("gst-launch-1.0") is None:
        return False
    r = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0');"
                        "from gi.repository import GstRtspServer"], capture_output=True, timeout=30)
    return r.returncode == 0
