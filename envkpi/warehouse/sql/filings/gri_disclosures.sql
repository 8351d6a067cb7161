-- gri_disclosures: the group's GRI 302 / 303 / 305 / 306 items (contract 9), for the fiscal years
-- in $fiscal_years. reports/disclosures/gri_FY<fy>.csv holds a year's rows. Everything counts
-- in-boundary plant-months only, as kpi_results does; items per energy type, source or treatment
-- only where the year's total is not zero. A year's rows read that year alone.
with stated_plant_month as (
    select * from normalised_plant_month
    where fiscal_year in (select unnest(cast($fiscal_years as integer[])))
),
stated_delivery as (
    -- The deliveries that currently state a plant-month of those years. The accepted rows are read
    -- through them: every row a stated year sums comes from one of them, and DuckDB then skips
    -- the history's other rows instead of joining each of them to its slice.
    select distinct slice.delivery_id
    from current_slice as slice
    where slice.kind in ('energy', 'water', 'waste')
      and month_start(slice_period(slice.slice_key)) in (select distinct period_month from stated_plant_month)
),
group_measure as (
    select fiscal_year, measure, sum(amount) as amount
    from normalised_measure
    where fiscal_year in (select distinct fiscal_year from stated_plant_month)
    group by all
),
measure_of as (
    select fiscal_year,
           max(amount) filter (where measure = 'energy') as energy_gj,
           max(amount) filter (where measure = 'production') as production_t,
           max(amount) filter (where measure = 'water') as water_m3,
           max(amount) filter (where measure = 'scope1_co2') as scope1,
           max(amount) filter (where measure = 'scope2_location_co2') as scope2_location,
           max(amount) filter (where measure = 'scope2_market_co2') as scope2_market,
           max(amount) filter (where measure = 'waste') as waste_t,
           max(amount) filter (where measure = 'recycled') as recycled_t
    from group_measure
    group by fiscal_year
),
energy_by_type as (
    -- Each energy row converted as normalised_measure converts it (rounded to 10 decimals).
    select plant_month.fiscal_year, energy.energy_type, sum(round(energy.quantity * conversion.per_unit, 10)) as gj
    from accepted_energy as energy
    join stated_plant_month as plant_month using (plant_id, period_month)
    join normalised_conversion as conversion
      on conversion.energy_type = energy.energy_type and conversion.unit = energy.unit
     and conversion.fiscal_year = plant_month.fiscal_year and conversion.measure = 'energy'
    where energy.delivery_id in (select delivery_id from stated_delivery)
    group by all
),
water_by_source as (
    select plant_month.fiscal_year, water.source, sum(water.quantity * factor.per_unit) as m3
    from accepted_water as water
    join stated_plant_month as plant_month using (plant_id, period_month)
    join measure_unit_factor as factor on factor.measure = 'water' and factor.unit = water.unit
    where water.delivery_id in (select delivery_id from stated_delivery)
    group by all
),
waste_by_treatment as (
    select plant_month.fiscal_year, waste.treatment, sum(waste.quantity * factor.per_unit) as t
    from accepted_waste as waste
    join stated_plant_month as plant_month using (plant_id, period_month)
    join measure_unit_factor as factor on factor.measure = 'waste' and factor.unit = waste.unit
    where waste.delivery_id in (select delivery_id from stated_delivery)
    group by all
),
items as (
    select fiscal_year, 1 as position, '302-1' as disclosure, 'total' as item, energy_gj as value, 'GJ' as unit
    from measure_of
    union all
    select fiscal_year, 2, '302-1', 'energy_type:' || energy_type, gj, 'GJ' from energy_by_type where gj <> 0
    union all
    select fiscal_year, 3, '302-3', 'energy_intensity',
           case when production_t <> 0 then cast(energy_gj as double) / cast(production_t as double) end, 'GJ/t'
    from measure_of
    union all
    -- Megalitres: m3 / 1000.
    select fiscal_year, 4, '303-3', 'total', coalesce(water_m3, 0) / 1000, 'ML' from measure_of
    union all
    select fiscal_year, 5, '303-3', 'source:' || source, m3 / 1000, 'ML' from water_by_source where m3 <> 0
    union all
    select fiscal_year, 6, '305-1', 'scope1', coalesce(scope1, 0), 't-CO2' from measure_of
    union all
    select fiscal_year, 7, '305-2', 'location_based', coalesce(scope2_location, 0), 't-CO2' from measure_of
    union all
    select fiscal_year, 8, '305-2', 'market_based', coalesce(scope2_market, 0), 't-CO2' from measure_of
    union all
    select fiscal_year, 9, '305-4', 'scope1_2_location_intensity',
           case when production_t <> 0
                then cast(coalesce(scope1, 0) + coalesce(scope2_location, 0) as double) / cast(production_t as double) end,
           't-CO2/t'
    from measure_of
    union all
    select fiscal_year, 10, '306-3', 'total', coalesce(waste_t, 0), 't' from measure_of
    union all
    -- Diverted from disposal: recycled and valuables (contract 2 and 6).
    select fiscal_year, 11, '306-4', 'total', coalesce(recycled_t, 0), 't' from measure_of
    union all
    -- Directed to disposal: energy recovery, incineration, landfill and the rest.
    select fiscal_year, 12, '306-5', 'total', coalesce(waste_t, 0) - coalesce(recycled_t, 0), 't' from measure_of
    union all
    select fiscal_year, 13, '306-5', 'treatment:' || treatment, t, 't'
    from waste_by_treatment
    where treatment in ('energy_recovery', 'incinerated', 'landfilled', 'other') and t <> 0
)
select fiscal_year, disclosure, item, cast(value as double) as value, unit
from items
where fiscal_year in (select distinct fiscal_year from stated_plant_month)
order by fiscal_year, position, item
