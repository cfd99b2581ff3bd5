-- What a load read: a hash of the source's fetched files and of the settings it read them
-- with. A later refresh whose fetch hashes the same keeps the source's rows as they are,
-- without parsing, validating or loading the files again ("unchanged, kept").
ALTER TABLE "load" ADD COLUMN input_sha256 VARCHAR;
