#!/usr/bin/env node
// A stand-in for the Booking Pulse API, for working on the dashboard without
// PostgreSQL: it speaks docs/stream.md (GET /v1/stream, /v1/metrics/...) and
// GET /v1/forecast with made-up figures, and serves web/dist/ like Starlette
// will (index.html at /, files under /assets/). Loopback only.
//
//   npm run build && npm run mock            # http://127.0.0.1:8010/
//   PULSE_API=http://127.0.0.1:8010 npm run dev
//
// Options: --port N (default 8010), --exit-after SECONDS, --no-forecast.
// A destination named <img src=x onerror=alert(1)> is among the data on
// purpose: the page must show it as text.

import { createReadStream, existsSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import { extname, join, normalize, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(name)
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback
}
const PORT = Number(option('--port', '8010'))
const EXIT_AFTER = Number(option('--exit-after', '0'))
const NO_FORECAST = args.includes('--no-forecast')
const DIST = resolve(fileURLToPath(new URL('../dist/', import.meta.url)))

const CURRENCY = 'USD'
const TIMEZONE = 'Europe/London'
const DESTINATIONS = ['Lisbon', 'Paris', 'Rome', 'Barcelona', 'Berlin', 'Prague', '<img src=x onerror=alert(1)>', 'Vienna', 'Madrid', 'Amsterdam', 'Dublin']
const TYPES = ['flight', 'hotel', 'package', 'car']
const TOPICS = ['kpis', 'hourly', 'top_destinations', 'booking_types', 'funnel', 'alerts']

let xact = 8000
let seq = 0
let tick = 0
const position = () => `${xact}/${seq}`

// A small deterministic generator, so screenshots are comparable.
let seed = 42
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}

const money = (n) => n.toFixed(2)
const weight = (name) => (name ? 0.15 + (name.length % 5) * 0.05 : 1)

function filtersOf(url) {
  return {
    destination: url.searchParams.get('destination') || null,
    booking_type: url.searchParams.get('booking_type') || null,
  }
}

function scale(filters) {
  return weight(filters.destination) * weight(filters.booking_type)
}

function kpis(filters) {
  const s = scale(filters)
  const bookings = Math.round((120 + tick * 2) * s)
  const weekBookings = Math.round(110 * s)
  const revenue = bookings * 101.37
  const weekRevenue = weekBookings * 100
  const cancellations = 4 + (tick % 4)
  const conv = 0.034 + (tick % 3) * 0.001
  const change = (a, b) => (b ? (a - b) / b : null)
  return {
    position: position(),
    as_of: new Date().toISOString(),
    day: new Date().toISOString().slice(0, 10),
    timezone: TIMEZONE,
    currency: CURRENCY,
    filters,
    metrics: {
      bookings: { value: bookings, week_ago: weekBookings, change: change(bookings, weekBookings) },
      revenue: { value: money(revenue), week_ago: money(weekRevenue), change: change(revenue, weekRevenue) },
      avg_booking_value: { value: bookings ? money(revenue / bookings) : null, week_ago: '100.00', change: bookings ? change(revenue / bookings, 100) : null },
      conversion_rate: { value: conv, week_ago: 0.031, change: change(conv, 0.031) },
      cancellations: { value: cancellations, week_ago: 6, change: change(cancellations, 6) },
    },
    missing_rates: [],
    unknown_future_field: { ignored: true },
  }
}

function hourly(filters, restated = []) {
  const s = scale(filters)
  const now = new Date()
  now.setUTCMinutes(0, 0, 0)
  const points = []
  for (let i = 47; i >= 0; i--) {
    const hour = new Date(now.getTime() - i * 3600_000)
    const h = hour.getUTCHours()
    const base = h < 6 ? 1 : h < 9 ? 4 : h < 18 ? 10 : 6
    const bookings = Math.round(base * s * (0.7 + ((i * 7919) % 13) / 20))
    points.push({ hour: hour.toISOString().replace('.000', ''), bookings, revenue: money(bookings * (90 + (i % 5) * 7)) })
  }
  return { position: position(), currency: CURRENCY, filters, points, restated, missing_rates: [] }
}

