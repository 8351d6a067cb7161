-- normalised_emission_factor: t-CO2 per delivered unit of each (energy_type, unit) in each fiscal
-- year (contract 7 and 8), `location`-based for the plants of each country and `market`-based for
-- each supplier. Rebuilt whole every run: a few thousand rows.
create or replace table normalised_emission_factor as
with fiscal_years as (
    -- As wide as normalised_conversion's.
    select unnest(range(1990, 2101)) as fiscal_year
),
countries as (
    select distinct country from accepted_plants
),
location_candidates as (
    -- The shipped defaults (data/reference/co2_factors.csv) apply to every country ...
    select energy_type, unit, per_unit, valid_from_fy, valid_to_fy, cast(null as varchar) as country,
           2 as precedence
    from reference_conversion
    where measure = 'co2'
    union all
    -- ... a delivered location row replaces them for its (energy_type, unit) and years, and one with
    -- a country applies only to that country's plants and, for them, wins over one without (grids
    -- differ by country).
    select energy_type, unit, t_co2_per_unit, valid_from_fy, valid_to_fy, country,
           case when country is null then 1 else 0 end
    from accepted_co2factors
    where basis = 'location'
),
location_factors as (
    select fiscal_years.fiscal_year, countries.country, candidate.energy_type, candidate.unit,
           'location' as basis, cast(null as varchar) as supplier_key, candidate.per_unit
    from fiscal_years
    cross join countries
    join location_candidates as candidate
      on fiscal_years.fiscal_year between coalesce(candidate.valid_from_fy, 0) and coalesce(candidate.valid_to_fy, 9999)
     and (candidate.country is null or candidate.country = countries.country)
    qualify row_number() over (
        partition by fiscal_years.fiscal_year, countries.country, candidate.energy_type, candidate.unit
        order by candidate.precedence, candidate.valid_from_fy desc nulls last
    ) = 1
),
market_factors as (
    -- A market row applies only to the energy rows of its supplier (trimmed, any case), and one
    -- with a country only to that country's plants.
    select fiscal_years.fiscal_year, countries.country, factor.energy_type, factor.unit,
           'market' as basis, lower(factor.supplier) as supplier_key, factor.t_co2_per_unit as per_unit
    from fiscal_years
    cross join countries
    join accepted_co2factors as factor
      on factor.basis = 'market'
     and fiscal_years.fiscal_year between coalesce(factor.valid_from_fy, 0) and coalesce(factor.valid_to_fy, 9999)
     and (factor.country is null or factor.country = countries.country)
    qualify row_number() over (
        partition by fiscal_years.fiscal_year, countries.country, factor.energy_type, factor.unit, lower(factor.supplier)
        order by factor.country is null, factor.valid_from_fy desc nulls last
    ) = 1
)
select * from location_factors
union all
select * from market_factors;

-- emission_measure: which energy rows and which basis each t-CO2 measure takes (contract 8):
-- co2 (co2_intensity) is every energy type, location-based; Scope 1 is the same under both
-- bases; Scope 2 is reported location- and market-based. normalised_measure sums the measures,
-- trace_rows lists their rows, restatements_since_publication names the co2factors behind them.
create or replace view emission_measure as
select * from (values ('co2', null, 'location'), ('scope1_co2', 1, 'location'),
                      ('scope2_location_co2', 2, 'location'), ('scope2_market_co2', 2, 'market'))
    as measures(measure, scope, basis);
