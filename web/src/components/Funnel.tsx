import type { ChartData, ChartOptions } from 'chart.js'
import { Bar } from 'react-chartjs-2'
import { axisStyle, commonOptions, OKABE_ITO, tooltipStyle, useChartTheme } from '../charts.ts'
import { formatCount, formatPercent, ratio } from '../format.ts'
import type { FunnelMessage } from '../messages.ts'
import { ChartBox, NO_DATA, Panel } from './Panel.tsx'

interface Props {
  message: FunnelMessage | null
  className?: string
}

/** Searches → checkouts → bookings today, with the rate of each step. */
export function Funnel({ message, className }: Props) {
  const theme = useChartTheme()
  const steps = message ? [message.searches, message.checkouts, message.bookings] : []
  const labels = ['Searches', 'Checkouts', 'Bookings']
  const shown = message !== null

  const data: ChartData<'bar', number[], string> = {
    labels,
    datasets: [
      {
        label: 'Today',
        data: steps,
        backgroundColor: [OKABE_ITO.skyBlue, OKABE_ITO.blue, OKABE_ITO.bluishGreen],
        borderRadius: 3,
        maxBarThickness: 32,
      },
    ],
  }

  const options: ChartOptions<'bar'> = {
    ...commonOptions(theme),
    indexAxis: 'y',
    plugins: {
      legend: { display: false },
      tooltip: {
        ...tooltipStyle(theme),
        callbacks: {
          label: (item) => {
            const previous = item.dataIndex > 0 ? steps[item.dataIndex - 1] : undefined
            const value = item.parsed.x ?? 0
            const stepRatio = previous === undefined ? '' : ` (${formatPercent(ratio(value, previous))} of the step before)`
            return `${formatCount(value)}${stepRatio}`
          },
        },
      },
    },
    scales: {
      x: { ...axisStyle(theme, shown), beginAtZero: true, ticks: { ...axisStyle(theme).ticks, precision: 0, maxRotation: 0, maxTicksLimit: 5 } },
      y: { ...axisStyle(theme, shown), grid: { display: false } },
    },
  }

  const empty = !message || (message.searches === 0 && message.checkouts === 0 && message.bookings === 0)
  const typeFiltered = message?.filters.booking_type != null
  return (
    <Panel title="Conversion funnel" subtitle="today" className={className}>
      <ChartBox empty={empty ? NO_DATA : undefined} className="chart-box-short">
        <Bar data={data} options={options} data-testid="chart-funnel" role="img" aria-label="Conversion funnel today; rates below" />
      </ChartBox>
      {message ? (
        <dl className="funnel-rates" data-testid="funnel-rates">
          <div>
            <dt>Search → checkout</dt>
            <dd>{formatPercent(ratio(message.checkouts, message.searches))}</dd>
          </div>
          <div>
            <dt>Checkout → booking</dt>
            <dd>{formatPercent(ratio(message.bookings, message.checkouts))}</dd>
          </div>
          <div>
            <dt>Search → booking</dt>
            <dd>{formatPercent(ratio(message.bookings, message.searches))}</dd>
          </div>
        </dl>
      ) : null}
      {typeFiltered ? <p className="note">Searches have no booking type: they are not filtered by it.</p> : null}
    </Panel>
  )
}
