import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import App from './App.tsx'
import { FakeEventSource } from './test/FakeEventSource.ts'
import {
  alertMessage,
  bookingTypesMessage,
  funnelMessage,
  hourlyMessage,
  kpisMessage,
  topDestinationsMessage,
  XSS,
} from './test/fixtures.ts'

vi.mock('react-chartjs-2', async () => (await import('./test/mockCharts.tsx')).chartMocks)

type Responder = (url: string) => Response

function urlOf(input: unknown): string {
  if (typeof input === 'string') return input
  if (input instanceof URL) return input.href
  if (input instanceof Request) return input.url
  throw new Error('unexpected fetch input')
}

let respond: Responder
const fetchMock = vi.fn((input: RequestInfo | URL) => Promise.resolve(respond(urlOf(input))))

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
}

function defaultResponder(url: string): Response {
  if (url.startsWith('/v1/metrics/dimensions')) return json({ destinations: ['Lisbon', XSS], booking_types: ['flight', 'hotel'] })
  if (url.startsWith('/v1/forecast')) return json({ error: 'no forecast' }, 404)
  return json({}, 404)
}

beforeEach(() => {
  FakeEventSource.reset()
  vi.stubGlobal('EventSource', FakeEventSource)
  vi.stubGlobal('fetch', fetchMock)
  respond = defaultResponder
  fetchMock.mockClear()
  window.history.replaceState(null, '', '/')
})

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

function text(testId: string): string {
  return screen.getByTestId(testId).textContent
}

