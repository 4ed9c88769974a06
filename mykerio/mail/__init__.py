"""Email: the message value, the transports that deliver it, and the emails the hub sends."""
