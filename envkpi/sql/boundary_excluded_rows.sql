-- boundary_excluded_rows: accepted rows for a plant-month outside the plant's boundary. They are
-- ignored with a warning, not rejected (contract 2).
create or replace view boundary_excluded_rows as
with monthly_rows as (
    select 'energy' as kind, plant_id, period_month, delivery_id, source_row from accepted_energy
    union all select 'production', plant_id, period_month, delivery_id, source_row from accepted_production
    union all select 'waste', plant_id, period_month, delivery_id, source_row from accepted_waste
    union all select 'chemicals', plant_id, period_month, delivery_id, source_row from accepted_chemicals
)
select
    delivery.source_file as file,
    monthly_rows.source_row as "row",
    monthly_rows.kind,
    monthly_rows.plant_id,
    strftime(monthly_rows.period_month, '%Y-%m') as period
from monthly_rows
join delivery using (delivery_id)
join accepted_plants as plants using (plant_id)
where monthly_rows.period_month < coalesce(plants.in_scope_from, date '0001-01-01')
   or monthly_rows.period_month > coalesce(plants.in_scope_to, date '9999-12-01');
