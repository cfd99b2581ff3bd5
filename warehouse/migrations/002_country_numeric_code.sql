-- UN publications (World Urbanization Prospects) name countries by their M49 numeric code,
-- which for countries is the ISO 3166-1 numeric code GeoNames carries.
ALTER TABLE country ADD COLUMN iso_numeric INTEGER;
