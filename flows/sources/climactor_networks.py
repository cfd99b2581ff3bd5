"""ClimActor's network labels as networks: one readable name per network, the edition apart.

ClimActor names a network by the list it was read from: "C40Cities2019", "C40Cities2022",
"GCoM2022", "GlobalCovenantofMayors2019", "GCoMEuropeanCommission2021" are two networks (C40,
the Global Covenant of Mayors), each listed in several years or through several channels. A
city's memberships count networks, so a label is read as a network and an edition: the
trailing year (or the later of "2018-2019") is the edition, kept as the membership's period,
and the rest is mapped to the network's name below. A label not in the map keeps its own
text, without the year, as the name.

Some labels name no network a city joins but a database ClimActor compiled its data from
(Data-Driven Lab's net-zero and Chinese-cities databases, IGDP's, the Japanese prefectures'
sites): those are not memberships and are left out.
"""

from __future__ import annotations

import re

C40 = "C40 Cities Climate Leadership Group"
CDP = "CDP cities (climate disclosure)"
GCOM = "Global Covenant of Mayors for Climate & Energy"
ICLEI = "ICLEI \u2013 Local Governments for Sustainability"  # Wikidata's label: an en dash

# ClimActor's label, without its trailing year, -> the network's name.
NAMES = {
    "C40": C40, "C40Cities": C40, C40: C40,
    "c40_s_deadline": "C40 Deadline 2020 programme",
    "CDP Cities": CDP, "CDPCities": CDP, "CDP Matchmaker": CDP,
    "CDPJRC": "CDP and Joint Research Centre reporting (EU)",
    "CDPStates&Regions": "CDP states and regions (climate disclosure)",
    "Carbon Neutral Cities Alliance": "Carbon Neutral Cities Alliance",
    "Carbon Neutral Cities Alliance (CNCA)": "Carbon Neutral Cities Alliance",
    "Carbonn": "carbonn Climate Registry (ICLEI)",
    "ClimateAlliance": "Climate Alliance",
    "ClimateMayors": "Climate Mayors",
    "Covenant of Mayors": "EU Covenant of Mayors for Climate & Energy",
    "EUCovenantofMayors": "EU Covenant of Mayors for Climate & Energy",
    "GCoM": GCOM, "GCoMCDP": GCOM, "GCoMCDP2020ZCA": GCOM, "GCoMEuropeanCommission": GCOM,
    "GCoMHarmonized": GCOM, "GlobalCovenantofMayors": GCOM,
    "GlobalCovenantofMayors2019ZCA": GCOM,
    "ICLEI": ICLEI, "ICLEI - Local Governments for Sustainability": ICLEI,
    "JapanMOE": "Zero Carbon Cities (Japan, Ministry of the Environment)",
    "JapanMOEZeroCarbonCities": "Zero Carbon Cities (Japan, Ministry of the Environment)",
    "NAZCA": "UNFCCC Global Climate Action portal (NAZCA)",
    "Race to Zero": "Race to Zero", "RacetoZero": "Race to Zero",
    "Under2 Coalition": "Under2 Coalition", "Under2Coalition": "Under2 Coalition",
    "Union of Baltic States": "Union of the Baltic Cities",
    "WWF": "WWF One Planet City Challenge",
    "WWF's One Planet city Challenge 2019 - Unconfirmed countries":
        "WWF One Planet City Challenge",
    "WWF\u2019s One Planet City Challenge": "WWF One Planet City Challenge",
    "WWFJapan": "WWF Japan",
    "WeAreStillIn": "We Are Still In",
    "CompactofStatesRegions": "Compact of States and Regions",
    "EuroCities": "Eurocities",
    "ACTSweden": "ACT Sweden",
}
# Databases ClimActor read commitments from, not networks (see the module).
NOT_NETWORKS = {"DDLChineseCitiesDB", "DDLNetZeroDB", "DDLNetZeroDB2020ZCA", "IGDP", "IGDPDDL",
                "JapanPrefectureSites"}
_EDITION = re.compile(r"^(?P<base>.*?)(?P<year>(?:19|20)\d{2})$")
_SHORT_SPAN = re.compile(r"(?P<century>(?:19|20))(?P<first>\d{2})-(?P<last>\d{2})$")  # 2018-19


def network_of(label: str) -> tuple[str, int | None] | None:
    """(network name, edition year or None) of one of ClimActor's network names; None for a
    label that names a database, not a network."""
    base = _SHORT_SPAN.sub(r"\g<century>\g<first>-\g<century>\g<last>", label.strip())
    edition = None
    if (found := _EDITION.match(base)) and found["base"]:
        base, edition = found["base"], int(found["year"])
        if base.endswith("-") and (earlier := _EDITION.match(base[:-1])) and earlier["base"]:
            base = earlier["base"]  # "CDPCities2018-2019": the later year is the edition
    base = base.strip(" -_")
    if base in NOT_NETWORKS:
        return None
    return NAMES.get(base, base), edition
