"""Branchflow: the 特色支部创建 lifecycle engine (a library: no click, no APScheduler here)."""
