// happy-dom has no canvas: component tests replace react-chartjs-2's
// components with a bare <canvas> carrying the same attributes, and keep the
// chart's labels on it so tests can read what would be drawn.

import type { CanvasHTMLAttributes } from 'react'

interface Props extends CanvasHTMLAttributes<HTMLCanvasElement> {
  data: { labels?: unknown[] }
}

/** Props of react-chartjs-2's components that are not canvas attributes. */
const CHART_PROPS = new Set(['type', 'data', 'options', 'plugins', 'redraw', 'datasetIdKey', 'fallbackContent', 'updateMode'])

function FakeChart(props: Props) {
  const canvas = Object.fromEntries(Object.entries(props).filter(([key]) => !CHART_PROPS.has(key)))
  return <canvas {...canvas} data-labels={JSON.stringify(props.data.labels ?? [])} />
}

export const chartMocks = { Chart: FakeChart, Bar: FakeChart, Line: FakeChart, Doughnut: FakeChart }
