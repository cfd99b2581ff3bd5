"""Pure computation on plain frames and arrays: no I/O, no Prefect, no DuckDB."""
