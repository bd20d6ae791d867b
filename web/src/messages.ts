// The messages of GET /v1/stream and /v1/metrics/... (docs/stream.md), and
// GET /v1/forecast. The parsers are tolerant: unknown fields are ignored, a
// missing or malformed field becomes null/empty rather than an exception, and a
// message that is not even an object is dropped (parse returns null).

/** Money: an exact decimal as a string ("1234.50"), or null when an exchange rate is missing. */
export type Money = string | null

export interface Filters {
  destination: string | null
  booking_type: string | null
}

export const METRIC_TOPICS = ['kpis', 'hourly', 'top_destinations', 'booking_types', 'funnel'] as const
export type MetricTopic = (typeof METRIC_TOPICS)[number]
export const TOPICS = [...METRIC_TOPICS, 'alerts'] as const
export type Topic = (typeof TOPICS)[number]

export const KPI_NAMES = ['bookings', 'revenue', 'avg_booking_value', 'conversion_rate', 'cancellations'] as const
export type KpiName = (typeof KPI_NAMES)[number]

/** `bookings`/`cancellations` are counts, `revenue`/`avg_booking_value` money, `conversion_rate` a fraction. */
export interface KpiMetric {
  value: number | string | null
  week_ago: number | string | null
  change: number | null
}

export interface KpisMessage {
  position: string | null
  as_of: string | null
  day: string | null
  timezone: string | null
  currency: string | null
  filters: Filters
  metrics: Partial<Record<KpiName, KpiMetric>>
  missing_rates: string[]
}

export interface HourlyPoint {
  hour: string
  bookings: number
  revenue: Money
}

export interface HourlyMessage {
  position: string | null
  currency: string | null
  filters: Filters
  points: HourlyPoint[]
  restated: string[]
  missing_rates: string[]
}

export interface DestinationRow {
  destination: string
  bookings: number
  revenue: Money
}

export interface TopDestinationsMessage {
  position: string | null
  currency: string | null
  period: string | null
  filters: Filters
  rows: DestinationRow[]
  missing_rates: string[]
}

export interface BookingTypeRow {
  booking_type: string
  bookings: number
  revenue: Money
}

export interface BookingTypesMessage {
  position: string | null
  currency: string | null
  period: string | null
  filters: Filters
  rows: BookingTypeRow[]
  missing_rates: string[]
}

export interface FunnelMessage {
  position: string | null
  period: string | null
  filters: Filters
  searches: number
  checkouts: number
  bookings: number
}

export interface Alert {
  id: string
  opened_at: string | null
  kind: string
  subject: string
  observed: string | null
  expected: string | null
  severity: string
  status: string
  resolved_at: string | null
  details: Record<string, unknown>
}

export interface Dimensions {
  destinations: string[]
  booking_types: string[]
}

export interface ForecastPoint {
  day: string
  forecast: number | null
  lo80: number | null
  hi80: number | null
  lo95: number | null
  hi95: number | null
}

export interface ForecastResponse {
  series: string | null
  model: string | null
  points: ForecastPoint[]
  actual: { day: string; value: number | null }[]
  note: string | null
}

// ---------------------------------------------------------------- helpers

type Obj = Record<string, unknown>

export function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function str(value: unknown): string | null {
  if (typeof value === 'string') return value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return null
}

/** Text shown to people: anything that is not a string or a number becomes ''. */
function text(value: unknown): string {
  return str(value) ?? ''
}

function num(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value)
    return Number.isFinite(n) ? n : null
  }
  return null
}

function count(value: unknown): number {
  return num(value) ?? 0
}

/** A decimal string is kept as it is (exact); a JSON number is accepted and turned into one. */
function money(value: unknown): Money {
  if (typeof value === 'string') return value.trim() === '' ? null : value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return null
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}

function strings(value: unknown): string[] {
  return list(value).flatMap((item) => {
    const s = str(item)
    return s === null ? [] : [s]
  })
}

function filters(value: unknown): Filters {
  const o = isObject(value) ? value : {}
  return { destination: str(o.destination), booking_type: str(o.booking_type) }
}

function kpiValue(value: unknown): number | string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value === 'string') return value
  return null
}

// ---------------------------------------------------------------- parsers

