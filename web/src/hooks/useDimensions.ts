// Filter picker options from GET /v1/metrics/dimensions, refreshed every few
// minutes. A failed refresh keeps the options we had.

import { useEffect, useState } from 'react'
import { parseDimensions, type Dimensions } from '../messages.ts'

export const DIMENSIONS_PATH = '/v1/metrics/dimensions'
export const DIMENSIONS_REFRESH_MS = 5 * 60_000

export function useDimensions(refreshMs = DIMENSIONS_REFRESH_MS): Dimensions | null {
  const [dimensions, setDimensions] = useState<Dimensions | null>(null)

  useEffect(() => {
    let controller: AbortController | null = null
    const load = async () => {
      controller?.abort()
      const current = new AbortController()
      controller = current
      try {
        const response = await fetch(DIMENSIONS_PATH, { signal: current.signal, headers: { Accept: 'application/json' } })
        if (!response.ok) return
        const parsed = parseDimensions(await response.json())
        if (parsed && !current.signal.aborted) setDimensions(parsed)
      } catch {
        // offline or aborted: keep what we had
      }
    }
    void load()
    const timer = setInterval(() => void load(), refreshMs)
    return () => {
      clearInterval(timer)
      controller?.abort()
    }
  }, [refreshMs])

  return dimensions
}
