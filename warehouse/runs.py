"""Which score run of a framework is current, as one SQL fragment every read shares.

A module of its own, importing nothing, so that the light readers (`citybench compare`) get it
without the read model's imports."""

# The current run of a framework is its latest; older runs stay for reproducibility. A CTE
# named `run` with one column, score_run_id; the query binds $framework.
LATEST_RUN = """
    run AS (
        SELECT score_run_id FROM score_run WHERE framework_id = $framework
        ORDER BY created_at DESC, score_run_id DESC LIMIT 1
    )"""
