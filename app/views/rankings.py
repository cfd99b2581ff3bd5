"""Rankings: the cities by a framework's index (the headline by default) or by one of its
dimensions, among all cities or a peer group, with each rank's 5-95% interval, your own weights
(sliders and named perspectives, the index recomputed by the composite engine), the methodology
written out from the run's framework and method files, and the whole ranking to download.

The view's state lives in the address: framework, rank_by, continent, country, size, income,
top and weights (`weights=air:1,twinning:0.25,demography:0.5`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import charts, params, reads, ui, weights
from indicators.composite.reweight import TopLevel, ranks, top_level
from indicators.composite.spec import Framework, Method, SpecError, load_framework, load_method
from indicators.peers import groups
from warehouse import read_model

INDEX = "index"
ALL = ""  # a filter's "All" (None would show as no choice at all)
TOP = 25
INTERVAL_SENTENCE = (
    "The 5-95% rank interval is how far a city's rank moves when the weights and the "
    "normalisation are varied: a wide interval means the rank should not be read precisely.")


def _start(key: str, value) -> None:
    """A widget's first value (from the address); later runs keep the user's."""
    if key not in st.session_state:
        st.session_state[key] = value


def _framework_changed() -> None:
    # the dimensions and weights of one framework mean nothing in another
    for key in ("rank_by", "weights"):
        st.query_params.pop(key, None)
    st.session_state.pop("rank_by", None)


def _default_framework(runs: pd.DataFrame) -> str:
    """The headline, unless its run scored no city (its sources not loaded), then the first
    framework that did."""
    cities = dict(zip(runs["framework_id"], runs["cities"], strict=True))
    ids = sorted(cities, key=lambda f: (f != ui.HEADLINE, f))
    return next((f for f in ids if cities[f] > 0), ids[0])


def _choose_framework(runs: pd.DataFrame) -> str:
    """A picker over every framework scored, the headline first."""
    cities = dict(zip(runs["framework_id"], runs["cities"], strict=True))
    ids = sorted(cities, key=lambda f: (f != ui.HEADLINE, f))
    _start("framework", params.choice("framework", ids, _default_framework(runs)))
    return st.selectbox(
        "Index", ids, key="framework", on_change=_framework_changed,
        format_func=lambda f: read_model.index_label(f)
        + (" (headline)" if f == ui.HEADLINE else "")
        + ("" if cities[f] else " — not scored"),
        help="Every framework the refresh scores; the headline is the project's benchmark.")


def _label(framework: Framework, node: str) -> str:
    name = framework.nodes[node].name
    return name.replace("_", " ").capitalize() if name == node else name


def _choose_rank_by(framework: Framework, top: TopLevel) -> str:
    options = [INDEX, *top.components]
    _start("rank_by", params.choice("rank_by", options, INDEX))
    return st.selectbox(
        "Rank by", options, key="rank_by",
        format_func=lambda n: ("The index" if n == INDEX else _label(framework, n)),
        help="The index, or one of the dimensions it is made of (a dimension's score is the "
             "weighted mean of its indicators, each normalised to 0..1).")


# --- peer groups -------------------------------------------------------------------------------


def _size_classes(frame: pd.DataFrame) -> pd.Series:
    """Each city's population size class, as the size-class peer rule sets it."""
    sized = groups.size_population({
        "city_id": frame["city_id"].to_numpy(object),
        **{column: frame[column].to_numpy(float, na_value=float("nan")) for column in (
            "population", "agglomeration_population", "agglomeration_year")}})
    bands = dict(zip(sized["city_id"], groups.size_band(sized["population"]), strict=True))
    return frame["city_id"].map(bands).to_numpy()


def _continent_changed() -> None:
    # a country of another continent would be no choice of the new one
    st.session_state.pop("country", None)
    st.query_params.pop("country", None)


def _top() -> int:
    _start("top", int(params.number("top", 5, 200, TOP)))
    top = st.number_input("Top", min_value=5, max_value=200, step=5, key="top",
                          help="How many cities the chart and the table show (5 to 200); the "
                               "download holds every city of the peer group.")
    params.keep(top=None if top == TOP else str(top))
    return int(top)


