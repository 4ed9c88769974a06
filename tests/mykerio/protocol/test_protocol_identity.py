"""Tests of mykerio/protocol/identity.py: keys, handshake signatures and the nonce ledger."""

from __future__ import annotations

import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mykerio.protocol.identity import (
    APPLIANCE_DOMAIN,
    HUB_DOMAIN,
    NonceLedger,
    b64url,
    from_b64url,
    is_weak_public_key,
    new_identity,
    new_nonce,
    public_key_id,
    public_key_of,
    sign_hub,
    sign_proof,
    verify_hub,
    verify_proof,
)

APPLIANCE_PEM, APPLIANCE_KEY = new_identity()
HUB_PEM, HUB_KEY = new_identity()
HUB_NONCE = new_nonce()
APPLIANCE_NONCE = new_nonce()


def test_a_new_identity_is_a_pem_and_a_raw_public_key() -> None:
    """new_identity() gives a PKCS#8 PEM and the 32-byte public key that belongs to it."""
    assert APPLIANCE_PEM.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert len(APPLIANCE_KEY) == 32
    assert public_key_of(APPLIANCE_PEM) == APPLIANCE_KEY
    assert new_identity()[1] != APPLIANCE_KEY


def test_the_key_id_is_a_short_stable_fingerprint() -> None:
    """public_key_id() is 32 lowercase base32 characters, the same for the same key."""
    key_id = public_key_id(APPLIANCE_KEY)
    assert re.fullmatch(r"[a-z2-7]{32}", key_id)
    assert public_key_id(APPLIANCE_KEY) == key_id
    assert public_key_id(HUB_KEY) != key_id
    with pytest.raises(ValueError, match="32 bytes"):
        public_key_id(APPLIANCE_KEY[:31])


def test_nonces_are_fresh() -> None:
    """new_nonce() gives 32 random bytes that differ each time."""
    assert len(new_nonce()) == 32
    assert len({new_nonce() for _ in range(100)}) == 100


def test_a_proof_verifies() -> None:
    """The appliance's proof over both nonces verifies under its public key."""
    signature = sign_proof(APPLIANCE_PEM, HUB_NONCE, APPLIANCE_NONCE)
    assert len(signature) == 64
    assert verify_proof(APPLIANCE_KEY, signature, HUB_NONCE, APPLIANCE_NONCE)


def test_a_forged_proof_fails() -> None:
    """A flipped bit, a truncated signature or random bytes never verify."""
    signature = bytearray(sign_proof(APPLIANCE_PEM, HUB_NONCE, APPLIANCE_NONCE))
    signature[10] ^= 1
    assert not verify_proof(APPLIANCE_KEY, bytes(signature), HUB_NONCE, APPLIANCE_NONCE)
    assert not verify_proof(APPLIANCE_KEY, bytes(signature[:63]), HUB_NONCE, APPLIANCE_NONCE)
    assert not verify_proof(APPLIANCE_KEY, new_nonce() * 2, HUB_NONCE, APPLIANCE_NONCE)


def test_a_proof_for_other_nonces_fails() -> None:
    """A proof made for one handshake fails for another hub nonce or appliance nonce (replay)."""
    signature = sign_proof(APPLIANCE_PEM, HUB_NONCE, APPLIANCE_NONCE)
    assert not verify_proof(APPLIANCE_KEY, signature, new_nonce(), APPLIANCE_NONCE)
    assert not verify_proof(APPLIANCE_KEY, signature, HUB_NONCE, new_nonce())
    assert not verify_proof(APPLIANCE_KEY, signature, APPLIANCE_NONCE, HUB_NONCE)


def test_a_proof_under_another_key_fails() -> None:
    """A proof does not verify under a different appliance's key, nor with a bad key."""
    signature = sign_proof(APPLIANCE_PEM, HUB_NONCE, APPLIANCE_NONCE)
    other_key = new_identity()[1]
    assert not verify_proof(other_key, signature, HUB_NONCE, APPLIANCE_NONCE)
    assert not verify_proof(APPLIANCE_KEY[:31], signature, HUB_NONCE, APPLIANCE_NONCE)
    assert not verify_proof(APPLIANCE_KEY, signature, HUB_NONCE[:31], APPLIANCE_NONCE)


def test_a_proof_binds_the_public_key_it_was_made_with() -> None:
    """The proof transcript is the appliance prefix, both nonces and the public key."""
    signature = sign_proof(APPLIANCE_PEM, HUB_NONCE, APPLIANCE_NONCE)
    transcript = APPLIANCE_DOMAIN + HUB_NONCE + APPLIANCE_NONCE + APPLIANCE_KEY
    Ed25519PublicKey.from_public_bytes(APPLIANCE_KEY).verify(signature, transcript)


def test_the_hub_signature_verifies_under_the_pinned_key() -> None:
    """The hub's signature over the appliance's nonce verifies under the hub key."""
    signature = sign_hub(HUB_PEM, APPLIANCE_NONCE, HUB_NONCE)
    assert verify_hub(HUB_KEY, signature, APPLIANCE_NONCE, HUB_NONCE)
    transcript = HUB_DOMAIN + APPLIANCE_NONCE + HUB_NONCE
    Ed25519PublicKey.from_public_bytes(HUB_KEY).verify(signature, transcript)


