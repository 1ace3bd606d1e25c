"""Read-only answers: status, overdue, history, the calendar (.ics) and spreadsheet exports."""
