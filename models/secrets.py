"""Secrets in URLs: what may be shown of an endpoint URL, and what must not (issue 16, item 9).

An endpoint URL can carry a key two ways: as userinfo (``http://user:KEY@host/v1``, which
httpx sends as HTTP basic auth) and in the query string (``?api-key=KEY``, Azure OpenAI and many
gateways). Both are replaced by ``***`` wherever a URL is shown or written: messages, logs,
meta.json, result.json, reports (:func:`redact_url`, :func:`redact_text`).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: query parameter names whose values are secrets (compared case-insensitively, ``-``/``_``
#: ignored): api-key, api_key, apikey, key, token, access_token, auth, sig, signature, ...
_SECRET_PARAM = re.compile(
    r"^(?:api[-_]?key|apikey|key|token|access[-_]?token|auth|authorization|secret|password|"
    r"passwd|sig|signature|code|x[-_]api[-_]key|subscription[-_]key)$", re.I)

_URL = re.compile(r"\bhttps?://[^\s'\"<>]+", re.I)


def is_secret_param(name: str) -> bool:
    """True when a query parameter called ``name`` carries a secret."""
    return bool(_SECRET_PARAM.match(name.strip()))


def redact_url(url: str) -> str:
    """``url`` with its userinfo and the values of secret query parameters replaced by ``***``;
    any other text is returned unchanged. ``http://u:K@h/v1?api-key=K&x=1`` ->
    ``http://***@h/v1?api-key=***&x=1``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if is_secret_param(k) and v else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """``text`` with every http(s) URL in it passed through :func:`redact_url` (for error
    messages that quote a URL)."""
    return _URL.sub(lambda m: redact_url(m.group(0)), text) if "://" in text else text
