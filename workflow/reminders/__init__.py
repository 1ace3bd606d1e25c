"""Reminders (R14): the sweep that decides what is due, the outbox that sends each message once, the
message text, the transports (console, e-mail, WeCom, DingTalk) and their configuration."""

from workflow.reminders.sweep import Planned, PlanRow, SweepReport, decide, fire_at, horizon, plan, queue, sweep

__all__ = ["PlanRow", "Planned", "SweepReport", "decide", "fire_at", "horizon", "plan", "queue", "sweep"]