def _filters(frame: pd.DataFrame) -> tuple[pd.Series, str]:
    """The peer-group pickers: which cities (a mask over frame) and the group in words."""
    countries = (frame.drop_duplicates("country_iso2").set_index("country_iso2")
                 .sort_values("country"))
    names = read_model.CONTINENTS
    continents = sorted(frame["continent"].dropna().unique(), key=lambda c: names.get(c, c))
    bands = [label for _, label in groups.SIZE_BANDS if label in set(frame["size_class"])]
    incomes = [str(i) for i in sorted(int(v) for v in frame["income_group"].dropna().unique())]
    _start("continent", params.choice("continent", continents, ALL))
    in_scope = (countries if st.session_state["continent"] == ALL
                else countries[countries["continent"] == st.session_state["continent"]])
    _start("country", params.choice("country", list(in_scope.index), ALL))
    _start("size", params.choice("size", bands, ALL))
    if incomes:
        _start("income", params.choice("income", incomes, ALL))
    chosen = {key: st.session_state.get(key, ALL)
              for key in ("continent", "country", "size", "income")}
    # a country says its continent
    said = [in_scope["country"].get(chosen["country"]) or names.get(chosen["continent"]),
            f"population {chosen['size']}" if chosen["size"] else None,
            f"{groups.INCOME_GROUPS[int(chosen['income'])]} countries" if chosen["income"]
            else None]
    said = [part for part in said if part]
    scope = "all cities" if not said else "cities of " + ", ".join(said)

    # open once a group is chosen: a new label is a new expander, which would close on a pick
    with st.expander(f"Peer group: {scope}", expanded=bool(said), icon=":material/filter_alt:"):
        columns = st.columns(4 if incomes else 3)
        columns[0].selectbox(
            "Continent", [ALL, *continents], key="continent",
            on_change=_continent_changed,
            format_func=lambda c: names.get(c, c) or "All")
        columns[1].selectbox(
            "Country", [ALL, *in_scope.index], key="country",
            format_func=lambda c: in_scope["country"].get(c, "All"))
        columns[2].selectbox(
            "Size class", [ALL, *bands], key="size", format_func=lambda b: b or "All",
            help=groups.SizeClass.description)
        if incomes:
            columns[3].selectbox(
                "Income group", [ALL, *incomes], key="income",
                format_func=lambda i: groups.INCOME_GROUPS[int(i)] if i else "All",
                help=groups.IncomeGroup.description)
    params.keep(**{key: value or None for key, value in chosen.items()})

    mask = pd.Series(True, index=frame.index)
    for column, value in (("continent", chosen["continent"]), ("country_iso2", chosen["country"]),
                          ("size_class", chosen["size"])):
        if value:
            mask &= frame[column] == value
    if chosen["income"]:
        mask &= frame["income_group"] == float(chosen["income"])
    return mask, scope


# --- your own weights --------------------------------------------------------------------------


def _weights_from_address(top: TopLevel, balanced: weights.Weights) -> weights.Weights:
    text = params.text("weights")
    if text is None:
        return balanced
    try:
        return weights.parse(text, top.components)
    except ValueError as error:
        params.ignored("weights", text, str(error))
        return balanced


def _own_weights(framework_id: str, framework: Framework, top: TopLevel) -> weights.Weights:
    """The perspective picker and one slider per dimension; the weights chosen (scaled)."""
    choices = weights.offered(framework_id, top)
    balanced = choices[weights.BALANCED][0]
    keys = {c: f"weight-{framework_id}-{c}" for c in top.components}
    picked = f"perspective-{framework_id}"
    if any(key not in st.session_state for key in keys.values()):
        start = _weights_from_address(top, balanced)
        for component, key in keys.items():
            st.session_state[key] = start[component]
        st.session_state[picked] = weights.matching(start, choices)

    def current() -> weights.Weights:
        return {c: float(st.session_state[key]) for c, key in keys.items()}

    def apply_perspective() -> None:
        chosen = choices.get(st.session_state[picked])
        if chosen:
            for component, key in keys.items():
                st.session_state[key] = chosen[0][component]

    def follow_sliders() -> None:
        st.session_state[picked] = weights.matching(current(), choices)

    with st.expander("Your own weights", expanded=True, icon=":material/tune:"):
        columns = st.columns([2] + [1] * len(keys))
        columns[0].selectbox(
            "Perspective", [*choices, weights.CUSTOM], key=picked, on_change=apply_perspective,
            help="Named sets of weights, each for the users it serves (as Mori's Global Power "
                 "City Index ranks by user perspective).")
        for column, (component, key) in zip(columns[1:], keys.items(), strict=True):
            column.slider(_label(framework, component), 0.0, 1.0, step=weights.STEP, key=key,
                          on_change=follow_sliders, format="%.2f")
        chosen = current()
        if not any(chosen.values()):
            st.warning("Every weight is 0: the ranking below uses the framework's own weights.")
            chosen = balanced
        reason = choices.get(st.session_state[picked])
        st.caption((reason[1] if reason else "Your own weights, set with the sliders.")
                   + " Weights are relative: " + ", ".join(
                       f"{_label(framework, c)} makes {share:.0%}"
                       for c, share in weights.shares(chosen).items())
                   + " of the index, recomputed at once from the stored dimension scores as "
                     "the run aggregated them.")
    params.keep(weights=None if weights.same(chosen, balanced) else weights.as_text(chosen))
    return chosen


