"""When online/offline changes are announced: grace, batching window and flap floor.

- **Grace**: an appliance that is back within its organization's grace (default 2 minutes,
  0 to 30) was never offline as far as email is concerned.
- **Batching window**: a person's first change opens a window; everything that happens in
  their organizations until it ends goes out as one email.
- **Flap floor**: at most one "offline" email per appliance and person per floor (6 hours);
  offline episodes held back are counted in the next one. Someone who was not told "offline"
  is not told "back online" either.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta


@dataclasses.dataclass(frozen=True, slots=True)
class AlertTiming:
    """The hub-wide numbers (`[notifications]`); grace is each organization's own default."""

    grace: timedelta = timedelta(minutes=2)
    window: timedelta = timedelta(minutes=2)
    floor: timedelta = timedelta(hours=6)
