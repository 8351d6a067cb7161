-- kpi_results: one row per scope, KPI and fiscal year (contract 4 and 5). KPIs are rows of
-- reference_kpi (data/reference/kpis.csv), not code: each names a numerator and a denominator
-- measure of normalised_measure. Kept up to date fiscal year by fiscal year.
create table if not exists kpi_results (
    scope_level varchar,
    scope_id varchar,
    kpi varchar,
    fiscal_year bigint,
    numerator decimal(38, 10),
    numerator_unit varchar,
    denominator decimal(38, 10),
    denominator_unit varchar,
    value double,
    base_year integer,
    base_value double,
    change_vs_base_pct double,
    target_pct double,
    achievement_ratio double,
    rating varchar,
    completeness_pct double
);

-- The fiscal years a night computes again: those of the plant-months it restated, the years
-- that have just entered the reporting span, and every year when targets arrived or a base year
-- was restated (every year is compared with its base year). A full rebuild (0) is every year.
create or replace temp table kpi_results_years as
with restated as (
    select distinct fiscal_year(period_month, $fiscal_year_start_month) as fiscal_year
    from normalised_restated($since_delivery_id)
    where $since_delivery_id > 0  -- a full rebuild takes every year below, without listing the slices
),
every_year as (
    select $since_delivery_id = 0
        or exists (select 1 from raw_targets where delivery_id >= $since_delivery_id)
        or exists (select 1 from restated join reference_kpi on reference_kpi.base_fiscal_year = restated.fiscal_year)
        as wanted
)
select fiscal_year from restated
union
select distinct fiscal_year from normalised_plant_month
where (select wanted from every_year) or fiscal_year not in (select fiscal_year from kpi_results);

delete from kpi_results
where $since_delivery_id = 0 or fiscal_year in (select fiscal_year from kpi_results_years);

