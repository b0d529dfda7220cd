"""DSNs: where one comes from, and how to show one (or an error about one) without its password."""

from __future__ import annotations

import os
import re

DSN_ENV_VARS = ("SQLPERF_DSN", "DATABASE_URL")


def resolve_dsn(dsn: str | None = None) -> str | None:
    """The DSN given, else ``SQLPERF_DSN``, else ``DATABASE_URL``, else None."""
    if dsn:
        return dsn
    for name in DSN_ENV_VARS:
        value = os.environ.get(name)
        if value:
            return value
    return None


_URI_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/?#@\s]*:)(?P<pw>[^@/?#\s]*)(?P<tail>@)", re.I)
_KV_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|[^\s&]+)", re.I)


def redact_dsn(dsn: str) -> str:
    """``dsn`` with any password replaced by ``***``; safe to print in any message.

    >>> redact_dsn("postgresql://app:s3cret@db:5432/shop")
    'postgresql://app:***@db:5432/shop'
    >>> redact_dsn("host=db password=s3cret dbname=shop")
    'host=db password=*** dbname=shop'
    """
    text = _URI_PASSWORD.sub(lambda m: m["head"] + "***" + m["tail"], dsn)
    return _KV_PASSWORD.sub(lambda m: m["head"] + "***", text)


def _password_of(dsn: str) -> str | None:
    try:
        from psycopg.conninfo import conninfo_to_dict

        value = conninfo_to_dict(dsn).get("password")
    except Exception:
        value = None
    return str(value) if value else os.environ.get("PGPASSWORD") or None


def scrub(message: str, dsn: str | None) -> str:
    """``message`` on one line with the DSN's password (and any DSN inside it) redacted."""
    text = redact_dsn(" ".join(str(message).split()))
    password = _password_of(dsn) if dsn else None
    if password:
        text = text.replace(password, "***")
    return text
