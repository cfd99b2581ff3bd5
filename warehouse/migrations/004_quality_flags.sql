-- Checks that flag without rejecting: a value that jumps from one year to the next, an
-- outlier among the cities of its indicator and year, a break in series the publisher marks,
-- data older than its source's usual cadence. Recomputed over the whole warehouse by every
-- refresh, so the flags always describe the data that is published beside them.
CREATE TABLE quality_flag (
    source_id     VARCHAR NOT NULL,
    check_name    VARCHAR NOT NULL,   -- 'year-over-year jump', 'outlier', 'break in series', 'stale'
    city_id       VARCHAR,            -- NULL for a flag on a whole source or dataset
    indicator_id  VARCHAR,
    dataset_id    VARCHAR,
    period        INTEGER,
    value         DOUBLE,
    detail        VARCHAR NOT NULL    -- why, in words and figures
);

-- How often a source's publisher updates it, in days (NULL: no regular cadence).
ALTER TABLE source ADD COLUMN cadence_days INTEGER;
