-- One row: the business time zone and the reporting currency. pulse migrate and
-- pulse serve write PULSE_TIMEZONE and PULSE_REPORTING_CURRENCY here, so the
-- views that analysts query see the same settings as the service.
create table analytics.settings (
  only_row           boolean     primary key default true check (only_row),
  timezone           text        not null default 'UTC',
  reporting_currency char(3)     not null default 'USD' check (reporting_currency ~ '^[A-Z]{3}$'),
  updated_at         timestamptz not null default now()
);
comment on table analytics.settings is 'The business time zone (daily buckets, "today") and the reporting currency. Set through PULSE_TIMEZONE and PULSE_REPORTING_CURRENCY.';
comment on column analytics.settings.timezone is 'IANA time zone name. Its UTC offsets must be whole hours, so each UTC hour lies in one business day.';
comment on column analytics.settings.reporting_currency is 'ISO 4217 code the single-currency views report in, converted with analytics.fx_rates.';
comment on column analytics.settings.updated_at is 'When the settings last changed.';

-- Every UTC hour with the business day it belongs to. Daily views join hourly
-- rollups through it, so a filter on day uses indexes.
create table pulse.calendar (
  bucket timestamptz primary key,
  day    date        not null
);
create index calendar_day on pulse.calendar (day);
comment on table pulse.calendar is 'UTC hours from 2000 to 2040 and their day in analytics.settings.timezone; rebuilt when the time zone changes.';

-- Runs as its owner, the projector (sql/roles.sql): whoever stores the settings needs no
-- rights on the calendar or the rollups, and nothing runs with more rights than the
-- projector, which owns those rollups.
create function pulse.apply_settings() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  bookings_schema text;
begin
  if not exists (select 1 from pg_timezone_names where name = new.timezone) then
    raise exception 'unknown time zone %', new.timezone
      using hint = 'Use an IANA name such as Europe/London or America/New_York.';
  end if;
  if exists (select 1
             from generate_series(timestamptz '2000-01-01 00:00+00', timestamptz '2040-01-01 00:00+00', interval '1 hour') as t
             where extract(minute from t at time zone new.timezone) <> 0) then
    raise exception 'time zone % has UTC offsets that are not whole hours', new.timezone
      using hint = 'Hourly rollups roll up into business days only where every UTC hour falls in one day.';
  end if;
  new.updated_at := now();
  if tg_op = 'INSERT' or new.timezone is distinct from old.timezone then
    truncate pulse.calendar;
    insert into pulse.calendar (bucket, day)
    select t, (t at time zone new.timezone)::date
    from generate_series(timestamptz '2000-01-01 00:00+00', timestamptz '2040-01-01 00:00+00', interval '1 hour') as t;
    -- Business days moved: the daily bookings rollup is the hourly one regrouped,
    -- in the live projection and in a rebuild under way.
    foreach bookings_schema in array array['pulse_bookings', 'pulse_bookings_rebuild'] loop
      if to_regclass(bookings_schema || '.daily') is not null then
        execute format(
          'truncate %1$I.daily; '
          'insert into %1$I.daily '
          'select c.day, h.destination, h.booking_type, h.channel, h.currency, '
          '       sum(h.bookings), sum(h.gross_revenue), sum(h.modifications), sum(h.modification_delta), '
          '       sum(h.cancellations), sum(h.refunds), public.hll_union_agg(h.customers), public.tdigest(h.booking_values) '
          'from %1$I.hourly h join pulse.calendar c using (bucket) '
          'group by 1, 2, 3, 4, 5', bookings_schema);
      end if;
    end loop;
  end if;
  return new;
end
$$;

create trigger settings_apply before insert or update on analytics.settings
for each row execute function pulse.apply_settings();

insert into analytics.settings default values;
