"""One exception hierarchy: each error carries its exit code and a one-line Chinese message."""

from __future__ import annotations

from typing import Any


class BranchflowError(Exception):
    """Base of every error a user can cause; the CLI prints `message` and exits with `code`."""

    code = 1

    def __init__(self, message: str, *, details: list[str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.extra = extra

    def lines(self) -> list[str]:
        """The message followed by one line per problem."""
        return [self.message, *self.details]

    def as_json(self) -> dict[str, Any]:
        """The refusal as `{"error": ..., "code": ...}` for `--json`."""
        doc: dict[str, Any] = {"error": self.message, "code": self.code}
        if self.details:
            doc["details"] = self.details
        doc.update(self.extra)
        return doc


class Refused(BranchflowError):
    """A rule, a permission or a deadline refuses the action (exit 1)."""

    code = 1


class RuleRefused(Refused):
    """One or more rules of the notice refuse the action."""


class PermissionDenied(Refused):
    """The acting user's role or scope does not allow the action."""


class InvalidTrigger(Refused):
    """The trigger is not possible from the case's current state."""


class UsageError(BranchflowError):
    """Bad input: a missing field, a malformed file, an unknown key (exit 2)."""

    code = 2


class SpecError(UsageError):
    """`states.yaml` is invalid; the message names the file and the line."""


class ImportRowsError(UsageError):
    """A roster or case spreadsheet has bad rows; `details` lists every one."""


class NotFound(BranchflowError):
    """An unknown case, user, branch, committee or campaign (exit 3)."""

    code = 3


class Conflict(BranchflowError):
    """The case changed since it was read (stale version) (exit 4)."""

    code = 4
