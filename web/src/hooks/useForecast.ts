// GET /v1/forecast for the current filters: bookings per business day, actual
// and forecast. 404 means no forecast exists yet: that is a quiet state, not an
// error, and so is a server or network failure (we try again later).

import { useEffect, useState } from 'react'
import { parseForecast, type Filters, type ForecastResponse } from '../messages.ts'

export const FORECAST_PATH = '/v1/forecast'
export const FORECAST_HORIZON = 30
export const FORECAST_REFRESH_MS = 10 * 60_000

export type ForecastState =
  | { status: 'loading' }
  | { status: 'ready'; forecast: ForecastResponse }
  /** 404: no forecast for these filters yet. */
  | { status: 'none' }
  /** Any other failure; shown as quietly as `none`. */
  | { status: 'unavailable' }

export function forecastUrl(filters: Filters, horizon = FORECAST_HORIZON): string {
  const params = new URLSearchParams()
  if (filters.destination) params.set('destination', filters.destination)
  if (filters.booking_type) params.set('booking_type', filters.booking_type)
  params.set('horizon', String(horizon))
  return `${FORECAST_PATH}?${params.toString()}`
}

interface Keyed {
  url: string
  state: ForecastState
}

export function useForecast(filters: Filters, refreshMs = FORECAST_REFRESH_MS): ForecastState {
  const url = forecastUrl(filters)
  const [result, setResult] = useState<Keyed>({ url, state: { status: 'loading' } })

  useEffect(() => {
    let controller: AbortController | null = null
    const load = async () => {
      controller?.abort()
      const current = new AbortController()
      controller = current
      let state: ForecastState
      try {
        const response = await fetch(url, { signal: current.signal, headers: { Accept: 'application/json' } })
        if (response.status === 404) state = { status: 'none' }
        else if (!response.ok) state = { status: 'unavailable' }
        else {
          const forecast = parseForecast(await response.json())
          state = forecast ? { status: 'ready', forecast } : { status: 'unavailable' }
        }
      } catch {
        if (current.signal.aborted) return
        state = { status: 'unavailable' }
      }
      if (current.signal.aborted) return
      // A failed refresh keeps a forecast we already show.
      setResult((previous) =>
        state.status === 'unavailable' && previous.url === url && previous.state.status === 'ready' ? previous : { url, state },
      )
    }
    void load()
    const timer = setInterval(() => void load(), refreshMs)
    return () => {
      clearInterval(timer)
      controller?.abort()
    }
  }, [url, refreshMs])

  // Until the answer for these filters arrives, what we hold is for other filters.
  return result.url === url ? result.state : { status: 'loading' }
}
