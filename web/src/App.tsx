import { AlertFeed } from './components/AlertFeed.tsx'
import { BookingTypes } from './components/BookingTypes.tsx'
import { ConnectionStatus } from './components/ConnectionStatus.tsx'
import { FilterBar } from './components/FilterBar.tsx'
import { ForecastChart } from './components/ForecastChart.tsx'
import { Funnel } from './components/Funnel.tsx'
import { HourlyChart } from './components/HourlyChart.tsx'
import { KpiRow } from './components/KpiRow.tsx'
import { TopDestinations } from './components/TopDestinations.tsx'
import { useDimensions } from './hooks/useDimensions.ts'
import { useForecast } from './hooks/useForecast.ts'
import { useStream } from './hooks/useStream.ts'
import { useUrlFilters } from './hooks/useUrlFilters.ts'
import logo from './assets/pulse.svg'
import './App.css'

function App() {
  const [filters, setFilters] = useUrlFilters()
  const dimensions = useDimensions()
  const stream = useStream({ filters })
  const forecast = useForecast(filters)

  const currency =
    stream.kpis?.currency ?? stream.hourly?.currency ?? stream.topDestinations?.currency ?? stream.bookingTypes?.currency ?? null
  const timezone = stream.kpis?.timezone ?? null

  return (
    <div className="app">
      <header className="topbar">
        <h1>
          <img className="brand-mark" src={logo} alt="" width={28} height={28} />
          Booking Pulse
        </h1>
        <FilterBar filters={filters} dimensions={dimensions} onChange={setFilters} />
        <ConnectionStatus connection={stream.connection} lastPosition={stream.lastPosition} lastUpdate={stream.lastUpdate} />
      </header>
      <main>
        <KpiRow kpis={stream.kpis} />
        <div className="grid">
          <HourlyChart hourly={stream.hourly} timezone={timezone} className="area-hourly" />
          <ForecastChart state={forecast} className="area-forecast" />
          <TopDestinations message={stream.topDestinations} className="area-top" />
          <BookingTypes message={stream.bookingTypes} className="area-types" />
          <Funnel message={stream.funnel} className="area-funnel" />
          <AlertFeed alerts={stream.alerts} currency={currency} timezone={timezone} className="area-alerts" />
        </div>
      </main>
    </div>
  )
}

export default App
