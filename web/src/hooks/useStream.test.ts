import { act, renderHook } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Filters } from '../messages.ts'
import { FakeEventSource } from '../test/FakeEventSource.ts'
import { alertMessage, kpisMessage } from '../test/fixtures.ts'
import { retryDelay, streamUrl, useStream } from './useStream.ts'

const ALL: Filters = { destination: null, booking_type: null }

beforeEach(() => {
  FakeEventSource.reset()
  vi.stubGlobal('EventSource', FakeEventSource)
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('streamUrl', () => {
  it('asks for every topic by default and adds filters only when set', () => {
    expect(streamUrl(ALL)).toBe('/v1/stream')
    expect(streamUrl({ destination: 'Lisbon', booking_type: 'flight' })).toBe(
      '/v1/stream?destination=Lisbon&booking_type=flight',
    )
    expect(streamUrl(ALL, ['kpis', 'alerts'])).toBe('/v1/stream?topics=kpis%2Calerts')
  })

  it('encodes filter values', () => {
    expect(streamUrl({ destination: 'São Paulo & <x>', booking_type: null })).toBe(
      '/v1/stream?destination=S%C3%A3o+Paulo+%26+%3Cx%3E',
    )
  })
})

describe('retryDelay', () => {
  it('backs off exponentially with jitter, up to 30 s', () => {
    expect(retryDelay(0, () => 0.5)).toBe(1000)
    expect(retryDelay(3, () => 0.5)).toBe(8000)
    expect(retryDelay(20, () => 0.5)).toBe(30000)
    expect(retryDelay(0, () => 0)).toBe(750)
  })
})

describe('useStream', () => {
  it('opens one EventSource and folds its messages in', () => {
    const { result } = renderHook(() => useStream({ filters: ALL }))
    expect(FakeEventSource.instances).toHaveLength(1)
    expect(result.current.connection).toBe('reconnecting')

    act(() => {
      FakeEventSource.last.open()
    })
    expect(result.current.connection).toBe('live')

    act(() => {
      FakeEventSource.last.emit('kpis', kpisMessage, '8123/45:1')
      FakeEventSource.last.emit('alert', alertMessage, '8124/2:2')
    })
    expect(result.current.kpis?.metrics.bookings?.value).toBe(123)
    expect(result.current.alerts).toHaveLength(1)
    expect(result.current.lastPosition).toBe('8124/2')
  })

  it('ignores messages that are not JSON', () => {
    const { result } = renderHook(() => useStream({ filters: ALL }))
    act(() => {
      FakeEventSource.last.emit('kpis', '{not json', '1/1')
    })
    expect(result.current.kpis).toBeNull()
    expect(result.current.lastPosition).toBeNull()
  })

  it('shows reconnecting while the browser reconnects by itself, without a new EventSource', () => {
    const { result } = renderHook(() => useStream({ filters: ALL }))
    act(() => {
      FakeEventSource.last.open()
      FakeEventSource.last.emit('kpis', kpisMessage, '8123/45')
      FakeEventSource.last.drop()
    })
    expect(result.current.connection).toBe('reconnecting')
    expect(FakeEventSource.instances).toHaveLength(1)
    expect(result.current.kpis).not.toBeNull() // we keep showing what we had
    act(() => {
      FakeEventSource.last.open()
    })
    expect(result.current.connection).toBe('live')
  })

  it('goes offline when the browser gives up, and opens a new EventSource after a backoff', () => {
    const { result } = renderHook(() => useStream({ filters: ALL }))
    act(() => {
      FakeEventSource.last.emit('kpis', kpisMessage, '8123/45')
      FakeEventSource.last.fail()
    })
    expect(result.current.connection).toBe('offline')
    expect(FakeEventSource.last.closed).toBe(true)
    expect(result.current.kpis).not.toBeNull() // stale but shown, marked offline

    act(() => {
      vi.advanceTimersByTime(2000)
    })
    expect(FakeEventSource.instances).toHaveLength(2)
    expect(result.current.connection).toBe('reconnecting')
    act(() => {
      FakeEventSource.last.open()
    })
    expect(result.current.connection).toBe('live')
  })

  it('reopens the stream for new filters as a fresh subscription', () => {
    const { result, rerender } = renderHook(({ filters }) => useStream({ filters }), { initialProps: { filters: ALL } })
    const first = FakeEventSource.last
    act(() => {
      first.open()
      first.emit('kpis', kpisMessage, '8123/45')
      first.emit('alert', alertMessage, '8123/46')
    })

    rerender({ filters: { destination: 'Lisbon', booking_type: 'flight' } })
    expect(first.closed).toBe(true)
    expect(FakeEventSource.instances).toHaveLength(2)
    expect(FakeEventSource.last.url).toBe('/v1/stream?destination=Lisbon&booking_type=flight')
    expect(result.current.kpis).toBeNull() // the old figures were for other filters
    expect(result.current.alerts).toHaveLength(1) // alerts are not filtered

    act(() => {
      first.emit('kpis', kpisMessage, '9999/1') // a late message from the closed stream
    })
    expect(result.current.kpis).toBeNull()
  })

  it('does not reopen for equal filters', () => {
    const { rerender } = renderHook(({ filters }) => useStream({ filters }), { initialProps: { filters: ALL } })
    rerender({ filters: { destination: null, booking_type: null } })
    expect(FakeEventSource.instances).toHaveLength(1)
  })

  it('closes the EventSource on unmount', () => {
    const { unmount } = renderHook(() => useStream({ filters: ALL }))
    unmount()
    expect(FakeEventSource.last.closed).toBe(true)
  })
})
