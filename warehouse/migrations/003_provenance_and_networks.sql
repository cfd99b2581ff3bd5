-- Provenance at the grain publishers version their data: a source (publisher) publishes
-- datasets (Eurostat urb_cpop1, urb_cecfi, ...), each with its own last update. Every
-- observation names its dataset, so source, dataset, publisher's last update, retrieval time,
-- licence and attribution are one join away (view observation_provenance).
CREATE TABLE dataset (
    source_id     VARCHAR NOT NULL,
    dataset_id    VARCHAR NOT NULL,   -- the publisher's code where it has one, e.g. 'urb_cpop1'
    title         VARCHAR NOT NULL,
    url           VARCHAR NOT NULL,
    last_update   VARCHAR,            -- as the publisher states it (HTTP Last-Modified, 'updated')
    retrieved_at  TIMESTAMPTZ,        -- when the data held now was fetched
    PRIMARY KEY (source_id, dataset_id)
);

ALTER TABLE observation ADD COLUMN dataset_id VARCHAR;
UPDATE observation SET dataset_id = source_id;
ALTER TABLE observation ALTER COLUMN dataset_id SET NOT NULL;
INSERT INTO dataset
SELECT source_id, source_id, dataset, url, dataset_version, retrieved_at FROM source;

CREATE VIEW observation_provenance AS
SELECT o.city_id, o.indicator_id, o.period, o.value, o.flag,
       o.source_id, s.publisher, o.dataset_id, d.title AS dataset, d.url,
       d.last_update, d.retrieved_at, s.licence, s.attribution, o.load_id
FROM observation o
JOIN source s USING (source_id)
JOIN dataset d USING (source_id, dataset_id);

-- Organisations that tie cities together: firms (service values 0-5 in a GaWC-style matrix),
-- city networks (C40, ICLEI, ...: membership 1). One row per organisation.
CREATE TABLE network (
    network_id    VARCHAR PRIMARY KEY,  -- '<source_id>:<the publisher's name or code>'
    kind          VARCHAR NOT NULL,     -- 'firm' | 'city-network'
    name          VARCHAR NOT NULL,
    sector        VARCHAR,              -- a firm's sector, where the matrix gives one
    wikidata_qid  VARCHAR,
    source_id     VARCHAR NOT NULL
);

CREATE TABLE membership (
    network_id  VARCHAR NOT NULL,
    city_id     VARCHAR NOT NULL,
    period      INTEGER NOT NULL,
    value       DOUBLE NOT NULL,        -- service value (firms) or 1 (member of a city network)
    source_id   VARCHAR NOT NULL,
    dataset_id  VARCHAR NOT NULL,
    load_id     BIGINT NOT NULL,
    PRIMARY KEY (network_id, city_id, period, source_id)
);

-- Ties between two cities: air routes (OpenFlights), twinning (Wikidata P190, Wikipedia).
-- Undirected: city_a < city_b.
CREATE TABLE city_link (
    kind        VARCHAR NOT NULL,       -- 'air-route' | 'twinning'
    city_a      VARCHAR NOT NULL,
    city_b      VARCHAR NOT NULL,
    period      INTEGER NOT NULL,
    weight      DOUBLE NOT NULL,        -- air: airline routes between the two; twinning: 1
    source_id   VARCHAR NOT NULL,
    dataset_id  VARCHAR NOT NULL,
    load_id     BIGINT NOT NULL,
    PRIMARY KEY (kind, city_a, city_b, period, source_id)
);
