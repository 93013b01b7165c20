"""Hostile cameras for tests and benchmarks: RTSP peers that answer badly, in the way their mode says.

    huge      DESCRIBE announces a 1 GB reply and streams junk as fast as it goes
    drip      DESCRIBE announces 3,000 bytes and sends a few a second
    garbage   answers anything with bytes that are not RTSP
    http      answers as a web server would
    silent    accepts and never answers
    no_setup  a proper DESCRIBE, then SETUP is never answered
"""

from __future__ import annotations

import socketserver
import threading

SDP = ("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:track1\r\n")


class Peer(socketserver.StreamRequestHandler):
    """A camera that speaks RTSP badly, in the way `server.mode` says."""

    server: PeerServer

    def handle(self) -> None:
        try:
            self.converse()
        except OSError:  # the client gave up on us: what a hostile camera wants
            pass

    def converse(self) -> None:
        mode, stop = self.server.mode, self.server.stop
        while not stop.is_set():
            lines = []
            while (line := self.rfile.readline(4096)) not in (b"\r\n", b"\n", b""):
                lines.append(line)
            if not lines:
                return
            method = lines[0].split(b" ", 1)[0]
            cseq = next((x.split(b":", 1)[1].strip() for x in lines if x.lower().startswith(b"cseq")), b"1").decode()
            ok = f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n"
            if mode == "silent":
                stop.wait(60)
            elif mode in ("garbage", "http"):
                self.wfile.write(b"HTTP/1.1 400 Bad Request\r\n\r\n" if mode == "http"
                                 else b"\x16\x03\x01 HELLO, NOT RTSP\r\n\r\n" * 8)
                stop.wait(60)
            elif method == b"OPTIONS":
                self.wfile.write(f"{ok}Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n".encode())
            elif method == b"DESCRIBE" and mode == "huge":  # announce 1 GB and stream junk as fast as it goes
                self.wfile.write(f"{ok}Content-Type: application/sdp\r\nContent-Length: 1000000000\r\n\r\n".encode())
                junk = b"\x00junk" * 13000
                while not stop.is_set():
                    self.wfile.write(junk)
            elif method == b"DESCRIBE" and mode == "drip":  # 3000 bytes announced, a few a second
                self.wfile.write(f"{ok}Content-Type: application/sdp\r\nContent-Length: 3000\r\n\r\n".encode())
                while not stop.wait(0.3):
                    self.wfile.write(b"v=0\r\n")
            elif method == b"DESCRIBE":  # no_setup: a proper description, then SETUP is never answered
                self.wfile.write(f"{ok}Content-Type: application/sdp\r\nContent-Length: {len(SDP)}\r\n\r\n{SDP}".encode())
            else:
                stop.wait(60)


class PeerServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), Peer)
        self.mode, self.stop = mode, threading.Event()

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.server_address[1]}/stream"
