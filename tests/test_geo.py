"""indicators.geo: great-circle distances and population within a radius, checked against an
independent haversine brute force on lat/lon (no unit vectors, no k-d tree)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from indicators.geo import great_circle_km, population_within, unit_vectors

R_KM = 6371.0088  # IUGG mean Earth radius, stated here independently of the module
HALF_CIRCUMFERENCE_KM = math.pi * R_KM
EPS_KM = 1e-6  # pairs this close to the cut-off are too close to call in floating point


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km from degrees, by the haversine formula (broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * R_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def random_points(seed: int = 20250611, n: int = 300):
    """Uniform points on the sphere plus clusters at both poles and across the antimeridian,
    with a few exact duplicates of position (the pole under two longitudes, +-180 degrees)."""
    rng = np.random.default_rng(seed)
    n_uniform, n_north, n_south, n_anti = 180, 40, 30, 44
    lat = [np.degrees(np.arcsin(rng.uniform(-1, 1, n_uniform)))]
    lon = [rng.uniform(-180, 180, n_uniform)]
    lat.append(rng.uniform(87.0, 90.0, n_north))
    lon.append(rng.uniform(-180, 180, n_north))
    lat.append(rng.uniform(-90.0, -87.5, n_south))
    lon.append(rng.uniform(-180, 180, n_south))
    anti_lat = rng.uniform(-4.0, 4.0, n_anti)
    east, west = rng.uniform(178.5, 180.0, n_anti), rng.uniform(-180.0, -178.5, n_anti)
    anti_lon = np.where(rng.random(n_anti) < 0.5, east, west)
    lat.append(anti_lat)
    lon.append(anti_lon)
    # Same place written two ways: both poles under different longitudes, and 180 == -180.
    lat.append(np.array([90.0, 90.0, -90.0, -90.0, 1.25, 1.25]))
    lon.append(np.array([0.0, 123.0, 45.0, -170.0, 180.0, -180.0]))
    lat, lon = np.concatenate(lat), np.concatenate(lon)
    assert len(lat) == n
    population = rng.integers(15_000, 5_000_000, n).astype(float)
    return lat, lon, population


def brute_force_bounds(lat, lon, population, radius_km):
    """Sums over pairs safely inside the radius, and over pairs safely or possibly inside."""
    d = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    inside = d <= radius_km - EPS_KM
    np.fill_diagonal(inside, True)  # the city itself, whatever rounding says
    maybe = d <= radius_km + EPS_KM
    np.fill_diagonal(maybe, True)
    return inside @ population, maybe @ population, d


@pytest.fixture(scope="module")
def points():
    return random_points()


@pytest.mark.parametrize("radius_km", [1.0, 50.0, 300.0, 2_000.0, 10_000.0, 20_000.0])
def test_population_within_matches_brute_force(points, radius_km):
    lat, lon, population = points
    lower, upper, _ = brute_force_bounds(lat, lon, population, radius_km)
    result = population_within(lat, lon, population, radius_km)
    assert result.shape == population.shape
    assert np.all(result >= lower)
    assert np.all(result <= upper)
    # With this seed no pair sits on a cut-off, so the answer is exact.
    np.testing.assert_array_equal(lower, upper)
    np.testing.assert_array_equal(result, lower)


def test_random_points_exercise_poles_and_antimeridian(points):
    """Guard for the test above: at 300 km there are neighbours whose longitudes differ by
    almost 360 degrees (across +-180) and by more than 90 degrees (across a pole)."""
    lat, lon, population = points
    _, _, d = brute_force_bounds(lat, lon, population, 300.0)
    close = (d <= 300.0) & ~np.eye(len(lat), dtype=bool)
    dlon = np.abs(lon[:, None] - lon[None, :])
    assert (close & (dlon > 355)).sum() >= 10
    assert (close & (dlon > 90) & (np.abs(lat[:, None]) > 85)).sum() >= 10
    result = population_within(lat, lon, population, 300.0)
    across = np.flatnonzero((close & (dlon > 355)).any(axis=1))
    # Neighbours across the antimeridian must count: each of those cities has more than itself.
    assert np.all(result[across] > population[across])


def test_same_place_written_two_ways_counts_both(points):
    lat, lon, population = points
    result = population_within(lat, lon, population, 1.0)
    # The last six points: north pole twice, south pole twice, (1.25, 180) and (1.25, -180).
    for i, j in [(-6, -5), (-4, -3), (-2, -1)]:
        assert result[i] == result[j] == population[i] + population[j]


def test_isolated_city_counts_itself_once():
    lat = np.array([0.0, 0.0, 45.0])
    lon = np.array([0.0, 90.0, -120.0])
    population = np.array([100.0, 20.0, 3.0])
    np.testing.assert_array_equal(population_within(lat, lon, population, 500.0), population)


def test_neighbour_counted_in_both_directions():
    # Two cities 1 degree of latitude apart (111.2 km along a meridian) and a third far away.
    lat = np.array([10.0, 11.0, -40.0])
    lon = np.array([20.0, 20.0, 20.0])
    population = np.array([1_000.0, 250.0, 7.0])
    gap = R_KM * math.radians(1.0)
    np.testing.assert_array_equal(
        population_within(lat, lon, population, gap + 0.01), [1_250.0, 1_250.0, 7.0]
    )
    np.testing.assert_array_equal(
        population_within(lat, lon, population, gap - 0.01), population
    )


def test_population_within_accepts_lists_and_pandas():
    frame = pd.DataFrame(
        {"lat": [51.5074, 48.8566], "lon": [-0.1278, 2.3522], "pop": [9, 2]}, index=[7, 3]
    )
    result = population_within(frame["lat"], frame["lon"], frame["pop"], 400.0)
    np.testing.assert_array_equal(result, [11.0, 11.0])
    result = population_within([51.5074, 48.8566], [-0.1278, 2.3522], [9, 2], 300.0)
    np.testing.assert_array_equal(result, [9.0, 2.0])


@pytest.mark.parametrize("radius_km", [25_000.0, 40_000.0])
def test_radius_beyond_half_circumference_counts_everyone(points, radius_km):
    lat, lon, population = points
    result = population_within(lat, lon, population, radius_km)
    np.testing.assert_array_equal(result, np.full_like(population, population.sum()))


# great_circle_km ---------------------------------------------------------------------------


def gc(lat1, lon1, lat2, lon2):
    a = unit_vectors(np.atleast_1d(lat1), np.atleast_1d(lon1))
    b = unit_vectors(np.atleast_1d(lat2), np.atleast_1d(lon2))
    return great_circle_km(a, b)


def test_london_to_paris():
    d = gc(51.5074, -0.1278, 48.8566, 2.3522)
    assert d.shape == (1,)
    assert d[0] == pytest.approx(343.5, abs=1.0)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((0.0, 0.0), (0.0, 180.0)),
        ((90.0, 0.0), (-90.0, 0.0)),
        ((51.5074, -0.1278), (-51.5074, 179.8722)),
        ((-33.8688, 151.2093), (33.8688, -28.7907)),
    ],
)
def test_antipodal_points_are_half_a_circumference_apart(a, b):
    assert gc(*a, *b)[0] == pytest.approx(HALF_CIRCUMFERENCE_KM, abs=1.0)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0.0, 0.0), (0.0, 90.0), HALF_CIRCUMFERENCE_KM / 2),  # quarter of the equator
        ((0.0, 0.0), (90.0, 0.0), HALF_CIRCUMFERENCE_KM / 2),  # equator to pole
        ((10.0, 179.5), (10.0, -179.5), None),  # across the antimeridian: short way round
        ((89.0, 0.0), (89.0, 180.0), 2 * R_KM * math.radians(1.0)),  # over the pole
        ((12.3, 45.6), (12.3, 45.6), 0.0),
        ((0.0, 180.0), (0.0, -180.0), 0.0),
    ],
)
def test_known_distances(a, b, expected):
    if expected is None:  # 1 degree of longitude at latitude 10, less than along the parallel
        expected = haversine_km(10.0, 179.5, 10.0, -179.5)
        assert expected < R_KM * math.radians(1.0) * math.cos(math.radians(10.0)) + 1e-9
    assert gc(*a, *b)[0] == pytest.approx(expected, abs=1e-6)


def test_great_circle_matches_haversine_row_wise():
    rng = np.random.default_rng(7)
    n = 1_000
    lat1, lat2 = np.degrees(np.arcsin(rng.uniform(-1, 1, (2, n))))
    lon1, lon2 = rng.uniform(-180, 180, (2, n))
    d = great_circle_km(unit_vectors(lat1, lon1), unit_vectors(lat2, lon2))
    assert d.shape == (n,)
    np.testing.assert_allclose(d, haversine_km(lat1, lon1, lat2, lon2), rtol=0, atol=1e-5)
    assert np.all((d >= 0) & (d <= HALF_CIRCUMFERENCE_KM + 1e-6))
    # Symmetric.
    np.testing.assert_array_equal(
        d, great_circle_km(unit_vectors(lat2, lon2), unit_vectors(lat1, lon1))
    )
