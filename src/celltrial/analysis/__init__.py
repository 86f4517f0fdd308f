"""celltrial.analysis (see docs/architecture.md)."""