# --- the ranking -------------------------------------------------------------------------------


def _ranked(frame: pd.DataFrame, top: TopLevel, rank_by: str,
            chosen: weights.Weights | None) -> pd.DataFrame:
    """Every city with its score, rank and percentile by what is ranked; official_rank,
    rank_change (places gained) and the official interval for the index."""
    index = top.index
    out = frame.assign(official_rank=frame[f"rank:{index}"],
                       rank_low=frame[f"rank_low:{index}"],
                       rank_high=frame[f"rank_high:{index}"])
    if rank_by != INDEX:
        node = rank_by
        return out.assign(score=frame[f"normalised:{node}"], rank=frame[f"rank:{node}"],
                          percentile=frame[f"percentile:{node}"])
    if chosen is None:
        return out.assign(score=frame[f"value:{index}"], rank=frame[f"rank:{index}"],
                          percentile=frame[f"percentile:{index}"], rank_change=0.0)
    mine = weights.reranked(frame, top, chosen)
    return out.assign(score=mine["score"], rank=mine["rank"], percentile=mine["percentile"],
                      rank_change=out["official_rank"] - mine["rank"])


def _change(places: float) -> str:
    if pd.isna(places):
        return ""
    return "=" if places == 0 else f"▲ {places:.0f}" if places > 0 else f"▼ {-places:.0f}"


def _interval(row: pd.Series) -> str:
    if pd.isna(row["rank_low"]):
        return ""
    return f"{row['rank_low']:,.0f} to {row['rank_high']:,.0f}"


def _table(shown: pd.DataFrame, grouped: bool, reweighted: bool, has_interval: bool) -> None:
    table = shown.assign(rank_range=shown.apply(_interval, axis=1),
                         change=shown["rank_change"].map(_change) if reweighted else "")
    columns = ["rank"]
    columns += ["change", "official_rank"] if reweighted else []
    columns += ["rank_range"] if has_interval else []
    columns += ["name", "country", "score", "percentile"]
    columns += ["rank_in_group"] if grouped else []
    columns += ["agglomeration_population", "population"]
    st.dataframe(
        table[columns], hide_index=True, width="stretch",
        column_config={
            "rank": st.column_config.NumberColumn(
                "Your rank" if reweighted else "Rank", format="%d",
                help="Among all cities ranked (1 = highest score)"),
            "change": st.column_config.TextColumn(
                "Change", help="Places gained (▲) or lost (▼) with your weights"),
            "official_rank": st.column_config.NumberColumn(
                "Official rank", format="%d", help="With the framework's own weights"),
            "rank_range": st.column_config.TextColumn(
                "Official rank 5-95%" if reweighted else "Rank 5-95%",
                help=INTERVAL_SENTENCE),
            "name": "City", "country": "Country",
            "score": st.column_config.NumberColumn("Score (0-1)", format="%.3f"),
            "percentile": st.column_config.NumberColumn(
                "Percentile", format="%.1f",
                help="The share of the other cities ranked that score below, in %"),
            "rank_in_group": st.column_config.NumberColumn(
                "In group", format="%d", help="Rank among the cities these filters keep"),
            # two definitions of a city's population, each named (Atlanta: 0.5 M and 6.3 M)
            "population": st.column_config.NumberColumn(
                "Pop. (GeoNames)", format="localized",
                help=read_model.POPULATIONS["population"]),
            "agglomeration_population": st.column_config.NumberColumn(
                "Agglomeration (UN)", format="localized",
                help=read_model.POPULATIONS["agglomeration_population"]
                + ", the latest year up to this one (a projection from the 2018 revision)"),
        },
    )


