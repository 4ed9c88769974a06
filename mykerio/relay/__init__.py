"""The notification relay: appliances' own alert emails sent through the hub (guide 3.3, 5.1).

`rules` decides per recipient (quota, blacklist, the appliance refusal, address format) with
the guide's exact refusal texts; `addresses` checks an address and its top-level domain against
the IANA list shipped in `data/`; `verp` signs the return paths that bounces come back to, and
`dsn` reads the delivery status notifications (RFC 3464) that arrive there.
"""
