"""The HTTP(S) listener of /metrics and the web pages: no client, however slow or idle, blocks it.

- `accept()` only accepts: the TLS handshake runs in the connection's own thread, under the same timeout as every
  read and write of the connection (`TIMEOUT_S`), so a client that connects and says nothing, or sends half a
  request, holds one thread until the timeout and never the listener.
- A connection lasts at most `MAX_CONNECTION_S`, however it trickles its bytes (a reaper shuts it down).
- At most `MAX_CONNECTIONS` connections at once; one more is closed at once (Prometheus retries at its next scrape).
- IPv4 or IPv6, from the address's form (`[::1]:9834` in the config is served on `::1`).
- A client that times out, hangs up or fails its handshake is logged at debug level, without a traceback.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0  # the handshake, and each read and write of a connection
MAX_CONNECTIONS = 64
MAX_CONNECTION_S = 60.0  # a whole connection: TLS handshake, request and response


class Handler(WSGIRequestHandler):
    timeout = TIMEOUT_S  # StreamRequestHandler sets it on the connection; the server's own value wins (setup)

    def setup(self) -> None:
        self.timeout = getattr(self.server, "timeout_s", TIMEOUT_S)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics: " + format, *args)


class Server(ThreadingMixIn, WSGIServer):
    """A WSGI server with one thread per connection, TLS in that thread, timeouts and a bound on connections."""

    daemon_threads = True
    block_on_close = False  # shutdown does not wait for idle clients

    def __init__(self, host: str, port: int, app: Callable[..., Any], tls: ssl.SSLContext | None = None,
                 timeout_s: float = TIMEOUT_S, max_connections: int = MAX_CONNECTIONS,
                 max_connection_s: float = MAX_CONNECTION_S) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.tls, self.timeout_s, self.max_connection_s = tls, timeout_s, max_connection_s
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        self._open: dict[socket.socket, float] = {}  # a duplicate of each connection → when it must end
        self._open_lock, self._closed = threading.Lock(), threading.Event()
        super().__init__((host, port), Handler)
        self.set_app(app)
        threading.Thread(target=self._reap, name="metrics-reaper", daemon=True).start()

    @property
    def connections(self) -> int:
        """Connections open now (each holding one of the `max_connections` slots)."""
        with self._open_lock:
            return len(self._open)

    def _reap(self) -> None:
        """Shut down connections older than `max_connection_s` (the blocked read or write in their thread ends)."""
        while not self._closed.wait(min(1.0, self.max_connection_s / 4)):
            now = time.monotonic()
            with self._open_lock:
                late = [s for s, end in self._open.items() if end <= now]
            for s in late:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def server_close(self) -> None:
        self._closed.set()
        super().server_close()

    def process_request(self, request: Any, client_address: Any) -> None:
        """In the listener's thread: take a slot or close at once; everything else happens in the connection's."""
        if not self._slots.acquire(blocking=False):
            log.debug("metrics: %d connections open, closing one from %s", self.max_connections, client_address[0])
            self.shutdown_request(request)
            return
        request.settimeout(self.timeout_s)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        # a duplicate descriptor, ours until the end: shutting it down ends the connection, whoever closed theirs
        dup = socket.socket(fileno=os.dup(request.fileno()))
        with self._open_lock:
            self._open[dup] = time.monotonic() + self.max_connection_s
        try:
            if self.tls is not None:
                try:
                    request = self.tls.wrap_socket(request, server_side=True)  # the handshake, under the timeout
                except (OSError, ValueError) as err:
                    log.debug("metrics: TLS handshake with %s failed: %s", client_address[0], err or type(err).__name__)
                    request.close()
                    return
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                del self._open[dup]
            dup.close()
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        err = sys.exc_info()[1]
        if isinstance(err, OSError):  # a timeout, a reset, a client gone: its business, not a bug of ours
            log.debug("metrics: connection from %s ended: %s", client_address[0], err or type(err).__name__)
        else:
            log.exception("metrics: a request from %s failed", client_address[0])


def tls_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certfile, keyfile)
    return ctx
