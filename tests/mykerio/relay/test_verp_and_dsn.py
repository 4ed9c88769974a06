"""Signed return paths and DSN parsing (mykerio/relay/verp.py, dsn.py)."""

from __future__ import annotations

from mykerio.relay.dsn import failed_recipients
from mykerio.relay.verp import ReturnPaths

MESSAGE_ID = "0123456789abcdef0123456789abcdef"


def test_return_path_names_its_message_and_rejects_forgeries() -> None:
    """A return path reads back to its message; another key, domain or tag names nothing."""
    paths = ReturnPaths(b"k" * 32, "hub.example.com")
    address = paths.for_message(MESSAGE_ID)
    assert len(address.partition("@")[0]) <= 64
    assert paths.message_of(address) == MESSAGE_ID
    assert paths.message_of(f"<{address.upper()}>") == MESSAGE_ID
    assert ReturnPaths(b"x" * 32, "hub.example.com").message_of(address) is None
    assert ReturnPaths(b"k" * 32, "other.example.com").message_of(address) is None
    forged = address.replace(address[40:46], "000000")
    assert paths.message_of(forged) is None
    assert paths.message_of("postmaster@hub.example.com") is None


def dsn(action: str, status: str, recipient: str = "bob@example.com") -> bytes:
    """A delivery status notification as a mail server writes it."""
    return (
        "From: MAILER-DAEMON@mx.example.com\r\n"
        "To: bounce@hub.example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "--B--\r\n"
    ).encode()


def test_dsn_failed_permanently_is_a_bounce_delay_is_not() -> None:
    """Only `failed` with a 5.x.x status reports a bounced recipient."""
    [failed] = failed_recipients(dsn("failed", "5.1.1"))
    assert failed.address == "bob@example.com"
    assert failed.status == "5.1.1"
    assert "user unknown" in failed.diagnostic
    assert failed_recipients(dsn("delayed", "4.4.1")) == []
    assert failed_recipients(b"Subject: hello\r\n\r\nnot a report\r\n") == []
