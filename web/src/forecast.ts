// Shapes a /v1/forecast answer for the forecast chart.

import type { ForecastResponse } from './messages.ts'

export interface Series {
  days: string[]
  actual: (number | null)[]
  forecast: (number | null)[]
  lo80: (number | null)[]
  hi80: (number | null)[]
  lo95: (number | null)[]
  hi95: (number | null)[]
}

/** Actual and forecast on one axis of days (the union of both, in order). */
export function forecastSeries(f: ForecastResponse | null): Series {
  const actual = new Map((f?.actual ?? []).map((a) => [a.day, a.value]))
  const points = new Map((f?.points ?? []).map((p) => [p.day, p]))
  const days = [...new Set([...actual.keys(), ...points.keys()])].sort()
  const pick = (key: 'forecast' | 'lo80' | 'hi80' | 'lo95' | 'hi95') => days.map((d) => points.get(d)?.[key] ?? null)
  return {
    days,
    actual: days.map((d) => actual.get(d) ?? null),
    forecast: pick('forecast'),
    lo80: pick('lo80'),
    hi80: pick('hi80'),
    lo95: pick('lo95'),
    hi95: pick('hi95'),
  }
}
