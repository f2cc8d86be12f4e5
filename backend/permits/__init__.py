"""Permits: vehicles, zones and the permits that let vehicles park."""

# Registers the flush hook that versions every permit change, for every session that touches permits.
from backend.permits import revisions as _revisions  # noqa: F401
