"""Typed request and response bodies of the HTTP API, one module per API area.

The models check shape and types only (which fields, of which JSON type); what a value means —
the name rule, the password rules, a valid email address — stays in `mykerio/`, where the
domain checks it. The OpenAPI document (`web.openapi`) is generated from these models.
"""
