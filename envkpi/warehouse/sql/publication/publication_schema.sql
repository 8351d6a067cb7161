-- The publications of fiscal years (contract 10, `envkpi publish`): stored tables, never
-- rebuilt. A publication is (fiscal_year, version); its rows are the year's kpi_results as they
-- were, and last_delivery_id the last delivery loaded then: deliveries after it are "since".
create table if not exists publication (
    fiscal_year      integer not null,
    version          integer not null,     -- 1 for v1, ...
    published_at     timestamp not null,
    note             varchar,
    last_delivery_id bigint not null,      -- 0 when nothing was delivered yet
    last_run_id      varchar,              -- the last completed run before it
    complete         boolean not null      -- every group figure of the year had completeness 100
);

create table if not exists publication_result (
    fiscal_year integer not null,
    version integer not null,
    scope_level varchar,
    scope_id varchar,
    kpi varchar,
    numerator decimal(38, 10),
    numerator_unit varchar,
    denominator decimal(38, 10),
    denominator_unit varchar,
    value double,
    base_year integer,
    base_value double,
    change_vs_base_pct double,
    target_pct double,
    achievement_ratio double,
    rating varchar,
    completeness_pct double
);

-- The accepted deliveries whose rows the publication's figures came from: those current for a
-- plant-month of the year or of a base year, and the current reference deliveries.
create table if not exists publication_delivery (
    fiscal_year integer not null,
    version integer not null,
    delivery_id bigint not null
);
