-- trace_rows: every delivered row behind one figure of kpi_results ($kpi, $fiscal_year,
-- $scope_level, $scope_id): the in-boundary plant-months of the scope and year, each measure of
-- the KPI's numerator and denominator, and the accepted rows that state it, with file, sha256,
-- spreadsheet row, delivery time and run; rows that a re-delivery superseded follow, uncounted.
-- The conversions are those of sql/normalised/normalised_measure.sql, row by row.
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
delivered as (
    -- An energy row times the factor valid in its fiscal year, rounded to 10 decimals as the
    -- warehouse rounds it ...
    select 'energy' as kind, conversion.measure, energy.plant_id, energy.period_month,
           concat_ws(' / ', energy.energy_type, energy.meter_id) as detail, energy.quantity, energy.unit,
           conversion.per_unit, round(energy.quantity * conversion.per_unit, 10) as amount, energy.delivery_id,
           energy.source_row
    from accepted_energy as energy
    join normalised_conversion as conversion
      on conversion.energy_type = energy.energy_type and conversion.unit = energy.unit
     and conversion.fiscal_year = fiscal_year(energy.period_month, $fiscal_year_start_month)
     and conversion.measure = 'energy'
    union all
    -- ... its t-CO2 as sql/normalised/normalised_measure.sql computes it (location- and market-based, by Scope) ...
    select 'energy', measure.measure, emission.plant_id, emission.period_month,
           concat_ws(' / ', emission.energy_type, emission.meter_id, emission.supplier), emission.quantity, emission.unit,
           case measure.basis when 'market' then emission.market_per_unit else emission.location_per_unit end,
           case measure.basis when 'market' then emission.market_t_co2 else emission.location_t_co2 end,
           emission.delivery_id, emission.source_row
    from energy_emissions_since(0, $fiscal_year_start_month) as emission
    join emission_measure as measure on measure.scope is null or measure.scope = emission.scope
    union all
    -- ... and the other kinds' rows exactly, each with the measures it adds to (contract.Measure;
    -- the warehouse sums a plant-month's rows of one unit, then converts).
    select kind, measure, plant_id, period_month, detail, quantity, unit, per_unit, amount, delivery_id, source_row
    from kind_measure_rows
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
    where lineage.status = 'superseded' and lineage.kind in (select kind from contract_kind where monthly)
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
