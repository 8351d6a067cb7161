-- normalised_measure: per in-boundary plant-month, the amount of each measure in its reporting
-- unit: energy in GJ and CO2 in t-CO2 (through normalised_conversion), production, waste and
-- recycled in t, chemicals in kg. Amounts are exact decimals so that sums do not depend on the
-- order in which a parallel engine adds them. Kept up to date slice by slice: `kind` says which
-- delivered kind each amount comes from (see normalised_restated).
create table if not exists normalised_measure (
    kind varchar not null,
    plant_id varchar not null,
    business_unit varchar,
    period_month date not null,
    fiscal_year integer not null,
    measure varchar not null,
    unit varchar not null,
    amount decimal(38, 10)
);

-- The amounts stated by deliveries from since_delivery_id on (all of them for 0).
create or replace macro normalised_measure_since(since_delivery_id, fiscal_year_start_month) as table
with mass_unit(unit, reporting_unit, per_unit) as (
    -- Delivered masses to the reporting unit of their measure.
    values ('t', 't', 1.0::decimal(18, 9)), ('kg', 't', 0.001), ('g', 't', 0.000001),
           ('t', 'kg', 1000), ('kg', 'kg', 1), ('g', 'kg', 0.001)
),
energy_measures as (
    select 'energy' as kind, energy.plant_id, energy.period_month, conversion.measure, conversion.measure_unit as unit,
           -- quantity in the delivered unit x the factor valid in the month's fiscal year
           cast(energy.quantity * conversion.per_unit as decimal(38, 10)) as amount
    from accepted_energy as energy
    join normalised_conversion as conversion
      on conversion.energy_type = energy.energy_type
     and conversion.unit = energy.unit
     and conversion.fiscal_year = fiscal_year(energy.period_month, fiscal_year_start_month)
    where energy.delivery_id >= since_delivery_id
),
production_measures as (
    select 'production' as kind, production.plant_id, production.period_month, 'production' as measure, 't' as unit,
           cast(production.quantity * mass_unit.per_unit as decimal(38, 10)) as amount
    from accepted_production as production
    join mass_unit on mass_unit.unit = production.unit and mass_unit.reporting_unit = 't'
    where production.delivery_id >= since_delivery_id
),
waste_measures as (
    -- Every treatment counts toward waste generated ...
    select 'waste' as kind, waste.plant_id, waste.period_month, 'waste' as measure, 't' as unit,
           cast(waste.quantity * mass_unit.per_unit as decimal(38, 10)) as amount
    from accepted_waste as waste
    join mass_unit on mass_unit.unit = waste.unit and mass_unit.reporting_unit = 't'
    where waste.delivery_id >= since_delivery_id
    union all
    -- ... and valuables sold as by-products count as recycled: the CSR table reports
    -- "waste and valuables".
    select 'waste', waste.plant_id, waste.period_month, 'recycled', 't',
           cast(waste.quantity * mass_unit.per_unit as decimal(38, 10))
    from accepted_waste as waste
    join mass_unit on mass_unit.unit = waste.unit and mass_unit.reporting_unit = 't'
    where waste.treatment in ('recycled', 'valuable') and waste.delivery_id >= since_delivery_id
),
chemical_measures as (
    select 'chemicals' as kind, chemicals.plant_id, chemicals.period_month, 'chemicals' as measure, 'kg' as unit,
           cast(chemicals.quantity * mass_unit.per_unit as decimal(38, 10)) as amount
    from accepted_chemicals as chemicals
    join mass_unit on mass_unit.unit = chemicals.unit and mass_unit.reporting_unit = 'kg'
    where chemicals.delivery_id >= since_delivery_id
),
all_measures as (
    select * from energy_measures
    union all select * from production_measures
    union all select * from waste_measures
    union all select * from chemical_measures
)
select
    all_measures.kind,
    plant_month.plant_id,
    plant_month.business_unit,
    plant_month.period_month,
    plant_month.fiscal_year,
    all_measures.measure,
    all_measures.unit,
    sum(all_measures.amount) as amount
from all_measures
-- Rows for a plant-month outside the boundary are ignored (listed in boundary_excluded_rows).
join normalised_plant_month as plant_month using (plant_id, period_month)
group by all;

-- Forget the slices that the new deliveries state ...
delete from normalised_measure
using normalised_restated($since_delivery_id) as restated
where normalised_measure.kind = restated.kind
  and normalised_measure.plant_id = restated.plant_id
  and normalised_measure.period_month = restated.period_month;

-- ... and add their amounts again from the accepted rows (a restated slice's current rows all
-- come from one of the new deliveries).
insert into normalised_measure
select * from normalised_measure_since($since_delivery_id, $fiscal_year_start_month);
