"""Organizations: names, membership rules, invitations and the activity log's vocabulary."""
