"""The demo: a whole 2024 season on a throw-away SQLite database, told as CLI commands."""

from __future__ import annotations
