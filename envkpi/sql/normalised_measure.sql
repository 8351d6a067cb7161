-- normalised_measure: per in-boundary plant-month, the amount of each measure in its reporting
-- unit: energy in GJ and CO2 in t-CO2 (through normalised_conversion), and the measures of the
-- other kinds (contract.Measure: production, waste and recycled in t, chemicals in kg).
-- Amounts are exact decimals so that sums do not depend on the order in which a parallel engine
-- adds them. Kept up to date slice by slice: `kind` says which
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
-- Every amount is rounded to 10 decimals once. An energy row (one per plant, month and energy
-- type) is multiplied by its factor, 9 decimals, as delivered. round(x, 10) is DuckDB's cast to
-- decimal(38, 10) (half away from zero, same type) at two thirds of the cost: the cast divides
-- each 38-digit product in full, round does not.
with energy_measures as (
    select 'energy' as kind, energy.plant_id, energy.period_month, conversion.measure, conversion.measure_unit as unit,
           -- quantity in the delivered unit x the factor valid in the month's fiscal year
           round(energy.quantity * conversion.per_unit, 10) as amount
    from accepted_energy as energy
    join normalised_conversion as conversion
      on conversion.energy_type = energy.energy_type
     and conversion.unit = energy.unit
     and conversion.fiscal_year = fiscal_year(energy.period_month, fiscal_year_start_month)
    where energy.delivery_id >= since_delivery_id
),
-- The other kinds' measures (production, waste and recycled in t, chemicals in kg, ...) are
-- declared with their kinds in envkpi/contract.py (Measure): which rows count, in which unit.
all_measures as (
    select * from energy_measures
    union all select * from kind_measure_amounts(since_delivery_id)
),
plant_month_measures as (
    select kind, plant_id, period_month, measure, unit, sum(amount) as amount
    from all_measures
    group by all
)
select
    measures.kind,
    plant_month.plant_id,
    plant_month.business_unit,
    plant_month.period_month,
    plant_month.fiscal_year,
    measures.measure,
    measures.unit,
    measures.amount
from plant_month_measures as measures
-- Rows for a plant-month outside the boundary are ignored (listed in boundary_excluded_rows).
join normalised_plant_month as plant_month using (plant_id, period_month);

-- Forget the slices that the new deliveries state: all of them in a full rebuild (0), where
-- emptying the table spares matching it against every slice ever delivered ...
delete from normalised_measure where $since_delivery_id = 0;
delete from normalised_measure
using normalised_restated($since_delivery_id) as restated
where $since_delivery_id > 0  -- a constant once bound: DuckDB then skips the join altogether
  and normalised_measure.kind = restated.kind
  and normalised_measure.plant_id = restated.plant_id
  and normalised_measure.period_month = restated.period_month;

-- ... and add their amounts again from the accepted rows (a restated slice's current rows all
-- come from one of the new deliveries).
insert into normalised_measure
select * from normalised_measure_since($since_delivery_id, $fiscal_year_start_month);
