"""celltrial.evidence (see docs/architecture.md)."""
