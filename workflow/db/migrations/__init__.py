"""Alembic migrations of the Branchflow schema, shipped with the package (run through `workflow.schema`)."""

from __future__ import annotations

from pathlib import Path

VERSIONS = Path(__file__).with_name("versions")


def latest() -> str:
    """The newest revision shipped, from the file names (0001_…, 0002_…): every command checks it, without importing Alembic."""
    return max(p.name[:4] for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))
