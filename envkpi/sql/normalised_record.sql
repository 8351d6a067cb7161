-- normalised_record: which kinds have at least one accepted record for each plant-month
-- (a row with quantity 0 counts: an absent month is missing data, not a zero). Completeness
-- counts these.
create or replace table normalised_record as
select distinct plant_id, period_month, 'energy' as kind from accepted_energy
union
select distinct plant_id, period_month, 'production' from accepted_production
union
select distinct plant_id, period_month, 'waste' from accepted_waste
union
select distinct plant_id, period_month, 'chemicals' from accepted_chemicals;
