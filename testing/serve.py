"""Start and stop the fakes' local HTTP(S) servers: one copy of the socket, TLS and thread set-up.

Each fake (Azure Key Vault, Cloud KMS) listens on a free port of 127.0.0.1 with the throwaway
certificate from :mod:`testing.certs`, served from a daemon thread so a failing test never hangs.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import SplitResult, urlsplit

from testing.certs import TlsFiles


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no access log on stderr, and the request/response plumbing."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def read_request(self) -> tuple[SplitResult, bytes]:
        """The split request path and the body (``Content-Length`` bytes)."""
        length = int(self.headers.get("Content-Length") or 0)
        return urlsplit(self.path), (self.rfile.read(length) if length else b"")

    def send_body(self, status: int, headers: Iterable[tuple[str, str]], data: bytes) -> None:
        """One complete response: status, ``headers``, ``Content-Length`` and ``data``."""
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def start_server(handler: type[BaseHTTPRequestHandler], name: str,
                 tls: TlsFiles | None = None) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """A threading server on a free port of 127.0.0.1 (HTTPS when ``tls`` is given), serving."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.server_cert, tls.server_key)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, name=name, daemon=True)
    thread.start()
    return httpd, thread


def stop_server(httpd: ThreadingHTTPServer | None, thread: threading.Thread | None) -> None:
    """Shut a server from :func:`start_server` down and wait (briefly) for its thread."""
    if httpd is not None:
        httpd.shutdown()
        httpd.server_close()
    if thread is not None:
        thread.join(timeout=5)


def count_requests(requests: Iterable[Any], lock: threading.Lock, operation: str | None,
                   status: int | None) -> int:
    """Recorded requests (anything with ``operation`` and ``status``) of one operation and status;
    None matches any."""
    with lock:
        return sum(1 for r in requests
                   if (operation is None or r.operation == operation)
                   and (status is None or r.status == status))
