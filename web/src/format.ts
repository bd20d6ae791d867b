// Display formatting. Money arrives as exact decimal strings and is parsed for
// display only; nothing here feeds back into a figure.

import type { KpiName } from './messages.ts'

export const NO_VALUE = '—'

const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>()

function numberFormat(locale: string | undefined, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `n|${locale ?? ''}|${JSON.stringify(options)}`
  let f = cache.get(key)
  if (!f) {
    f = new Intl.NumberFormat(locale, options)
    cache.set(key, f)
  }
  return f as Intl.NumberFormat
}

function dateFormat(locale: string | undefined, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `d|${locale ?? ''}|${JSON.stringify(options)}`
  let f = cache.get(key)
  if (!f) {
    f = new Intl.DateTimeFormat(locale, options)
    cache.set(key, f)
  }
  return f as Intl.DateTimeFormat
}

/** A decimal string or number as a JS number for display; null for null/garbage. */
export function parseDecimal(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined) return null
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (value.trim() === '') return null
  const n = Number(value)
  return Number.isFinite(n) ? n : null
}

/** True when `code` is an ISO 4217 code Intl accepts. */
export function isCurrencyCode(code: string | null | undefined): boolean {
  if (!code || !/^[A-Za-z]{3}$/.test(code)) return false
  try {
    numberFormat(undefined, { style: 'currency', currency: code })
    return true
  } catch {
    return false
  }
}

export interface MoneyOptions {
  locale?: string
  /** Compact notation ("$12K") for axis ticks. */
  compact?: boolean
}

