"""Appliance and hub identities: Ed25519 keys, the handshake signatures and the nonce ledger.

The handshake (docs/protocol.md, "Handshake"): the appliance sends a fresh nonce in `hello`;
the hub answers `challenge` with its own fresh nonce and its signature over both nonces, made
with the hub key the appliance pinned at pairing; the appliance checks that signature, then
sends `proof`: its public key and its signature over both nonces and that key. Each signature
covers a transcript that starts with its own domain prefix, so a signature made for one role can
never pass as the other's. Keys, nonces and signatures travel as unpadded base64url text.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
import secrets
from collections import OrderedDict

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

NONCE_BYTES = 32
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
APPLIANCE_DOMAIN = b"mykerio-appliance-v1\x00"
HUB_DOMAIN = b"mykerio-hub-v1\x00"
FACTORY_DOMAIN = b"mykerio-factory-v1\x00"
SERIAL_CHARS = 12
REPLAY_WINDOW_SECONDS = 600.0
LEDGER_MAX_ENTRIES = 100_000

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url(data: bytes) -> str:
    """`data` as unpadded base64url text, the form keys, nonces and signatures travel in."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    """The bytes of unpadded base64url `text`; `ValueError` unless it is in canonical form."""
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as error:
        raise ValueError("not unpadded base64url") from error
    # Unused low bits in the last character would let one value have several spellings.
    if b64url(data) != text:
        raise ValueError("not canonical base64url")
    return data


# Curve25519's field prime and the Edwards curve constant d = -121665/121666 (RFC 8032 §5.1).
_P = 2**255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def is_weak_public_key(public_raw: bytes) -> bool:
    """Whether `public_raw` is no proper Ed25519 public key: not 32 bytes, not a point, not in
    canonical form (y ≥ p, or "-0"), or of small order (the identity point and the other seven
    torsion points, with which a signature can verify without any private key).

    The hub refuses such keys in `proof` (docs/protocol.md, "Handshake").
    """
    if len(public_raw) != PUBLIC_KEY_BYTES:
        return True
    encoded = int.from_bytes(public_raw, "little")
    y, sign = encoded & ((1 << 255) - 1), encoded >> 255
    if y >= _P:
        return True  # non-canonical: y reduced mod p would give a second spelling
    point = _decompress(y, sign)
    if point is None:
        return True
    for _ in range(3):  # [8]P
        point = _edwards_add(point, point)
    return point == (0, 1)  # [8]P is the identity: P has small order


def _decompress(y: int, sign: int) -> tuple[int, int] | None:
    """The point with this y and x's sign bit, or None (no such point, or x = 0 with sign 1)."""
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = (u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P)) % _P
    if (v * x * x - u) % _P != 0:
        x = (x * _SQRT_M1) % _P
        if (v * x * x - u) % _P != 0:
            return None
    if x == 0 and sign == 1:
        return None
    if x & 1 != sign:
        x = _P - x
    return x, y


def _edwards_add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = a, b
    t = (_D * x1 * x2 * y1 * y2) % _P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, _P - 2, _P)
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, _P - 2, _P)
    return x3 % _P, y3 % _P


def new_identity() -> tuple[bytes, bytes]:
    """A new key pair: the private key as unencrypted PKCS#8 PEM, the public key as 32 raw bytes.

    The PEM is the appliance's (or hub's) secret and belongs in a 0600 file; only the raw public
    key ever leaves the machine.
    """
    private_key = Ed25519PrivateKey.generate()
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return private_pem, _raw_public(private_key)


def public_key_of(private_pem: bytes) -> bytes:
    """The 32 raw public-key bytes that belong to `private_pem`."""
    return _raw_public(_load_private(private_pem))


def public_key_id(public_raw: bytes) -> str:
    """A short stable fingerprint: base32 of the first 20 bytes of SHA-256, 32 lowercase chars."""
    _check_length("public key", public_raw, PUBLIC_KEY_BYTES)
    digest = hashlib.sha256(public_raw).digest()[:20]
    return base64.b32encode(digest).decode("ascii").lower()


def new_nonce() -> bytes:
    """32 fresh random bytes for `hello.nonce` or `challenge.nonce`."""
    return secrets.token_bytes(NONCE_BYTES)


def sign_proof(private_pem: bytes, hub_nonce: bytes, appliance_nonce: bytes) -> bytes:
    """The appliance's `proof` signature over both nonces and its own public key."""
    private_key = _load_private(private_pem)
    transcript = _proof_transcript(hub_nonce, appliance_nonce, _raw_public(private_key))
    return private_key.sign(transcript)


def verify_proof(
    public_raw: bytes, signature: bytes, hub_nonce: bytes, appliance_nonce: bytes
) -> bool:
    """Whether `signature` is the holder of `public_raw` signing this handshake's nonces."""
    if len(public_raw) != PUBLIC_KEY_BYTES or not _nonces_fit(hub_nonce, appliance_nonce):
        return False
    transcript = _proof_transcript(hub_nonce, appliance_nonce, public_raw)
    return _verify(public_raw, signature, transcript)


