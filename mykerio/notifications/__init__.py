"""Notifications: online/offline emails without alert storms (guide 3.2; issue 15).

`timing` holds the three numbers that keep alerts quiet (grace, batching window, flap floor),
`digest` writes the one email a person gets per window. The notifier actor
(`actors/notifier.py`) applies them to the organizations' events.
"""
