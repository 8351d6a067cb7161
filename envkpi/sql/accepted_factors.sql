-- accepted_factors: delivered energy conversion factors that override the shipped defaults.
create or replace view accepted_factors as
with current_rows as (
    select raw.*
    from raw_factors as raw
    join current_slice as slice
      on slice.kind = 'factors' and slice.slice_key = raw.slice_key and slice.delivery_id = raw.delivery_id
)
select
    energy_type,
    unit,
    cast(gj_per_unit as decimal(18, 9)) as gj_per_unit,
    source,
    cast(valid_from_fy as integer) as valid_from_fy,
    cast(valid_to_fy as integer) as valid_to_fy,
    delivery_id,
    source_row
from current_rows;
