-- accepted_targets: the yearly targets per KPI and scope.
create or replace view accepted_targets as
with current_rows as (
    select raw.*
    from raw_targets as raw
    join current_slice as slice
      on slice.kind = 'targets' and slice.slice_key = raw.slice_key and slice.delivery_id = raw.delivery_id
)
select
    kpi,
    cast(fiscal_year as integer) as fiscal_year,
    cast(target_pct as double) as target_pct,
    -- An empty scope_id means the group.
    coalesce(scope_id, 'group') as scope_id,
    delivery_id,
    source_row
from current_rows;
