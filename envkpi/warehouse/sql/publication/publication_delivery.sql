-- publication_delivery of a new publication of $fiscal_year: the accepted deliveries that the
-- year's figures come from, that is those currently stating a plant-month of the year or of a
-- KPI's base year, and those currently stating reference data (plants, factors, targets, co2factors).
with figured_year as (
    select cast($fiscal_year as integer) as fiscal_year
    union
    select base_fiscal_year from reference_kpi where base_fiscal_year is not null
),
stating as (
    select distinct delivery_id
    from current_slice
    where kind in (select kind from contract_kind where monthly)
      and fiscal_year(month_start(slice_period(slice_key)), $fiscal_year_start_month)
          in (select fiscal_year from figured_year)
    union
    select distinct delivery_id
    from current_slice
    where kind in (select kind from contract_kind where not monthly)
)
select delivery.delivery_id, delivery.source_file, delivery.sha256, delivery.kind, delivery.ingested_at
from delivery
join stating using (delivery_id)
order by delivery.delivery_id
