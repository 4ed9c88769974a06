"""`python -m mykerio.agent`: run simulated appliances (same flags as `mykerio simulate`)."""

from __future__ import annotations

import sys

from mykerio.agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
