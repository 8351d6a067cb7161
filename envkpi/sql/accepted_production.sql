-- accepted_production: the production rows of the delivery that currently states each (plant, month).
create or replace view accepted_production as
with current_rows as (
    select raw.*
    from raw_production as raw
    join current_slice as slice
      on slice.kind = 'production' and slice.slice_key = raw.slice_key and slice.delivery_id = raw.delivery_id
    -- A row repeated identically within one file is one record, never counted twice.
    where not raw.is_repeat
),
typed as (
    select
        plant_id,
        month_start(period) as period_month,
        cast(quantity as decimal(38, 10)) as quantity,
        unit,
        delivery_id,
        source_row
    from current_rows
)
select * from typed;
