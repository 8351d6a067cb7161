-- accepted_plants: the reporting boundary, one row per plant as its latest delivery states it.
create or replace view accepted_plants as
with current_rows as (
    select raw.*
    from raw_plants as raw
    join current_slice as slice
      on slice.kind = 'plants' and slice.slice_key = raw.slice_key and slice.delivery_id = raw.delivery_id
)
select
    plant_id,
    name,
    business_unit,
    country,
    -- An empty boundary month is open: in scope since always, or still in scope.
    month_start(in_scope_from) as in_scope_from,
    month_start(in_scope_to) as in_scope_to,
    delivery_id,
    source_row
from current_rows;
