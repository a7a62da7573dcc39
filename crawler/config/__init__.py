"""The config model (``leakpatrol.toml``): tables, defaults, loading and validation of the file itself.

It imports no plug-in: plug-in tables are checked against their plug-in's ``Options`` by
:mod:`crawler.plugins`, the only module that imports the registries."""
