"""celltrial.allocation (see docs/architecture.md)."""
