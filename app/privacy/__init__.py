"""The audit log, and export and erasure of what is stored about organisations and people."""
