"""Configuration backups of appliances (guide 2.6): sealed blobs, the vault, their events."""
