"""Answer backends: one Protocol (base.py), one module per implementation, one registry."""
