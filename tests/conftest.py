"""Settings shared by the whole suite.

Hypothesis: the property tests draw the same examples on every run, so a test that passes
once passes again (``derandomize``: examples seeded from the test's own source; no example
database, so nothing of a previous run changes the next). This is the ``ci`` profile, the
default. ``HYPOTHESIS_PROFILE=explore`` draws new examples each run, to look for new
failures while developing; a failure found that way is then pinned with ``@example``.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
