-- The KPI vocabulary (envkpi/vocabulary.py, where it is defined once), as the tables the SQL
-- reads: the rating scale of the CSR results table and the order of the scope levels. The
-- values arrive as list parameters; created again on every writable connection, so that the
-- warehouse always holds the words of the code that computes with them.

-- One row per rating, its stars and the lowest achievement ratio that earns it (the lowest
-- step from -infinity): kpi_results.sql takes the highest step a ratio reaches (an asof join).
create or replace table kpi_rating as
select unnest($rating_words) as rating, unnest($rating_symbols) as symbol, unnest($rating_from_ratio) as from_ratio;

-- The scope levels, numbered in the order tables list them (group, business units, plants).
create or replace table kpi_scope_level as
select unnest($scope_levels) as scope_level, generate_subscripts($scope_levels, 1) as position;
