import type { ChartData, ChartOptions } from 'chart.js'
import { Chart } from 'react-chartjs-2'
import { axisStyle, commonOptions, legendStyle, OKABE_ITO, tooltipStyle, useChartTheme } from '../charts.ts'
import { formatCount, formatDateTime, formatHour, formatMoney, hourLabels, parseDecimal } from '../format.ts'
import type { HourlyMessage } from '../messages.ts'
import { MissingRates } from './MissingRates.tsx'
import { ChartBox, NO_DATA, Panel } from './Panel.tsx'

interface Props {
  hourly: HourlyMessage | null
  /** The business time zone (from the kpis topic); hours are labelled in it. */
  timezone: string | null
  className?: string
}

type MixedType = 'bar' | 'line'

/** Bookings (bars, left axis) and revenue (line, right axis) per hour for the last 48 hours. */
export function HourlyChart({ hourly, timezone, className }: Props) {
  const theme = useChartTheme()
  const points = hourly?.points ?? []
  const currency = hourly?.currency ?? null
  const restated = new Set(hourly?.restated ?? [])
  const hours = points.map((p) => p.hour)
  const shown = points.length > 0

  const data: ChartData<MixedType, (number | null)[], string> = {
    labels: hourLabels(hours, timezone),
    datasets: [
      {
        type: 'bar',
        label: 'Bookings',
        data: points.map((p) => p.bookings),
        backgroundColor: OKABE_ITO.skyBlue,
        borderColor: theme.text,
        borderWidth: points.map((p) => (restated.has(p.hour) ? 2 : 0)),
        maxBarThickness: 32,
        yAxisID: 'bookings',
        order: 2,
      },
      {
        type: 'line',
        label: 'Revenue',
        data: points.map((p) => parseDecimal(p.revenue)),
        borderColor: OKABE_ITO.orange,
        backgroundColor: OKABE_ITO.orange,
        borderWidth: 3,
        pointRadius: points.map((p) => (restated.has(p.hour) ? 5 : 0)),
        pointStyle: 'triangle',
        pointHoverRadius: 5,
        spanGaps: false,
        tension: 0.2,
        yAxisID: 'revenue',
        order: 1,
      },
    ],
  }

  const options: ChartOptions<MixedType> = {
    ...commonOptions(theme),
    interaction: { mode: 'index', intersect: false },
    plugins: {
      legend: legendStyle(theme, shown),
      tooltip: {
        ...tooltipStyle(theme),
        callbacks: {
          title: (items) => {
            const hour = hours[items[0]?.dataIndex ?? -1]
            if (hour === undefined) return ''
            return `${formatDateTime(hour, timezone)}${restated.has(hour) ? ' (revised)' : ''}`
          },
          label: (item) =>
            item.dataset.label === 'Revenue'
              ? `Revenue: ${formatMoney(item.parsed.y, currency)}`
              : `Bookings: ${formatCount(item.parsed.y)}`,
        },
      },
    },
    scales: {
      x: { ...axisStyle(theme, shown), ticks: { ...axisStyle(theme).ticks, autoSkip: true, maxRotation: 0 } },
      bookings: {
        ...axisStyle(theme, shown),
        type: 'linear',
        position: 'left',
        beginAtZero: true,
        title: { display: true, text: 'Bookings', color: theme.muted },
        ticks: { ...axisStyle(theme).ticks, precision: 0 },
      },
      revenue: {
        ...axisStyle(theme, shown),
        type: 'linear',
        position: 'right',
        beginAtZero: true,
        title: { display: true, text: currency ? `Revenue (${currency})` : 'Revenue', color: theme.muted },
        grid: { drawOnChartArea: false },
        ticks: {
          ...axisStyle(theme).ticks,
          callback: (value) => formatMoney(typeof value === 'number' ? value : Number(value), currency, { compact: true }),
        },
      },
    },
  }

  const revised = hourly?.restated ?? []
  return (
    <Panel title="Bookings and revenue per hour" subtitle="last 48 hours" className={className}>
      <ChartBox empty={points.length === 0 ? NO_DATA : undefined}>
        <Chart
          type="bar"
          data={data}
          options={options}
          data-testid="chart-hourly"
          role="img"
          aria-label="Bookings and revenue per hour, last 48 hours"
        />
      </ChartBox>
      {revised.length > 0 ? (
        <p className="note" data-testid="hourly-restated">
          Revised by late events (outlined bars, ▲ on the revenue line):{' '}
          {revised.map((h) => formatHour(h, timezone)).join(', ')}
        </p>
      ) : null}
      <MissingRates currencies={hourly?.missing_rates} />
    </Panel>
  )
}
