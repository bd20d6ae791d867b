import { formatClock } from '../format.ts'
import { KPI_NAMES, type KpisMessage } from '../messages.ts'
import { KpiCard } from './KpiCard.tsx'

interface Props {
  kpis: KpisMessage | null
}

export function KpiRow({ kpis }: Props) {
  const tz = kpis?.timezone ?? null
  return (
    <section className="kpi-section" aria-label="Today's figures">
      <p className="kpi-context">
        <strong>Today</strong>
        {kpis?.day ? <> · {kpis.day}</> : null}
        {tz ? <> · {tz}</> : null}
        {kpis?.currency ? <> · {kpis.currency}</> : null}
        {kpis?.as_of ? <> · as of {formatClock(kpis.as_of, tz)}</> : null}
        <span className="muted"> · change vs the same time a week ago</span>
      </p>
      <div className="kpis">
        {KPI_NAMES.map((name) => (
          <KpiCard
            key={name}
            name={name}
            metric={kpis?.metrics[name]}
            currency={kpis?.currency ?? null}
            missingRates={kpis?.missing_rates ?? []}
          />
        ))}
      </div>
    </section>
  )
}
