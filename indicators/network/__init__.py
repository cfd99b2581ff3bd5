"""Relational measures of cities: how each is tied to others through the organisations, routes
and partnerships that span them (World City Network analysis)."""