def _download(matching: pd.DataFrame, top: TopLevel, name: str) -> None:
    """Every matching city with raw numbers: ranks, interval, scores, each dimension's score."""
    columns = ["rank", "official_rank", "rank_change", "rank_low", "rank_high",
               "rank_in_group", "score", "percentile", "city_id", "name", "country",
               "country_iso2", "continent_name", "size_class", "income_group",
               "agglomeration_population", "population"]
    table = matching[[c for c in columns if c in matching]].rename(
        columns={"continent_name": "continent"})
    for component in top.components:
        table[f"{component}_score"] = matching[f"normalised:{component}"]
    ui.table_download(table, name, f"Download all {len(table):,} rows (CSV)")


# --- methodology -------------------------------------------------------------------------------


def _how_the_interval_is_made(method: Method | None) -> str:
    table = {} if method is None else method.uncertainty
    if not table:
        return "This run computed no rank interval."
    alternatives = " or ".join(n.get("method", "?").replace("_", " ")
                               for n in table.get("normalise", []))
    noise = table.get("weights_noise")
    return (f"{table.get('replications', '?')} replications"
            + (f", every weight perturbed by up to {noise:.0%}" if noise else "")
            + (f", the indicators normalised by {alternatives}" if alternatives else "") + ".")


def _step(method: Method, name: str) -> str:
    table = method.step(name)
    return ", ".join(f"{k} = {v}" for k, v in table.items()) or "the engine's defaults"


def _methodology_from_files(framework: Framework, method: Method, top: TopLevel) -> str:
    """The dimensions, their indicators and weights, and each step of the method, from the
    files the run was scored with (not from a text that could drift from them)."""
    share = weights.shares(top.weights)
    rows = ["| dimension [weight, share of the index] | indicators [weight] |", "|---|---|"]
    for node in framework.children(top.index):
        inside = ", ".join(f"{_label(framework, i)} [{framework.nodes[i].weight:g}]"
                           for i in framework.children(node)) or "(an indicator)"
        weight = f"{top.weights.get(node, framework.nodes[node].weight):g}"
        state = f"{share[node]:.0%}" if node in share else "left out of this run"
        rows.append(f"| {_label(framework, node)} [{weight}, {state}] | {inside} |")
    aggregate = method.for_level("aggregate", framework.levels[top.index])
    return "\n".join([
        f"**{framework.name}, as this run scored it** (from its framework and method files)",
        "", *rows, "",
        f"- **Treatment** of skewed indicators: {_step(method, 'treat')}.",
        f"- **Normalisation**: {_step(method, 'normalise')}.",
        f"- **Aggregation** (every level unless stated): {_step(method, 'aggregate')}; the "
        f"index: {aggregate.get('method', 'arithmetic')} mean of its dimensions, a city "
        f"needing {float(aggregate.get('min_availability', 0)):.0%} of them.",
        f"- **Rank interval** (5-95%): {_how_the_interval_is_made(method)}",
    ])


def _methodology(snap: reads.Snapshot, framework_id: str, framework: Framework | None,
                 method: Method | None, top: TopLevel) -> None:
    texts = reads.methodology(snap, framework_id)
    notes = texts["notes"]
    unscored = [n for n in (notes or "").splitlines() if n.startswith("not scored")]
    if unscored:
        st.info(unscored[0][0].upper() + unscored[0][1:] + ".")
    with st.expander("How this index is made (methodology, and what this run left out)"):
        if framework is not None:
            st.markdown(_methodology_from_files(framework, method, top))
        if notes:
            st.markdown("**This run**\n\n" + "\n".join(f"- {n}" for n in notes.splitlines()))
        if texts["methodology"]:
            st.markdown(texts["methodology"])


# --- the page ----------------------------------------------------------------------------------


