-- trace_rows: every delivered row behind one figure of kpi_results ($kpi, $fiscal_year,
-- $scope_level, $scope_id): the in-boundary plant-months of the scope and year, each measure of
-- the KPI's numerator and denominator, and the accepted rows that state it, with file, sha256,
-- spreadsheet row, delivery time and run; rows that a re-delivery superseded follow, uncounted.
-- The conversions are those of sql/normalised_measure.sql, row by row.
with kpi as (
    select * from reference_kpi where kpi = $kpi
),
role as (
    select 'numerator' as role, numerator_measure as measure, numerator_unit as measure_unit from kpi
    union all
    select 'denominator', denominator_measure, denominator_unit from kpi where denominator_measure is not null
),
plant_month as (
    select plant_id, business_unit, period_month
    from normalised_plant_month
    where fiscal_year = $fiscal_year
      and ($scope_level = 'group'
           or ($scope_level = 'business_unit' and business_unit = $scope_id)
           or ($scope_level = 'plant' and plant_id = $scope_id))
),
mass_unit(unit, reporting_unit, per_unit) as (
    -- as in sql/normalised_measure.sql
    values ('t', 't', 1.0::decimal(18, 6)), ('kg', 't', 0.001), ('g', 't', 0.000001),
           ('t', 'kg', 1000), ('kg', 'kg', 1), ('g', 'kg', 0.001)
),
delivered as (
    -- An energy row times the factor valid in its fiscal year, rounded to 10 decimals as the
    -- warehouse rounds it ...
    select 'energy' as kind, conversion.measure, energy.plant_id, energy.period_month,
           energy.energy_type as detail, energy.quantity, energy.unit, conversion.per_unit,
           round(energy.quantity * conversion.per_unit, 10) as amount, energy.delivery_id, energy.source_row
    from accepted_energy as energy
    join normalised_conversion as conversion
      on conversion.energy_type = energy.energy_type and conversion.unit = energy.unit
     and conversion.fiscal_year = fiscal_year(energy.period_month, $fiscal_year_start_month)
    union all
    -- ... masses exactly (the warehouse sums a plant-month's rows of one unit, then converts).
    select 'production', 'production', plant_id, period_month, null, quantity, unit, mass_unit.per_unit,
           quantity * mass_unit.per_unit, delivery_id, source_row
    from accepted_production join mass_unit using (unit) where mass_unit.reporting_unit = 't'
    union all
    select 'waste', 'waste', plant_id, period_month, waste_type || ' / ' || treatment, quantity, unit,
           mass_unit.per_unit, quantity * mass_unit.per_unit, delivery_id, source_row
    from accepted_waste join mass_unit using (unit) where mass_unit.reporting_unit = 't'
    union all
    -- valuables sold as by-products count as recycled, as in normalised_measure
    select 'waste', 'recycled', plant_id, period_month, waste_type || ' / ' || treatment, quantity, unit,
           mass_unit.per_unit, quantity * mass_unit.per_unit, delivery_id, source_row
    from accepted_waste join mass_unit using (unit)
    where mass_unit.reporting_unit = 't' and treatment in ('recycled', 'valuable')
    union all
    select 'chemicals', 'chemicals', plant_id, period_month, substance || ' / ' || medium, quantity, unit,
           mass_unit.per_unit, quantity * mass_unit.per_unit, delivery_id, source_row
    from accepted_chemicals join mass_unit using (unit) where mass_unit.reporting_unit = 'kg'
),
current_rows as (
    select 'row' as record, role.role, role.measure, role.measure_unit, plant_month.plant_id,
           plant_month.business_unit, plant_month.period_month, delivered.kind, delivered.detail,
           delivered.delivery_id, delivered.source_row, 'current' as status,
           cast(delivered.quantity as double) as delivered_quantity, delivered.unit as delivered_unit,
           cast(delivered.per_unit as double) as per_unit,
           cast(delivered.amount as double) as amount,
           cast(delivered.amount as varchar) as amount_exact
    from role
    join delivered using (measure)
    join plant_month using (plant_id, period_month)
),
read_kind as (
    select distinct kind, measure from current_rows
),
superseded_rows as (
    -- Rows of the same plant-months and kinds that a later delivery replaced: not counted.
    select distinct 'superseded' as record, role.role, role.measure, role.measure_unit, plant_month.plant_id,
           plant_month.business_unit, plant_month.period_month, lineage.kind, null as detail,
           lineage.delivery_id, lineage.source_row, 'superseded' as status,
           null::double as delivered_quantity, null as delivered_unit, null::double as per_unit,
           null::double as amount, null as amount_exact
    from raw_row_lineage as lineage
    join read_kind on read_kind.kind = lineage.kind
    join role on role.measure = read_kind.measure
    join plant_month
      on plant_month.plant_id = slice_plant_id(lineage.slice_key)
     and plant_month.period_month = month_start(slice_period(lineage.slice_key))
    where lineage.status = 'superseded' and lineage.kind in ('energy', 'production', 'waste', 'chemicals')
),
traced as (
    select * from current_rows
    union all
    select * from superseded_rows
)
select
    traced.record,
    traced.role,
    traced.measure,
    traced.measure_unit,
    traced.plant_id,
    traced.business_unit,
    strftime(traced.period_month, '%Y-%m') as period,
    traced.kind,
    traced.detail,
    delivery.source_file as file,
    delivery.sha256,
    traced.source_row,
    delivery.ingested_at as delivered_at,
    delivery.run_id,
    traced.status,
    traced.delivered_quantity,
    traced.delivered_unit,
    traced.per_unit,
    traced.amount,
    traced.amount_exact
from traced
join delivery using (delivery_id)
order by traced.record, case traced.role when 'numerator' then 0 else 1 end, traced.plant_id, traced.period_month,
         delivery.source_file, traced.source_row
