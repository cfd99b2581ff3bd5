-- What each table holds, in the catalogue itself: the Downloads page and any DuckDB client
-- (`SELECT table_name, comment FROM duckdb_tables()`) show it beside the data.
COMMENT ON TABLE source IS 'One row per source: publisher, licence, attribution, update cadence.';
COMMENT ON TABLE dataset IS 'Each file or table a source published, with its URL, vintage and when it was read.';
COMMENT ON TABLE country IS 'Countries (ISO 3166 codes): name, continent, population, capital.';
COMMENT ON TABLE city IS 'The city registry (GeoNames): names, country, region, coordinates, population, capital, Wikidata id.';
COMMENT ON TABLE city_alias IS 'Codes and names that name a registry city in each source (scheme, alias, method, confidence).';
COMMENT ON TABLE indicator IS 'Every indicator: name, unit, what it counts, its source.';
COMMENT ON TABLE observation IS 'The values: city, indicator, period, value, its flag, and the dataset and load it came from.';
COMMENT ON TABLE network IS 'City networks (associations of cities).';
COMMENT ON TABLE membership IS 'Which city belongs to which city network, in which period.';
COMMENT ON TABLE city_link IS 'Links between two cities: airline routes, twinning.';
COMMENT ON TABLE "load" IS 'Each load of a source by a refresh: status, rows read, held, changed, rejected, error.';
COMMENT ON TABLE rejected IS 'Rows a source sent that failed its contract, with the check and the reason.';
COMMENT ON TABLE quality_flag IS 'Values kept but flagged (outliers, year-over-year jumps, breaks in series, staleness), with the check and why.';
COMMENT ON TABLE score_run IS 'Each scoring of a framework: the framework and method files as used, their hashes, methodology, notes, cities scored.';
COMMENT ON TABLE score IS 'Scores per run, city and node (indicator, dimension, index): value, normalised, ranks, percentiles, rank interval.';
COMMENT ON TABLE publication IS 'Each published version of the warehouse: when, by which flow run, and a summary of its loads.';
COMMENT ON TABLE practice IS 'Practices and lessons cities share (worked, mixed, failed), from users'' files.';
