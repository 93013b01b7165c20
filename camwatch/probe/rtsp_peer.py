"""What a camera said when FFmpeg gave up on it without saying why: RTSP's first two requests, done by hand.

FFmpeg tolerates a lot and explains little: a peer that answers garbage, drips its reply, or announces a
1 GB description all end in its timeout (or "invalid data"), which alone reads "no answer". After such a
failure `examine` asks again on a new connection — OPTIONS, then DESCRIBE, without credentials — and reads
at most a few KiB within the time left, so that the verdict can say what the peer did. Nothing here is
trusted: every read is bounded in size and time, and the peer's bytes are never quoted (they could be
anything, a password included).
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_HEAD = 8192  # an RTSP reply's status line and headers; a camera's are a few hundred bytes
MAX_BODY = 65536  # an SDP description; a camera's is under 4 KiB
_HEAD_END = re.compile(rb"\r?\n\r?\n")
FIRST_BYTE_S = 1.0  # a peer that answered FFmpeg's request answers ours at once; silence costs no more than this


@dataclass(frozen=True)
class PeerReport:
    answered: bool  # the peer answered RTSP requests properly (the failure was later: SETUP, PLAY, the video)
    problem: str | None = None  # what is wrong with its answers, when something is
    unresolved: bool = False  # its host name does not resolve (FFmpeg says only "Input/output error")


SILENT = PeerReport(False)


def examine(url: str, budget_s: float) -> PeerReport:
    """Ask the peer at `url` (no credentials in it) for OPTIONS and DESCRIBE within `budget_s`; say what it did."""
    if budget_s < 0.2:
        return SILENT
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 554
    end = time.monotonic() + budget_s
    try:
        with socket.create_connection((host, port), timeout=budget_s) as sock:
            for cseq, method in enumerate(("OPTIONS", "DESCRIBE"), 1):
                extra = "Accept: application/sdp\r\n" if method == "DESCRIBE" else ""
                sock.sendall(f"{method} {url} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: camwatch\r\n{extra}\r\n".encode())
                report = _reply(sock, method, end)
                if report is not None:
                    return report
    except socket.gaierror:
        return PeerReport(False, unresolved=True)
    except OSError:
        return SILENT  # could not ask: what FFmpeg said stands
    return PeerReport(True)


def _reply(sock: socket.socket, method: str, end: float) -> PeerReport | None:
    """Read one reply; a report when it ends the examination, None when the next request may follow."""
    data = b""
    while _HEAD_END.search(data) is None:
        chunk = _recv(sock, MAX_HEAD + 1 - len(data), end, first=not data)
        if chunk is None:
            break
        data += chunk
        if len(data) > MAX_HEAD or not _may_be_rtsp(data):
            break
    if not data:  # silent from the start: what FFmpeg said stands; silent after OPTIONS: it answered that
        return SILENT if method == "OPTIONS" else PeerReport(True)
    problem = judge_head(data, method)
    if problem is not None:
        return PeerReport(False, problem)
    head, body = _HEAD_END.split(data, 1)
    if int(head[9:12]) != 200:
        return PeerReport(True)  # it answers RTSP (401 before credentials, say): the failure was later
    length = content_length(head)
    if length > MAX_BODY:
        return PeerReport(False, f"the camera announced a {length:,}-byte reply to {method} "
                                 f"(a camera's is a few hundred bytes; camwatch reads at most {MAX_BODY:,})")
    while len(body) < length:
        chunk = _recv(sock, length - len(body), end)
        if chunk is None:
            return PeerReport(False, f"the camera's reply to {method} stopped short: {len(body):,} of the "
                                     f"{length:,} bytes it announced arrived")
        body += chunk
    return None


def _recv(sock: socket.socket, n: int, end: float, first: bool = False) -> bytes | None:
    """Up to `n` bytes, or None when the peer closed or the time is up."""
    left = end - time.monotonic()
    if left <= 0:
        return None
    sock.settimeout(min(left, FIRST_BYTE_S) if first else left)
    try:
        return sock.recv(n) or None
    except TimeoutError:
        return None


def _may_be_rtsp(data: bytes) -> bool:
    return data[:5] == b"RTSP/"[:len(data)]


def judge_head(data: bytes, method: str) -> str | None:
    """What is wrong with the start of a reply (status line and headers, as far as they came); None: nothing. Pure."""
    if not data:
        return None
    if not _may_be_rtsp(data):
        what = "an HTTP server: is this the camera's web port?" if data.startswith(b"HTTP/") else \
            "its reply is something else"
        return f"the camera answered, but not in RTSP ({what})"
    if _HEAD_END.search(data) is None:
        if len(data) > MAX_HEAD:
            return f"the camera's reply to {method} has a header of over {MAX_HEAD:,} bytes that never ends"
        return f"the camera's reply to {method} stopped short: {len(data):,} bytes without the end of its header"
    if not re.fullmatch(rb"RTSP/\d\.\d \d{3}( [^\r\n]*)?\r?", data.split(b"\n", 1)[0]):
        return "the camera answered, but its RTSP status line is malformed"
    return None


def content_length(head: bytes) -> int:
    """The reply's Content-Length (0 without one). Pure."""
    m = re.search(rb"(?im)^content-length:[ \t]*(\d{1,19})[ \t]*$", head)
    return int(m.group(1)) if m else 0