describe('App', () => {
  it('shows "no data yet" and no error before anything arrives', async () => {
    render(<App />)
    expect(text('connection')).toBe('reconnecting')
    expect(text('kpi-bookings')).toBe('no data yet')
    expect(text('last-position')).toBe('—')
    expect(screen.getByTestId('alerts').textContent).toContain('No alerts.')
    // 404 from /v1/forecast is a quiet note, not an error.
    await waitFor(() => {
      expect(text('forecast-note')).toBe('No forecast for this selection yet.')
    })
    for (const id of ['chart-hourly', 'chart-top-destinations', 'chart-booking-types', 'chart-funnel', 'chart-forecast']) {
      expect(screen.getByTestId(id).tagName).toBe('CANVAS')
    }
  })

  it('renders the stream and updates numbers in place', () => {
    render(<App />)
    const es = FakeEventSource.last
    expect(es.url).toBe('/v1/stream')
    act(() => {
      es.open()
      es.emit('kpis', kpisMessage, '8123/45:1')
      es.emit('hourly', hourlyMessage, '8123/45:2')
      es.emit('top_destinations', topDestinationsMessage, '8123/45:3')
      es.emit('booking_types', bookingTypesMessage, '8123/45:4')
      es.emit('funnel', funnelMessage, '8123/45:5')
      es.emit('alert', alertMessage, '8123/46:6')
    })
    expect(text('connection')).toBe('live')
    expect(text('last-position')).toBe('8123/46')
    expect(text('kpi-bookings')).toMatch(/^123$/)
    expect(text('kpi-revenue')).toContain('12,345.67')
    expect(text('kpi-avg_booking_value')).toContain('100.37')
    expect(text('kpi-conversion_rate')).toContain('3.4')
    expect(text('kpi-cancellations')).toBe('4')
    // Fewer cancellations than a week ago is good news.
    expect(text('kpi-cancellations-change')).toContain('better')
    expect(text('kpi-bookings-change')).toContain('better')
    expect(text('top-destinations')).toContain(XSS)
    expect(text('funnel-rates')).toContain('40.0%')
    expect(screen.getAllByTestId('alert')).toHaveLength(1)

    const card = screen.getByTestId('kpi-bookings')
    act(() => {
      es.emit('kpis', { ...kpisMessage, metrics: { ...kpisMessage.metrics, bookings: { value: 130, week_ago: 110, change: 0.18 } } }, '8130/1')
      es.emit('alert', { ...alertMessage, status: 'resolved', resolved_at: '2026-11-26T09:30:00Z' }, '8130/2')
    })
    expect(screen.getByTestId('kpi-bookings')).toBe(card) // same element, new number
    expect(text('kpi-bookings')).toBe('130')
    expect(screen.getAllByTestId('alert')).toHaveLength(1)
    expect(text('alerts')).toContain('resolved')
    expect(text('last-position')).toBe('8130/2')
    expect(document.querySelector('img:not(.brand-mark)')).toBeNull()
  })

  it('shows a rise in cancellations as worse', () => {
    render(<App />)
    act(() => {
      FakeEventSource.last.emit(
        'kpis',
        { ...kpisMessage, metrics: { cancellations: { value: 9, week_ago: 6, change: 0.5 } } },
        '1/1',
      )
    })
    expect(text('kpi-cancellations-change')).toContain('▲')
    expect(text('kpi-cancellations-change')).toContain('+50.0%')
    expect(text('kpi-cancellations-change')).toContain('worse')
    expect(text('kpi-bookings')).toBe('no data yet')
  })

  it('takes filters from the URL and reopens the stream when they change', async () => {
    window.history.replaceState(null, '', '/?destination=Lisbon&wall=1')
    render(<App />)
    expect(FakeEventSource.last.url).toBe('/v1/stream?destination=Lisbon')
    const destination = screen.getByTestId('filter-destination')
    if (!(destination instanceof HTMLSelectElement)) throw new Error('not a select')
    expect(destination.value).toBe('Lisbon')

    await waitFor(() => {
      expect(screen.getByTestId('filter-booking_type').textContent).toContain('hotel')
    })
    act(() => {
      fireEvent.change(screen.getByTestId('filter-booking_type'), { target: { value: 'hotel' } })
    })
    expect(FakeEventSource.instances).toHaveLength(2)
    expect(FakeEventSource.instances[0]?.closed).toBe(true)
    expect(FakeEventSource.last.url).toBe('/v1/stream?destination=Lisbon&booking_type=hotel')
    expect(window.location.search).toBe('?destination=Lisbon&wall=1&booking_type=hotel')
    await waitFor(() => {
      expect(fetchMock.mock.calls.map((c) => urlOf(c[0]))).toContain(
        '/v1/forecast?destination=Lisbon&booking_type=hotel&horizon=30',
      )
    })

    act(() => {
      fireEvent.change(destination, { target: { value: '' } })
    })
    expect(FakeEventSource.last.url).toBe('/v1/stream?booking_type=hotel')
    expect(window.location.search).toBe('?wall=1&booking_type=hotel')
  })

  it('draws the forecast when there is one', async () => {
    respond = (url) =>
      url.startsWith('/v1/forecast')
        ? json({
            series: 'bookings',
            model: 'ets',
            points: [{ day: '2026-11-27', forecast: 12.3, lo80: 10, hi80: 14, lo95: 9, hi95: 16 }],
            actual: [{ day: '2026-11-26', value: 10 }],
            note: 'Holidays excluded',
          })
        : defaultResponder(url)
    render(<App />)
    await waitFor(() => {
      expect(text('forecast-note')).toBe('Holidays excluded')
    })
    expect(screen.getByTestId('chart-forecast').dataset.labels).toContain('Nov')
  })

  it('keeps a quiet note when the forecast request fails', async () => {
    respond = (url) => (url.startsWith('/v1/forecast') ? json({ error: 'boom' }, 500) : defaultResponder(url))
    render(<App />)
    await waitFor(() => {
      expect(text('forecast-note')).toContain('not available right now')
    })
  })

  it('shows offline when the stream is refused', () => {
    render(<App />)
    act(() => {
      FakeEventSource.last.fail()
    })
    expect(text('connection')).toBe('offline')
  })
})
