"""What every test run shares."""

from __future__ import annotations

import os

from api.schemas.dumping import STRICT_ENV

# Answers carrying a field their response schema does not declare fail the test (and the
# servers the tests start), rather than losing the field silently in production.
os.environ.setdefault(STRICT_ENV, "1")
