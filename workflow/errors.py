"""One exception hierarchy: each error carries its exit code and a Chinese message, hint and field.

`message` says what is wrong, `hint` what to do about it, both in the user's words (never a command
line flag: the front end that knows its own controls rewords the hint, see cli.py's `ADVICE`), and
`field` which input is wrong (a web form highlights it; `value` is what was given, when that helps).
"""

from __future__ import annotations

from typing import Any


class BranchflowError(Exception):
    """Base of every error a user can cause; a front end shows `text` (or its own wording) and exits with `code`."""

    code = 1

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        field: str = "",
        value: Any = None,
        details: list[str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message + hint)
        self.message = message
        self.hint = hint
        self.field = field
        self.value = value
        self.details = details or []
        self.extra = extra

    @property
    def text(self) -> str:
        """What is wrong and what to do, as one line."""
        return self.message + self.hint

    def lines(self, text: str | None = None) -> list[str]:
        """The line (`text`, or the library's own) followed by one line per problem."""
        return [self.text if text is None else text, *self.details]

    def as_json(self, text: str | None = None) -> dict[str, Any]:
        """The refusal as `{"error": ..., "code": ...}` for `--json` (`text` as the front end words it)."""
        doc: dict[str, Any] = {"error": self.text if text is None else text, "code": self.code}
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
