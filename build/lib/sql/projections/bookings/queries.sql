-- Queries other code runs on the bookings projection's tables, with
-- search_path set to its schema.

-- name: bookings_hourly_changed
-- Hourly rows changed by batches after the given one, newest buckets first.
-- The bucket filter lets the view read only those hours, through the primary key.
select h.*
from analytics.bookings_hourly h
where h.bucket = any(array(select distinct bucket from hourly
                           where changed_in_batch > %(after_batch)s))
  and (h.bucket, h.destination, h.booking_type, h.channel, h.currency) in (
    select bucket, destination, booking_type, channel, currency
    from hourly
    where changed_in_batch > %(after_batch)s)
order by h.bucket desc, h.destination, h.booking_type, h.channel, h.currency
limit %(limit)s;

-- name: bookings_hourly_recent
-- Hourly rows of the last hours, newest first: what a new stream client sees first.
select *
from analytics.bookings_hourly
where bucket >= date_bin('1 hour', now(), timestamptz '2000-01-01 00:00:00+00') - make_interval(hours => %(hours)s)
order by bucket desc, destination, booking_type, channel, currency
limit %(limit)s;