def _run(snap: reads.Snapshot, framework_id: str
         ) -> tuple[Framework | None, Method | None, TopLevel, pd.DataFrame]:
    """The run's framework and method (as stored with it), how it made its index, and its
    cities. A run whose files cannot be read (a warehouse written by another version, or by
    hand) is ranked by its index alone, and the page says so."""
    files = reads.ranking_run(snap, framework_id)
    try:
        framework = load_framework(files["framework"], f"{framework_id}.toml")
        method = load_method(files["method"], f"{framework_id}.method.toml")
    except SpecError as error:
        st.caption(f"This run's framework files cannot be read ({error}): its index is shown "
                   "without its dimensions, weights or method.")
        frame = reads.ranking_scores(snap, framework_id, (framework_id,))
        alone = TopLevel(framework_id, (), {}, "arithmetic", 1.0, 0.0, "exact")
        return None, None, alone, frame.assign(size_class=_size_classes(frame))
    nodes = (framework.id, *framework.children(framework.id))
    frame = reads.ranking_scores(snap, framework_id, nodes)
    scored = [c for c in nodes[1:] if frame[f"value:{c}"].notna().any()]
    values = {c: frame[f"normalised:{c}"].to_numpy() for c in scored}
    top = top_level(framework, method, scored, values)
    return framework, method, top, frame.assign(size_class=_size_classes(frame))


def _page(snap: reads.Snapshot) -> None:
    runs = reads.frameworks(snap)
    if runs.empty:
        st.warning("No framework has been scored yet.")
        return
    left, middle, right = st.columns([3, 3, 1])
    with left:
        framework_id = _choose_framework(runs)
    framework, method, top, frame = _run(snap, framework_id)
    with middle:
        rank_by = _choose_rank_by(framework, top)
    with right:
        top_n = _top()
    mask, scope = _filters(frame)

    reweightable = rank_by == INDEX and len(top.components) > 1
    chosen = _own_weights(framework_id, framework, top) if reweightable else None
    reweighted = chosen is not None and not weights.same(
        chosen, weights.offered(framework_id, top)[weights.BALANCED][0])
    params.keep(framework=None if framework_id == _default_framework(runs) else framework_id,
                rank_by=None if rank_by == INDEX else rank_by)
    _methodology(snap, framework_id, framework, method, top)

    ranking = _ranked(frame, top, rank_by, chosen if reweighted else None)
    matching = ranking[mask & ranking["rank"].notna()].sort_values(
        ["rank", "name", "city_id"]).reset_index(drop=True)
    if matching.empty:
        st.warning("No scored cities match these filters.")
        return
    matching["rank_in_group"] = ranks(matching["score"].to_numpy())[0]
    shown = matching.head(top_n)
    what = (read_model.index_label(framework_id) if rank_by == INDEX
            else _label(framework, rank_by))
    has_interval = rank_by == INDEX and shown["rank_low"].notna().any()
    st.caption(
        f"Ranked: {int(ranking['rank'].notna().sum()):,} cities; shown: the top {len(shown)} "
        f"of {len(matching):,} ({scope}). Rank 1 = highest score; the percentile is the "
        "share of the other cities scoring below. "
        + (INTERVAL_SENTENCE if has_interval else
           "Rank intervals are computed for the index only." if rank_by != INDEX else ""))
    note = "With your weights: " + ", ".join(
        f"{_label(framework, c)} {w:.2f}" for c, w in chosen.items()) + "." if reweighted else None
    _charts(shown, what, scope, reads.attributions(snap, framework_id), note,
            _how_the_interval_is_made(method) if has_interval else None)
    _table(shown, scope != "all cities", reweighted, has_interval)
    _download(matching, top, f"ranking-{framework_id}-{rank_by}")


def _charts(shown: pd.DataFrame, what: str, scope: str, sources: list[str],
            note: str | None, how: str | None) -> None:
    """The bars, and beside them (under them at phone width) each rank's interval. `note`:
    the user's weights in words, when not the framework's; `how`: how the intervals were
    made, None for a ranking without them (a dimension's)."""
    table = shown[["rank", "official_rank", "rank_low", "rank_high", "score", "percentile",
                   "city_id", "name", "country", "country_iso2", "continent_name"]]
    bars = charts.rankings_bar(shown, what, sources, scope=scope, note=note)
    if how is None:
        ui.chart(bars, table, "ranking")
        return
    intervals = charts.rank_intervals(shown, sources, how, reweighted=note is not None)
    charts.aligned(bars, intervals)
    left, right = st.columns([3, 2])
    with left:
        ui.chart(bars, table, "ranking")
    with right:
        ui.chart(intervals, table, "rank-intervals")


st.title("City rankings")
published = ui.published()
if published is not None:
    ui.freshness(published)
    _page(published)
    ui.attribution_footer(published, st.session_state.get("framework"))
