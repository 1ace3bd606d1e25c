"""Alembic migrations of the Branchflow schema, shipped with the package (run through `workflow.schema`)."""
