-- The one rule for converting money: the rate in force at a time, to the
-- reporting currency. No row's rate when none is loaded, never a made-up 1 or 0.
-- A set-returning SQL function, so the planner inlines it into each view.
create or replace function analytics.fx_rate(from_currency char(3), at timestamptz)
returns table (rate numeric)
language sql stable
as $$
  select case
           when from_currency = s.reporting_currency then 1::numeric
           else (select r.rate
                 from analytics.fx_rates r
                 where r.currency = from_currency
                   and r.to_currency = s.reporting_currency
                   and r.valid_from <= at
                 order by r.valid_from desc
                 limit 1)
         end
  from analytics.settings s
$$;
comment on function analytics.fx_rate(char, timestamptz) is 'Rate converting from_currency to the reporting currency at a time; 1 for the reporting currency itself, NULL when no rate is loaded.';
