"""Storage: the database (the only place that knows its URL), the tables, migrations and copying."""
