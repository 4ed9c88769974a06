"""Security primitives of the core: pure functions and small classes with no I/O.

`passwords` (rules and Argon2id hashing), `totp` (RFC 6238 codes), `backup_codes`, `tokens`
(session ids, links, SMS codes), `encryption` (AES-GCM at rest) and `phone` (E.164 numbers).
Nothing here touches the store, the network or the event loop; the one file read is the shipped
list of common passwords. Import the modules directly: this package re-exports nothing.
"""
