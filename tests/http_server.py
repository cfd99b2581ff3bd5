"""A real HTTP server on 127.0.0.1 that serves real files, and misbehaves on request.

    /files/<path>[?query]              the file, with ETag and Last-Modified; 304 when unchanged
                                       (the query is part of the file name, as in a mirror
                                       directory: serving a mirror over HTTP gives each URL
                                       the file the mirror has for it)
    /fault/429/<n>/<path>              the first n requests get 429 with Retry-After: 1
    /fault/500/<n>/<path>              the first n requests get 500
    /fault/slow/<seconds>/<path>       waits before answering
    /fault/truncate/<path>             promises the whole file, sends half, hangs up
"""

from __future__ import annotations

import email.utils
import hashlib
import os
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote


class FileServer:
    def __init__(self, root: Path):
        self.root = root.resolve()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.counts: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                server.counts[self.path] += 1
                server.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = request.path.lstrip("/").split("/")
        if parts[0] == "files":
            return self._file(request, "/".join(parts[1:]))
        if parts[0] == "fault":
            kind = parts[1]
            if kind in {"429", "500"}:
                limit, rest = int(parts[2]), "/".join(parts[3:])
                if self.counts[request.path] <= limit:
                    request.send_response(int(kind))
                    if kind == "429":
                        request.send_header("Retry-After", "1")
                    request.send_header("Content-Length", "0")
                    request.end_headers()
                    return None
                return self._file(request, rest)
            if kind == "slow":
                time.sleep(float(parts[2]))
                return self._file(request, "/".join(parts[3:]))
            if kind == "truncate":
                body = self._read("/".join(parts[2:]))
                request.send_response(200)
                request.send_header("Content-Length", str(len(body)))
                request.end_headers()
                request.wfile.write(body[: len(body) // 2])
                request.wfile.flush()
                request.close_connection = True
                return None
        request.send_error(404)
        return None

    def _path(self, relative: str) -> Path:
        path, _, query = relative.partition("?")
        name = unquote(path) + (f"?{query}" if query else "")
        # Normalised, not resolved: a mirror is made of links to files kept elsewhere.
        found = Path(os.path.normpath(self.root / name))
        if not found.is_relative_to(self.root) or not found.is_file():
            raise FileNotFoundError(relative)
        return found

    def _read(self, relative: str) -> bytes:
        return self._path(relative).read_bytes()

    def _file(self, request: BaseHTTPRequestHandler, relative: str) -> None:
        try:
            body = self._read(relative)
        except FileNotFoundError:
            request.send_error(404)
            return
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        modified = email.utils.formatdate(self._path(relative).stat().st_mtime, usegmt=True)
        if request.headers.get("If-None-Match") == etag:
            request.send_response(304)
            request.send_header("ETag", etag)
            request.end_headers()
            return
        request.send_response(200)
        request.send_header("ETag", etag)
        request.send_header("Last-Modified", modified)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
