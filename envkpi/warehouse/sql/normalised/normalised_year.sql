-- normalised_year: every fiscal year of normalised_plant_month, with the build (one run's update
-- of the derived layers, named by a build id) that last restated its normalised rows: every year
-- in a full rebuild (0), else the years of the slices the run's deliveries state and the years
-- that have just entered the reporting span. What is made from a year's rows alone or with the
-- years before it (the filings, envkpi/reporting/filings.py) is made again when the builds of
-- the years it reads changed, so that a night's reports follow what it restated. Everything else
-- a filing reads (the boundary, the factors, the contract and this SQL) rebuilds the layers whole
-- when it changes (warehouse.database._BUILD_STATE), which gives every year a new build.
create table if not exists normalised_year (
    fiscal_year integer not null,
    build_id varchar not null
);

delete from normalised_year
where $since_delivery_id = 0
   or fiscal_year not in (select fiscal_year from normalised_plant_month)
   or fiscal_year in (
       select fiscal_year(period_month, $fiscal_year_start_month)
       from normalised_restated($since_delivery_id)
       where $since_delivery_id > 0  -- a full rebuild forgets every year above, without listing the slices
   );

insert into normalised_year
select distinct fiscal_year, $build_id
from normalised_plant_month
where fiscal_year not in (select fiscal_year from normalised_year);
