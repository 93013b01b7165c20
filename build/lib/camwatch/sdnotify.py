"""systemd's sd_notify protocol (READY=1, WATCHDOG=1, STOPPING=1): one datagram to $NOTIFY_SOCKET.

Eight lines of code against the documented protocol, rather than a dependency on libsystemd.
"""

from __future__ import annotations

import os
import socket


def notify(message: str) -> bool:
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return False
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
        s.settimeout(1.0)
        s.sendto(message.encode(), addr)
    return True

