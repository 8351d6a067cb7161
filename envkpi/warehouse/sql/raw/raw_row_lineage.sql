-- raw_row_lineage: every loaded row of every kind with where it came from and whether it is
-- still current or was superseded by a re-delivery. The auditor's way from a figure to a file.
create or replace view raw_row_lineage as
select
    raw_rows.kind,
    raw_rows.slice_key,
    delivery.source_file,
    delivery.sha256,
    raw_rows.source_row,
    delivery.run_id,
    delivery.ingested_at,
    raw_rows.delivery_id,
    case when slice.delivery_id is null then 'superseded' else 'current' end as status
from raw_rows
join delivery using (delivery_id)
left join current_slice as slice
  on slice.kind = raw_rows.kind and slice.slice_key = raw_rows.slice_key
 and slice.delivery_id = raw_rows.delivery_id;
