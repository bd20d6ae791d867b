import { useId, type ReactNode } from 'react'

interface PanelProps {
  title: string
  /** Small text beside the title (period, unit). */
  subtitle?: ReactNode
  className?: string
  children: ReactNode
  testId?: string
}

/** A titled card of the dashboard grid. */
export function Panel({ title, subtitle, className, children, testId }: PanelProps) {
  const id = useId()
  return (
    <section className={`panel${className ? ` ${className}` : ''}`} aria-labelledby={id} data-testid={testId}>
      <header className="panel-head">
        <h2 id={id}>{title}</h2>
        {subtitle ? <span className="panel-sub">{subtitle}</span> : null}
      </header>
      {children}
    </section>
  )
}

interface ChartBoxProps {
  /** Shown over the (empty) chart when there is nothing to draw. */
  empty?: ReactNode
  children: ReactNode
  className?: string
}

/** Sized box for a responsive Chart.js canvas, with an empty-state overlay. */
export function ChartBox({ empty, children, className }: ChartBoxProps) {
  return (
    <div className={`chart-box${className ? ` ${className}` : ''}`}>
      {children}
      {empty ? <p className="chart-empty">{empty}</p> : null}
    </div>
  )
}

export const NO_DATA = 'no data yet'
