// Destination and booking-type filters, kept in the URL query string
// (?destination=Lisbon&booking_type=flight) so a wall screen can be bookmarked.

import { useCallback, useEffect, useState } from 'react'
import type { Filters } from '../messages.ts'

export const FILTER_PARAMS = ['destination', 'booking_type'] as const

export function filtersFromSearch(search: string): Filters {
  const params = new URLSearchParams(search)
  const get = (name: string) => {
    const value = params.get(name)
    return value === null || value === '' ? null : value
  }
  return { destination: get('destination'), booking_type: get('booking_type') }
}

/** `search` with the filter parameters replaced; other parameters are kept. */
export function searchWithFilters(search: string, filters: Filters): string {
  const params = new URLSearchParams(search)
  for (const name of FILTER_PARAMS) {
    const value = filters[name]
    if (value) params.set(name, value)
    else params.delete(name)
  }
  const query = params.toString()
  return query ? `?${query}` : ''
}

export function useUrlFilters(): [Filters, (next: Filters) => void] {
  const [filters, setFiltersState] = useState<Filters>(() => filtersFromSearch(window.location.search))

  useEffect(() => {
    const onPopState = () => {
      setFiltersState(filtersFromSearch(window.location.search))
    }
    window.addEventListener('popstate', onPopState)
    return () => {
      window.removeEventListener('popstate', onPopState)
    }
  }, [])

  const setFilters = useCallback((next: Filters) => {
    const search = searchWithFilters(window.location.search, next)
    const url = `${window.location.pathname}${search}${window.location.hash}`
    window.history.replaceState(window.history.state, '', url)
    setFiltersState(next)
  }, [])

  return [filters, setFilters]
}
