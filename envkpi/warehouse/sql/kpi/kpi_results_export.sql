-- reports/kpi_results.csv (contract 5; contract 10's like-for-like columns appended): kpi_results
-- in a stable order, numerators and denominators as doubles (17 significant digits carry every
-- digit a plant delivers, and DuckDB writes a double as Python's repr does), text that would
-- start a formula made safe. DuckDB writes the file: pandas took a second for the 150 thousand rows of a large group, every night.
select
    formula_safe(scope_level) as scope_level,
    formula_safe(scope_id) as scope_id,
    formula_safe(kpi) as kpi,
    fiscal_year,
    cast(numerator as double) as numerator,
    formula_safe(numerator_unit) as numerator_unit,
    cast(denominator as double) as denominator,
    formula_safe(denominator_unit) as denominator_unit,
    value,
    base_year,
    base_value,
    change_vs_base_pct,
    target_pct,
    achievement_ratio,
    formula_safe(rating) as rating,
    completeness_pct,
    -- contract 10, appended after the contract 5 columns (sql/kpi/kpi_like_for_like.sql)
    like_for_like.like_for_like_base_value,
    like_for_like.like_for_like_value,
    like_for_like.like_for_like_change_pct,
    like_for_like.structural_change_pct
from kpi_results
left join kpi_like_for_like as like_for_like using (scope_level, scope_id, kpi, fiscal_year)
left join kpi_scope_level as scope_order using (scope_level)
-- The stored values, not the select list's safe text, give the order (as kpi_results_frame).
order by scope_order.position, kpi_results.scope_id, kpi_results.kpi, kpi_results.fiscal_year
