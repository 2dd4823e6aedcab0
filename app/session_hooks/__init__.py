"""Listeners that every session of the process carries, installed by app.db: the audit log
(audit) and the matching index's change feed (index_changes). They read and write app.models
only, so app.db imports no domain package (the import contract in pyproject.toml)."""
