"""The machine as Mermaid text (for the README and `branchflow graph`)."""

from __future__ import annotations

from workflow.spec import Spec


def mermaid(spec: Spec) -> str:
    """A Mermaid stateDiagram of the spec, with Chinese labels."""
    lines = ["stateDiagram-v2"]
    for s in spec.states:
        lines.append(f'    state "{s.label}" as {s.id}')
    lines.append(f"    [*] --> {spec.initial.id}")
    for t in spec.transitions:
        for src in t.sources:
            lines.append(f"    {src} --> {t.dest}: {t.trigger} {t.label}")
    for s in spec.states:
        if s.terminal:
            lines.append(f"    {s.id} --> [*]")
    return "\n".join(lines) + "\n"
