-- Practices and lessons cities share: what a city tried, when, and how it turned out (worked,
-- mixed, failed), with what was learned and where it is described. Loaded from users' files
-- (flows/sources/practices.py); failures are kept as carefully as successes.
CREATE TABLE practice (
    city_id     VARCHAR NOT NULL,
    title       VARCHAR NOT NULL,
    year        INTEGER NOT NULL,
    dimension   VARCHAR,                -- a framework dimension id, or free text
    -- indicator ids, ';'-separated as in a CSV cell: every warehouse contract is of scalar
    -- columns (the validation screen compares them as text); warehouse/practices.py lists them
    indicators  VARCHAR,
    outcome     VARCHAR NOT NULL,       -- 'worked' | 'mixed' | 'failed'
    lesson      VARCHAR NOT NULL,
    source_url  VARCHAR NOT NULL,       -- where the practice is described (http/https)
    licence     VARCHAR NOT NULL,       -- of that description: "CC BY 4.0", "fair quotation; link only"
    source_id   VARCHAR NOT NULL,
    dataset_id  VARCHAR NOT NULL,       -- the file it came from
    PRIMARY KEY (city_id, title, year, source_id)
);
