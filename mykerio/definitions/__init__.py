"""Shared definitions of Kerio Control: IP address groups, URL groups and time ranges.

An organization holds, per kind, a list of named groups of typed entries, exactly as Kerio
Control models them (`model`), checked by the hub's rules (`validation`, `limits`), versioned
once per kind (`history`: what changed between two versions). The wire form uses Kerio's own
names (`Host`, `UrlChildGroup`, `TimeRangeWeekly`, `{hour, min}`, zero-based months) so that a
real box can map them one to one.
"""
