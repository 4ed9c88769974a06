"""Appliances as the hub manages them: the dashboard's view, and adding, renaming, removing."""
