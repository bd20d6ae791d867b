import type { ChartData, ChartOptions } from 'chart.js'
import { Line } from 'react-chartjs-2'
import { axisStyle, commonOptions, legendStyle, OKABE_ITO, tooltipStyle, useChartTheme, withAlpha } from '../charts.ts'
import { formatDay, formatDayShort, formatDecimal } from '../format.ts'
import { forecastSeries } from '../forecast.ts'
import type { ForecastState } from '../hooks/useForecast.ts'
import { ChartBox, NO_DATA, Panel } from './Panel.tsx'

interface Props {
  state: ForecastState
  className?: string
}

const LOW = ' (low)'

function quietNote(state: ForecastState): string | null {
  switch (state.status) {
    case 'loading':
      return 'Loading the forecast…'
    case 'none':
      return 'No forecast for this selection yet.'
    case 'unavailable':
      return 'The forecast is not available right now; it will be tried again.'
    case 'ready':
      return null
  }
}

/** Bookings per business day: the actual series, and the forecast with its 80 % and 95 % intervals as bands. */
export function ForecastChart({ state, className }: Props) {
  const theme = useChartTheme()
  const forecast = state.status === 'ready' ? state.forecast : null
  const s = forecastSeries(forecast)
  const hasForecast = s.forecast.some((v) => v !== null)
  const hasActual = s.actual.some((v) => v !== null)
  const shown = hasActual || hasForecast

  const band = OKABE_ITO.orange
  const data: ChartData<'line', (number | null)[], string> = {
    labels: s.days.map((d) => formatDayShort(d)),
    datasets: [
      // Each band is a low line (invisible) and a high line filled down to it.
      { label: `95% interval${LOW}`, data: s.lo95, borderWidth: 0, pointRadius: 0, fill: false },
      {
        label: '95% interval',
        data: s.hi95,
        borderWidth: 0,
        pointRadius: 0,
        backgroundColor: withAlpha(band, 0.18),
        fill: '-1',
      },
      { label: `80% interval${LOW}`, data: s.lo80, borderWidth: 0, pointRadius: 0, fill: false },
      {
        label: '80% interval',
        data: s.hi80,
        borderWidth: 0,
        pointRadius: 0,
        backgroundColor: withAlpha(band, 0.38),
        fill: '-1',
      },
      {
        label: 'Forecast',
        data: s.forecast,
        borderColor: OKABE_ITO.vermillion,
        backgroundColor: OKABE_ITO.vermillion,
        borderDash: [6, 4],
        borderWidth: 2,
        pointRadius: 0,
        fill: false,
      },
      {
        label: 'Actual',
        data: s.actual,
        borderColor: OKABE_ITO.blue,
        backgroundColor: OKABE_ITO.blue,
        borderWidth: 2,
        pointRadius: 2,
        fill: false,
      },
    ],
  }

  const options: ChartOptions<'line'> = {
    ...commonOptions(theme),
    interaction: { mode: 'index', intersect: false },
    plugins: {
      legend: {
        ...legendStyle(theme, shown),
        labels: { ...legendStyle(theme).labels, filter: (item) => !item.text.endsWith(LOW) },
      },
      tooltip: {
        ...tooltipStyle(theme),
        filter: (item) => item.parsed.y !== null && !(item.dataset.label ?? '').endsWith(LOW),
        callbacks: {
          title: (items) => {
            const day = s.days[items[0]?.dataIndex ?? -1]
            return day === undefined ? '' : formatDay(day)
          },
          label: (item) => {
            const i = item.dataIndex
            const label = item.dataset.label ?? ''
            if (label === '95% interval') return `95%: ${formatDecimal(s.lo95[i])} – ${formatDecimal(s.hi95[i])}`
            if (label === '80% interval') return `80%: ${formatDecimal(s.lo80[i])} – ${formatDecimal(s.hi80[i])}`
            return `${label}: ${formatDecimal(item.parsed.y)}`
          },
        },
      },
    },
    scales: {
      x: { ...axisStyle(theme, shown), ticks: { ...axisStyle(theme).ticks, autoSkip: true, maxRotation: 0, maxTicksLimit: 8 } },
      y: {
        ...axisStyle(theme, shown),
        beginAtZero: true,
        title: { display: true, text: 'Bookings per day', color: theme.muted },
      },
    },
  }

  const note = forecast
    ? [forecast.note, hasForecast ? null : 'No forecast points yet.'].filter((t) => t !== null).join(' ')
    : quietNote(state)
  const noteElement = note ? <span data-testid="forecast-note">{note}</span> : null
  const subtitle = forecast?.model ? `bookings per business day · model ${forecast.model}` : 'bookings per business day'
  return (
    <Panel title="Forecast" subtitle={subtitle} className={className}>
      {/* Without anything to draw, the quiet note takes the chart's place. */}
      <ChartBox empty={shown ? undefined : (noteElement ?? NO_DATA)}>
        <Line
          data={data}
          options={options}
          data-testid="chart-forecast"
          role="img"
          aria-label="Bookings per business day, actual and forecast with 80% and 95% intervals"
        />
      </ChartBox>
      {shown && noteElement ? <p className="note">{noteElement}</p> : null}
    </Panel>
  )
}
