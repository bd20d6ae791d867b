import { formatClock } from '../format.ts'
import type { ConnectionState } from '../state.ts'

const ICON: Record<ConnectionState, string> = { live: '●', reconnecting: '◐', offline: '○' }
const HINT: Record<ConnectionState, string> = {
  live: 'Receiving live updates',
  reconnecting: 'Connecting to the live stream…',
  offline: 'Not connected; retrying',
}

interface Props {
  connection: ConnectionState
  lastPosition: string | null
  lastUpdate: number | null
}

/** Live / reconnecting / offline, and when and at which log position the last update arrived. */
export function ConnectionStatus({ connection, lastPosition, lastUpdate }: Props) {
  return (
    <div className="status">
      <span className={`conn conn-${connection}`} title={HINT[connection]} role="status" aria-live="polite">
        <span className="conn-icon" aria-hidden="true">
          {ICON[connection]}
        </span>
        <span data-testid="connection">{connection}</span>
      </span>
      <span className="status-last">
        <span className="muted">last update </span>
        <time dateTime={lastUpdate === null ? undefined : new Date(lastUpdate).toISOString()} data-testid="last-update">
          {lastUpdate === null ? '—' : formatClock(new Date(lastUpdate))}
        </time>
        <span className="muted"> · position </span>
        <code data-testid="last-position">{lastPosition ?? '—'}</code>
      </span>
    </div>
  )
}