export function parseKpis(data: unknown): KpisMessage | null {
  if (!isObject(data)) return null
  const metrics: Partial<Record<KpiName, KpiMetric>> = {}
  const raw = isObject(data.metrics) ? data.metrics : {}
  for (const name of KPI_NAMES) {
    const m = raw[name]
    if (isObject(m)) {
      metrics[name] = { value: kpiValue(m.value), week_ago: kpiValue(m.week_ago), change: num(m.change) }
    }
  }
  return {
    position: str(data.position),
    as_of: str(data.as_of),
    day: str(data.day),
    timezone: str(data.timezone),
    currency: str(data.currency),
    filters: filters(data.filters),
    metrics,
    missing_rates: strings(data.missing_rates),
  }
}

export function parseHourly(data: unknown): HourlyMessage | null {
  if (!isObject(data)) return null
  const points = list(data.points).flatMap((p): HourlyPoint[] => {
    if (!isObject(p)) return []
    const hour = str(p.hour)
    return hour === null ? [] : [{ hour, bookings: count(p.bookings), revenue: money(p.revenue) }]
  })
  return {
    position: str(data.position),
    currency: str(data.currency),
    filters: filters(data.filters),
    points,
    restated: strings(data.restated),
    missing_rates: strings(data.missing_rates),
  }
}

export function parseTopDestinations(data: unknown): TopDestinationsMessage | null {
  if (!isObject(data)) return null
  const rows = list(data.rows).flatMap((r): DestinationRow[] =>
    isObject(r) ? [{ destination: text(r.destination), bookings: count(r.bookings), revenue: money(r.revenue) }] : [],
  )
  return {
    position: str(data.position),
    currency: str(data.currency),
    period: str(data.period),
    filters: filters(data.filters),
    rows,
    missing_rates: strings(data.missing_rates),
  }
}

export function parseBookingTypes(data: unknown): BookingTypesMessage | null {
  if (!isObject(data)) return null
  const rows = list(data.rows).flatMap((r): BookingTypeRow[] =>
    isObject(r) ? [{ booking_type: text(r.booking_type), bookings: count(r.bookings), revenue: money(r.revenue) }] : [],
  )
  return {
    position: str(data.position),
    currency: str(data.currency),
    period: str(data.period),
    filters: filters(data.filters),
    rows,
    missing_rates: strings(data.missing_rates),
  }
}

export function parseFunnel(data: unknown): FunnelMessage | null {
  if (!isObject(data)) return null
  return {
    position: str(data.position),
    period: str(data.period),
    filters: filters(data.filters),
    searches: count(data.searches),
    checkouts: count(data.checkouts),
    bookings: count(data.bookings),
  }
}

export function parseAlert(data: unknown): Alert | null {
  if (!isObject(data)) return null
  const id = str(data.id)
  if (id === null) return null
  return {
    id,
    opened_at: str(data.opened_at),
    kind: text(data.kind),
    subject: text(data.subject),
    observed: money(data.observed),
    expected: money(data.expected),
    severity: text(data.severity),
    status: text(data.status),
    resolved_at: str(data.resolved_at),
    details: isObject(data.details) ? data.details : {},
  }
}

export function parseDimensions(data: unknown): Dimensions | null {
  if (!isObject(data)) return null
  return { destinations: strings(data.destinations), booking_types: strings(data.booking_types) }
}

export function parseForecast(data: unknown): ForecastResponse | null {
  if (!isObject(data)) return null
  const points = list(data.points).flatMap((p): ForecastPoint[] => {
    if (!isObject(p)) return []
    const day = str(p.day)
    if (day === null) return []
    return [{ day, forecast: num(p.forecast), lo80: num(p.lo80), hi80: num(p.hi80), lo95: num(p.lo95), hi95: num(p.hi95) }]
  })
  const actual = list(data.actual).flatMap((a) => {
    if (!isObject(a)) return []
    const day = str(a.day)
    return day === null ? [] : [{ day, value: num(a.value) }]
  })
  return { series: str(data.series), model: str(data.model), points, actual, note: str(data.note) }
}

/** The log position (`xact/seq`) an SSE id starts with; the rest of the id is opaque. */
export function positionFromId(id: string | null | undefined): string | null {
  if (!id) return null
  const match = /^\d+\/\d+/.exec(id)
  return match ? match[0] : null
}
