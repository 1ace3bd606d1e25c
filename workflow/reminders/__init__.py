"""Reminders (R14): the sweep that decides what is due, the outbox that sends each message once, the
message text, the transports (console, e-mail, WeCom, DingTalk) and their configuration."""

from workflow.reminders.sweep import Planned, SweepReport, decide, fire_at, horizon, queue, sweep

__all__ = ["Planned", "SweepReport", "decide", "fire_at", "horizon", "queue", "sweep"]
