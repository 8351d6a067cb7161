-- The warehouse's stored tables: run log, deliveries with lineage, rejections, the raw layer
-- (every row of every accepted file, as delivered) and the current slice of each kind.
-- Derived layers (accepted_*, normalised_*, kpi_results) are rebuilt from these on every run.

create table if not exists ingest_run (
    run_id        varchar primary key,
    started_at    timestamp not null,
    finished_at   timestamp,
    landing       varchar not null,
    status        varchar not null,      -- running | completed
    files_seen    integer,
    files_loaded  integer,               -- accepted and loaded by this run
    files_rejected integer,              -- rejected (newly or again) in this run
    files_unchanged integer,             -- content loaded by an earlier run: nothing to do
    files_ignored integer                -- not a contract file: reported and left alone
);

-- One row per distinct file content that a run accepted or rejected. delivery_id is also the
-- order in which accepted deliveries apply: a later id replaces an earlier one's slices.
create table if not exists delivery (
    delivery_id   bigint primary key,
    run_id        varchar not null,
    source_file   varchar not null,      -- path relative to the landing folder
    sha256        varchar not null,
    size_bytes    bigint not null,
    modified_ns   bigint not null,       -- file modification time, ns since the epoch
    kind          varchar not null,
    status        varchar not null,      -- accepted | rejected
    row_count     integer not null,
    encoding      varchar,
    ingested_at   timestamp not null
);

create table if not exists rejection (
    delivery_id   bigint not null,
    "row"         integer,               -- as a spreadsheet shows it: the header is row 1
    "column"      varchar,
    value         varchar,
    reason        varchar not null
);

-- The raw layer: text exactly as delivered (trimmed, as the contract says), one table per kind.
-- slice_key identifies the (kind, plant, month) slice, or a reference kind's own slice;
-- is_repeat marks a row that repeats an earlier row's key in the same file (identically: a repeat
-- that disagrees rejects the file), so that it is kept here but counted once.
create table if not exists raw_plants (
    delivery_id bigint not null, source_row integer not null, slice_key varchar not null,
    is_repeat boolean not null,
    plant_id varchar, name varchar, business_unit varchar, country varchar,
    in_scope_from varchar, in_scope_to varchar, extra_columns varchar
);
create table if not exists raw_factors (
    delivery_id bigint not null, source_row integer not null, slice_key varchar not null,
    is_repeat boolean not null,
    energy_type varchar, unit varchar, gj_per_unit varchar, source varchar,
    valid_from_fy varchar, valid_to_fy varchar, extra_columns varchar
);
create table if not exists raw_targets (
    delivery_id bigint not null, source_row integer not null, slice_key varchar not null,
    is_repeat boolean not null,
    kpi varchar, fiscal_year varchar, target_pct varchar, scope_id varchar, extra_columns varchar
);
create table if not exists raw_energy (
    delivery_id bigint not null, source_row integer not null, slice_key varchar not null,
    is_repeat boolean not null,
    plant_id varchar, period varchar, energy_type varchar, quantity varchar, unit varchar,
    extra_columns varchar
);
create table if not exists raw_production (
    delivery_id bigint not null, source_row integer not null, slice_key varchar not null,
    is_repeat boolean not null,
    plant_id varchar, period varchar, quantity varchar, unit varchar, extra_columns varchar
);
create table if not exists raw_waste (
    delivery_id bigint not null, source_row integer not null, slice_key varchar not null,
    is_repeat boolean not null,
    plant_id varchar, period varchar, waste_type varchar, treatment varchar, quantity varchar,
    unit varchar, extra_columns varchar
);
create table if not exists raw_chemicals (
    delivery_id bigint not null, source_row integer not null, slice_key varchar not null,
    is_repeat boolean not null,
    plant_id varchar, period varchar, substance varchar, cas_number varchar, medium varchar,
    quantity varchar, unit varchar, extra_columns varchar
);

-- Which delivery currently states the truth for each slice (contract 3, "Re-delivery replaces").
create table if not exists current_slice (
    kind        varchar not null,
    slice_key   varchar not null,
    delivery_id bigint not null
);