def sign_hub(hub_private_pem: bytes, appliance_nonce: bytes, hub_nonce: bytes) -> bytes:
    """The hub's `challenge.hub_signature` over the appliance's nonce and its own."""
    return _load_private(hub_private_pem).sign(_hub_transcript(appliance_nonce, hub_nonce))


def verify_hub(
    hub_public_raw: bytes, signature: bytes, appliance_nonce: bytes, hub_nonce: bytes
) -> bool:
    """Whether `signature` is the pinned hub key signing this handshake's nonces."""
    if len(hub_public_raw) != PUBLIC_KEY_BYTES or not _nonces_fit(hub_nonce, appliance_nonce):
        return False
    return _verify(hub_public_raw, signature, _hub_transcript(appliance_nonce, hub_nonce))


def sign_factory(maker_private_pem: bytes, serial: str, public_raw: bytes) -> bytes:
    """The box maker's `hello.factory_signature`: this serial number belongs to this key."""
    return _load_private(maker_private_pem).sign(_factory_transcript(serial, public_raw))


def verify_factory(
    maker_public_raw: bytes, signature: bytes, serial: str, public_raw: bytes
) -> bool:
    """Whether the maker's key certified that the box with `serial` has key `public_raw`."""
    if len(maker_public_raw) != PUBLIC_KEY_BYTES or len(public_raw) != PUBLIC_KEY_BYTES:
        return False
    return _verify(maker_public_raw, signature, _factory_transcript(serial, public_raw))


class NonceLedger:
    """The nonces used within the last `window` seconds, to refuse a second use of any of them.

    Times are whatever monotonic seconds the caller passes as `now`; the ledger has no clock.
    Memory is bounded: expired entries are dropped on every use, and past `max_entries` the
    oldest entry is forgotten early. That trades a sliver of replay protection under a flood for
    never refusing every appliance at once; the handshake does not rely on the ledger alone,
    because each hub nonce is new per connection and bound into the appliance's signature.
    """

    def __init__(
        self, window: float = REPLAY_WINDOW_SECONDS, max_entries: int = LEDGER_MAX_ENTRIES
    ) -> None:
        if window <= 0 or max_entries < 1:
            raise ValueError("a nonce ledger needs a positive window and room for one entry")
        self._window = window
        self._max_entries = max_entries
        self._seen: OrderedDict[bytes, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def use(self, nonce: bytes, now: float) -> bool:
        """Record `nonce` at `now`; `False` if it was already used within the window."""
        self._forget_expired(now)
        if nonce in self._seen:
            return False
        while len(self._seen) >= self._max_entries:
            self._seen.popitem(last=False)
        self._seen[nonce] = now
        return True

    def _forget_expired(self, now: float) -> None:
        # Entries are in the order they were used, so the expired ones are at the front.
        while self._seen:
            oldest_nonce, used_at = next(iter(self._seen.items()))
            if now - used_at < self._window:
                return
            del self._seen[oldest_nonce]


# The hub signs every handshake with one key: parsing its PEM each time was a third of the
# signing cost. A few recent keys stay parsed (an appliance process has one per appliance,
# and signs once per connection, so it gains nothing and loses nothing).
@functools.lru_cache(maxsize=4)
def _load_private(private_pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the private key is not an Ed25519 key")
    return key


def _raw_public(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def _verify(public_raw: bytes, signature: bytes, transcript: bytes) -> bool:
    if len(signature) != SIGNATURE_BYTES:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, transcript)
    except (InvalidSignature, ValueError):
        return False
    return True


def _check_length(what: str, value: bytes, length: int) -> None:
    if len(value) != length:
        raise ValueError(f"a {what} is {length} bytes, not {len(value)}")


def _nonces_fit(hub_nonce: bytes, appliance_nonce: bytes) -> bool:
    return len(hub_nonce) == NONCE_BYTES and len(appliance_nonce) == NONCE_BYTES


def _proof_transcript(hub_nonce: bytes, appliance_nonce: bytes, public_raw: bytes) -> bytes:
    _check_length("hub nonce", hub_nonce, NONCE_BYTES)
    _check_length("appliance nonce", appliance_nonce, NONCE_BYTES)
    # Every part has a fixed length, so plain concatenation is unambiguous.
    return APPLIANCE_DOMAIN + hub_nonce + appliance_nonce + public_raw


def _factory_transcript(serial: str, public_raw: bytes) -> bytes:
    # A serial is 12 ASCII characters and a key 32 bytes: fixed lengths, plain concatenation.
    serial_bytes = serial.encode("ascii")
    _check_length("serial number", serial_bytes, SERIAL_CHARS)
    return FACTORY_DOMAIN + serial_bytes + public_raw


def _hub_transcript(appliance_nonce: bytes, hub_nonce: bytes) -> bytes:
    _check_length("appliance nonce", appliance_nonce, NONCE_BYTES)
    _check_length("hub nonce", hub_nonce, NONCE_BYTES)
    return HUB_DOMAIN + appliance_nonce + hub_nonce
