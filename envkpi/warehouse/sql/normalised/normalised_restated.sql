-- normalised_restated(since_delivery_id): the (kind, plant, month) slices that deliveries from
-- since_delivery_id on state. The derived tables forget and recompute exactly these, so that a
-- night's cost grows with what arrived, not with the whole history; 0 means every slice ever
-- delivered (a full rebuild).
create or replace macro normalised_restated(since_delivery_id) as table
select distinct kind, plant_id, month_start(period) as period_month
from raw_monthly_rows
where delivery_id >= since_delivery_id;
