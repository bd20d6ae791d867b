import { describe, expect, it } from 'vitest'
import {
  parseAlert,
  parseDimensions,
  parseForecast,
  parseHourly,
  parseKpis,
  parseTopDestinations,
  positionFromId,
} from './messages.ts'
import { alertMessage, hourlyMessage, kpisMessage, topDestinationsMessage } from './test/fixtures.ts'

describe('parsers', () => {
  it('read the documented kpis message', () => {
    const m = parseKpis(kpisMessage)
    expect(m?.currency).toBe('USD')
    expect(m?.timezone).toBe('Europe/London')
    expect(m?.metrics.revenue).toEqual({ value: '12345.67', week_ago: '11000.00', change: 0.122 })
    expect(m?.metrics.cancellations?.change).toBe(-0.333)
  })

  it('ignore unknown fields and tolerate missing ones', () => {
    const m = parseKpis({ metrics: { bookings: { value: 5, extra: 1 }, not_a_kpi: { value: 1 } }, surprise: true })
    expect(m?.metrics).toEqual({ bookings: { value: 5, week_ago: null, change: null } })
    expect(m?.currency).toBeNull()
    expect(m?.missing_rates).toEqual([])
    expect(m?.filters).toEqual({ destination: null, booking_type: null })
  })

  it('drop what is not an object', () => {
    expect(parseKpis(null)).toBeNull()
    expect(parseKpis([1])).toBeNull()
    expect(parseHourly('x')).toBeNull()
    expect(parseAlert({ kind: 'no id' })).toBeNull()
  })

  it('keep money as exact decimal strings', () => {
    const m = parseHourly({ ...hourlyMessage, points: [{ hour: 'h', bookings: 1, revenue: '0.10' }, { hour: 'h2', bookings: 1, revenue: null }] })
    expect(m?.points.map((p) => p.revenue)).toEqual(['0.10', null])
  })

  it('skip malformed rows', () => {
    const m = parseHourly({ points: [null, { bookings: 1 }, { hour: '2026-11-24T10:00:00Z', bookings: 'x' }] })
    expect(m?.points).toEqual([{ hour: '2026-11-24T10:00:00Z', bookings: 0, revenue: null }])
  })

  it('keep event text as it is', () => {
    const m = parseTopDestinations(topDestinationsMessage)
    expect(m?.rows[1]?.destination).toBe('<img src=x onerror=alert(1)>')
  })

  it('read alerts with numeric ids as strings', () => {
    expect(parseAlert(alertMessage)?.id).toBe('17')
  })

  it('read dimensions and forecasts', () => {
    expect(parseDimensions({ destinations: ['Lisbon', 3, null], booking_types: 'x' })).toEqual({
      destinations: ['Lisbon', '3'],
      booking_types: [],
    })
    const f = parseForecast({
      series: 's',
      model: 'm',
      points: [{ day: '2026-11-27', forecast: 12.3, lo80: 10, hi80: 14, lo95: 9, hi95: 15 }],
      actual: [{ day: '2026-11-20', value: 10 }],
      note: null,
    })
    expect(f?.points[0]?.hi95).toBe(15)
    expect(f?.actual).toEqual([{ day: '2026-11-20', value: 10 }])
  })
})

describe('positionFromId', () => {
  it('takes the log position an id starts with', () => {
    expect(positionFromId('8123/45')).toBe('8123/45')
    expect(positionFromId('8123/45:kpis:7')).toBe('8123/45')
    expect(positionFromId('opaque')).toBeNull()
    expect(positionFromId('')).toBeNull()
    expect(positionFromId(null)).toBeNull()
  })
})
