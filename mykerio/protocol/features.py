"""Protocol v2 capabilities: which features an appliance has, and which the hub will use.

The appliance's `hello.features` maps each feature it supports to the versions of it that it
speaks (`{"backups": [1], "tunnel": [1, 2]}`); the hub answers in `challenge.features` with the
one version of each it will use, for the features both sides have. A feature the hub does not
know is left out, not refused: an appliance newer than its hub still links, without that
feature. Nothing of a feature goes to an appliance whose answer did not include it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from mykerio.protocol.errors import ProtocolError

# What this hub speaks of each feature (issue by issue, each feature adds its versions here).
HUB_FEATURES: Mapping[str, tuple[int, ...]] = {
    "backups": (1,),
    "definitions": (1,),
    "tunnel": (1,),
    # Declared instead of `tunnel` by an appliance whose owner turned remote administration
    # off (section 9.8): the dashboard says so instead of offering "Open administration".
    "tunnel_off": (1,),
    "relay": (1,),
    "notifications": (1,),
    # `echo` and `discard` streams: a link's own throughput and latency, measured by the hub
    # (and by the tests) without any product feature.
    "diagnostics": (1,),
}
# Which feature each stream kind belongs to: a stream of a kind is opened only on a link that
# negotiated its feature (either way; the receiver refuses others as `unsupported`).
STREAM_KINDS: Mapping[str, str] = {
    "echo": "diagnostics",
    "discard": "diagnostics",
    "backup_upload": "backups",
    # One browser request through "Open administration" (section 9.8).
    "tunnel_http": "tunnel",
    # One WebSocket the appliance's administration opens, through the hub (section 9.8).
    "tunnel_ws": "tunnel",
}
MAX_FEATURES = 32
MAX_VERSIONS = 16
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


def check_offered(offered: object) -> Mapping[str, tuple[int, ...]]:
    """`hello.features` as a mapping of feature to versions, or `bad_body` naming the problem."""
    if not isinstance(offered, Mapping):
        raise ProtocolError("bad_body", "hello.features must be an object")
    if len(offered) > MAX_FEATURES:
        raise ProtocolError("bad_body", f"hello.features lists at most {MAX_FEATURES} features")
    checked: dict[str, tuple[int, ...]] = {}
    for name, versions in offered.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ProtocolError(
                "bad_body", "hello.features names are 1 to 32 of a-z 0-9 _, starting with a letter"
            )
        if (
            isinstance(versions, str)
            or not isinstance(versions, Sequence)
            or not 1 <= len(versions) <= MAX_VERSIONS
            or any(type(v) is not int or not 1 <= v <= 65535 for v in versions)
        ):
            raise ProtocolError(
                "bad_body",
                f"hello.features.{name} must list 1 to {MAX_VERSIONS} versions from 1 to 65535",
            )
        checked[name] = tuple(versions)
    return checked


def chosen_problem(value: object) -> str | None:
    """What is wrong with `challenge.features` ({feature: version}), or None."""
    if not isinstance(value, Mapping) or len(value) > MAX_FEATURES:
        return f"must be an object of at most {MAX_FEATURES} features"
    for name, version in value.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            return "names are 1 to 32 of a-z 0-9 _, starting with a letter"
        if type(version) is not int or not 1 <= version <= 65535:
            return "versions are whole numbers from 1 to 65535"
    return None


def offered_problem(value: object) -> str | None:
    """What is wrong with `hello.features`, or None (the message registry's check)."""
    try:
        check_offered(value)
    except ProtocolError as error:
        rest = error.message.removeprefix("hello.features")
        return f"entry {rest[1:]}" if rest.startswith(".") else rest.strip()
    return None


def negotiate_features(
    offered: Mapping[str, Sequence[int]],
    supported: Mapping[str, Sequence[int]] = HUB_FEATURES,
) -> dict[str, int]:
    """For each feature both sides have, the highest version both speak."""
    chosen: dict[str, int] = {}
    for name, versions in offered.items():
        common = set(versions) & set(supported.get(name, ()))
        if common:
            chosen[name] = max(common)
    return dict(sorted(chosen.items()))
