"""APScheduler jobs over the `workflow` library (the reminder sweep and the overdue digest)."""
