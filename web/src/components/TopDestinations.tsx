import type { ChartData, ChartOptions } from 'chart.js'
import { Bar } from 'react-chartjs-2'
import { axisStyle, commonOptions, OKABE_ITO, tooltipStyle, useChartTheme } from '../charts.ts'
import { formatCount, formatMoney, parseDecimal, truncate } from '../format.ts'
import type { TopDestinationsMessage } from '../messages.ts'
import { MissingRates } from './MissingRates.tsx'
import { ChartBox, NO_DATA, Panel } from './Panel.tsx'

interface Props {
  message: TopDestinationsMessage | null
  className?: string
}

/** Today's top destinations by revenue: a bar chart and, beside it, the same figures as a table. */
export function TopDestinations({ message, className }: Props) {
  const theme = useChartTheme()
  const rows = message?.rows ?? []
  const currency = message?.currency ?? null
  // Revenue is null where a rate is missing; with no revenue at all, chart bookings instead.
  const byRevenue = rows.some((r) => parseDecimal(r.revenue) !== null)
  const measure = byRevenue ? 'Revenue' : 'Bookings'
  const shown = rows.length > 0

  const data: ChartData<'bar', (number | null)[], string> = {
    labels: rows.map((r) => truncate(r.destination, 18)),
    datasets: [
      {
        label: measure,
        data: rows.map((r) => (byRevenue ? parseDecimal(r.revenue) : r.bookings)),
        backgroundColor: OKABE_ITO.blue,
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
          title: (items) => rows[items[0]?.dataIndex ?? -1]?.destination ?? '',
          label: (item) => {
            const row = rows[item.dataIndex]
            if (!row) return ''
            return [`Revenue: ${formatMoney(row.revenue, currency)}`, `Bookings: ${formatCount(row.bookings)}`]
          },
        },
      },
    },
    scales: {
      x: {
        ...axisStyle(theme, shown),
        beginAtZero: true,
        ticks: {
          ...axisStyle(theme).ticks,
          callback: (value) =>
            byRevenue ? formatMoney(Number(value), currency, { compact: true }) : formatCount(Number(value)),
        },
      },
      y: { ...axisStyle(theme, shown), grid: { display: false }, ticks: { ...axisStyle(theme).ticks, autoSkip: false } },
    },
  }

  return (
    <Panel title="Top destinations" subtitle={`today, by ${measure.toLowerCase()}`} className={className}>
      <div className="split">
      <ChartBox empty={rows.length === 0 ? NO_DATA : undefined}>
        <Bar
          data={data}
          options={options}
          data-testid="chart-top-destinations"
          role="img"
          aria-label={`Top destinations today by ${measure.toLowerCase()}; figures in the table`}
        />
      </ChartBox>
      <table className="data-table" data-testid="top-destinations">
        <caption className="visually-hidden">Top destinations today</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Destination</th>
            <th scope="col" className="num">
              Bookings
            </th>
            <th scope="col" className="num">
              Revenue
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={4} className="muted">
                {NO_DATA}
              </td>
            </tr>
          ) : (
            rows.map((row, i) => (
              <tr key={`${String(i)}:${row.destination}`}>
                <td className="num muted">{i + 1}</td>
                <th scope="row" className="text-cell">
                  {row.destination}
                </th>
                <td className="num">{formatCount(row.bookings)}</td>
                <td className="num">{formatMoney(row.revenue, currency)}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
      </div>
      <MissingRates currencies={message?.missing_rates} />
    </Panel>
  )
}
