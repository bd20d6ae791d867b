import { changeTone, formatChange, formatKpi } from '../format.ts'
import type { KpiMetric, KpiName } from '../messages.ts'
import { NO_DATA } from './Panel.tsx'

const KPI_LABELS: Record<KpiName, string> = {
  bookings: 'Bookings',
  revenue: 'Revenue',
  avg_booking_value: 'Avg booking value',
  conversion_rate: 'Conversion rate',
  cancellations: 'Cancellations',
}

const TONE_WORD = { good: 'better', bad: 'worse', neutral: '' } as const
const DIRECTION_WORD = { up: 'up', down: 'down', flat: 'unchanged' } as const

interface Props {
  name: KpiName
  metric: KpiMetric | undefined
  currency: string | null
  missingRates: readonly string[]
}

/** One KPI for today, with its change against the same time a week earlier. */
export function KpiCard({ name, metric, currency, missingRates }: Props) {
  const isMoney = name === 'revenue' || name === 'avg_booking_value'
  const change = formatChange(metric?.change)
  const tone = changeTone(name, change.direction)
  const value = metric ? formatKpi(name, metric.value, currency) : NO_DATA
  const rateMissing = isMoney && metric?.value === null && missingRates.length > 0
  return (
    <article className={`kpi tone-${tone}${metric ? '' : ' kpi-empty'}`}>
      <h3 className="kpi-label">{KPI_LABELS[name]}</h3>
      <p className="kpi-value" data-testid={`kpi-${name}`}>
        {value}
      </p>
      {metric ? (
        <p className="kpi-change" data-testid={`kpi-${name}-change`}>
          {change.direction === null ? (
            <span className="muted">no comparison</span>
          ) : (
            <>
              <span className="kpi-arrow" aria-hidden="true">
                {change.arrow}
              </span>
              <span className="visually-hidden">{DIRECTION_WORD[change.direction]}</span>{' '}
              <span className="kpi-pct">{change.text}</span>
              {TONE_WORD[tone] ? <span className="kpi-tone"> {TONE_WORD[tone]}</span> : null}
            </>
          )}
          <span className="muted kpi-week">
            {' '}
            vs {formatKpi(name, metric.week_ago, currency)} a week ago
          </span>
        </p>
      ) : null}
      {rateMissing ? <p className="kpi-note">no exchange rate for {missingRates.join(', ')}</p> : null}
    </article>
  )
}
