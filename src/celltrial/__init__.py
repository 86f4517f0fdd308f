"""celltrial: run and analyse randomized clinical trials of cell therapies.

Layers (imports point one way; see docs/architecture.md):
``protocol`` -> ``allocation``/``dataset`` -> ``stats`` -> ``analysis`` -> ``report``
-> ``simulate``/``evidence`` -> ``edc`` -> ``cli``.
"""

__version__ = "0.1.0"
