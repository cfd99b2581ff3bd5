-- Which values come from the starter snapshot packaged with citybench (flows/starter): the
-- snapshot's version while a source's rows are the snapshot's, NULL once its publisher (or a
-- mirror) has been read.
ALTER TABLE source ADD COLUMN snapshot VARCHAR;
