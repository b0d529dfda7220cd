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


# The password runs to the last "@" on the line: a DSN with an unquoted "@", "/" or space in
# its password is malformed, and hiding too much beats showing any of it.
_URI_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/?#@\s]*:)(?P<pw>[^\n]*)(?P<tail>@)", re.I)
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


_URI_USERINFO = re.compile(r"[a-z][a-z0-9+.-]*://[^:/?#@\s]*:(?P<pw>[^\n]*)@", re.I)


def _passwords_of(dsn: str) -> list[str]:
    """The DSN's password, longest spelling first, whether or not the DSN parses.

    libpq quotes the fragment it choked on ("unexpected spaces found in ..."), so for a DSN
    that does not parse every way its password could be read is a candidate.
    """
    found: list[str] = []
    try:
        from psycopg.conninfo import conninfo_to_dict

        value = conninfo_to_dict(dsn).get("password")
        if value:
            found.append(str(value))
    except Exception:
        uri = _URI_USERINFO.match(dsn.strip())
        if uri:
            whole = uri["pw"]
            found += [whole, whole.split("@", 1)[0]]
        found += [m["pw"].strip("'") for m in _KV_PASSWORD.finditer(dsn)]
    if os.environ.get("PGPASSWORD"):
        found.append(os.environ["PGPASSWORD"])
    return sorted({p for p in found if p}, key=len, reverse=True)


def _password_of(dsn: str) -> str | None:
    passwords = _passwords_of(dsn)
    return passwords[0] if passwords else None


def scrub(message: str, dsn: str | None) -> str:
    """``message`` on one line with the DSN's password (and any DSN inside it) redacted."""
    text = redact_dsn(" ".join(str(message).split()))
    for password in _passwords_of(dsn) if dsn else ():
        text = text.replace(password, "***")
    return text
