"""MyKerio Hub core: configuration, domain models, errors, security and the store.

The core imports neither Tornado nor pykka; the actor runtime (`actors/`) and the web layer
(`web/`) build on it.
"""

__version__ = "0.1.0"
