"""celltrial.dataset (see docs/architecture.md)."""
