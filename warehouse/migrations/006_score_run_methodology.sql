-- What a score run says about itself beside the numbers: the methodology text packaged with
-- its framework (what it measures, normalisation, aggregation, what it leaves out), and the
-- run's own notes (the universe, the optional indicators left out and why, the cities the
-- min-availability rule left unranked).
ALTER TABLE score_run ADD COLUMN methodology VARCHAR;
ALTER TABLE score_run ADD COLUMN notes VARCHAR;
