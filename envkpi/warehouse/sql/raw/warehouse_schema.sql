-- The warehouse's stored tables: run log, deliveries with lineage, rejections and the current
-- slice of each kind.
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
-- The problem's place in its file's list as the run reported it: a rejection reused by a later
-- run (see rejection_check) lists its problems in the same order. Null in rows written before.
alter table rejection add column if not exists problem_number integer;

-- What each rejected delivery was last checked against (envkpi.validation.check_basis): while the file and
-- this fingerprint are the same, a run reuses the stored rejection instead of reading and
-- checking the file again.
create table if not exists rejection_check (
    delivery_id     bigint primary key,
    checked_against varchar not null
);

-- Files found under a status no delivery has (copied again, touched) whose content a delivery
-- has: remembered, so that later runs know them by their status without reading them (a loaded
-- content is then unchanged, a rejected one reuses its rejection while its check basis holds).
create table if not exists known_status (
    source_file   varchar not null,      -- path relative to the landing folder
    size_bytes    bigint not null,
    modified_ns   bigint not null,
    sha256        varchar not null
);

-- The raw layer (raw_<kind>, one table per kind, text exactly as delivered) and the typed
-- accepted_<kind> views follow from the contract definition: envkpi/warehouse/schema.py.

-- Which delivery currently states the truth for each slice (contract 3, "Re-delivery replaces").
create table if not exists current_slice (
    kind        varchar not null,
    slice_key   varchar not null,
    delivery_id bigint not null
);
