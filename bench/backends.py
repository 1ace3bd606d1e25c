"""The databases the benchmark runs on: a SQLite file, or a PostgreSQL schema it creates and drops."""

from __future__ import annotations

import os
import socket
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PG_URL = os.environ.get("BRANCHFLOW_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SQLITE = "sqlite"
POSTGRESQL = "postgresql"
LABELS = {SQLITE: "SQLite", POSTGRESQL: "PostgreSQL"}


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as libpq understands it (no +driver)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


def pg_reachable() -> str | None:
    """PostgreSQL's version when the server answers, else None."""
    parts = urlsplit(_libpq(PG_URL))
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=1):
            pass
        import psycopg

        with psycopg.connect(_libpq(PG_URL), connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]).split()[0] if row else "?"
    except Exception:
        return None


@dataclass
class Database:
    """One benchmark database: `url` for Branchflow (and its CLI), `raw()` for the bulk loader and the raw ceiling."""

    kind: str
    url: str
    path: Path | None = None  # SQLite file
    schema: str | None = None  # PostgreSQL schema

    @property
    def label(self) -> str:
        """SQLite or PostgreSQL."""
        return LABELS[self.kind]

    def raw(self) -> Any:
        """A plain DB-API connection with the store's own settings (WAL, synchronous=NORMAL; search_path)."""
        if self.kind == SQLITE:
            conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            return conn
        import psycopg

        return psycopg.connect(_libpq(PG_URL), options=f"-c search_path={self.schema}")

    def drop(self) -> None:
        """Remove the database (file and WAL, or the schema with everything in it)."""
        if self.kind == SQLITE:
            assert self.path is not None
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            return
        import psycopg

        with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


def create(kind: str, workdir: Path, name: str) -> Database:
    """A new, empty database of `kind` called `name` (a file in `workdir`, or a fresh schema `bench_name_xxxx`)."""
    if kind == SQLITE:
        path = workdir / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return Database(SQLITE, f"sqlite:///{path}", path=path)
    import psycopg

    schema = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return Database(POSTGRESQL, f"{PG_URL}?options=-csearch_path%3D{schema}", schema=schema)