function topDestinations(filters) {
  const s = scale(filters)
  const names = filters.destination ? [filters.destination] : DESTINATIONS
  const rows = names
    .map((destination, i) => {
      const bookings = Math.max(1, Math.round((30 - i * 3 + (tick % 5)) * s))
      return { destination, bookings, revenue: money(bookings * (80 + i * 11)) }
    })
    .sort((a, b) => Number(b.revenue) - Number(a.revenue) || b.bookings - a.bookings)
    .slice(0, 10)
  return { position: position(), currency: CURRENCY, period: 'today', filters, rows, missing_rates: [] }
}

function bookingTypes(filters) {
  const s = scale(filters)
  const names = filters.booking_type ? [filters.booking_type] : TYPES
  const rows = names.map((booking_type, i) => {
    const bookings = Math.round((50 / (i + 1) + (tick % 3)) * s)
    return { booking_type, bookings, revenue: money(bookings * (120 - i * 15)) }
  })
  return { position: position(), currency: CURRENCY, period: 'today', filters, rows, missing_rates: [] }
}

function funnel(filters) {
  const s = scale(filters)
  const searches = Math.round((3500 + tick * 40) * weight(filters.destination))
  const checkouts = Math.round(searches * 0.3 * (filters.booking_type ? weight(filters.booking_type) : 1))
  const bookings = Math.round((120 + tick * 2) * s)
  return { position: position(), period: 'today', filters, searches, checkouts, bookings }
}

const alerts = new Map()
function alertChange() {
  const id = alerts.size === 0 || rand() < 0.5 ? alerts.size + 1 : 1 + Math.floor(rand() * alerts.size)
  const previous = alerts.get(id)
  const destination = DESTINATIONS[id % DESTINATIONS.length]
  const alert = previous
    ? {
        ...previous,
        status: previous.status === 'open' ? 'acknowledged' : 'resolved',
        resolved_at: previous.status === 'acknowledged' ? new Date().toISOString() : null,
      }
    : {
        id,
        opened_at: new Date().toISOString(),
        kind: ['revenue_drop', 'bookings_drop', 'conversion_drop', 'cancellation_spike'][id % 4],
        subject: `destination=${destination}`,
        observed: id % 4 === 2 ? '0.012' : '120.00',
        expected: id % 4 === 2 ? '0.031' : '480.00',
        severity: ['critical', 'warning', 'info'][id % 3],
        status: 'open',
        resolved_at: null,
        details: {},
      }
  alerts.set(id, alert)
  return alert
}

const clients = new Set()
const METRICS = { kpis, hourly, top_destinations: topDestinations, booking_types: bookingTypes, funnel }

