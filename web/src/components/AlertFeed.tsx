import { formatAlertValue, formatDateTime, humanize, parseDecimal } from '../format.ts'
import type { Alert } from '../messages.ts'
import type { AlertEntry } from '../state.ts'
import { Panel } from './Panel.tsx'

interface Props {
  alerts: readonly AlertEntry[]
  /** Reporting currency (from the metric topics), for alerts about money. */
  currency: string | null
  timezone: string | null
  className?: string
}

const SEVERITIES = ['critical', 'warning', 'info'] as const
const SEVERITY_ICON: Record<(typeof SEVERITIES)[number] | 'other', string> = {
  critical: '▲',
  warning: '◆',
  info: '●',
  other: '■',
}
const STATUSES = ['open', 'acknowledged', 'resolved'] as const

/** A class name from a fixed set, never from event text. */
function known<T extends string>(value: string, set: readonly T[]): T | 'other' {
  const v = value.toLowerCase()
  return (set as readonly string[]).includes(v) ? (v as T) : 'other'
}

function deviation(alert: Alert): string | null {
  const observed = parseDecimal(alert.observed)
  const expected = parseDecimal(alert.expected)
  if (observed === null || expected === null || expected === 0) return null
  const change = (observed - expected) / expected
  return new Intl.NumberFormat(undefined, {
    style: 'percent',
    maximumFractionDigits: 0,
    signDisplay: 'exceptZero',
  }).format(change)
}

function AlertItem({ entry, currency, timezone }: { entry: AlertEntry; currency: string | null; timezone: string | null }) {
  const { alert } = entry
  const severity = known(alert.severity, SEVERITIES)
  const status = known(alert.status, STATUSES)
  const diff = deviation(alert)
  return (
    <li
      className={`alert sev-${severity} status-${status}${entry.revision > 1 ? ' alert-updated' : ''}`}
      data-alert-id={alert.id}
      data-testid="alert"
    >
      <div className="alert-head">
        <span className="sev-badge">
          <span aria-hidden="true">{SEVERITY_ICON[severity]} </span>
          {alert.severity || 'unknown'}
        </span>
        <span className="alert-kind">{humanize(alert.kind)}</span>
        <span className={`alert-status status-badge-${status}`}>{alert.status || 'unknown'}</span>
      </div>
      <div className="alert-subject">{alert.subject}</div>
      <div className="alert-figures">
        observed <strong>{formatAlertValue(alert, alert.observed, currency)}</strong> vs expected{' '}
        <strong>{formatAlertValue(alert, alert.expected, currency)}</strong>
        {diff ? <span className="muted"> ({diff})</span> : null}
      </div>
      <div className="alert-times muted">
        opened <time dateTime={alert.opened_at ?? undefined}>{formatDateTime(alert.opened_at, timezone)}</time>
        {alert.resolved_at ? (
          <>
            {' '}
            · resolved <time dateTime={alert.resolved_at}>{formatDateTime(alert.resolved_at, timezone)}</time>
          </>
        ) : null}
      </div>
    </li>
  )
}

/** The alerts topic: newest first, each alert updated in place by its id. */
export function AlertFeed({ alerts, currency, timezone, className }: Props) {
  const open = alerts.filter((e) => known(e.alert.status, STATUSES) !== 'resolved').length
  return (
    <Panel
      title="Alerts"
      subtitle={alerts.length > 0 ? `${String(open)} not resolved` : undefined}
      className={className}
      testId="alerts"
    >
      {alerts.length === 0 ? (
        <p className="empty">No alerts.</p>
      ) : (
        <ol className="alert-list" aria-live="polite">
          {alerts.map((entry) => (
            <AlertItem key={entry.alert.id} entry={entry} currency={currency} timezone={timezone} />
          ))}
        </ol>
      )}
    </Panel>
  )
}
