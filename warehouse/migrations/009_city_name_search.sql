-- The city search's index (warehouse/lookup.py): every name a city is known by (its own and
-- ASCII names, its alternate and district names from city_alias), folded once as the search
-- folds what a user types. Derived from city and city_alias at the end of every refresh; a
-- search then compares stored words instead of folding 400,000 names per question.
CREATE TABLE city_name_search (
    city_id  VARCHAR NOT NULL,
    alias    VARCHAR,                -- the alternate or district name; NULL for the own name
    method   VARCHAR NOT NULL,       -- the alias's method; 'name' for the own name
    folded   VARCHAR NOT NULL
);
