"""Shared helpers of the capture tests: the demo app on a fresh SQLite or PostgreSQL database."""

from __future__ import annotations

import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
if str(FIXTURES) not in sys.path:
    sys.path.insert(0, str(FIXTURES))

VIEWS = FIXTURES / "demo_app" / "views.py"


def line_of(text: str, path: Path = VIEWS) -> int:
    """The 1-based line of ``path`` that contains ``text`` (so tests survive edits of the file)."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def sqlite_engine(posts: int = 3):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session
    from sqlalchemy.pool import StaticPool

    from demo_app import data

    # One shared connection: the test client's server thread sees the same in-memory database.
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    data.create_schema(engine)
    with Session(engine) as session:
        data.make_blog(session, posts=posts)
    return engine
