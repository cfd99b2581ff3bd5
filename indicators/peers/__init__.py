"""Peer groups: the cities a city compares itself with, each found by a named, documented rule."""
