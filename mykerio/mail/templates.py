"""The emails the hub sends to people, each as a plain-text and an HTML body.

Values are escaped for HTML here, once; links are absolute URLs built by the caller from
`[hub] public_url`.
"""

from __future__ import annotations

from html import escape

from mykerio.mail.message import Email

_HTML = (
    '<!doctype html>\n<html><body style="margin:0;padding:24px;background:#f4f6f8;'
    'font-family:Arial,sans-serif;color:#1f2933">\n'
    '<table role="presentation" width="100%" style="max-width:560px;margin:0 auto;'
    'background:#fff;border:1px solid #dde3ea;border-radius:6px">\n'
    '<tr><td style="background:#1b6ac9;color:#fff;padding:14px 20px;font-weight:bold;'
    'font-size:18px">MyKerio</td></tr>\n'
    '<tr><td style="padding:20px;font-size:15px;line-height:1.5">{body}</td></tr>\n'
    "</table></body></html>"
)


def _button(url: str, label: str) -> str:
    return (
        f'<p><a href="{escape(url)}" style="display:inline-block;background:#1b6ac9;color:#fff;'
        f'padding:10px 18px;border-radius:4px;text-decoration:none">{escape(label)}</a></p>'
        f'<p style="color:#6b7785;font-size:13px">Or open this link: {escape(url)}</p>'
    )


def _email(to: str, subject: str, text: str, html_body: str) -> Email:
    return Email(to=to, subject=subject, text=text, html=_HTML.format(body=html_body))


def confirm_email(to: str, full_name: str, link: str) -> Email:
    """Asks a new user to confirm their address."""
    return _email(
        to,
        "Confirm your MyKerio account",
        f"Hello {full_name},\n\nconfirm your email address to start using MyKerio:\n{link}\n\n"
        "If you did not register, ignore this email.\n",
        f"<p>Hello {escape(full_name)},</p><p>Confirm your email address to start using "
        f"MyKerio.</p>{_button(link, 'Confirm email address')}"
        "<p>If you did not register, ignore this email.</p>",
    )


def reset_password(to: str, full_name: str, link: str) -> Email:
    """Carries a single-use password reset link valid one hour."""
    return _email(
        to,
        "Reset your MyKerio password",
        f"Hello {full_name},\n\nset a new password with this link (valid for 1 hour, once):\n"
        f"{link}\n\nIf you did not ask for this, ignore this email; your password stays.\n",
        f"<p>Hello {escape(full_name)},</p><p>Set a new password with this link. It works once, "
        f"within 1 hour.</p>{_button(link, 'Set a new password')}"
        "<p>If you did not ask for this, ignore this email; your password stays.</p>",
    )


def security_change(to: str, full_name: str, change: str) -> Email:
    """Tells a user that a sign-in factor of their account changed."""
    return _email(
        to,
        "Your MyKerio sign-in settings changed",
        f"Hello {full_name},\n\n{change}\n\nIf this was not you, reset your password at once.\n",
        f"<p>Hello {escape(full_name)},</p><p>{escape(change)}</p>"
        "<p>If this was not you, reset your password at once.</p>",
    )


def invitation(to: str, inviter: str, organization: str, link: str, expires: str) -> Email:
    """Invites someone to share an organization."""
    return _email(
        to,
        f"{inviter} has invited you to shared {organization} organization",
        f"Hello,\n\n{inviter} has invited you to shared {organization} organization in MyKerio.\n"
        f"Accept the invitation (valid until {expires}):\n{link}\n",
        f"<p>Hello,</p><p>{escape(inviter)} has invited you to shared "
        f"<strong>{escape(organization)}</strong> organization in MyKerio.</p>"
        f"{_button(link, 'Accept invitation')}"
        f"<p>The invitation is valid until {escape(expires)}.</p>",
    )


def removed_from(
    to: str, full_name: str, organization: str, by: str, *, deleted: bool = False
) -> Email:
    """Tells a person they no longer belong to an organization (removed, or it was deleted)."""
    did = "deleted" if deleted else "removed you from"
    return _email(
        to,
        f"You were removed from {organization} in MyKerio",
        f"Hello {full_name},\n\n{by} {did} the {organization} organization. You no "
        "longer see its appliances.\n",
        f"<p>Hello {escape(full_name)},</p><p>{escape(by)} {did} the "
        f"<strong>{escape(organization)}</strong> organization. You no longer see its "
        "appliances.</p>",
    )


def already_registered(to: str, full_name: str, login_link: str, reset_link: str) -> Email:
    """Answers a registration for an address that already has an account."""
    return _email(
        to,
        "Your MyKerio account already exists",
        f"Hello {full_name},\n\nsomeone (maybe you) tried to create a MyKerio account with this "
        f"address, which already has one. Log in: {login_link}\nForgot your password? "
        f"{reset_link}\n\nIf it was not you, ignore this email.\n",
        f"<p>Hello {escape(full_name)},</p><p>Someone (maybe you) tried to create a MyKerio "
        "account with this address, which already has one.</p>"
        f"{_button(login_link, 'Log in')}<p>Forgot your password? "
        f'<a href="{escape(reset_link)}">Reset it</a>.</p><p>If it was not you, ignore this '
        "email.</p>",
    )


NOTIFICATIONS_FOOTER = (
    'You get this email because "Receive email notifications from MyKerio" is selected in '
    "your MyKerio Settings."
)


def notification_email(to: str, subject: str, text: str, html_body: str, dashboard: str) -> Email:
    """An email about appliances (`mykerio.notifications.digest` writes the body), with the
    dashboard's link and the footer that says how to stop them."""
    return _email(
        to,
        subject,
        f"{text}\nOpen the dashboard: {dashboard}\n\n{NOTIFICATIONS_FOOTER}\n",
        f"{html_body}{_button(dashboard, 'Open the dashboard')}"
        f'<p style="color:#6b7785;font-size:13px">{escape(NOTIFICATIONS_FOOTER)}</p>',
    )
