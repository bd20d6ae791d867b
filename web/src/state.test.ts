import { describe, expect, it } from 'vitest'
import { initialState, MAX_ALERTS, reducer, type Action, type DashboardState } from './state.ts'
import { alertMessage, funnelMessage, hourlyMessage, kpisMessage, topDestinationsMessage } from './test/fixtures.ts'

function message(event: string, data: unknown, id: string | null = '8123/45:1', at = 1000): Action {
  return { type: 'message', event, data, id, at }
}

function fold(actions: Action[], state: DashboardState = initialState): DashboardState {
  return actions.reduce(reducer, state)
}

describe('reducer', () => {
  it('starts with nothing and shows reconnecting', () => {
    expect(initialState.connection).toBe('reconnecting')
    expect(initialState.kpis).toBeNull()
    expect(initialState.alerts).toEqual([])
  })

  it('replaces a topic with each message (whole state per message)', () => {
    const first = fold([message('kpis', kpisMessage)])
    expect(first.kpis?.metrics.bookings?.value).toBe(123)
    const second = reducer(
      first,
      message('kpis', { ...kpisMessage, metrics: { bookings: { value: 124, week_ago: 110, change: 0.127 } } }, '8124/1:2'),
    )
    expect(second.kpis?.metrics.bookings?.value).toBe(124)
    expect(second.kpis?.metrics.revenue).toBeUndefined()
  })

  it('records the last id, position and time', () => {
    const s = fold([message('funnel', funnelMessage, '9000/7:abc', 5000)])
    expect(s.lastEventId).toBe('9000/7:abc')
    expect(s.lastPosition).toBe('9000/7')
    expect(s.lastUpdate).toBe(5000)
  })

  it('falls back to the data position when the id has none', () => {
    const s = fold([message('hourly', hourlyMessage, null)])
    expect(s.lastPosition).toBe('8123/45')
  })

  it('keeps each topic apart', () => {
    const s = fold([
      message('kpis', kpisMessage),
      message('hourly', hourlyMessage),
      message('top_destinations', topDestinationsMessage),
      message('funnel', funnelMessage),
    ])
    expect(s.hourly?.points).toHaveLength(2)
    expect(s.topDestinations?.rows).toHaveLength(2)
    expect(s.funnel?.searches).toBe(100)
    expect(s.bookingTypes).toBeNull()
  })

  it('ignores unknown events and malformed data', () => {
    const s = fold([message('kpis', kpisMessage)])
    expect(reducer(s, message('weather', { sunny: true }))).toBe(s)
    expect(reducer(s, message('kpis', 'not an object'))).toBe(s)
  })

  it('adds alerts newest first and updates them in place by id', () => {
    const a = { ...alertMessage, id: 1, opened_at: '2026-11-26T08:00:00Z' }
    const b = { ...alertMessage, id: 2, opened_at: '2026-11-26T09:00:00Z' }
    let s = fold([message('alert', a, 'p', 1), message('alert', b, 'p', 2)])
    expect(s.alerts.map((e) => e.alert.id)).toEqual(['2', '1'])
    s = reducer(s, message('alert', { ...a, status: 'resolved', resolved_at: '2026-11-26T09:30:00Z' }, 'p', 3))
    expect(s.alerts.map((e) => e.alert.id)).toEqual(['2', '1'])
    expect(s.alerts[1]?.alert.status).toBe('resolved')
    expect(s.alerts[1]?.revision).toBe(2)
    expect(s.alerts[0]?.revision).toBe(1)
  })

  it('orders alerts opened at the same time by id', () => {
    const s = fold([message('alert', { ...alertMessage, id: 9 }), message('alert', { ...alertMessage, id: 10 })])
    expect(s.alerts.map((e) => e.alert.id)).toEqual(['10', '9'])
  })

  it('keeps at most MAX_ALERTS alerts', () => {
    const actions = Array.from({ length: MAX_ALERTS + 5 }, (_, i) =>
      message('alert', { ...alertMessage, id: i, opened_at: new Date(Date.UTC(2026, 10, 1) + i * 60_000).toISOString() }),
    )
    const s = fold(actions)
    expect(s.alerts).toHaveLength(MAX_ALERTS)
    expect(s.alerts[0]?.alert.id).toBe(String(MAX_ALERTS + 4))
  })

  it('clears metrics but keeps alerts for a fresh subscription', () => {
    const s = fold([message('kpis', kpisMessage), message('alert', alertMessage), { type: 'reset-metrics' }])
    expect(s.kpis).toBeNull()
    expect(s.alerts).toHaveLength(1)
  })

  it('tracks the connection state', () => {
    const s = fold([{ type: 'connection', state: 'live' }])
    expect(s.connection).toBe('live')
    expect(reducer(s, { type: 'connection', state: 'live' })).toBe(s)
  })
})
