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
    load_file,
    packaged_text,
    parse,
)

__all__ = [
    "AUDIENCES",
    "INPUT_TYPES",
    "Calendar",
    "InputSpec",
    "Offset",
    "Quota",
    "ReminderPolicy",
    "RuleSettings",
    "Spec",
    "StateSpec",
    "TransitionSpec",
    "load_file",
    "packaged_text",
    "parse",
]
