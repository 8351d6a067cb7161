-- normalised_plant_month: every month each plant is inside the reporting boundary, over every
-- fiscal year that has monthly data. A plant is in the boundary for the months between
-- in_scope_from and in_scope_to, both included (contract 2); these rows are also the
-- denominator of completeness.
create or replace table normalised_plant_month as
with reporting_span as (
    select min(fiscal_year(period_month, $fiscal_year_start_month)) as first_fiscal_year,
           max(fiscal_year(period_month, $fiscal_year_start_month)) as last_fiscal_year
    from normalised_record
),
reporting_months as (
    select cast(unnest(generate_series(
        make_date(first_fiscal_year, $fiscal_year_start_month, 1),
        make_date(last_fiscal_year + 1, $fiscal_year_start_month, 1) - interval 1 month,
        interval 1 month
    )) as date) as period_month
    from reporting_span
    where first_fiscal_year is not null
)
select
    plants.plant_id,
    plants.business_unit,
    reporting_months.period_month,
    fiscal_year(reporting_months.period_month, $fiscal_year_start_month) as fiscal_year
from accepted_plants as plants
join reporting_months
  on reporting_months.period_month between coalesce(plants.in_scope_from, date '0001-01-01')
                                       and coalesce(plants.in_scope_to, date '9999-12-01');
