"""Alembic revisions, one file each (``NNNN_slug.py``); a package so that they ship in the wheel."""