export function formatMoney(
  value: string | number | null | undefined,
  currency: string | null | undefined,
  { locale, compact = false }: MoneyOptions = {},
): string {
  const n = parseDecimal(value)
  if (n === null) return NO_VALUE
  const extra: Intl.NumberFormatOptions = compact ? { notation: 'compact', minimumFractionDigits: 0, maximumFractionDigits: 1 } : {}
  if (currency && isCurrencyCode(currency)) {
    return numberFormat(locale, { style: 'currency', currency: currency.toUpperCase(), ...extra }).format(n)
  }
  const plain = numberFormat(locale, compact ? extra : { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(n)
  return currency ? `${plain} ${currency}` : plain
}

export function formatCount(value: number | string | null | undefined, locale?: string): string {
  const n = typeof value === 'string' ? parseDecimal(value) : value
  if (n === null || n === undefined || !Number.isFinite(n)) return NO_VALUE
  return numberFormat(locale, { maximumFractionDigits: 0 }).format(n)
}

/** A plain decimal (alert figures of unknown unit), at most two fraction digits. */
export function formatDecimal(value: number | string | null | undefined, locale?: string): string {
  const n = typeof value === 'string' ? parseDecimal(value) : value
  if (n === null || n === undefined || !Number.isFinite(n)) return NO_VALUE
  return numberFormat(locale, { maximumFractionDigits: 2 }).format(n)
}

/** A fraction (0.034) as a percentage ("3.4%"). */
export function formatPercent(fraction: number | string | null | undefined, locale?: string, digits = 1): string {
  const n = typeof fraction === 'string' ? parseDecimal(fraction) : fraction
  if (n === null || n === undefined || !Number.isFinite(n)) return NO_VALUE
  return numberFormat(locale, { style: 'percent', minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n)
}

export type Direction = 'up' | 'down' | 'flat'
export type Tone = 'good' | 'bad' | 'neutral'

export interface Change {
  direction: Direction | null
  /** "▲", "▼", "▬", or "" when unknown. */
  arrow: string
  /** "+11.8%", "−33.3%", "0.0%", or "n/a" when unknown. */
  text: string
}

const FLAT = 0.0005 // below 0.05 % either way shows as unchanged

export function formatChange(change: number | null | undefined, locale?: string): Change {
  if (change === null || change === undefined || !Number.isFinite(change)) {
    return { direction: null, arrow: '', text: 'n/a' }
  }
  const direction: Direction = Math.abs(change) < FLAT ? 'flat' : change > 0 ? 'up' : 'down'
  const arrow = direction === 'up' ? '▲' : direction === 'down' ? '▼' : '▬'
  const value = direction === 'flat' ? 0 : change
  const text = numberFormat(locale, {
    style: 'percent',
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
    signDisplay: 'exceptZero',
  }).format(value)
  return { direction, arrow, text }
}

/** A rise in cancellations is bad; a rise in anything else on the KPI row is good. */
export function changeTone(metric: KpiName, direction: Direction | null): Tone {
  if (direction === null || direction === 'flat') return 'neutral'
  const higherIsBetter = metric !== 'cancellations'
  return (direction === 'up') === higherIsBetter ? 'good' : 'bad'
}

export function formatKpi(
  metric: KpiName,
  value: number | string | null | undefined,
  currency: string | null | undefined,
  locale?: string,
): string {
  switch (metric) {
    case 'revenue':
    case 'avg_booking_value':
      return formatMoney(value, currency, locale === undefined ? {} : { locale })
    case 'conversion_rate':
      return formatPercent(value, locale, 1)
    case 'bookings':
    case 'cancellations':
      return formatCount(value, locale)
  }
}

/** `tz` if Intl knows it, else undefined (the browser's own zone). */
export function safeTimeZone(tz: string | null | undefined): string | undefined {
  if (!tz) return undefined
  try {
    dateFormat(undefined, { timeZone: tz })
    return tz
  } catch {
    return undefined
  }
}

function toDate(value: string | Date | null | undefined): Date | null {
  if (value === null || value === undefined) return null
  const d = value instanceof Date ? value : new Date(value)
  return Number.isNaN(d.getTime()) ? null : d
}

/** "14:00" in the given zone: hour labels on the hourly chart. */
export function formatHour(iso: string, timeZone?: string | null, locale?: string): string {
  const d = toDate(iso)
  if (!d) return iso
  return dateFormat(locale, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: safeTimeZone(timeZone) }).format(d)
}

/** "Tue 24 Nov, 14:00" in the given zone. */
export function formatDateTime(value: string | Date | null | undefined, timeZone?: string | null, locale?: string): string {
  const d = toDate(value)
  if (!d) return NO_VALUE
  return dateFormat(locale, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZone: safeTimeZone(timeZone),
  }).format(d)
}

/** "09:12:03" in the given zone (default: the browser's). */
export function formatClock(value: string | Date | null | undefined, timeZone?: string | null, locale?: string): string {
  const d = toDate(value)
  if (!d) return NO_VALUE
  return dateFormat(locale, {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZone: safeTimeZone(timeZone),
  }).format(d)
}

/** A calendar day "2026-11-27" as "Fri 27 Nov", whatever the browser's zone. */
export function formatDay(day: string, locale?: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  if (!m) return day
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
  if (Number.isNaN(d.getTime())) return day
  return dateFormat(locale, { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' }).format(d)
}

/** A calendar day "2026-11-27" as "27 Nov": axis ticks. */
export function formatDayShort(day: string, locale?: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  if (!m) return day
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
  if (Number.isNaN(d.getTime())) return day
  return dateFormat(locale, { day: 'numeric', month: 'short', timeZone: 'UTC' }).format(d)
}

/** "revenue_drop" → "revenue drop". */
export function humanize(identifier: string): string {
  return identifier.replace(/_/g, ' ')
}

function dayKey(d: Date, timeZone: string | undefined): string {
  return dateFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone }).format(d)
}

/**
 * Labels for consecutive hours: "14:00", with the weekday added where a new
 * day starts ("Wed 00:00") and on the first label.
 */
export function hourLabels(hours: readonly string[], timeZone?: string | null, locale?: string): string[] {
  const tz = safeTimeZone(timeZone)
  let previous: string | null = null
  return hours.map((iso) => {
    const d = toDate(iso)
    if (!d) return iso
    const key = dayKey(d, tz)
    const time = formatHour(iso, tz, locale)
    const label = key !== previous ? `${dateFormat(locale, { weekday: 'short', timeZone: tz }).format(d)} ${time}` : time
    previous = key
    return label
  })
}

/** The unit of an alert's observed/expected figures. */
export type AlertUnit = 'money' | 'ratio' | 'count' | 'number'

/**
 * docs/stream.md gives alert figures no unit: take `details.unit` (or
 * `details.currency`) when the server sends it, else guess from the kind.
 */
export function alertUnit(alert: { kind: string; details: Record<string, unknown> }): AlertUnit {
  const unit = alert.details.unit
  if (typeof unit === 'string') {
    const u = unit.toLowerCase()
    if (u === 'money' || u === 'currency' || isCurrencyCode(unit)) return 'money'
    if (u === 'ratio' || u === 'fraction' || u === 'rate' || u === 'percent') return 'ratio'
    if (u === 'count') return 'count'
    return 'number'
  }
  if (typeof alert.details.currency === 'string') return 'money'
  const kind = alert.kind.toLowerCase()
  if (/revenue|value|amount|money/.test(kind)) return 'money'
  if (/conversion|rate|ratio/.test(kind)) return 'ratio'
  if (/booking|cancel|search|checkout|count/.test(kind)) return 'count'
  return 'number'
}

export function formatAlertValue(
  alert: { kind: string; details: Record<string, unknown> },
  value: string | null,
  currency: string | null,
  locale?: string,
): string {
  switch (alertUnit(alert)) {
    case 'money': {
      // details.unit names the currency (docs/alerts.md); details.currency is accepted too.
      const unit = alert.details.unit
      const own = typeof unit === 'string' && isCurrencyCode(unit) ? unit : alert.details.currency
      return formatMoney(value, typeof own === 'string' ? own : currency, locale === undefined ? {} : { locale })
    }
    case 'ratio':
      return formatPercent(value, locale)
    case 'count':
    case 'number':
      return formatDecimal(value, locale)
  }
}

/** numerator / denominator, or null when the denominator is zero. */
export function ratio(numerator: number, denominator: number): number | null {
  return denominator > 0 ? numerator / denominator : null
}

/** At most `max` characters, with an ellipsis: for chart labels (the tables show the whole text). */
export function truncate(text: string, max: number): string {
  const graphemes = Array.from(new Intl.Segmenter().segment(text), (s) => s.segment)
  return graphemes.length <= max ? text : `${graphemes.slice(0, Math.max(1, max - 1)).join('')}…`
}
