// The dashboard's state and the reducer that folds stream messages into it.
// Metric messages carry the whole state of their topic: each one replaces what
// we had. Alerts are merged by id (one message per change of one alert).

import {
  parseAlert,
  parseBookingTypes,
  parseFunnel,
  parseHourly,
  parseKpis,
  parseTopDestinations,
  positionFromId,
  type Alert,
  type BookingTypesMessage,
  type FunnelMessage,
  type HourlyMessage,
  type KpisMessage,
  type TopDestinationsMessage,
} from './messages.ts'

export type ConnectionState = 'live' | 'reconnecting' | 'offline'

export interface AlertEntry {
  alert: Alert
  /** When this client last received a change of this alert (ms since epoch). */
  receivedAt: number
  /** How many changes of this alert this client has seen. */
  revision: number
}

export interface DashboardState {
  connection: ConnectionState
  kpis: KpisMessage | null
  hourly: HourlyMessage | null
  topDestinations: TopDestinationsMessage | null
  bookingTypes: BookingTypesMessage | null
  funnel: FunnelMessage | null
  /** Newest first. */
  alerts: AlertEntry[]
  /** Log position (`xact/seq`) of the last message received. */
  lastPosition: string | null
  lastEventId: string | null
  /** When the last message was received (ms since epoch). */
  lastUpdate: number | null
}

export const MAX_ALERTS = 200

export const initialState: DashboardState = {
  connection: 'reconnecting',
  kpis: null,
  hourly: null,
  topDestinations: null,
  bookingTypes: null,
  funnel: null,
  alerts: [],
  lastPosition: null,
  lastEventId: null,
  lastUpdate: null,
}

export type Action =
  | { type: 'message'; event: string; data: unknown; id: string | null; at: number }
  | { type: 'connection'; state: ConnectionState }
  /** A fresh subscription for other filters: what we showed no longer applies. Alerts are not filtered and stay. */
  | { type: 'reset-metrics' }

function timeOf(iso: string | null, fallback: number): number {
  if (iso === null) return fallback
  const t = Date.parse(iso)
  return Number.isNaN(t) ? fallback : t
}

function compareIds(a: string, b: string): number {
  const na = Number(a)
  const nb = Number(b)
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb
  return a < b ? -1 : a > b ? 1 : 0
}

/** Newest first: by opened_at, then by id. */
function newestFirst(a: AlertEntry, b: AlertEntry): number {
  const byTime = timeOf(b.alert.opened_at, b.receivedAt) - timeOf(a.alert.opened_at, a.receivedAt)
  return byTime !== 0 ? byTime : compareIds(b.alert.id, a.alert.id)
}

export function upsertAlert(alerts: AlertEntry[], alert: Alert, at: number): AlertEntry[] {
  const previous = alerts.find((e) => e.alert.id === alert.id)
  const entry: AlertEntry = { alert, receivedAt: at, revision: previous ? previous.revision + 1 : 1 }
  const next = previous ? alerts.map((e) => (e === previous ? entry : e)) : [...alerts, entry]
  next.sort(newestFirst)
  return next.length > MAX_ALERTS ? next.slice(0, MAX_ALERTS) : next
}

/** Folds one stream message in; an unknown event or a malformed message leaves the state as it was. */
function applyMessage(state: DashboardState, event: string, data: unknown, id: string | null, at: number): DashboardState {
  let next: DashboardState
  let position: string | null = null
  switch (event) {
    case 'kpis': {
      const m = parseKpis(data)
      if (!m) return state
      next = { ...state, kpis: m }
      position = m.position
      break
    }
    case 'hourly': {
      const m = parseHourly(data)
      if (!m) return state
      next = { ...state, hourly: m }
      position = m.position
      break
    }
    case 'top_destinations': {
      const m = parseTopDestinations(data)
      if (!m) return state
      next = { ...state, topDestinations: m }
      position = m.position
      break
    }
    case 'booking_types': {
      const m = parseBookingTypes(data)
      if (!m) return state
      next = { ...state, bookingTypes: m }
      position = m.position
      break
    }
    case 'funnel': {
      const m = parseFunnel(data)
      if (!m) return state
      next = { ...state, funnel: m }
      position = m.position
      break
    }
    case 'alert':
    case 'alerts': {
      const a = parseAlert(data)
      if (!a) return state
      next = { ...state, alerts: upsertAlert(state.alerts, a, at) }
      break
    }
    default:
      return state
  }
  return {
    ...next,
    lastPosition: positionFromId(id) ?? position ?? state.lastPosition,
    lastEventId: id ?? state.lastEventId,
    lastUpdate: at,
  }
}

export function reducer(state: DashboardState, action: Action): DashboardState {
  switch (action.type) {
    case 'message':
      return applyMessage(state, action.event, action.data, action.id, action.at)
    case 'connection':
      return state.connection === action.state ? state : { ...state, connection: action.state }
    case 'reset-metrics':
      return {
        ...state,
        kpis: null,
        hourly: null,
        topDestinations: null,
        bookingTypes: null,
        funnel: null,
      }
  }
}
