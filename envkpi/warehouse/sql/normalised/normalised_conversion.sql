-- normalised_conversion: the factor that converts each (energy_type, unit) to each measure
-- (GJ, t-CO2, ...) in each fiscal year. Factors change over time, so a month converts with the
-- factor valid in its fiscal year; a delivered `factors` row replaces the shipped default for
-- the same (energy_type, unit) and years.
create or replace table normalised_conversion as
with fiscal_years as (
    -- Wide enough for any plausible history; the table stays a few thousand rows.
    select unnest(range(1990, 2101)) as fiscal_year
),
candidates as (
    select energy_type, unit, measure, measure_unit, per_unit, valid_from_fy, valid_to_fy,
           1 as precedence
    from reference_conversion
    union all
    select energy_type, unit, 'energy', 'GJ', gj_per_unit, valid_from_fy, valid_to_fy,
           0 as precedence  -- delivered factors win over shipped ones
    from accepted_factors
),
valid_in_year as (
    select fiscal_years.fiscal_year, candidates.*
    from fiscal_years
    join candidates
      on fiscal_years.fiscal_year between coalesce(candidates.valid_from_fy, 0)
                                      and coalesce(candidates.valid_to_fy, 9999)
)
select fiscal_year, energy_type, unit, measure, measure_unit, per_unit
from valid_in_year
qualify row_number() over (
    partition by fiscal_year, energy_type, unit, measure
    order by precedence, valid_from_fy desc nulls last
) = 1;
