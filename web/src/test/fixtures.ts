// Messages as docs/stream.md shows them.

export const XSS = '<img src=x onerror=alert(1)>'

export const kpisMessage = {
  position: '8123/45',
  as_of: '2026-11-26T09:12:03Z',
  day: '2026-11-26',
  timezone: 'Europe/London',
  currency: 'USD',
  filters: { destination: null, booking_type: null },
  metrics: {
    bookings: { value: 123, week_ago: 110, change: 0.118 },
    revenue: { value: '12345.67', week_ago: '11000.00', change: 0.122 },
    avg_booking_value: { value: '100.37', week_ago: '100.00', change: 0.004 },
    conversion_rate: { value: 0.034, week_ago: 0.031, change: 0.097 },
    cancellations: { value: 4, week_ago: 6, change: -0.333 },
  },
  missing_rates: [],
}

export const hourlyMessage = {
  position: '8123/45',
  currency: 'USD',
  filters: { destination: null, booking_type: null },
  points: [
    { hour: '2026-11-24T10:00:00Z', bookings: 3, revenue: '300.00' },
    { hour: '2026-11-24T11:00:00Z', bookings: 0, revenue: '0.00' },
  ],
  restated: [],
  missing_rates: [],
}

export const topDestinationsMessage = {
  position: '8123/45',
  currency: 'USD',
  period: 'today',
  filters: { destination: null, booking_type: null },
  rows: [
    { destination: 'Lisbon', bookings: 12, revenue: '1234.00' },
    { destination: XSS, bookings: 3, revenue: '99.50' },
  ],
  missing_rates: [],
}

export const bookingTypesMessage = {
  position: '8123/45',
  currency: 'USD',
  period: 'today',
  filters: { destination: null, booking_type: null },
  rows: [{ booking_type: 'flight', bookings: 10, revenue: '990.00' }],
  missing_rates: [],
}

export const funnelMessage = {
  position: '8123/45',
  period: 'today',
  filters: { destination: null, booking_type: null },
  searches: 100,
  checkouts: 40,
  bookings: 12,
}

export const alertMessage = {
  id: 17,
  opened_at: '2026-11-26T09:00:00Z',
  kind: 'revenue_drop',
  subject: 'destination=Lisbon',
  observed: '120.00',
  expected: '480.00',
  severity: 'critical',
  status: 'open',
  resolved_at: null,
  details: {},
}
