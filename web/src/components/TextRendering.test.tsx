// Every text that comes from events is rendered as text, never as HTML.

import { render, screen, within } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import { parseBookingTypes, parseTopDestinations, type Alert } from '../messages.ts'
import type { AlertEntry } from '../state.ts'
import { alertMessage, bookingTypesMessage, topDestinationsMessage, XSS } from '../test/fixtures.ts'
import { AlertFeed } from './AlertFeed.tsx'
import { BookingTypes } from './BookingTypes.tsx'
import { FilterBar } from './FilterBar.tsx'
import { TopDestinations } from './TopDestinations.tsx'

vi.mock('react-chartjs-2', async () => (await import('../test/mockCharts.tsx')).chartMocks)

function expectNoInjectedElements(container: HTMLElement) {
  expect(container.querySelector('img')).toBeNull()
  expect(container.querySelector('[onerror]')).toBeNull()
}

describe('event text renders as text', () => {
  it('top destinations: the table shows a destination named like an HTML tag literally', () => {
    const { container } = render(<TopDestinations message={parseTopDestinations(topDestinationsMessage)} />)
    const table = screen.getByTestId('top-destinations')
    expect(within(table).getByText(XSS).textContent).toBe(XSS)
    expect(table.textContent).toContain('Lisbon')
    expectNoInjectedElements(container)
    // The chart gets the text as a label (drawn on the canvas as text).
    expect(screen.getByTestId('chart-top-destinations').dataset.labels).toContain('<img src=x')
  })

  it('booking types: a booking type named like an HTML tag shows literally', () => {
    const message = parseBookingTypes({
      ...bookingTypesMessage,
      rows: [{ booking_type: '<b>bold</b><script>alert(1)</script>', bookings: 1, revenue: '1.00' }],
    })
    const { container } = render(<BookingTypes message={message} />)
    expect(screen.getByText('<b>bold</b><script>alert(1)</script>')).toBeTruthy()
    expect(container.querySelector('b')).toBeNull()
    expect(container.querySelector('script')).toBeNull()
  })

  it('alerts: kind, subject, severity and status show literally', () => {
    const alert: Alert = {
      ...alertMessage,
      id: '17',
      subject: `destination=${XSS}`,
      kind: '<i>kind</i>',
      severity: '<u>sev</u>',
      status: '<s>open</s>',
      observed: '120.00',
      expected: '480.00',
    }
    const entry: AlertEntry = { alert, receivedAt: 0, revision: 1 }
    const { container } = render(<AlertFeed alerts={[entry]} currency="USD" timezone="UTC" />)
    const feed = screen.getByTestId('alerts')
    expect(within(feed).getByText(`destination=${XSS}`)).toBeTruthy()
    expect(feed.textContent).toContain('<i>kind</i>')
    expect(feed.textContent).toContain('<u>sev</u>')
    expect(feed.textContent).toContain('<s>open</s>')
    expectNoInjectedElements(container)
    expect(container.querySelector('i, u, s')).toBeNull()
    // An unknown severity never becomes a class name of its own.
    expect(container.querySelector('li')?.className).toContain('sev-other')
  })

  it('filters: a destination named like an HTML tag is a plain option', () => {
    const { container } = render(
      <FilterBar
        filters={{ destination: XSS, booking_type: null }}
        dimensions={{ destinations: ['Lisbon', XSS], booking_types: ['flight'] }}
        onChange={() => undefined}
      />,
    )
    const select = screen.getByTestId('filter-destination')
    if (!(select instanceof HTMLSelectElement)) throw new Error('not a select')
    expect(select.value).toBe(XSS)
    expect([...select.options].map((o) => o.textContent)).toEqual(['All destinations', 'Lisbon', XSS])
    expectNoInjectedElements(container)
  })
})
