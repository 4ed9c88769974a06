"""Web Push (issue 15): the hub's VAPID keys, message encryption, and what a push says."""
