"""``leakpatrol demo`` and the loopback sandbox it runs against (fake sources and issuer)."""
