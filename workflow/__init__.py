"""Branchflow: the 特色支部创建 lifecycle engine (a library: no click, no APScheduler, no web framework here).

This module is the public API: front ends (`cli.py`, `jobs/`, `web/`) import only the names below. They are
loaded on first use, so a command pays only for what it touches (a read command never imports Alembic,
transitions or openpyxl).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> "module" (a module) or "module:attribute"
_EXPORTS: dict[str, str] = {
    # errors
    "BranchflowError": "workflow.errors:BranchflowError",
    "UsageError": "workflow.errors:UsageError",
    "errors": "workflow.errors",
    # the workspace and who acts
    "Workspace": "workflow.workspace:Workspace",
    "workspace": "workflow.workspace",
    "access": "workflow.access",
    "present": "workflow.present",
    # definition, storage, time
    "spec": "workflow.spec",
    "words": "workflow.spec.words",
    "ReminderPolicy": "workflow.spec:ReminderPolicy",
    "diagram": "workflow.spec.diagram",
    "Store": "workflow.db.store:Store",
    "transfer": "workflow.db.transfer",
    "values": "workflow.db.values",
    "clock": "workflow.dates.clock",
    "workdays": "workflow.dates.workdays",
    # use cases
    "engine": "workflow.lifecycle.engine",
    "repository": "workflow.lifecycle.repository",
    "bulk": "workflow.lifecycle.bulk",
    "cases": "workflow.records.cases",
    "attachments": "workflow.records.attachments",
    "deadlines": "workflow.records.deadlines",
    "campaigns": "workflow.records.campaigns",
    "spec_diff": "workflow.spec.diff",
    "users": "workflow.records.users",
    "auth": "workflow.records.auth",
    "sso": "workflow.records.sso",
    "review": "workflow.review",
    "queries": "workflow.reports.queries",
    "ics": "workflow.reports.ics",
    "export": "workflow.reports.export",
    "roster": "workflow.intake.roster",
    "case_import": "workflow.intake.case_import",
    "reminders": "workflow.reminders",
    "outbox": "workflow.reminders.outbox",
    "notify": "workflow.reminders.transports",
    "channels": "workflow.reminders.channels",
}

__all__ = [
    "BranchflowError",
    "ReminderPolicy",
    "Store",
    "UsageError",
    "Workspace",
    "access",
    "attachments",
    "auth",
    "bulk",
    "campaigns",
    "case_import",
    "cases",
    "channels",
    "clock",
    "deadlines",
    "diagram",
    "engine",
    "errors",
    "export",
    "ics",
    "notify",
    "outbox",
    "present",
    "queries",
    "reminders",
    "repository",
    "review",
    "roster",
    "spec",
    "spec_diff",
    "sso",
    "transfer",
    "users",
    "values",
    "words",
    "workdays",
    "workspace",
]

if TYPE_CHECKING:
    from workflow import access, errors, present, spec, workspace
    from workflow import reminders as reminders
    from workflow import review as review
    from workflow.dates import clock, workdays
    from workflow.db import transfer, values
    from workflow.db.store import Store
    from workflow.errors import BranchflowError, UsageError
    from workflow.intake import case_import, roster
    from workflow.lifecycle import bulk, engine, repository
    from workflow.records import attachments, auth, campaigns, cases, deadlines, sso, users
    from workflow.reminders import channels, outbox
    from workflow.reminders import transports as notify
    from workflow.reports import export, ics, queries
    from workflow.spec import ReminderPolicy, diagram, words
    from workflow.spec import diff as spec_diff
    from workflow.workspace import Workspace


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'workflow' has no attribute {name!r}")
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    value = getattr(module, attribute) if attribute else module
    globals()[name] = value
    return value
