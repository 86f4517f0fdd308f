"""Sub-commands of the ``celltrial`` CLI, one module per area (registered in ``celltrial.cli``)."""
