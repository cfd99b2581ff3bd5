"""One transport for every source: HTTP from the publisher, or a mirror directory.

HTTP: timeouts; retries with exponential backoff that honour Retry-After; conditional requests
(ETag / Last-Modified) over an on-disk cache, so an unchanged file is not downloaded again; a
descriptive User-Agent; a per-host limit on requests per window, remembered on disk across runs
(OECD allows about 60 downloads an hour).

Mirror: the same URLs read from a directory laid out like them, for offline and reproducible
runs: `https://host/a/b.csv?x=1` is `DIR/host/a/b.csv?x=1` (the query, when there is one, is
part of the file name, exactly as in the URL; a query too long for a file name, such as a
SPARQL query, is named by its SHA-256: `DIR/host/path?sha256=<hex>`). The same layout served
by any static web server is an HTTP mirror: `https://host/a/b.csv?x=1` is fetched as
`BASE/host/a/b.csv%3Fx=1`, over the HTTP path (retries, conditional requests) but without the
publisher's rate limits.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, unquote, urlsplit

import httpx

from warehouse.redact import redact_text, redact_url

USER_AGENT = "citybench/0.1 (open city-data benchmarking; +https://github.com/citybench/citybench)"
RETRY_STATUSES = {429, 500, 502, 503, 504}


class FetchFailed(RuntimeError):
    """A file could not be fetched; the message is one line naming the URL and the reason.

    `status` is the HTTP status of the last answer, or None when there was none (a timeout, a
    refused connection); a mirror that lacks the file says 404, as a server would.
    """

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status

    @property
    def not_published(self) -> bool:
        """The publisher (or mirror) says the file is not there, as opposed to an outage."""
        return self.status in {404, 410}


@dataclass(frozen=True)
class Fetched:
    url: str
    content: bytes
    retrieved_at: datetime
    last_modified: str | None = None  # as the publisher states it
    from_cache: bool = False  # True when the server said 304 Not Modified


class Transport(Protocol):
    def get(self, url: str) -> Fetched: ...

    def close(self) -> None: ...


# File systems cap a name at 255 bytes; SPARQL queries in a URL run to a kilobyte.
_MAX_NAME_BYTES = 255


def _mirror_name(url: str) -> str:
    """`https://host/a/b.csv?x=1` -> `host/a/b.csv?x=1`: where a mirror keeps the URL's file.

    A query too long for a file name is replaced by its hash: `b.csv?sha256=<hex>`.
    """
    parts = urlsplit(url)
    path, query = unquote(parts.path).lstrip("/"), parts.query
    if query and len(f"{path.rsplit('/', 1)[-1]}?{query}".encode()) > _MAX_NAME_BYTES:
        query = "sha256=" + hashlib.sha256(query.encode()).hexdigest()
    return f"{parts.hostname}/{path}" + (f"?{query}" if query else "")


def is_url(text: str) -> bool:
    return urlsplit(text).scheme in {"http", "https"}


def mirror_url(base: str, url: str) -> str:
    """The URL of `url`'s file on an HTTP mirror; '?' and '%' escaped so the query stays part
    of the file name."""
    return base.rstrip("/") + "/" + quote(_mirror_name(url), safe="/")


def mirror_path(root: Path, url: str) -> Path:
    relative = _mirror_name(url)
    # Normalised, not resolved: a mirror may be made of symbolic links to files kept elsewhere.
    path = Path(os.path.normpath(root / relative))
    if not path.is_relative_to(Path(os.path.normpath(root))):
        raise FetchFailed(f"{redact_url(url)}: leaves the mirror directory")
    return path


class Offline:
    """The transport of a run that must fetch nothing (a dry run on local files)."""

    def get(self, url: str) -> Fetched:
        raise FetchFailed(f"{redact_url(url)}: this run fetches nothing")

    def close(self) -> None:
        pass


@dataclass
class MirrorTransport:
    root: Path

    def get(self, url: str) -> Fetched:
        path = mirror_path(self.root, url)
        if not path.is_file():
            raise FetchFailed(f"{redact_url(url)}: not in the mirror (expected {path})",
                              status=404)
        stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return Fetched(url, path.read_bytes(), stamp, email.utils.format_datetime(stamp, True))

    def close(self) -> None:
        pass  # nothing held open


@dataclass(frozen=True)
class HostLimit:
    requests: int
    per_seconds: float


@dataclass
class HttpTransport:
    cache_dir: Path
    timeout: float = 60.0
    retries: int = 4
    backoff: float = 1.0  # first retry after ~1 s, then 2, 4, ... (with jitter)
    max_wait: float = 120.0  # never sleep longer than this for one retry or rate limit
    limits: dict[str, HostLimit] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    client: httpx.Client | None = None
    mirror: str | None = None  # base URL of an HTTP mirror that stands in for every publisher

    def __post_init__(self) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        if self.client is None:
            self.client = httpx.Client(
                timeout=self.timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT}
            )

    def close(self) -> None:
        self.client.close()

    # A Dask worker (`refresh --dask-address`) gets the transport without its connection
    # pool, which cannot be pickled, and opens its own.
    def __getstate__(self) -> dict:
        return {**self.__dict__, "client": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    def get(self, url: str) -> Fetched:
        if self.mirror:
            return replace(self._get(mirror_url(self.mirror, url)), url=url)
        return self._get(url)

    def _get(self, url: str) -> Fetched:
        cached_body, cached_meta = self._cached(url)
        headers = {}
        if cached_meta.get("etag"):
            headers["If-None-Match"] = cached_meta["etag"]
        if cached_meta.get("last_modified"):
            headers["If-Modified-Since"] = cached_meta["last_modified"]
        last_error, status = "no attempt made", None
        for attempt in range(self.retries + 1):
            self._respect_limit(url)
            try:
                response = self.client.get(url, headers=headers)
                content = response.content  # reads the body: a short body raises here
            except httpx.TimeoutException:
                last_error = f"timed out after {self.timeout:g} s"
                wait = self._backoff(attempt)
            except httpx.TransportError as error:
                last_error = redact_text(_one_line(error)) or type(error).__name__
                wait = self._backoff(attempt)
            else:
                if response.status_code == 304 and cached_body is not None:
                    return Fetched(url, cached_body, datetime.now(UTC),
                                   cached_meta.get("last_modified"), from_cache=True)
                if response.is_success:
                    return self._store(url, response, content)
                status = response.status_code
                last_error = f"HTTP {status} {response.reason_phrase}".strip()
                if response.status_code not in RETRY_STATUSES:
                    break
                wait = _retry_after(response) or self._backoff(attempt)
            if attempt < self.retries:
                self.sleep(min(wait, self.max_wait))
        raise FetchFailed(
            f"{redact_url(url)}: {last_error} (after {attempt + 1} attempt(s))", status)

    def _backoff(self, attempt: int) -> float:
        return self.backoff * (2**attempt) * random.uniform(0.8, 1.2)

    # --- conditional-request cache -------------------------------------------------------
    def _cache_paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode()).hexdigest()[:32]
        return self.cache_dir / f"{key}.body", self.cache_dir / f"{key}.json"

    def _cached(self, url: str) -> tuple[bytes | None, dict]:
        body, meta = self._cache_paths(url)
        if body.is_file() and meta.is_file():
            return body.read_bytes(), json.loads(meta.read_text())
        return None, {}

    def _store(self, url: str, response: httpx.Response, content: bytes) -> Fetched:
        body, meta = self._cache_paths(url)
        last_modified = response.headers.get("Last-Modified")
        if response.headers.get("ETag") or last_modified:
            # each file whole or absent: sources fetch at once (threads, or Dask workers
            # sharing the cache), and a reader must never see half a body
            _write_atomically(body, content)
            _write_atomically(meta, json.dumps(
                {"url": redact_url(url), "etag": response.headers.get("ETag"),
                 "last_modified": last_modified}
            ).encode())
        return Fetched(url, content, datetime.now(UTC), last_modified)

    # --- per-host rate limit, remembered across runs ---------------------------------------
    def _respect_limit(self, url: str) -> None:
        host = urlsplit(url).hostname or ""
        limit = self.limits.get(host)
        if limit is None:
            return
        log = self.cache_dir / f"requests-{host}.json"
        now = time.time()
        recent = [t for t in (json.loads(log.read_text()) if log.is_file() else [])
                  if now - t < limit.per_seconds]
        if len(recent) >= limit.requests:
            wait = recent[0] + limit.per_seconds - now
            if wait > self.max_wait:
                raise FetchFailed(
                    f"{redact_url(url)}: {host} allows {limit.requests} requests per "
                    f"{limit.per_seconds:g} s; the next is possible in {wait:.0f} s"
                )
            self.sleep(wait)
            now = time.time()
            recent = [t for t in recent if now - t < limit.per_seconds]
        log.write_text(json.dumps([*recent, now]))


def _write_atomically(path: Path, content: bytes) -> None:
    partial = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}")
    try:
        partial.write_bytes(content)
        os.replace(partial, path)
    except OSError:  # a full disk leaves no partial file holding its space
        partial.unlink(missing_ok=True)
        raise


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _one_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else ""
