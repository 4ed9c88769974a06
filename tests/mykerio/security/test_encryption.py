"""Tests of mykerio/security/encryption.py: AES-256-GCM sealing bound to a purpose."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mykerio.errors import DomainError
from mykerio.security.encryption import SecretBox, TamperedData, derive_key

MASTER = bytes(range(32))
TOTP = "totp secret"
PHONE = "phone"


@pytest.fixture
def box() -> SecretBox:
    return SecretBox.from_master(MASTER)


def test_sealed_values_open_again(box: SecretBox) -> None:
    """A value sealed for a purpose opens to the same bytes for that purpose."""
    sealed = box.seal(b"JBSWY3DPEHPK3PXP", purpose=TOTP)
    assert b"JBSWY3DPEHPK3PXP" not in sealed
    assert box.open(sealed, purpose=TOTP) == b"JBSWY3DPEHPK3PXP"


def test_each_seal_uses_a_new_nonce(box: SecretBox) -> None:
    """Sealing the same value twice gives different bytes (a random 96-bit nonce each time)."""
    first = box.seal(b"+420377338901", purpose=PHONE)
    second = box.seal(b"+420377338901", purpose=PHONE)
    assert first != second
    assert first[1:13] != second[1:13]
    assert len(first) == 1 + 12 + len(b"+420377338901") + 16


def test_a_value_cannot_be_moved_to_another_purpose(box: SecretBox) -> None:
    """A TOTP secret copied into the phone field fails to open there."""
    sealed = box.seal(b"JBSWY3DPEHPK3PXP", purpose=TOTP)
    with pytest.raises(TamperedData):
        box.open(sealed, purpose=PHONE)


@pytest.mark.parametrize("index", [0, 1, 12, 13, -1])
def test_any_changed_byte_is_detected(box: SecretBox, index: int) -> None:
    """Flipping a bit in the version, nonce, ciphertext or tag raises TamperedData."""
    sealed = bytearray(box.seal(b"secret value", purpose=TOTP))
    sealed[index] ^= 0x01
    with pytest.raises(TamperedData):
        box.open(bytes(sealed), purpose=TOTP)


@pytest.mark.parametrize("length", [0, 1, 13, 28])
def test_truncated_data_is_detected(box: SecretBox, length: int) -> None:
    """Sealed data cut short is refused as tampered, not as an index error."""
    sealed = box.seal(b"secret value", purpose=TOTP)
    with pytest.raises(TamperedData):
        box.open(sealed[:length], purpose=TOTP)


def test_another_key_cannot_open(box: SecretBox) -> None:
    """A box from another master secret cannot open the value."""
    sealed = box.seal(b"secret value", purpose=TOTP)
    with pytest.raises(TamperedData):
        SecretBox.from_master(bytes(32)).open(sealed, purpose=TOTP)


def test_tampering_is_a_domain_error_with_a_code(box: SecretBox) -> None:
    """TamperedData renders as the project's JSON error: a DomainError with status and code."""
    with pytest.raises(DomainError) as caught:
        box.open(b"\x01" + bytes(40), purpose=TOTP)
    assert (caught.value.status, caught.value.code) == (500, "tampered_data")
    assert TOTP in caught.value.message


def test_the_key_is_hkdf_sha256_of_the_master_with_the_at_rest_info() -> None:
    """from_master keys the box with HKDF-SHA256(master, info='mykerio at-rest v1')."""
    expected = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"mykerio at-rest v1"
    ).derive(MASTER)
    assert derive_key(MASTER, info="mykerio at-rest v1") == expected
    assert expected != MASTER
    sealed = SecretBox(expected).seal(b"x", purpose=TOTP)
    assert SecretBox.from_master(MASTER).open(sealed, purpose=TOTP) == b"x"


def test_keys_for_different_uses_differ() -> None:
    """Different info strings derive unrelated keys from one master."""
    assert derive_key(MASTER, info="a") != derive_key(MASTER, info="b")


def test_bad_key_sizes_are_refused() -> None:
    """A box needs exactly 32 key bytes, and a master has at least 32."""
    with pytest.raises(ValueError, match="32"):
        SecretBox(bytes(16))
    with pytest.raises(ValueError, match="32"):
        SecretBox.from_master(bytes(16))
