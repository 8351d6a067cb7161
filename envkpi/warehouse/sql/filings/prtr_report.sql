-- prtr_report: the PRTR report (contract 9), for the fiscal years in $fiscal_years: per JP plant
-- and substance with a non-zero quantity in the year, kg released to each medium and transferred.
-- reports/regulatory/prtr_FY<fy>.csv holds a year's rows. Only in-boundary plant-months count; a
-- year's rows read that year alone.
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
    where slice.kind = 'chemicals'
      and month_start(slice_period(slice.slice_key)) in (select distinct period_month from stated_plant_month)
),
delivered as (
    select chemicals.plant_id, plant_month.fiscal_year, chemicals.period_month, chemicals.substance,
           chemicals.cas_number, chemicals.medium,
           -- kg, g or t to kg, as the chemicals measure converts them (contract.Measure)
           chemicals.quantity * factor.per_unit as kg
    from accepted_chemicals as chemicals
    join stated_plant_month as plant_month using (plant_id, period_month)
    join accepted_plants as plants using (plant_id)
    join measure_unit_factor as factor
      on factor.measure = 'chemicals' and factor.unit = chemicals.unit
    where plants.country = 'JP' and chemicals.delivery_id in (select delivery_id from stated_delivery)
),
latest_cas as (
    -- The CAS number as delivered with the substance; where the year's rows give several, the one
    -- of the latest month (the largest text where one month gives two, so the choice is stable).
    select plant_id, fiscal_year, substance, max(cas_number) as cas_number
    from delivered
    where cas_number is not null
    group by plant_id, fiscal_year, substance, period_month
    qualify row_number() over (partition by plant_id, fiscal_year, substance order by period_month desc) = 1
),
by_medium as (
    select plant_id, fiscal_year, substance,
           coalesce(sum(kg) filter (where medium = 'air'), 0) as air_kg,
           coalesce(sum(kg) filter (where medium = 'water'), 0) as water_kg,
           coalesce(sum(kg) filter (where medium = 'soil'), 0) as soil_kg,
           coalesce(sum(kg) filter (where medium = 'landfill'), 0) as landfill_kg,
           coalesce(sum(kg) filter (where medium = 'sewer'), 0) as sewer_kg,
           coalesce(sum(kg) filter (where medium = 'offsite'), 0) as offsite_kg,
           sum(kg) as total_kg
    from delivered
    group by all
)
select
    by_medium.fiscal_year,
    by_medium.plant_id,
    by_medium.substance,
    latest_cas.cas_number,
    cast(air_kg as double) as air_kg,
    cast(water_kg as double) as water_kg,
    cast(soil_kg as double) as soil_kg,
    cast(landfill_kg as double) as landfill_kg,
    cast(sewer_kg as double) as sewer_kg,
    cast(offsite_kg as double) as offsite_kg
from by_medium
left join latest_cas using (plant_id, fiscal_year, substance)
where total_kg <> 0
order by by_medium.fiscal_year, by_medium.plant_id, by_medium.substance
