import { describe, expect, it } from 'vitest'
import {
  alertUnit,
  changeTone,
  formatAlertValue,
  formatChange,
  formatCount,
  formatDay,
  formatDecimal,
  formatHour,
  formatKpi,
  formatMoney,
  formatPercent,
  hourLabels,
  NO_VALUE,
  parseDecimal,
  ratio,
  safeTimeZone,
  truncate,
} from './format.ts'

const L = 'en-US'

describe('parseDecimal', () => {
  it('reads decimal strings and numbers, and nothing else', () => {
    expect(parseDecimal('1234.50')).toBe(1234.5)
    expect(parseDecimal('-0.10')).toBe(-0.1)
    expect(parseDecimal(3)).toBe(3)
    expect(parseDecimal(null)).toBeNull()
    expect(parseDecimal(undefined)).toBeNull()
    expect(parseDecimal('')).toBeNull()
    expect(parseDecimal('abc')).toBeNull()
    expect(parseDecimal(Number.NaN)).toBeNull()
  })
})

describe('formatMoney', () => {
  it('formats in the reporting currency of the message', () => {
    expect(formatMoney('12345.67', 'USD', { locale: L })).toBe('$12,345.67')
    expect(formatMoney('12345.6', 'EUR', { locale: L })).toBe('€12,345.60')
    expect(formatMoney('1000', 'JPY', { locale: L })).toBe('¥1,000')
    expect(formatMoney('100.37', 'gbp', { locale: L })).toBe('£100.37')
  })

  it('shows a dash for null money (missing exchange rate)', () => {
    expect(formatMoney(null, 'USD', { locale: L })).toBe(NO_VALUE)
  })

  it('falls back to a plain number when the currency is unknown or invalid', () => {
    expect(formatMoney('10', null, { locale: L })).toBe('10.00')
    expect(formatMoney('10', 'XX', { locale: L })).toBe('10.00 XX')
  })

  it('has a compact form for axis ticks', () => {
    expect(formatMoney(12000, 'USD', { locale: L, compact: true })).toBe('$12K')
  })
})

describe('counts and percentages', () => {
  it('formats counts with grouping', () => {
    expect(formatCount(1234567, L)).toBe('1,234,567')
    expect(formatCount(null, L)).toBe(NO_VALUE)
  })

  it('formats a fraction as a percentage', () => {
    expect(formatPercent(0.034, L)).toBe('3.4%')
    expect(formatPercent('0.5', L)).toBe('50.0%')
    expect(formatPercent(null, L)).toBe(NO_VALUE)
  })

  it('formats plain decimals', () => {
    expect(formatDecimal('120.00', L)).toBe('120')
    expect(formatDecimal('0.125', L)).toBe('0.13')
  })

  it('ratio is null for a zero denominator', () => {
    expect(ratio(40, 100)).toBe(0.4)
    expect(ratio(1, 0)).toBeNull()
  })
})

describe('formatChange', () => {
  it('gives an arrow and a signed percentage', () => {
    expect(formatChange(0.118, L)).toEqual({ direction: 'up', arrow: '▲', text: '+11.8%' })
    expect(formatChange(-0.333, L)).toEqual({ direction: 'down', arrow: '▼', text: '-33.3%' })
    expect(formatChange(0.0001, L)).toEqual({ direction: 'flat', arrow: '▬', text: '0.0%' })
  })

  it('is unknown when change is null (week_ago zero or unknown)', () => {
    expect(formatChange(null, L)).toEqual({ direction: null, arrow: '', text: 'n/a' })
  })
})

describe('changeTone', () => {
  it('treats a rise in cancellations as bad', () => {
    expect(changeTone('cancellations', 'up')).toBe('bad')
    expect(changeTone('cancellations', 'down')).toBe('good')
  })

  it('treats a rise in the other KPIs as good', () => {
    for (const m of ['bookings', 'revenue', 'avg_booking_value', 'conversion_rate'] as const) {
      expect(changeTone(m, 'up')).toBe('good')
      expect(changeTone(m, 'down')).toBe('bad')
    }
  })

  it('is neutral when flat or unknown', () => {
    expect(changeTone('bookings', 'flat')).toBe('neutral')
    expect(changeTone('bookings', null)).toBe('neutral')
  })
})

