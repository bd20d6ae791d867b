-- Tables of the customers projection (schema pulse_customers, or
-- pulse_customers_rebuild during a replay).

-- What each customer did, as counts and first and last times: all of it
-- order-independent, so events may arrive in any order.
create table customers (
  customer_id      text        primary key,
  registered_at    timestamptz,
  first_seen_at    timestamptz not null,
  last_seen_at     timestamptz not null,
  searches         bigint      not null default 0,
  last_search_at   timestamptz,
  checkouts        bigint      not null default 0,
  last_checkout_at timestamptz,
  -- booking.created as the legacy report counted it: every currency summed as is.
  bookings         bigint      not null default 0,
  booked_amount    numeric     not null default 0,
  first_booking_at timestamptz,
  last_booking_at  timestamptz,
  changed_in_batch bigint      not null
) with (fillfactor = 70);  -- room for HOT updates: a backlog's every batch updates most customers
