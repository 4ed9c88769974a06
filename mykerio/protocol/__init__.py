"""The appliance protocol, pure: what hub and appliance say to each other over the socket.

`envelope` (JSON framing, encode/decode), `messages` (the registry of message types and their
body schemas), `errors` (protocol error codes and WebSocket close codes), `identity` (Ed25519
keys, the handshake signatures, the nonce ledger), `pairing` (pairing codes and the "add this
appliance" link), `versions` (version negotiation), `status` (the status knobs and colours) and
`link` (timings, send-queue bounds, reconnect delays). No I/O, no clock, no sockets: the web
handler, the appliance actor and the simulator drive these. The written contract is
`docs/protocol.md`. Import the modules directly: this package re-exports nothing.
"""
