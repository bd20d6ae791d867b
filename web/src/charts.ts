// Chart.js set-up: only the controllers, elements and plugins the dashboard
// uses are registered (tree-shaking), a colour-blind-safe palette (Okabe–Ito)
// and options that follow the colour scheme and the screen size.

import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart as ChartJS,
  DoughnutController,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js'
import { useMediaQuery } from './hooks/useMediaQuery.ts'

ChartJS.register(
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  DoughnutController,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
)

/** Okabe & Ito (2008), "Color Universal Design". */
export const OKABE_ITO = {
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  bluishGreen: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  reddishPurple: '#CC79A7',
  black: '#000000',
  grey: '#999999',
} as const

/** Categorical series, in order of use. */
export const SERIES_COLORS = [
  OKABE_ITO.blue,
  OKABE_ITO.orange,
  OKABE_ITO.skyBlue,
  OKABE_ITO.bluishGreen,
  OKABE_ITO.vermillion,
  OKABE_ITO.reddishPurple,
  OKABE_ITO.yellow,
  OKABE_ITO.grey,
] as const

export function seriesColor(index: number): string {
  return SERIES_COLORS[index % SERIES_COLORS.length] ?? OKABE_ITO.grey
}

/** `#RRGGBB` with an alpha. */
export function withAlpha(hex: string, alpha: number): string {
  const a = Math.round(Math.min(1, Math.max(0, alpha)) * 255)
  return `${hex}${a.toString(16).padStart(2, '0')}`
}

export interface ChartTheme {
  dark: boolean
  text: string
  muted: string
  grid: string
  surface: string
  fontSize: number
  animate: boolean
}

export function useChartTheme(): ChartTheme {
  const dark = useMediaQuery('(prefers-color-scheme: dark)')
  const wall = useMediaQuery('(min-width: 1800px)')
  const reducedMotion = useMediaQuery('(prefers-reduced-motion: reduce)')
  return {
    dark,
    text: dark ? '#e8e8ea' : '#1b1b1f',
    muted: dark ? '#a4a4ad' : '#5b5b66',
    grid: dark ? 'rgba(255,255,255,0.12)' : 'rgba(0,0,0,0.10)',
    surface: dark ? '#1d1f24' : '#ffffff',
    fontSize: wall ? 16 : 12,
    animate: !reducedMotion,
  }
}

/** Options shared by every chart; spread into each chart's own. */
export function commonOptions(theme: ChartTheme) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: theme.animate ? { duration: 300 } : (false as const),
    color: theme.text,
  }
}

export function legendStyle(theme: ChartTheme, display = true) {
  return { display, labels: { color: theme.text, font: { size: theme.fontSize }, usePointStyle: true } }
}

export function tooltipStyle(theme: ChartTheme) {
  return { titleFont: { size: theme.fontSize }, bodyFont: { size: theme.fontSize } }
}

/** Axis colours; `display: false` hides the axis (an empty chart shows only its empty-state text). */
export function axisStyle(theme: ChartTheme, display = true) {
  return {
    display,
    ticks: { color: theme.muted, font: { size: theme.fontSize } },
    grid: { color: theme.grid },
    border: { color: theme.grid },
  }
}
