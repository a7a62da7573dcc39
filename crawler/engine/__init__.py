"""The engine: pipeline, polling, verification, delivery, the daemon's scheduler, health, metrics."""
