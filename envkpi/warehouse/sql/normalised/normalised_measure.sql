-- normalised_measure: per in-boundary plant-month, the amount of each measure in its reporting
-- unit: energy in GJ (through normalised_conversion), CO2 in t-CO2 (normalised_emission_factor:
-- co2, scope1_co2, scope2_location_co2, scope2_market_co2), and the measures of the
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

-- The t-CO2 of each energy row of deliveries from since_delivery_id on (contract 8), location-
-- and market-based: the location factor of the plant's country, and the supplier's market factor
-- where it has one valid in the month's fiscal year. Also read by the GHG notebook
-- (envkpi.reporting.published.emissions), so that it shows the figures the KPIs sum.
create or replace macro energy_emissions_since(since_delivery_id, fiscal_year_start_month) as table
with energy_rows as (
    select energy.plant_id, energy.period_month, energy.energy_type, energy.meter_id, energy.unit, energy.quantity,
           energy.supplier, lower(energy.supplier) as supplier_key, plants.country,
           fiscal_year(energy.period_month, fiscal_year_start_month) as fiscal_year,
           energy.delivery_id, energy.source_row
    from accepted_energy as energy
    join accepted_plants as plants using (plant_id)
    where energy.delivery_id >= since_delivery_id
)
select delivered.plant_id, delivered.period_month, delivered.fiscal_year, delivered.energy_type,
       delivered.supplier,
       -- The shipped table gives each energy type its Scope; a delivered type without one is Scope 1.
       coalesce(scope.scope, 1) as scope,
       round(delivered.quantity * location.per_unit, 10) as location_t_co2,
       round(delivered.quantity * coalesce(market.per_unit, location.per_unit), 10) as market_t_co2,
       -- what an auditor's trace shows of the row (sql/publication/trace_rows.sql)
       delivered.meter_id, delivered.quantity, delivered.unit, location.per_unit as location_per_unit,
       coalesce(market.per_unit, location.per_unit) as market_per_unit, delivered.delivery_id, delivered.source_row
from energy_rows as delivered
join normalised_emission_factor as location
  on location.basis = 'location' and location.fiscal_year = delivered.fiscal_year
 and location.country = delivered.country
 and location.energy_type = delivered.energy_type and location.unit = delivered.unit
left join normalised_emission_factor as market
  on market.basis = 'market' and market.fiscal_year = delivered.fiscal_year
 and market.country = delivered.country and market.supplier_key = delivered.supplier_key
 and market.energy_type = delivered.energy_type and market.unit = delivered.unit
left join reference_energy_scope as scope on scope.energy_type = delivered.energy_type;

-- The amounts stated by deliveries from since_delivery_id on (all of them for 0).
create or replace macro normalised_measure_since(since_delivery_id, fiscal_year_start_month) as table
-- Every amount is rounded to 10 decimals once. An energy row (one per plant, month and energy
-- type) is multiplied by its factor, 9 decimals, as delivered. round(x, 10) is DuckDB's cast to
-- decimal(38, 10) (half away from zero, same type) at two thirds of the cost: the cast divides
-- each 38-digit product in full, round does not.
with energy_measures as (
    -- A plant-month's energy is the sum of its rows, one per energy type and meter.
    select 'energy' as kind, energy.plant_id, energy.period_month, conversion.measure,
           conversion.measure_unit as unit,
           -- quantity in the delivered unit x the factor valid in the month's fiscal year
           round(energy.quantity * conversion.per_unit, 10) as amount
    from accepted_energy as energy
    join normalised_conversion as conversion
      on conversion.energy_type = energy.energy_type
     and conversion.unit = energy.unit
     and conversion.fiscal_year = fiscal_year(energy.period_month, fiscal_year_start_month)
     and conversion.measure = 'energy'
    where energy.delivery_id >= since_delivery_id
),
emissions as (
    select * from energy_emissions_since(since_delivery_id, fiscal_year_start_month)
),
emission_measures as (
    -- Each t-CO2 measure over the energy rows of its Scope, on its basis (emission_measure).
    select 'energy' as kind, emissions.plant_id, emissions.period_month, measure.measure, 't-CO2' as unit,
           case measure.basis when 'market' then emissions.market_t_co2 else emissions.location_t_co2 end as amount
    from emissions
    join emission_measure as measure on measure.scope is null or measure.scope = emissions.scope
),
-- The other kinds' measures (production, waste and recycled in t, chemicals in kg, ...) are
-- declared with their kinds in envkpi/contract.py (Measure): which rows count, in which unit.
all_measures as (
    select * from energy_measures
    union all select * from emission_measures
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
