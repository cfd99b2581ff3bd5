-- The canonical model of DESIGN.md: one row per observation, everything else describes it.
-- No FOREIGN KEY clauses: DuckDB cannot update or delete a referenced row in the same
-- transaction, which every refresh does; referential integrity is checked before publishing
-- (warehouse/integrity.py) instead.

CREATE TABLE source (
    source_id       VARCHAR PRIMARY KEY,
    publisher       VARCHAR NOT NULL,
    dataset         VARCHAR NOT NULL,
    url             VARCHAR NOT NULL,
    licence         VARCHAR NOT NULL,
    attribution     VARCHAR NOT NULL,
    dataset_version VARCHAR,
    retrieved_at    TIMESTAMPTZ
);

CREATE TABLE country (
    iso2        VARCHAR PRIMARY KEY,
    iso3        VARCHAR NOT NULL,
    name        VARCHAR NOT NULL,
    continent   VARCHAR NOT NULL,
    population  BIGINT,
    capital     VARCHAR
);

CREATE TABLE city (
    city_id       VARCHAR PRIMARY KEY,     -- 'gn:<geonameid>'
    name          VARCHAR NOT NULL,
    ascii_name    VARCHAR NOT NULL,
    country_iso2  VARCHAR NOT NULL,
    country_iso3  VARCHAR NOT NULL,
    admin1        VARCHAR,
    latitude      DOUBLE NOT NULL,
    longitude     DOUBLE NOT NULL,
    population    BIGINT,
    is_capital    BOOLEAN NOT NULL,
    wikidata_qid  VARCHAR
);

CREATE TABLE city_alias (
    scheme      VARCHAR NOT NULL,   -- 'geonames' (ids), 'name', later 'eurostat', 'oecd', 'iata', ...
    alias       VARCHAR NOT NULL,
    city_id     VARCHAR NOT NULL,
    method      VARCHAR NOT NULL,   -- how the alias was tied to the city
    confidence  DOUBLE NOT NULL,
    source_id   VARCHAR NOT NULL,
    PRIMARY KEY (scheme, alias, city_id)
);

CREATE TABLE indicator (
    indicator_id  VARCHAR PRIMARY KEY,
    name          VARCHAR NOT NULL,
    unit          VARCHAR NOT NULL,
    direction     TINYINT NOT NULL,   -- +1 higher is better, -1 lower is better
    domain        VARCHAR NOT NULL,
    description   VARCHAR NOT NULL,
    source_id     VARCHAR NOT NULL
);

CREATE TABLE observation (
    city_id       VARCHAR NOT NULL,
    indicator_id  VARCHAR NOT NULL,
    period        INTEGER NOT NULL,   -- reference year of the value
    source_id     VARCHAR NOT NULL,
    value         DOUBLE NOT NULL,
    flag          VARCHAR,            -- publisher's flags: e estimated, p provisional, b break, ...
    load_id       BIGINT NOT NULL,    -- the load that last changed this row
    PRIMARY KEY (city_id, indicator_id, period, source_id)
);

CREATE TABLE "load" (
    load_id        BIGINT PRIMARY KEY,
    flow_run_id    VARCHAR,
    source_id      VARCHAR NOT NULL,
    started_at     TIMESTAMPTZ NOT NULL,
    finished_at    TIMESTAMPTZ,
    status         VARCHAR NOT NULL,  -- 'success' | 'failed'
    rows_read      BIGINT,
    rows_loaded    BIGINT,            -- rows of this source in the warehouse after the load
    rows_changed   BIGINT,            -- inserted + updated + deleted by this load
    rows_rejected  BIGINT,
    error          VARCHAR
);

CREATE TABLE rejected (
    load_id     BIGINT NOT NULL,
    source_id   VARCHAR NOT NULL,
    row_number  BIGINT,
    column_name VARCHAR,
    check_name  VARCHAR NOT NULL,
    value       VARCHAR,
    reason      VARCHAR NOT NULL
);

CREATE TABLE score_run (
    score_run_id    VARCHAR PRIMARY KEY,   -- hash of framework, method and input data
    framework_id    VARCHAR NOT NULL,
    framework       VARCHAR NOT NULL,      -- the framework file, verbatim
    method          VARCHAR NOT NULL,      -- the method file, verbatim
    framework_hash  VARCHAR NOT NULL,
    method_hash     VARCHAR NOT NULL,
    input_hash      VARCHAR NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    cities          BIGINT NOT NULL
);

CREATE TABLE score (
    score_run_id          VARCHAR NOT NULL,
    city_id               VARCHAR NOT NULL,
    node_id               VARCHAR NOT NULL,   -- an indicator id or the index id
    node_kind             VARCHAR NOT NULL,   -- 'indicator' | 'index'
    value                 DOUBLE,             -- raw value (indicator) or composite score (index)
    normalised            DOUBLE,
    rank                  INTEGER,
    percentile            DOUBLE,
    rank_country          INTEGER,
    percentile_country    DOUBLE,
    rank_continent        INTEGER,
    percentile_continent  DOUBLE,
    rank_low              INTEGER,            -- uncertainty interval of the rank, when computed
    rank_high             INTEGER,
    PRIMARY KEY (score_run_id, city_id, node_id)
);

-- One row per published version; the highest is what users see.
CREATE TABLE publication (
    version        INTEGER PRIMARY KEY,
    published_at   TIMESTAMPTZ NOT NULL,
    flow_run_id    VARCHAR,
    summary        VARCHAR NOT NULL
);
