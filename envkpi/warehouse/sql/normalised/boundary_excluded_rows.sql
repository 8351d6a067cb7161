-- boundary_excluded_rows: accepted rows for a plant-month outside the plant's boundary. They are
-- ignored with a warning, not rejected (contract 2).
create or replace view boundary_excluded_rows as
with outside_months as (
    -- Found among the recorded plant-months first: few or none, so the rows behind them are
    -- looked up without reading every accepted row of the history.
    select record.kind, record.plant_id, record.period_month
    from normalised_record as record
    join accepted_plants as plants using (plant_id)
    where record.period_month < coalesce(plants.in_scope_from, date '0001-01-01')
       or record.period_month > coalesce(plants.in_scope_to, date '9999-12-01')
),
monthly_rows as (
    select * from accepted_monthly_rows
)
select
    delivery.source_file as file,
    monthly_rows.source_row as "row",
    monthly_rows.kind,
    monthly_rows.plant_id,
    strftime(monthly_rows.period_month, '%Y-%m') as period
from outside_months
join monthly_rows using (kind, plant_id, period_month)
join delivery using (delivery_id);
