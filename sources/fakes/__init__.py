"""Loopback fakes of the public services, one per source module, speaking the real formats."""
