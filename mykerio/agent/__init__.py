"""The appliance side of the MyKerio link, and the appliance simulator built on it.

`identity` (the appliance's persistent identity and settings in its state directory),
`profile` (what the simulated appliance is: product, version, serial, host name), `endpoint`
(the hub's socket URL, TLS trust and the protocol's deadlines), `session`
(one socket to the hub: handshake, then messages), `link` (the reconnect loop and the MyKerio
settings the admin UI drives), `admin_ui` and `admin_page` (the appliance's own small web UI and
its JSON API), `fleet` (one or many simulated appliances in one process) and `cli`
(`mykerio simulate`, `python -m mykerio.agent`). It speaks `docs/protocol.md` through
`mykerio.protocol` and may import Tornado (its websocket client and HTTP server).
"""
