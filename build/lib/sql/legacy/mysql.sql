-- Queries `pulse import` and `pulse parity` run on the legacy MySQL (or
-- MariaDB) database, in MySQL's dialect. Each starts with a "-- name: NAME"
-- line. Words in braces are identifiers from the mapping file (the legacy
-- table and column names), filled in backquoted: {bookings} is the bookings
-- table, {created_at} its creation column, and so on; {columns} is the list of
-- columns the import reads. %(x)s are parameters.

-- name: legacy_daily_report
-- The legacy nightly report, as the legacy system runs it, for the days from
-- from_day to before to_day (DATE(created_at) in the legacy time zone):
--   SELECT DATE(created_at), COUNT(*), SUM(total_amount), AVG(total_amount)
--   FROM bookings GROUP BY DATE(created_at)
SELECT DATE({created_at}) AS booking_date,
       COUNT(*) AS total_bookings,
       SUM({total_amount}) AS revenue,
       AVG({total_amount}) AS avg_booking_value
FROM {bookings}
WHERE {created_at} >= %(from_day)s AND {created_at} < %(to_day)s
GROUP BY DATE({created_at})
ORDER BY booking_date

-- name: legacy_customer_analytics
-- The legacy nightly customer query, lifetime figures per customer:
--   SELECT customer_id, COUNT(*), SUM(total_amount), MAX(created_at)
--   FROM bookings GROUP BY customer_id
-- for the customers who booked between from_day and before to_day (and the
-- rows without a customer, which the legacy query groups under NULL).
SELECT {customer_id} AS customer_id,
       COUNT(*) AS lifetime_bookings,
       SUM({total_amount}) AS lifetime_value,
       MAX({created_at}) AS last_booking_date
FROM {bookings}
WHERE {customer_id} IN (SELECT {customer_id} FROM {bookings}
                        WHERE {created_at} >= %(from_day)s AND {created_at} < %(to_day)s)
   OR ({customer_id} IS NULL AND EXISTS (SELECT 1 FROM {bookings}
                                         WHERE {customer_id} IS NULL
                                           AND {created_at} >= %(from_day)s AND {created_at} < %(to_day)s))
GROUP BY {customer_id}
ORDER BY {customer_id}

-- name: read_all
-- Every row, in watermark order: a first import, or --full.
SELECT {columns} FROM {table} ORDER BY {watermark}, {key}

-- name: read_since
-- The rows from a watermark on (the last one committed minus the overlap), in watermark order.
SELECT {columns} FROM {table} WHERE {watermark} >= %(since)s ORDER BY {watermark}, {key}

-- name: count_all
SELECT COUNT(*) FROM {table}

-- name: count_since
SELECT COUNT(*) FROM {table} WHERE {watermark} >= %(since)s

-- name: read_keys
-- Every row with one of these keys, in a fixed order: the copies of a key that
-- appears more than once are numbered in this order.
SELECT {columns} FROM {table} WHERE {key} IN %(keys)s ORDER BY {columns}

-- name: duplicate_keys
-- Which of these keys appear in more than one row.
SELECT {key} FROM {table} WHERE {key} IN %(keys)s GROUP BY {key} HAVING COUNT(*) > 1

-- name: read_created_between
-- The bookings created from from_day to before to_day, for parity's row-by-row look.
SELECT {columns} FROM {table} WHERE {created_at} >= %(from_day)s AND {created_at} < %(to_day)s

-- name: read_customers
-- The bookings of these customers, for parity's row-by-row look.
SELECT {columns} FROM {table} WHERE {customer_id} IN %(customers)s

-- name: read_without_customer
SELECT {columns} FROM {table} WHERE {customer_id} IS NULL

-- name: table_columns
-- The columns of a table in the current database, with their types.
SELECT COLUMN_NAME, DATA_TYPE
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %(table)s
ORDER BY ORDINAL_POSITION

-- name: unique_indexes
-- The columns of each unique index of a table: is the key unique?
SELECT INDEX_NAME, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) AS columns
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %(table)s AND NON_UNIQUE = 0
GROUP BY INDEX_NAME
