"""celltrial.simulate (see docs/architecture.md)."""