def test_a_hub_signature_from_another_hub_fails() -> None:
    """A man in the middle with its own key cannot produce a signature the appliance accepts."""
    impostor_pem, _ = new_identity()
    signature = sign_hub(impostor_pem, APPLIANCE_NONCE, HUB_NONCE)
    assert not verify_hub(HUB_KEY, signature, APPLIANCE_NONCE, HUB_NONCE)


def test_a_hub_signature_for_an_old_nonce_fails() -> None:
    """A hub signature replayed from an earlier connection fails for the new appliance nonce."""
    signature = sign_hub(HUB_PEM, APPLIANCE_NONCE, HUB_NONCE)
    assert not verify_hub(HUB_KEY, signature, new_nonce(), HUB_NONCE)
    assert not verify_hub(HUB_KEY, signature, APPLIANCE_NONCE, new_nonce())


def test_signatures_of_one_role_never_pass_as_the_other() -> None:
    """The domain prefixes keep a hub signature from verifying as a proof and the reverse."""
    hub_signature = sign_hub(HUB_PEM, APPLIANCE_NONCE, HUB_NONCE)
    assert not verify_proof(HUB_KEY, hub_signature, HUB_NONCE, APPLIANCE_NONCE)
    proof = sign_proof(APPLIANCE_PEM, HUB_NONCE, APPLIANCE_NONCE)
    assert not verify_hub(APPLIANCE_KEY, proof, APPLIANCE_NONCE, HUB_NONCE)


def test_signing_refuses_nonces_of_the_wrong_length() -> None:
    """Signing with a nonce that is not 32 bytes is a programming error."""
    with pytest.raises(ValueError, match="32 bytes"):
        sign_proof(APPLIANCE_PEM, HUB_NONCE[:16], APPLIANCE_NONCE)
    with pytest.raises(ValueError, match="32 bytes"):
        sign_hub(HUB_PEM, APPLIANCE_NONCE, HUB_NONCE + b"x")


def test_base64url_round_trips_and_refuses_other_spellings() -> None:
    """b64url() is unpadded; from_b64url() accepts only that canonical form."""
    for data in (b"", b"\x00", b"\xff\xfe", bytes(range(32))):
        assert from_b64url(b64url(data)) == data
    assert "=" not in b64url(b"\x00")
    for text in ("AA==", "A", "AB", "AA+/", "AA\n", "A A"):
        with pytest.raises(ValueError, match="base64url"):
            from_b64url(text)


def test_the_ledger_refuses_a_replay_within_the_window() -> None:
    """A nonce used once is refused again until the window has passed."""
    ledger = NonceLedger(window=600.0)
    assert ledger.use(b"n1", now=1000.0)
    assert not ledger.use(b"n1", now=1000.0)
    assert not ledger.use(b"n1", now=1599.9)
    assert ledger.use(b"n2", now=1599.9)


def test_the_ledger_forgets_after_the_window() -> None:
    """Once the window has passed the entry is dropped and memory shrinks."""
    ledger = NonceLedger(window=600.0)
    for index in range(100):
        ledger.use(f"n{index}".encode(), now=1000.0 + index)
    assert len(ledger) == 100
    assert ledger.use(b"n0", now=1600.0)
    assert len(ledger) == 100  # n0 expired and was used again; n1..n99 are still in the window
    assert ledger.use(b"late", now=5000.0)
    assert len(ledger) == 1


def test_the_ledger_is_bounded() -> None:
    """Past max_entries the oldest nonce is forgotten early, never more than the bound kept."""
    ledger = NonceLedger(window=600.0, max_entries=3)
    for index in range(10):
        assert ledger.use(bytes([index]), now=1000.0)
        assert len(ledger) <= 3
    assert ledger.use(bytes([0]), now=1000.0)
    assert not ledger.use(bytes([9]), now=1000.0)


def test_the_ledger_needs_a_sane_size() -> None:
    """A ledger without a positive window or room is refused at construction."""
    with pytest.raises(ValueError, match="positive window"):
        NonceLedger(window=0)
    with pytest.raises(ValueError, match="positive window"):
        NonceLedger(max_entries=0)


# The eight torsion points (libsodium's blocklist spells seven; with their sign-bit variants).
SMALL_ORDER_KEYS = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]
NON_CANONICAL_KEYS = [
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # y = p
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # y = p + 1
    "0100000000000000000000000000000000000000000000000000000000000080",  # x = 0, sign 1
]


@pytest.mark.parametrize("key", SMALL_ORDER_KEYS + NON_CANONICAL_KEYS)
def test_small_order_and_non_canonical_keys_are_weak(key: str) -> None:
    """Every small-order point and every non-canonical encoding counts as a weak key."""
    assert is_weak_public_key(bytes.fromhex(key))


def test_real_keys_are_not_weak() -> None:
    """Freshly made key pairs (and a wrong length, which is weak) are told apart."""
    for _ in range(50):
        assert not is_weak_public_key(new_identity()[1])
    assert is_weak_public_key(bytes(31))
