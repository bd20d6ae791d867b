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
comment on column analytics.settings.timezone is 'IANA time zone name, any: daily rollups take each event''s local date; an hour that holds local midnight counts in each of its two days by its share of minutes wherever hourly figures are summed by day.';
comment on column analytics.settings.reporting_currency is 'ISO 4217 code the single-currency views report in, converted with analytics.fx_rates.';
comment on column analytics.settings.updated_at is 'When the settings last changed.';

-- Every UTC hour with the business days it lies in, and its share of each: 1
-- where the zone's offset is a whole number of hours, and for the hour that
-- holds local midnight in other zones (Asia/Kolkata: 18:00 UTC is 23:30 to
-- 00:30) one row per day with the share of its minutes in it (0.5 and 0.5).
-- Views that sum hourly rollups by day go through it, so a filter on day uses
-- indexes; the daily rollups themselves are kept by each event's local date.
create table pulse.calendar (
  bucket timestamptz not null,
  day    date        not null,
  share  numeric     not null default 1 check (share > 0 and share <= 1),
  primary key (bucket, day)
);
create index calendar_day on pulse.calendar (day);
comment on table pulse.calendar is 'UTC hours from 2000 to 2040, the days in analytics.settings.timezone they lie in and their share of each; rebuilt when the time zone changes.';

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
  new.updated_at := now();
  if tg_op = 'INSERT' or new.timezone is distinct from old.timezone then
    -- The bookings projection keeps changes per UTC quarter hour: each lies in one
    -- local day wherever offsets are whole quarter hours, as every IANA zone's are since 2000.
    if exists (select 1
               from generate_series(timestamptz '2000-01-01 00:00+00', timestamptz '2040-01-01 00:00+00', interval '1 hour') as t
               where extract(minute from t at time zone new.timezone)::integer % 15 <> 0
                  or extract(second from t at time zone new.timezone) <> 0) then
      raise exception 'time zone % has UTC offsets that are not whole quarter hours', new.timezone
        using hint = 'Business days are made of UTC quarter hours.';
    end if;
    truncate pulse.calendar;
    -- Each hour in the day of its start, and of its end when local midnight falls inside it.
    insert into pulse.calendar (bucket, day, share)
    select h.t, d.day,
           extract(epoch from least(h.t + interval '1 hour', (d.day + 1)::timestamp at time zone new.timezone)
                              - greatest(h.t, d.day::timestamp at time zone new.timezone)) / 3600
    from generate_series(timestamptz '2000-01-01 00:00+00', timestamptz '2040-01-01 00:00+00', interval '1 hour') as h (t)
    cross join lateral (
      select distinct x.day
      from (values ((h.t at time zone new.timezone)::date),
                   (((h.t + interval '1 hour' - interval '1 microsecond') at time zone new.timezone)::date)) as x (day)
    ) as d;
    -- Business days moved: the daily bookings rollups are the bookings and their
    -- contributions regrouped by local date, in the live projection and in a rebuild under way.
    foreach bookings_schema in array array['pulse_bookings', 'pulse_bookings_rebuild'] loop
      if to_regclass(bookings_schema || '.destinations_daily') is not null then
        execute format(
          'truncate %1$I.daily, %1$I.destinations_daily; '
          'insert into %1$I.daily '
          'select day, destination, booking_type, channel, currency, sum(bookings), sum(gross_revenue), '
          '       sum(modifications), sum(modification_delta), sum(cancellations), sum(refunds), '
          '       coalesce(public.hll_union_agg(customers), public.hll_empty()), public.tdigest(booking_values) '
          'from ('
          '  select (b.created_at at time zone %2$L)::date as day, b.destination, b.booking_type, b.channel, '
          '         b.created_currency as currency, count(*) as bookings, sum(b.created_total) as gross_revenue, '
          '         0 as modifications, 0 as modification_delta, 0 as cancellations, 0 as refunds, '
          '         public.hll_add_agg(public.hll_hash_text(b.customer_id)) as customers, '
          '         public.tdigest(b.created_total::float8, 100) as booking_values '
          '  from %1$I.bookings b group by 1, 2, 3, 4, 5 '
          '  union all '
          '  select (c.quarter at time zone %2$L)::date, b.destination, b.booking_type, b.channel, c.currency, '
          '         0, 0, sum(c.modifications), sum(c.modification_delta), sum(c.cancellations), sum(c.refunds), '
          '         null, null '
          '  from %1$I.booking_contributions c join %1$I.bookings b using (booking_id) group by 1, 2, 3, 4, 5 '
          ') as pieces '
          'group by 1, 2, 3, 4, 5; '
          'insert into %1$I.destinations_daily '
          'select day, destination, currency, sum(bookings), sum(gross_revenue), sum(modifications), '
          '       sum(modification_delta), sum(cancellations), sum(refunds) '
          'from %1$I.daily group by 1, 2, 3',
          bookings_schema, new.timezone);
      end if;
    end loop;
  end if;
  return new;
end
$$;

create trigger settings_apply before insert or update on analytics.settings
for each row execute function pulse.apply_settings();

insert into analytics.settings default values;
