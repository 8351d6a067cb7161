-- kpi_like_for_like: for each kpi_results row of a KPI with a base year, the figure over only
-- the plants that were in the boundary (at least one month) in both the base year and the
-- reported year (contract 10, GHG Protocol "like for like"), and how much the boundary's change
-- moves the figure: structural_change_pct = |base_value - like_for_like_base_value| / base_value
-- x 100, or |value - like_for_like_value| / value x 100 if larger (a divested plant moves the
-- first, an acquired one the second). Scopes sum numerators and denominators, as kpi_results.
-- Kept up to date after kpi_results for the same fiscal years (kpi_results_years, made by
-- sql/kpi/kpi_results.sql): a year's figures read that year and its base year alone, and those
-- years are every year when a base year was restated. Computed from plant-year sums.
create table if not exists kpi_like_for_like (
    scope_level varchar,
    scope_id varchar,
    kpi varchar,
    fiscal_year bigint,
    like_for_like_base_value double,
    like_for_like_value double,
    like_for_like_change_pct double,
    structural_change_pct double
);

delete from kpi_like_for_like
where $since_delivery_id = 0 or fiscal_year in (select fiscal_year from kpi_results_years);

insert into kpi_like_for_like
with kpi as (
    select kpi, numerator_measure, denominator_measure, scale, base_fiscal_year
    from reference_kpi
    where base_fiscal_year is not null
),
figured_year as (
    -- The years computed again, and the base years they are compared with.
    select fiscal_year from kpi_results_years
    union
    select base_fiscal_year from kpi
),
plant_year as (
    -- The fiscal years in which each plant is in the boundary, for at least one month.
    select distinct plant_id, fiscal_year from normalised_plant_month
    where fiscal_year in (select fiscal_year from figured_year)
),
comparable as (
    -- Per KPI and reported year, the plants in the boundary in that year and in the base year.
    select kpi.kpi, reported.fiscal_year, reported.plant_id, kpi.base_fiscal_year
    from kpi
    cross join plant_year as reported
    join plant_year as base
      on base.plant_id = reported.plant_id and base.fiscal_year = kpi.base_fiscal_year
    where reported.fiscal_year in (select fiscal_year from kpi_results_years)
),
plant_measure as (
    select plant_id, business_unit, fiscal_year, measure, sum(amount) as amount
    from normalised_measure
    where fiscal_year in (select fiscal_year from figured_year)
    group by all
),
comparable_measure as (
    -- The comparable plants' amounts in the reported year ('reported') and in the base year
    -- ('base'), each plant-year in the business unit of its months, as kpi_results counts it.
    select comparable.kpi, comparable.fiscal_year, 'reported' as side, plant_measure.plant_id,
           plant_measure.business_unit, plant_measure.measure, plant_measure.amount
    from comparable
    join plant_measure
      on plant_measure.plant_id = comparable.plant_id and plant_measure.fiscal_year = comparable.fiscal_year
    union all
    select comparable.kpi, comparable.fiscal_year, 'base', plant_measure.plant_id,
           plant_measure.business_unit, plant_measure.measure, plant_measure.amount
    from comparable
    join plant_measure
      on plant_measure.plant_id = comparable.plant_id and plant_measure.fiscal_year = comparable.base_fiscal_year
),
scope_measure as (
    select 'group' as scope_level, 'group' as scope_id, kpi, fiscal_year, side, measure, sum(amount) as amount
    from comparable_measure
    group by all
    union all
    select 'business_unit', business_unit, kpi, fiscal_year, side, measure, sum(amount)
    from comparable_measure
    group by all
    union all
    select 'plant', plant_id, kpi, fiscal_year, side, measure, sum(amount)
    from comparable_measure
    group by all
),
side_value as (
    select scope_measure.scope_level, scope_measure.scope_id, scope_measure.kpi, scope_measure.fiscal_year,
           scope_measure.side,
           sum(amount) filter (where measure = kpi.numerator_measure) as numerator,
           sum(amount) filter (where measure = kpi.denominator_measure) as denominator,
           any_value(kpi.scale) as scale
    from scope_measure
    join kpi using (kpi)
    group by all
),
like_for_like as (
    select scope_level, scope_id, kpi, fiscal_year, side,
           -- the same arithmetic as kpi_results.value
           case when denominator <> 0 then cast(numerator as double) / cast(denominator as double) * scale end as value
    from side_value
),
compared as (
    select results.scope_level, results.scope_id, results.kpi, results.fiscal_year,
           results.base_value, results.value,
           base.value as like_for_like_base_value,
           reported.value as like_for_like_value
    from kpi_results as results
    join kpi using (kpi)
    left join like_for_like as base
      on base.scope_level = results.scope_level and base.scope_id = results.scope_id
     and base.kpi = results.kpi and base.fiscal_year = results.fiscal_year and base.side = 'base'
    left join like_for_like as reported
      on reported.scope_level = results.scope_level and reported.scope_id = results.scope_id
     and reported.kpi = results.kpi and reported.fiscal_year = results.fiscal_year and reported.side = 'reported'
    where results.fiscal_year in (select fiscal_year from kpi_results_years)
)
select
    scope_level,
    scope_id,
    kpi,
    fiscal_year,
    like_for_like_base_value,
    like_for_like_value,
    -- Positive is a reduction, as change_vs_base_pct.
    case when like_for_like_base_value <> 0 then (1 - like_for_like_value / like_for_like_base_value) * 100
    end as like_for_like_change_pct,
    -- greatest() skips a side that cannot be computed (a zero or missing figure).
    greatest(
        case when base_value <> 0 then abs(base_value - like_for_like_base_value) / base_value * 100 end,
        case when value <> 0 then abs(value - like_for_like_value) / value * 100 end
    ) as structural_change_pct
from compared;

drop table kpi_results_years;
