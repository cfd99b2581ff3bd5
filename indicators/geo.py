"""Distances on the sphere, and indicators derived from where cities are."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

EARTH_RADIUS_KM = 6371.0088


def unit_vectors(latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    """Points on the unit sphere: straight-line (chord) distances there are monotone in
    great-circle distances, so a k-d tree can answer "within r km" exactly."""
    lat, lon = np.radians(latitude), np.radians(longitude)
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def chord_for_km(km: np.ndarray | float) -> np.ndarray | float:
    # No two points are further apart than half the circumference; beyond it the sine would
    # fall again and a larger radius would reach fewer cities.
    km = np.clip(np.asarray(km, dtype=float), 0.0, np.pi * EARTH_RADIUS_KM)
    return 2.0 * np.sin(km / (2.0 * EARTH_RADIUS_KM))


def great_circle_km(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in km between unit vectors (row-wise)."""
    chord = np.linalg.norm(np.asarray(a) - np.asarray(b), axis=-1)
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))


def population_within(
    latitude: np.ndarray, longitude: np.ndarray, population: np.ndarray, radius_km: float
) -> np.ndarray:
    """For each city, the population of all cities (itself included) within `radius_km`:
    the classic market-potential measure with a hard distance cut-off."""
    points = unit_vectors(np.asarray(latitude, float), np.asarray(longitude, float))
    population = np.asarray(population, dtype=float)
    tree = cKDTree(points)
    pairs = tree.query_pairs(chord_for_km(radius_km), output_type="ndarray")
    totals = population.copy()
    np.add.at(totals, pairs[:, 0], population[pairs[:, 1]])
    np.add.at(totals, pairs[:, 1], population[pairs[:, 0]])
    return totals
