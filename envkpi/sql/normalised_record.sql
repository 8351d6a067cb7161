-- normalised_record: which kinds have at least one accepted record for each plant-month
-- (a row with quantity 0 counts: an absent month is missing data, not a zero). Completeness
-- counts these. Kept up to date slice by slice (see normalised_restated).
create table if not exists normalised_record (
    kind varchar not null,
    plant_id varchar not null,
    period_month date not null
);

-- Forget the slices that the new deliveries state: all of them in a full rebuild (0), where
-- emptying the table spares matching it against every slice ever delivered ...
delete from normalised_record where $since_delivery_id = 0;
delete from normalised_record
using normalised_restated($since_delivery_id) as restated
where $since_delivery_id > 0  -- a constant once bound: DuckDB then skips the join altogether
  and normalised_record.kind = restated.kind
  and normalised_record.plant_id = restated.plant_id
  and normalised_record.period_month = restated.period_month;

-- ... and record them again from the accepted rows: a restated slice's current rows all come
-- from one delivery, so the new deliveries' current rows are the whole truth for them.
insert into normalised_record
select distinct 'energy', plant_id, period_month from accepted_energy where delivery_id >= $since_delivery_id
union
select distinct 'production', plant_id, period_month from accepted_production where delivery_id >= $since_delivery_id
union
select distinct 'waste', plant_id, period_month from accepted_waste where delivery_id >= $since_delivery_id
union
select distinct 'chemicals', plant_id, period_month from accepted_chemicals where delivery_id >= $since_delivery_id;
