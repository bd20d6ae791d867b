create or replace view analytics.demand_outlook as
with settings as (
  select timezone, reporting_currency from analytics.settings
),

destination_forecasts as (
  select * from analytics.demand_forecast where level = 'destination'
),

destination_series as (
  select * from analytics.forecast_series where level = 'destination'
),

outlook_window as (
  -- The next 30 days: from today in the business time zone, or from the first
  -- day forecast when the latest refresh starts later. Last year: the same
  -- weekdays 52 weeks (364 days) earlier.
  select first_day,
         first_day + 29 as last_day,
         first_day - 364 as last_year_first_day,
         first_day - 364 + 29 as last_year_last_day
  from (
    select greatest(min(f.day), (now() at time zone s.timezone)::date) as first_day
    from destination_forecasts f cross join settings s
    group by s.timezone
  ) as starts
),

forecast as (
  select f.destination,
         count(distinct f.day) as days,
         sum(f.forecast) filter (where f.metric = 'bookings') as bookings,
         sum(f.forecast) filter (where f.metric = 'revenue') as revenue
  from destination_forecasts f
  cross join outlook_window w
  where f.day between w.first_day and w.last_day
  group by f.destination
),

last_year as (
  -- Bookings created and their gross revenue, converted at each hour's rate.
  select r.destination,
         sum(r.bookings) as bookings,
         case when bool_and(r.rate is not null or r.bookings = 0)
              then coalesce(sum(r.gross_revenue) filter (where r.bookings <> 0), 0) end as revenue
  from pulse.bookings_hourly_reported r
  cross join outlook_window w
  where r.day between w.last_year_first_day and w.last_year_last_day
    and r.bucket >= (w.last_year_first_day - 1)::timestamp at time zone 'UTC'
    and r.bucket < (w.last_year_last_day + 2)::timestamp at time zone 'UTC'
  group by r.destination
),

final as (
  select
    b.destination,
    w.first_day,
    w.last_day,
    f.days,
    round(f.bookings::numeric, 1) as forecast_bookings,
    coalesce(ly.bookings, 0) as last_year_bookings,
    case when b.history_from <= w.last_year_first_day and ly.bookings > 0
         then round((f.bookings / ly.bookings - 1)::numeric, 4) end as bookings_change,
    case when r.unit = s.reporting_currency then round(f.revenue::numeric, 2) end as forecast_revenue,
    case when ly.destination is null then 0 else ly.revenue end as last_year_revenue,
    case when b.history_from <= w.last_year_first_day and r.unit = s.reporting_currency and ly.revenue > 0
         then round((f.revenue / ly.revenue - 1)::numeric, 4) end as revenue_change,
    s.reporting_currency,
    w.last_year_first_day,
    w.last_year_last_day,
    b.history_from,
    b.history_from <= w.last_year_first_day as last_year_complete,
    b.model,
    b.too_short,
    b.reason,
    b.generated_at
  from destination_series b
  cross join outlook_window w
  cross join settings s
  join forecast f on f.destination = b.destination
  left join destination_series r on r.destination = b.destination and r.metric = 'revenue'
  left join last_year ly on ly.destination = b.destination
  where b.metric = 'bookings'
)

select * from final;

comment on view analytics.demand_outlook is 'Per destination: forecast bookings and revenue for the next 30 days against the same weekdays last year (52 weeks earlier), from the latest demand forecast. See docs/analytics.md.';
comment on column analytics.demand_outlook.destination is 'Destination as sent in booking.created.';
comment on column analytics.demand_outlook.first_day is 'First business day of the outlook: today, or the first day forecast when that is later.';
comment on column analytics.demand_outlook.last_day is 'Last business day of the outlook: first_day + 29.';
comment on column analytics.demand_outlook.days is 'Days of the outlook that have a forecast (30 unless the latest refresh is over 60 days old).';
comment on column analytics.demand_outlook.forecast_bookings is 'Sum of the daily bookings forecasts over the outlook, 1 place.';
comment on column analytics.demand_outlook.last_year_bookings is 'Bookings created from last_year_first_day to last_year_last_day.';
comment on column analytics.demand_outlook.bookings_change is 'forecast_bookings / last_year_bookings - 1; NULL when last year had no bookings or is not complete (see last_year_complete).';
comment on column analytics.demand_outlook.forecast_revenue is 'Sum of the daily gross revenue forecasts, in reporting_currency, 2 places; NULL when revenue was not forecast or was forecast in another currency.';
comment on column analytics.demand_outlook.last_year_revenue is 'Gross revenue of last year''s bookings in the same days, converted at each hour''s rate; NULL when a rate is missing.';
comment on column analytics.demand_outlook.revenue_change is 'forecast_revenue / last_year_revenue - 1; NULL when either is unknown or zero, or last year is not complete.';
comment on column analytics.demand_outlook.reporting_currency is 'Currency of the revenue columns.';
comment on column analytics.demand_outlook.last_year_first_day is 'first_day - 364: the same weekday a year earlier.';
comment on column analytics.demand_outlook.last_year_last_day is 'last_day - 364.';
comment on column analytics.demand_outlook.history_from is 'First day with a booking for the destination in the history the forecast used (at most 730 days back).';
comment on column analytics.demand_outlook.last_year_complete is 'True when the destination''s history starts on or before last_year_first_day, so last year''s figures are comparable; a newer destination has no change figures.';
comment on column analytics.demand_outlook.model is 'Model of the destination''s bookings forecast (too_short_fallback for a short history).';
comment on column analytics.demand_outlook.too_short is 'True when the destination''s history was too short to fit a model (reason says what is shown instead).';
comment on column analytics.demand_outlook.reason is 'Why the bookings forecast is not a fitted model; NULL otherwise.';
comment on column analytics.demand_outlook.generated_at is 'When the forecast was made.';
