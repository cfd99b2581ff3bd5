-- How many of a load's source records no city was found for, of how many it tried to tie to
-- a city: the unresolved share, judged against the source's max_unresolved_share.
ALTER TABLE "load" ADD COLUMN records_unresolved BIGINT;
ALTER TABLE "load" ADD COLUMN records_to_resolve BIGINT;
-- A source whose publisher no longer updates it (OpenFlights' routes: June 2014) states since
-- when, so its staleness is judged ("not updated since 2014-06") rather than left undefined.
ALTER TABLE source ADD COLUMN frozen_since VARCHAR;
