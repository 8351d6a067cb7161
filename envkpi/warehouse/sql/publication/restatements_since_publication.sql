-- reports/restatements_since_publication.csv (contract 10): one row per (scope, KPI, fiscal year)
-- whose current value, change_vs_base_pct or rating differs from the latest publication of that
-- year, and the accepted files delivered since that publication that could have changed it.
with latest as (
    select publication.*
    from publication
    qualify version = max(version) over (partition by fiscal_year)
),
published as (
    select result.*, latest.last_delivery_id
    from publication_result as result
    join latest using (fiscal_year, version)
),
current_result as (
    select * from kpi_results where fiscal_year in (select fiscal_year from latest)
),
compared as (
    -- A figure that appeared or disappeared since (a plant with late data) differs too.
    select coalesce(current_result.scope_level, published.scope_level) as scope_level,
           coalesce(current_result.scope_id, published.scope_id) as scope_id,
           coalesce(current_result.kpi, published.kpi) as kpi,
           coalesce(current_result.fiscal_year, published.fiscal_year) as fiscal_year,
           published.value as published_value,
           current_result.value as current_value,
           published.change_vs_base_pct as published_change_vs_base_pct,
           current_result.change_vs_base_pct as current_change_vs_base_pct,
           published.rating as published_rating,
           current_result.rating as current_rating
    from current_result
    full outer join published
      on published.scope_level = current_result.scope_level and published.scope_id = current_result.scope_id
     and published.kpi = current_result.kpi and published.fiscal_year = current_result.fiscal_year
    where current_result.value is distinct from published.value
       or current_result.change_vs_base_pct is distinct from published.change_vs_base_pct
       or current_result.rating is distinct from published.rating
),
restated as (
    select compared.*, latest.version, latest.last_delivery_id, kpi.base_fiscal_year,
           kpi.numerator_measure, kpi.denominator_measure
    from compared
    join latest using (fiscal_year)
    left join reference_kpi as kpi using (kpi)
),
measure_kind as (
    -- The delivered kind each measure comes from (contract.Kind: measures and factor_measures).
    select measure, kind from contract_measure
),
new_delivery as (
    -- None before any publication or when nothing differs: the raw rows below are then not read.
    select delivery_id, source_file, kind
    from delivery
    where status = 'accepted'
      and delivery_id > (select coalesce(min(last_delivery_id), 9223372036854775807) from latest)
      and exists (select 1 from compared)
),
delivered_plant_year as (
    -- The (kind, plant, fiscal year) that each new monthly delivery states.
    select distinct delivery_id, kind, plant_id, fiscal_year(month_start(period), $fiscal_year_start_month) as fiscal_year
    from raw_monthly_rows where delivery_id in (select delivery_id from new_delivery)
),
delivered_factor as (
    -- The factor files of new deliveries, each with the measures it converts to and its validity
    -- (empty = open): delivered factors convert to GJ only (sql/normalised/normalised_conversion.sql),
    -- co2factors to t-CO2 (sql/normalised/normalised_emission_factor.sql).
    select factor.delivery_id, measure.name as measure,
           coalesce(try_cast(nullif(factor.valid_from_fy, '') as integer), 0) as valid_from_fy,
           coalesce(try_cast(nullif(factor.valid_to_fy, '') as integer), 9999) as valid_to_fy
    from (select delivery_id, valid_from_fy, valid_to_fy, 'factors' as kind from raw_factors
          union all
          select delivery_id, valid_from_fy, valid_to_fy, 'co2factors' from raw_co2factors) as factor
    join (select 'factors' as kind, 'energy' as name
          union all
          select 'co2factors', measure from emission_measure) as measure
      on measure.kind = factor.kind
    where factor.delivery_id in (select delivery_id from new_delivery)
),
scope_plant as (
    -- The plants of each scope, as the plants reference lists them now.
    select 'group' as scope_level, 'group' as scope_id, plant_id from accepted_plants
    union all
    select 'business_unit', business_unit, plant_id from accepted_plants
    union all
    select 'plant', plant_id, plant_id from accepted_plants
),
cause as (
    -- A monthly file stating a plant-month of the scope in the year or the KPI's base year, in a
    -- kind of the KPI's numerator or denominator ...
    select restated.scope_level, restated.scope_id, restated.kpi, restated.fiscal_year, new_delivery.source_file
    from restated
    join measure_kind on measure_kind.measure in (restated.numerator_measure, restated.denominator_measure)
    join delivered_plant_year
      on delivered_plant_year.kind = measure_kind.kind
     and delivered_plant_year.delivery_id > restated.last_delivery_id
     and delivered_plant_year.fiscal_year in (restated.fiscal_year, restated.base_fiscal_year)
    join scope_plant
      on scope_plant.scope_level = restated.scope_level and scope_plant.scope_id = restated.scope_id
     and scope_plant.plant_id = delivered_plant_year.plant_id
    join new_delivery using (delivery_id)
    union all
    -- ... a plants file listing a plant or business unit of the scope (the boundary) ...
    select restated.scope_level, restated.scope_id, restated.kpi, restated.fiscal_year, new_delivery.source_file
    from restated
    join raw_plants on raw_plants.delivery_id > restated.last_delivery_id
     and (restated.scope_level = 'group'
          or (restated.scope_level = 'business_unit' and raw_plants.business_unit = restated.scope_id)
          or (restated.scope_level = 'plant' and raw_plants.plant_id = restated.scope_id))
    join new_delivery using (delivery_id)
    union all
    -- ... a factors or co2factors file valid in the year or the base year, for a KPI that reads
    -- a measure it converts to ...
    select restated.scope_level, restated.scope_id, restated.kpi, restated.fiscal_year, new_delivery.source_file
    from restated
    join delivered_factor as factor on factor.delivery_id > restated.last_delivery_id
     and factor.measure in (restated.numerator_measure, restated.denominator_measure)
     and (restated.fiscal_year between factor.valid_from_fy and factor.valid_to_fy
          or restated.base_fiscal_year between factor.valid_from_fy and factor.valid_to_fy)
    join new_delivery using (delivery_id)
    union all
    -- ... or a targets file setting the figure's target (its rating).
    select restated.scope_level, restated.scope_id, restated.kpi, restated.fiscal_year, new_delivery.source_file
    from restated
    join raw_targets on raw_targets.delivery_id > restated.last_delivery_id
     and raw_targets.kpi = restated.kpi
     and try_cast(raw_targets.fiscal_year as integer) = restated.fiscal_year
     and coalesce(nullif(raw_targets.scope_id, ''), 'group') = restated.scope_id
    join new_delivery using (delivery_id)
),
files as (
    select scope_level, scope_id, kpi, fiscal_year,
           string_agg(distinct source_file, '; ' order by source_file) as files
    from cause
    group by all
)
select
    formula_safe(restated.scope_level) as scope_level,
    formula_safe(restated.scope_id) as scope_id,
    formula_safe(restated.kpi) as kpi,
    restated.fiscal_year,
    'v' || restated.version as published_version,
    restated.published_value,
    restated.current_value,
    restated.current_value - restated.published_value as difference,
    restated.published_change_vs_base_pct,
    restated.current_change_vs_base_pct,
    formula_safe(restated.published_rating) as published_rating,
    formula_safe(restated.current_rating) as current_rating,
    formula_safe(files.files) as files
from restated
left join files using (scope_level, scope_id, kpi, fiscal_year)
left join kpi_scope_level as scope_order using (scope_level)
order by restated.fiscal_year, scope_order.position, restated.scope_id, restated.kpi
