"""Who claimed an outbox row, and whether that process is dead, so that its row is re-queued at once.

A claim names its process: `NODE BOOT/PIDNS/PID/START` (the kernel's boot id, the PID namespace, the
PID and the process's start time in clock ticks). A claim made on this machine (same boot, same PID
namespace) by a process that is gone — killed, crashed, or a PID now used by another process — is dead:
its row is sent again now, not after `claim_timeout_s`. A claim from another machine (another node of a
cluster) cannot be checked from here: it waits for `claim_timeout_s`. When in doubt, a claim is alive:
releasing a live claim could send an email twice.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path


def _boot() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:16]
    except OSError:
        return "unknown"


def _pidns() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").partition("[")[2].rstrip("]") or "unknown"
    except OSError:
        return "unknown"


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process from /proc, or None when it cannot be read."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return (fields[0], fields[19]) if len(fields) > 19 else None


@functools.cache
def _machine() -> tuple[str, str]:
    return _boot(), _pidns()


def token(node: str) -> str:
    """This process's claim: `NODE BOOT/PIDNS/PID/START`."""
    boot, ns = _machine()
    pid = os.getpid()
    stat = _stat(pid)
    return f"{node} {boot}/{ns}/{pid}/{stat[1] if stat else '?'}"


def parse(claimed_by: str | None) -> tuple[str, str, int, str] | None:
    """(boot, pid namespace, pid, start) of a claim, or None for an older or foreign claim format. Pure."""
    parts = (claimed_by or "").rpartition(" ")[2].split("/")
    if len(parts) != 4 or not parts[2].isdigit():
        return None
    return parts[0], parts[1], int(parts[2]), parts[3]


def dead(claimed_by: str | None) -> bool:
    """Whether the process that made this claim is known to be gone (see the module's docstring)."""
    p = parse(claimed_by)
    if p is None or (p[0], p[1]) != _machine() or "unknown" in (p[0], p[1]) or p[3] == "?":
        return False
    pid, start = p[2], p[3]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, another user's (PermissionError), or we may not ask
        return False
    stat = _stat(pid)
    if stat is None:  # hidden from us (ProtectProc=invisible): alive, to be safe
        return False
    state, started = stat
    return started != start or state in ("Z", "X")  # another process has that PID now, or a zombie
