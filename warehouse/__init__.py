"""DuckDB warehouse: schema migrations, loading, atomic publishing and the table contracts."""
