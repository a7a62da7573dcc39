"""The kernel: what every layer may use (exception tree, durations, clock, back-off, retry policy,
status values, serving an ASGI app on the running loop). Imports nothing else of leakpatrol."""
