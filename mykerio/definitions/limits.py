"""The hub's own limits on shared definitions (Kerio publishes none; docs/protocol.md says
these are the hub's).

They keep one kind's full snapshot well inside one protocol message (256 KiB), keep nesting
shallow enough for an appliance to resolve without recursion trouble, and bound the regular
expressions the hub accepts to ones that cannot backtrack catastrophically.
"""

from __future__ import annotations

GROUP_NAME_CHARS = 64
DESCRIPTION_CHARS = 255
HOSTNAME_CHARS = 253
URL_CHARS = 1024
REGEX_CHARS = 512
REGEX_QUANTIFIERS = 32
GROUPS_PER_KIND = 200
ENTRIES_PER_GROUP = 500
ENTRIES_PER_KIND = 1000
NESTING_DEPTH = 8
# A kind's snapshot as JSON, so that `definitions` stays well under the 256 KiB message limit.
SNAPSHOT_BYTES = 192 * 1024
HISTORY_KEPT = 100
