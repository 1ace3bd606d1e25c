"""Time: the clock of Asia/Shanghai, parsing what users type, and working days."""
