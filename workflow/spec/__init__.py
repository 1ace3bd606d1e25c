"""The campaign's definition: `states.yaml` loaded and validated into frozen dataclasses, and the notice's rules."""

from workflow.spec.model import (
    AUDIENCES,
    INPUT_TYPES,
    Calendar,
    InputSpec,
    Offset,
    Quota,
    ReminderPolicy,
    RuleSettings,
    Spec,
    StateSpec,
    TransitionSpec,
    WebSettings,
    load_file,
    packaged_text,
    parse,
)
from workflow.spec.review import Criterion, ReviewSettings

__all__ = [
    "AUDIENCES",
    "INPUT_TYPES",
    "Calendar",
    "Criterion",
    "InputSpec",
    "Offset",
    "Quota",
    "ReminderPolicy",
    "ReviewSettings",
    "RuleSettings",
    "Spec",
    "StateSpec",
    "TransitionSpec",
    "WebSettings",
    "load_file",
    "packaged_text",
    "parse",
]
