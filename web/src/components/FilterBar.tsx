import type { Dimensions, Filters } from '../messages.ts'

interface Props {
  filters: Filters
  dimensions: Dimensions | null
  onChange: (filters: Filters) => void
}

/** Options for a picker: the known values, plus the current one if the list lacks it (a bookmarked URL). */
function options(values: readonly string[] | undefined, current: string | null): string[] {
  const list = [...(values ?? [])]
  if (current !== null && !list.includes(current)) list.unshift(current)
  return list
}

export function FilterBar({ filters, dimensions, onChange }: Props) {
  const destinations = options(dimensions?.destinations, filters.destination)
  const bookingTypes = options(dimensions?.booking_types, filters.booking_type)
  return (
    <form className="filters" onSubmit={(e) => {
        e.preventDefault()
      }} aria-label="Filters">
      <label>
        <span>Destination</span>
        <select
          data-testid="filter-destination"
          value={filters.destination ?? ''}
          onChange={(e) => {
            onChange({ ...filters, destination: e.target.value || null })
          }}
        >
          <option value="">All destinations</option>
          {destinations.map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>Booking type</span>
        <select
          data-testid="filter-booking_type"
          value={filters.booking_type ?? ''}
          onChange={(e) => {
            onChange({ ...filters, booking_type: e.target.value || null })
          }}
        >
          <option value="">All booking types</option>
          {bookingTypes.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
    </form>
  )
}