insert into kpi_results
with reported_kpi as (
    -- Every KPI of a v1 kind, and those of a v2 kind once the group delivers it: a group that
    -- never sent a water file has no water_intensity rows (rather than rows 0 % complete), so
    -- that a v1 delivery gives exactly the v1 table. A kind's first delivery changes the build
    -- state: a full rebuild.
    select * from reference_kpi
    where own_kind in (select kind from contract_kind where version = 1)
       or own_kind in (select distinct kind from current_slice)
),
figured_year as (
    -- The years computed again, and the base years they are compared with.
    select fiscal_year from kpi_results_years
    union
    select base_fiscal_year from reference_kpi
),
plant_month as (
    -- The in-boundary plant-months of those years.
    select * from normalised_plant_month where fiscal_year in (select fiscal_year from figured_year)
),
-- Each plant's fiscal year is summed first, and the three scopes a plant belongs to (the group,
-- its business unit, itself) sum those few hundred thousand rows instead of every plant-month
-- three times over. The sums are exact (decimals and counts), so grouping them in two steps
-- gives the same figures. normalised_measure holds in-boundary plant-months only, each with its
-- plant-month's business unit and fiscal year (it is rebuilt whole when the boundary changes).
plant_measure as (
    select plant_id, business_unit, fiscal_year, measure, sum(amount) as amount
    from normalised_measure
    where fiscal_year in (select fiscal_year from figured_year)
    group by all
),
scope_measure as (
    -- A scope's figure sums numerators and denominators over its plant-months; plant ratios
    -- are never averaged.
    select 'group' as scope_level, 'group' as scope_id, fiscal_year, measure, sum(amount) as amount
    from plant_measure
    group by fiscal_year, measure
    union all
    select 'business_unit', business_unit, fiscal_year, measure, sum(amount)
    from plant_measure
    group by business_unit, fiscal_year, measure
    union all
    select 'plant', plant_id, fiscal_year, measure, amount
    from plant_measure
),
plant_completeness as (
    -- Per plant, fiscal year and KPI: its in-boundary months, and those with a record of the
    -- KPI's own kind and, for the KPIs per production unit and the v1 rates, a production
    -- record as well (contract 4 and 8).
    select plant_month.plant_id, plant_month.business_unit, plant_month.fiscal_year, kpi.kpi,
           count(*) as months,
           count(*) filter (where own.plant_id is not null
                              and (production.plant_id is not null or not kpi.completeness_needs_production))
               as months_recorded
    from plant_month
    cross join reported_kpi as kpi
    left join normalised_record as production
      on production.plant_id = plant_month.plant_id and production.period_month = plant_month.period_month
     and production.kind = 'production'
    left join normalised_record as own
      on own.plant_id = plant_month.plant_id and own.period_month = plant_month.period_month
     and own.kind = kpi.own_kind
    group by all
),
scope_completeness as (
    select 'group' as scope_level, 'group' as scope_id, fiscal_year, kpi,
           cast(sum(months_recorded) as bigint) as months_recorded, cast(sum(months) as bigint) as months
    from plant_completeness
    group by fiscal_year, kpi
    union all
    select 'business_unit', business_unit, fiscal_year, kpi,
           cast(sum(months_recorded) as bigint), cast(sum(months) as bigint)
    from plant_completeness
    group by business_unit, fiscal_year, kpi
    union all
    select 'plant', plant_id, fiscal_year, kpi, months_recorded, months
    from plant_completeness
),
completeness as (
    -- The share of a scope's in-boundary plant-months with both records.
    select scope_level, scope_id, fiscal_year, kpi, 100.0 * months_recorded / months as completeness_pct
    from scope_completeness
),
kpi_value as (
    select
        completeness.scope_level,
        completeness.scope_id,
        completeness.kpi,
        completeness.fiscal_year,
        numerator.amount as numerator,
        kpi.numerator_unit,
        denominator.amount as denominator,
        kpi.denominator_unit,
        case
            -- An absolute KPI (no denominator, contract 8) is its numerator.
            when kpi.denominator_measure is null then cast(numerator.amount as double) * kpi.scale
            when denominator.amount <> 0
            then cast(numerator.amount as double) / cast(denominator.amount as double) * kpi.scale
        end as value,
        kpi.base_fiscal_year,
        kpi.target_kind,
        completeness.completeness_pct
    from completeness
    join reported_kpi as kpi using (kpi)
    left join scope_measure as numerator
      on numerator.scope_level = completeness.scope_level and numerator.scope_id = completeness.scope_id
     and numerator.fiscal_year = completeness.fiscal_year and numerator.measure = kpi.numerator_measure
    left join scope_measure as denominator
      on denominator.scope_level = completeness.scope_level and denominator.scope_id = completeness.scope_id
     and denominator.fiscal_year = completeness.fiscal_year and denominator.measure = kpi.denominator_measure
),
versus_base as (
    select
        kpi_value.*,
        base.value as base_value,
        -- Positive is a reduction versus the base year.
        case when base.value <> 0 then (1 - kpi_value.value / base.value) * 100 end as change_vs_base_pct
    from kpi_value
    left join kpi_value as base
      on base.scope_level = kpi_value.scope_level and base.scope_id = kpi_value.scope_id
     and base.kpi = kpi_value.kpi and base.fiscal_year = kpi_value.base_fiscal_year
),
versus_target as (
    select
        versus_base.*,
        target.target_pct,
        -- The target is a reduction versus the base year, or the rate itself.
        case versus_base.target_kind
            when 'reduction' then versus_base.change_vs_base_pct
            when 'rate' then versus_base.value
        end / target.target_pct as achievement_ratio
    from versus_base
    left join accepted_targets as target
      on target.kpi = versus_base.kpi and target.fiscal_year = versus_base.fiscal_year
     and target.scope_id = versus_base.scope_id
)
select
    scope_level,
    scope_id,
    kpi,
    fiscal_year,
    numerator,
    numerator_unit,
    denominator,
    denominator_unit,
    value,
    base_fiscal_year as base_year,
    base_value,
    change_vs_base_pct,
    target_pct,
    achievement_ratio,
    -- The self-assessment scale of the CSR results table (kpi_rating, from envkpi/vocabulary.py):
    -- the highest step the ratio reaches; none without a ratio. The ratio is compared at 9
    -- decimals so that binary floating-point noise (0.8999999999999999) cannot move a rating
    -- across a line.
    scale.rating,
    completeness_pct
from versus_target
asof left join kpi_rating as scale on round(versus_target.achievement_ratio, 9) >= scale.from_ratio
where fiscal_year in (select fiscal_year from kpi_results_years);

-- kpi_results_years is kept for kpi_like_for_like, which computes the same years again and drops it.