function send(res, event, data) {
  res.write(`id: ${position()}:${tick}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
}

function stream(req, res, url) {
  const allowed = new Set(['topics', 'destination', 'booking_type'])
  const unknown = [...url.searchParams.keys()].filter((k) => !allowed.has(k))
  const topics = (url.searchParams.get('topics') || TOPICS.join(',')).split(',')
  const badTopics = topics.filter((t) => !TOPICS.includes(t))
  if (unknown.length || badTopics.length) {
    res.writeHead(400, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: 'unknown parameters or topics', parameters: [...allowed], topics: TOPICS }))
    return
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
  res.write('retry: 2000\n\n')
  const client = { res, filters: filtersOf(url), topics }
  clients.add(client)
  for (const t of topics) if (t in METRICS) send(res, t, METRICS[t](client.filters))
  if (req.headers['last-event-id'] && topics.includes('alerts')) for (const a of alerts.values()) send(res, 'alert', a)
  req.on('close', () => clients.delete(client))
}

const TYPES_BY_EXT = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' }

function serveFile(res, path) {
  const file = normalize(join(DIST, path))
  if (!file.startsWith(DIST) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end(existsSync(DIST) ? 'not found' : 'no web/dist: run npm run build first')
    return
  }
  res.writeHead(200, { 'content-type': TYPES_BY_EXT[extname(file)] ?? 'application/octet-stream' })
  createReadStream(file).pipe(res)
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

function forecast(res, url) {
  const filters = filtersOf(url)
  if (NO_FORECAST || filters.booking_type === 'car') return json(res, 404, { error: 'no forecast yet' })
  const s = scale(filters)
  const horizon = Number(url.searchParams.get('horizon') || '30')
  const day = new Date()
  day.setUTCHours(0, 0, 0, 0)
  const businessDays = (from, count, step) => {
    const out = []
    const d = new Date(from)
    while (out.length < count) {
      d.setUTCDate(d.getUTCDate() + step)
      if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) out.push(d.toISOString().slice(0, 10))
    }
    return out
  }
  const past = businessDays(day, 60, -1).reverse()
  const future = businessDays(new Date(day.getTime() - 86400_000), horizon, 1)
  const level = (i) => 140 * s * (1 + 0.15 * Math.sin(i / 3))
  const actual = past.map((d, i) => ({ day: d, value: Math.round(level(i) * (0.85 + ((i * 37) % 10) / 33)) }))
  const points = future.map((d, i) => {
    const f = level(past.length + i)
    const w = 1 + i * 0.08
    return { day: d, forecast: +f.toFixed(1), lo80: +(f - 12 * w * s).toFixed(1), hi80: +(f + 12 * w * s).toFixed(1), lo95: +(f - 19 * w * s).toFixed(1), hi95: +(f + 19 * w * s).toFixed(1) }
  })
  json(res, 200, { series: 'bookings', model: 'ets(A,N,A)', points, actual, note: 'Mock forecast from web/scripts/mock-server.mjs' })
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const path = url.pathname
  if (path === '/v1/stream') return stream(req, res, url)
  if (path === '/v1/metrics/dimensions') return json(res, 200, { destinations: DESTINATIONS, booking_types: TYPES })
  if (path === '/v1/metrics/kpis') return json(res, 200, kpis(filtersOf(url)))
  if (path === '/v1/metrics/hourly') return json(res, 200, hourly(filtersOf(url)))
  if (path === '/v1/metrics/top-destinations') return json(res, 200, topDestinations(filtersOf(url)))
  if (path === '/v1/metrics/booking-types') return json(res, 200, bookingTypes(filtersOf(url)))
  if (path === '/v1/metrics/funnel') return json(res, 200, funnel(filtersOf(url)))
  if (path === '/v1/forecast') return forecast(res, url)
  if (path === '/' || path === '/index.html') return serveFile(res, 'index.html')
  if (path.startsWith('/assets/')) return serveFile(res, path.slice(1))
  json(res, 404, { error: 'not found' })
})

// Every 2 s a projection "batch": new figures for every client, now and then an alert.
const timer = setInterval(() => {
  tick += 1
  xact += 1 + Math.floor(rand() * 3)
  seq = Math.floor(rand() * 50)
  const alert = tick % 3 === 1 ? alertChange() : null
  for (const c of clients) {
    for (const t of c.topics) {
      if (t === 'hourly') {
        // Now and then a late event restates a past hour.
        const message = hourly(c.filters)
        if (tick % 5 === 0) message.restated = [message.points[40].hour]
        send(c.res, t, message)
      } else if (t in METRICS) send(c.res, t, METRICS[t](c.filters))
    }
    if (alert && c.topics.includes('alerts')) send(c.res, 'alert', alert)
    c.res.write(': heartbeat\n\n')
  }
}, 2000)

server.listen(PORT, '127.0.0.1', () => {
  console.log(`mock Booking Pulse API on http://127.0.0.1:${PORT}/ (serving ${DIST})`)
})

if (EXIT_AFTER > 0) {
  setTimeout(() => {
    clearInterval(timer)
    for (const c of clients) c.res.end()
    server.close()
    process.exit(0)
  }, EXIT_AFTER * 1000)
}
