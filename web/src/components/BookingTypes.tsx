import type { ChartData, ChartOptions } from 'chart.js'
import { Doughnut } from 'react-chartjs-2'
import { commonOptions, legendStyle, seriesColor, tooltipStyle, useChartTheme } from '../charts.ts'
import { formatCount, formatMoney, formatPercent } from '../format.ts'
import type { BookingTypesMessage } from '../messages.ts'
import { MissingRates } from './MissingRates.tsx'
import { ChartBox, NO_DATA, Panel } from './Panel.tsx'

interface Props {
  message: BookingTypesMessage | null
  className?: string
}

/** Today's bookings by booking type: a doughnut, and the figures as a table. */
export function BookingTypes({ message, className }: Props) {
  const theme = useChartTheme()
  const rows = message?.rows ?? []
  const currency = message?.currency ?? null
  const total = rows.reduce((sum, r) => sum + r.bookings, 0)
  const shown = total > 0
  const share = (bookings: number) => (total > 0 ? bookings / total : null)

  const data: ChartData<'doughnut', number[], string> = {
    labels: rows.map((r) => r.booking_type),
    datasets: [
      {
        label: 'Bookings',
        data: rows.map((r) => r.bookings),
        backgroundColor: rows.map((_, i) => seriesColor(i)),
        borderColor: theme.surface,
        borderWidth: 2,
      },
    ],
  }

  const options: ChartOptions<'doughnut'> = {
    ...commonOptions(theme),
    cutout: '55%',
    plugins: {
      legend: { ...legendStyle(theme, shown), position: 'right' },
      tooltip: {
        ...tooltipStyle(theme),
        callbacks: {
          label: (item) => {
            const row = rows[item.dataIndex]
            if (!row) return ''
            return `${formatCount(row.bookings)} bookings (${formatPercent(share(row.bookings))}), ${formatMoney(row.revenue, currency)}`
          },
        },
      },
    },
  }

  return (
    <Panel title="Booking types" subtitle="today, share of bookings" className={className}>
      <ChartBox empty={total === 0 ? NO_DATA : undefined}>
        <Doughnut
          data={data}
          options={options}
          data-testid="chart-booking-types"
          role="img"
          aria-label="Share of today's bookings by booking type; figures in the table"
        />
      </ChartBox>
      <table className="data-table" data-testid="booking-types">
        <caption className="visually-hidden">Bookings by booking type today</caption>
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col" className="num">
              Bookings
            </th>
            <th scope="col" className="num">
              Share
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
              <tr key={`${String(i)}:${row.booking_type}`}>
                <th scope="row" className="text-cell">
                  <span className="swatch" style={{ background: seriesColor(i) }} aria-hidden="true" />
                  {row.booking_type}
                </th>
                <td className="num">{formatCount(row.bookings)}</td>
                <td className="num">{formatPercent(share(row.bookings))}</td>
                <td className="num">{formatMoney(row.revenue, currency)}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
      <MissingRates currencies={message?.missing_rates} />
    </Panel>
  )
}
