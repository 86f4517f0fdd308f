"""celltrial.report (see docs/architecture.md)."""
