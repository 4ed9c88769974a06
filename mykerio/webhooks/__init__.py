"""Webhooks: an organization's HTTP endpoints that hear its appliances' changes (issue 15).

`signing` signs a delivery the Standard Webhooks way, `payloads` writes the bodies (JSON,
Slack, Microsoft Teams), `addresses` keeps webhooks off the hub's own network (SSRF), and
`transport` is what posts them (the web layer's Tornado client).
"""
