"""A module-level fake whose bound method a scenario takes as ``before_run``
(``test_reproducers.py``)."""

from __future__ import annotations

#: What the fake mailer sent; ``SENT.clear`` resets it between runs.
SENT: list[str] = []
