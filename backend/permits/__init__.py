"""Permits: vehicles, zones and the permits that let vehicles park."""
