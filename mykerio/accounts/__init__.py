"""Accounts: registration, login with a second factor, sessions, recovery and the access audit.

These are the rules; `actors/accounts.py` runs them one account at a time and sends the emails
they produce through the mailer.
"""
