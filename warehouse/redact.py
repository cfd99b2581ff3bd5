"""URLs as they may be shown or stored: without credentials.

A user file or a mirror may be reached through a URL that carries a password
(`http://alice:S3cret@host/kpis.csv`) or a token in its query (`?token=…`, `?api_key=…`,
`?sig=…`). Such a URL is fetched as given, but wherever it is shown or stored (log lines,
`load` errors, the `dataset` table, rejected rows, status, the app, Prefect's records) it
appears redacted: `http://***@host/kpis.csv?token=***`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# Query parameters that carry a credential, by the end of their (case-blind) name:
# token, access_token, key, api_key, apikey, secret, client_secret, password, pass, pwd,
# sig, signature (a pre-signed URL), auth, credential, session.
_SECRET_NAME = re.compile(
    r"(token|key|secret|password|passwd|pass|pwd|sig|signature|auth|credentials?|session)$",
    re.IGNORECASE)
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)
# A credential written as `name=value` in free text (a line a parse error
# quotes from a file): the value, quoted, or up to a space, quote, comma, semicolon or ampersand.
_SECRET_PAIR = re.compile(
    r"\b([\w-]*(?:token|key|secret|password|passwd|pass|pwd|sig|signature|auth|credentials?"
    r"""|session))(\s*=\s*)(?!\*\*\*)(?:"[^"]*"?|'[^']*'?|[^\s'",;&]+)""",
    re.IGNORECASE)


def redact_url(url: str) -> str:
    """The URL without its user-info and with credential-like query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not parseable as a URL: shown as a mask rather than as it is
        return MASK
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    secret_query = any(_SECRET_NAME.search(name) for name, _ in pairs)
    if "@" not in parts.netloc and not secret_query:
        return url  # nothing to hide: as given, to the letter
    netloc = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{MASK}@{netloc}" if "@" in parts.netloc else netloc
    query = parts.query
    if secret_query:
        query = urlencode([(name, MASK if _SECRET_NAME.search(name) else value)
                           for name, value in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """Every URL within the text redacted (an error message, a log line), and every
    credential-like `name=value` pair outside URLs masked (`password=***`)."""

    def one(match: re.Match) -> str:
        found = match.group(0)
        url = found.rstrip(".,:;)]")  # the sentence's punctuation, not the URL's
        return redact_url(url) + found[len(url):]

    return _SECRET_PAIR.sub(rf"\1\2{MASK}", _URL.sub(one, text))
