-- energy_conservation_report: the periodic report under Japan's Energy Conservation Act
-- (contract 9), for the fiscal years in $fiscal_years: one row per JP plant in the boundary that
-- year and one `total` row of all of them. reports/regulatory/energy_conservation_FY<fy>.csv holds
-- a year's rows. A year's rows read the four years before it as well (the previous year's
-- intensity, the five-year average), so a restated year changes the four after it. The Act's
-- figures (crude-oil conversion, designation thresholds, the 99 % target) are shipped reference
-- data: data/reference/energy_conservation.csv.
with stated_year as (
    select distinct unnest(cast($fiscal_years as integer[])) as fiscal_year
),
read_year as (
    -- Each stated year and the four before it: all that its rows read, and exactly what a run
    -- over every year would read for them.
    select distinct stated.fiscal_year - back.years as fiscal_year
    from stated_year as stated
    cross join (select unnest(range(5)) as years) as back
),
act as (
    select
        max(value) filter (where name = 'crude_oil_kl_per_gj') as crude_oil_kl_per_gj,
        max(value) filter (where name = 'type1_designation_kl') as type1_kl,
        max(value) filter (where name = 'type2_designation_kl') as type2_kl,
        max(value) filter (where name = 'specified_business_kl') as specified_kl,
        max(value) filter (where name = 'five_year_average_target_pct') as target_pct
    from reference_energy_conservation
),
jp_plant_year as (
    -- The JP plants in the boundary (at least one month) of each fiscal year.
    select distinct plant_month.plant_id, plant_month.fiscal_year
    from normalised_plant_month as plant_month
    join accepted_plants as plants using (plant_id)
    where plants.country = 'JP' and plant_month.fiscal_year in (select fiscal_year from read_year)
),
read_measure as (
    select plant_id, fiscal_year, measure, amount
    from normalised_measure
    where measure in ('energy', 'production') and fiscal_year in (select fiscal_year from read_year)
),
plant_amounts as (
    select jp.plant_id, jp.fiscal_year,
           sum(measure.amount) filter (where measure.measure = 'energy') as energy_gj,
           sum(measure.amount) filter (where measure.measure = 'production') as production_t
    from jp_plant_year as jp
    left join read_measure as measure
      on measure.plant_id = jp.plant_id and measure.fiscal_year = jp.fiscal_year
    group by all
),
amounts as (
    select plant_id, fiscal_year, energy_gj, production_t, false as is_total from plant_amounts
    union all
    -- The operator's total: every JP plant of the year, sums (never averages).
    select 'total', fiscal_year, sum(energy_gj), sum(production_t), true from plant_amounts group by fiscal_year
),
intensities as (
    select amounts.*,
           energy_gj * act.crude_oil_kl_per_gj as crude_oil_kl,
           case when production_t <> 0 then cast(energy_gj as double) / cast(production_t as double) end as intensity,
           act.type1_kl, act.type2_kl, act.specified_kl, act.target_pct
    from amounts cross join act
),
compared as (
    select this.*,
           previous.intensity as previous_intensity,
           four_before.intensity as intensity_four_years_before,
           -- The five-year average needs an intensity in each of the five fiscal years.
           (select count(*) from intensities as year
             where year.plant_id = this.plant_id and year.intensity is not null
               and year.fiscal_year between this.fiscal_year - 4 and this.fiscal_year) = 5 as five_years
    from intensities as this
    left join intensities as previous
      on previous.plant_id = this.plant_id and previous.fiscal_year = this.fiscal_year - 1
    left join intensities as four_before
      on four_before.plant_id = this.plant_id and four_before.fiscal_year = this.fiscal_year - 4
),
averaged as (
    select compared.*,
           case when five_years and intensity_four_years_before > 0
                then pow(intensity / intensity_four_years_before, 0.25) * 100 end as five_year_average_pct
    from compared
)
select
    fiscal_year,
    plant_id,
    cast(energy_gj as double) as energy_gj,
    cast(crude_oil_kl as double) as crude_oil_kl,
    -- Compared exactly (decimals): a plant at 1,500.000 kL is designated.
    case
        when is_total then case when crude_oil_kl >= specified_kl then 'specified' end
        when crude_oil_kl >= type1_kl then 'type1'
        when crude_oil_kl >= type2_kl then 'type2'
    end as designation,
    cast(production_t as double) as production_t,
    intensity,
    case when previous_intensity <> 0 then intensity / previous_intensity * 100 end as intensity_vs_previous_pct,
    five_year_average_pct,
    -- At most 99 %: an average reduction of at least 1 % a year. Compared at 9 decimals, so that
    -- binary noise (99.00000000000001) cannot move a plant across the line.
    case when five_year_average_pct is not null
         then case when round(five_year_average_pct, 9) <= target_pct then 'yes' else 'no' end end as target_met
from averaged
where fiscal_year in (select fiscal_year from stated_year)
order by fiscal_year, is_total, plant_id
