-- Calendar helpers shared by every layer.

-- The fiscal year a month belongs to, named for the calendar year it starts in:
-- with an April start, 2018-03 is in FY2017 and 2018-04 in FY2018.
create or replace macro fiscal_year(period_month, start_month) as
    year(period_month) - case when month(period_month) < start_month then 1 else 0 end;

-- A delivered `YYYY-MM` (already validated) as the first day of that month.
create or replace macro month_start(period) as cast(period || '-01' as date);

-- A monthly kind's slice key is its plant_id and period joined by chr(31) (SLICE_KEY_SEPARATOR
-- in envkpi/contract.py). The period is validated as `YYYY-MM`, so it is the key's last 7 characters and
-- the plant id is everything before the separator in front of them, whatever it holds.
create or replace macro slice_plant_id(slice_key) as left(slice_key, length(slice_key) - 8);
create or replace macro slice_period(slice_key) as right(slice_key, 7);

-- Text that a spreadsheet would run as a formula, with a leading apostrophe: the characters of
-- FORMULA_STARTS in envkpi/reporting/export.py, for the tables that DuckDB writes as CSV itself.
create or replace macro formula_safe(text) as
    case when left(text, 1) in ('=', '+', '-', '@', chr(9), chr(13)) then '''' || text else text end;
