// The one hook that owns GET /v1/stream: the EventSource, its topics and
// filters, the connection state and the last id/position.
//
// The browser's EventSource reconnects by itself after a dropped connection,
// resending Last-Event-ID, and the server then replays what we missed: the
// state shows "reconnecting" meanwhile. When the browser gives up for good
// (an HTTP error such as 400 or 503, or a wrong content type) the state shows
// "offline" and this hook opens a new EventSource after a backoff. A new
// EventSource, like one for other filters, is a fresh subscription: the server
// starts it with the current state of every metric topic.

import { useEffect, useReducer } from 'react'
import { TOPICS, type Filters, type Topic } from '../messages.ts'
import { initialState, reducer, type DashboardState } from '../state.ts'

export const STREAM_PATH = '/v1/stream'

/** SSE event names: each metric topic's own name; alert messages come as `alert`. */
export const STREAM_EVENTS = ['kpis', 'hourly', 'top_destinations', 'booking_types', 'funnel', 'alert', 'alerts'] as const

const MIN_RETRY_MS = 1_000
const MAX_RETRY_MS = 30_000

/** `/v1/stream?destination=…&booking_type=…`. `topics` is left out when all of them are wanted (the server's default). */
export function streamUrl(filters: Filters, topics: readonly Topic[] = TOPICS, path = STREAM_PATH): string {
  const params = new URLSearchParams()
  const all = TOPICS.every((t) => topics.includes(t))
  if (!all) params.set('topics', topics.join(','))
  if (filters.destination) params.set('destination', filters.destination)
  if (filters.booking_type) params.set('booking_type', filters.booking_type)
  const query = params.toString()
  return query ? `${path}?${query}` : path
}

export function retryDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_RETRY_MS, MIN_RETRY_MS * 2 ** attempt)
  return Math.round(base * (0.75 + random() * 0.5))
}

export interface StreamOptions {
  filters: Filters
  /** Default: all topics. */
  topics?: readonly Topic[]
}

export function useStream({ filters, topics = TOPICS }: StreamOptions): DashboardState {
  const [state, dispatch] = useReducer(reducer, initialState)
  const url = streamUrl(filters, topics)

  useEffect(() => {
    let source: EventSource | null = null
    let retryTimer: ReturnType<typeof setTimeout> | undefined
    let attempt = 0
    let disposed = false

    const onMessage = (event: MessageEvent<unknown>) => {
      if (event.target !== source || typeof event.data !== 'string') return
      let data: unknown
      try {
        data = JSON.parse(event.data)
      } catch {
        return // not JSON: ignored, like an unknown topic
      }
      dispatch({ type: 'message', event: event.type, data, id: event.lastEventId || null, at: Date.now() })
    }

    const open = () => {
      if (disposed) return
      retryTimer = undefined
      dispatch({ type: 'connection', state: 'reconnecting' })
      const es = new EventSource(url)
      source = es
      es.onopen = () => {
        attempt = 0
        dispatch({ type: 'connection', state: 'live' })
      }
      es.onerror = () => {
        if (es !== source) return
        if (es.readyState === EventSource.CLOSED) {
          es.close()
          source = null
          dispatch({ type: 'connection', state: 'offline' })
          retryTimer = setTimeout(open, retryDelay(attempt))
          attempt += 1
        } else {
          dispatch({ type: 'connection', state: 'reconnecting' })
        }
      }
      for (const name of STREAM_EVENTS) es.addEventListener(name, onMessage)
    }

    const onOffline = () => {
      dispatch({ type: 'connection', state: 'offline' })
    }
    const onOnline = () => {
      // Waiting out a backoff: try now. An open EventSource reconnects by itself.
      if (source === null && retryTimer !== undefined) {
        clearTimeout(retryTimer)
        attempt = 0
        open()
      } else if (source?.readyState === EventSource.OPEN) {
        dispatch({ type: 'connection', state: 'live' })
      }
    }

    // A new subscription (first one, or other filters): what we showed was for the old one.
    dispatch({ type: 'reset-metrics' })
    open()
    window.addEventListener('offline', onOffline)
    window.addEventListener('online', onOnline)
    return () => {
      disposed = true
      clearTimeout(retryTimer)
      window.removeEventListener('offline', onOffline)
      window.removeEventListener('online', onOnline)
      source?.close()
      source = null
    }
  }, [url])

  return state
}