describe('formatKpi', () => {
  it('formats each KPI by its kind', () => {
    expect(formatKpi('bookings', 1234, 'USD', L)).toBe('1,234')
    expect(formatKpi('revenue', '12345.67', 'USD', L)).toBe('$12,345.67')
    expect(formatKpi('avg_booking_value', '100.37', 'USD', L)).toBe('$100.37')
    expect(formatKpi('conversion_rate', 0.034, 'USD', L)).toBe('3.4%')
    expect(formatKpi('cancellations', 4, 'USD', L)).toBe('4')
    expect(formatKpi('revenue', null, 'USD', L)).toBe(NO_VALUE)
  })
})

describe('dates', () => {
  it('labels hours in the business time zone', () => {
    expect(formatHour('2026-11-24T10:00:00Z', 'Europe/London', L)).toBe('10:00')
    expect(formatHour('2026-07-24T10:00:00Z', 'Europe/London', L)).toBe('11:00')
    expect(formatHour('2026-11-24T10:00:00Z', 'Asia/Kolkata', L)).toBe('15:30')
  })

  it('adds the weekday where a day starts', () => {
    const hours = ['2026-11-24T22:00:00Z', '2026-11-24T23:00:00Z', '2026-11-25T00:00:00Z', '2026-11-25T01:00:00Z']
    expect(hourLabels(hours, 'UTC', L)).toEqual(['Tue 22:00', '23:00', 'Wed 00:00', '01:00'])
  })

  it('ignores an unknown time zone', () => {
    expect(safeTimeZone('Not/AZone')).toBeUndefined()
    expect(safeTimeZone('Europe/Lisbon')).toBe('Europe/Lisbon')
    expect(formatHour('2026-11-24T10:00:00Z', 'Not/AZone', L)).toMatch(/^\d\d:00$/)
  })

  it('formats calendar days whatever the browser zone', () => {
    expect(formatDay('2026-11-27', L)).toBe('Fri, Nov 27')
    expect(formatDay('garbage', L)).toBe('garbage')
  })
})

describe('alert figures', () => {
  it('uses details.unit when the server sends it', () => {
    expect(alertUnit({ kind: 'x', details: { unit: 'ratio' } })).toBe('ratio')
    expect(alertUnit({ kind: 'x', details: { unit: 'EUR' } })).toBe('money')
    expect(formatAlertValue({ kind: 'x', details: { currency: 'EUR' } }, '120.00', 'USD', L)).toBe('€120.00')
    expect(formatAlertValue({ kind: 'x', details: { unit: 'EUR' } }, '120.00', 'USD', L)).toBe('€120.00')
    expect(formatAlertValue({ kind: 'x', details: { unit: 'count' } }, '12.0', 'USD', L)).toBe('12')
  })

  it('guesses from the kind otherwise', () => {
    expect(formatAlertValue({ kind: 'revenue_drop', details: {} }, '120.00', 'USD', L)).toBe('$120.00')
    expect(formatAlertValue({ kind: 'conversion_drop', details: {} }, '0.012', 'USD', L)).toBe('1.2%')
    expect(formatAlertValue({ kind: 'bookings_drop', details: {} }, '12', 'USD', L)).toBe('12')
    expect(formatAlertValue({ kind: 'something', details: {} }, null, 'USD', L)).toBe(NO_VALUE)
  })
})

describe('truncate', () => {
  it('keeps short text and cuts long text with an ellipsis', () => {
    expect(truncate('Lisbon', 10)).toBe('Lisbon')
    expect(truncate('<img src=x onerror=alert(1)>', 10)).toBe('<img src=…')
  })
})
