create or replace view analytics.customer_lifetime as
with rules as (
  select * from analytics.customer_segment_rules
),

amounts as (
  -- What each booking is worth over its life: its total at creation, then
  -- each modification's change and minus its refund, each at its own time.
  select b.customer_id, b.created_currency as currency,
         date_bin('1 hour', b.created_at, timestamptz '2000-01-01 00:00:00+00') as bucket,
         b.created_total as amount
  from pulse_bookings.bookings b
  union all
  select b.customer_id, c.currency, date_bin('1 hour', c.quarter, timestamptz '2000-01-01 00:00:00+00'),
         c.modification_delta - c.refunds
  from pulse_bookings.booking_contributions c
  join pulse_bookings.bookings b using (booking_id)
),

net_value as (
  select a.customer_id,
         case when bool_and(fx.rate is not null) then sum(a.amount * fx.rate) end as net_value,
         array_agg(distinct a.currency::text) filter (where fx.rate is null) as missing_rates
  from amounts a
  left join lateral analytics.fx_rate(a.currency, a.bucket) fx on true
  group by a.customer_id
),

booked as (
  select customer_id,
         count(*) as bookings,
         min(created_at) as first_booking_at,
         max(created_at) as last_booking_at,
         (array_agg(cancelled_at order by created_at desc, booking_id desc))[1] as last_booking_cancelled_at
  from pulse_bookings.bookings
  group by customer_id
),

customers as (
  select c.customer_id, c.registered_at, c.last_seen_at, c.last_search_at, c.last_checkout_at,
         coalesce(b.bookings, 0) as bookings, b.first_booking_at, b.last_booking_at, b.last_booking_cancelled_at,
         v.net_value, v.missing_rates,
         b.last_booking_at >= now() - make_interval(days => r.recent_days) as recent,
         coalesce(b.bookings, 0) >= r.frequent_bookings as frequent,
         v.net_value >= r.high_value as high_value,
         greatest(c.last_seen_at, b.last_booking_cancelled_at) < now() - make_interval(days => r.lapsed_days) as lapsed,
         greatest(b.last_booking_at, b.last_booking_cancelled_at) as last_booking_activity_at
  from pulse_customers.customers c
  left join booked b using (customer_id)
  left join net_value v using (customer_id)
  cross join rules r
),

predicted as (
  -- The latest refresh of the predictions; a value predicted in another
  -- reporting currency than today's is not shown.
  select p.customer_id, p.probability_alive, p.expected_bookings_12m,
         case when p.reporting_currency = s.reporting_currency then p.expected_value_12m end as expected_value_12m,
         p.generated_at
  from analytics.customer_prediction p
  cross join analytics.settings s
)

select
  customer_id,
  bookings as lifetime_bookings,
  net_value as lifetime_net_value,
  (select reporting_currency from analytics.settings) as reporting_currency,
  missing_rates,
  first_booking_at,
  last_booking_at,
  round(net_value / nullif(bookings, 0), 2) as avg_booking_value,
  case
    when bookings = 0 then 'prospect'
    when lapsed then 'lapsed'
    when recent and frequent and high_value then 'champion'
    when recent and frequent then 'loyal'
    when frequent then 'at_risk'
    when recent and bookings = 1 then 'new'
    when high_value then 'big_spender'
    else 'occasional'
  end as segment,
  case
    when bookings > 0 and lapsed then 'lapsed'
    when last_checkout_at >= coalesce(last_search_at, '-infinity')
         and last_checkout_at > coalesce(last_booking_activity_at, '-infinity') then 'in checkout'
    when last_search_at > coalesce(last_booking_activity_at, '-infinity') then 'searched'
    when last_booking_cancelled_at is not null then 'cancelled'
    when bookings > 0 then 'booked'
    else 'registered'
  end as journey_stage,
  registered_at,
  last_seen_at,
  p.probability_alive,
  p.expected_bookings_12m,
  p.expected_value_12m,
  p.generated_at as predicted_at
from customers
left join predicted p using (customer_id);

comment on view analytics.customer_lifetime is 'Per customer: lifetime bookings and net value in the reporting currency, RFM segment (thresholds in analytics.customer_segment_rules), journey stage, and the predicted value of the next 12 months. See docs/analytics.md.';
comment on column analytics.customer_lifetime.customer_id is 'Customer id as sent.';
comment on column analytics.customer_lifetime.lifetime_bookings is 'Bookings created.';
comment on column analytics.customer_lifetime.lifetime_net_value is 'Sum over their bookings of the total at creation plus modifications minus refunds, each converted at the rate in force at its time; NULL when a currency has no rate.';
comment on column analytics.customer_lifetime.reporting_currency is 'Currency of the amounts.';
comment on column analytics.customer_lifetime.missing_rates is 'Currencies of this customer''s amounts with no exchange rate; NULL when all converted.';
comment on column analytics.customer_lifetime.first_booking_at is 'Creation time of the first booking.';
comment on column analytics.customer_lifetime.last_booking_at is 'Creation time of the latest booking.';
comment on column analytics.customer_lifetime.avg_booking_value is 'lifetime_net_value / lifetime_bookings, 2 places.';
comment on column analytics.customer_lifetime.segment is 'First that applies: prospect (no booking), lapsed, champion (recent, frequent, high value), loyal (recent, frequent), at_risk (frequent, not recent), new (one recent booking), big_spender (high value), occasional.';
comment on column analytics.customer_lifetime.journey_stage is 'Latest step: lapsed (booked, then no activity for lapsed_days), in checkout, searched (after any booking), cancelled (latest booking cancelled), booked, or registered.';
comment on column analytics.customer_lifetime.registered_at is 'occurred_at of customer.registered; NULL when none arrived.';
comment on column analytics.customer_lifetime.last_seen_at is 'Latest occurred_at among the customer''s registrations, searches, checkouts and bookings.';
comment on column analytics.customer_lifetime.probability_alive is 'Predicted probability that the customer is still active (BG/NBD, analytics.customer_prediction); NULL without a booking or before the first refresh.';
comment on column analytics.customer_lifetime.expected_bookings_12m is 'Predicted booking days in the 12 months after the prediction''s history (BG/NBD).';
comment on column analytics.customer_lifetime.expected_value_12m is 'Predicted net value of the next 12 months in the reporting currency (BG/NBD x Gamma-Gamma), next to the historical lifetime_net_value; NULL when it could not be predicted.';
comment on column analytics.customer_lifetime.predicted_at is 'When the prediction was made (analytics.customer_prediction.generated_at).';
