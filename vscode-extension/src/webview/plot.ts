/**
 * The plot webview's script (bundled for the browser by esbuild with Chart.js; no CDN).
 * The extension posts a PlotData message; checkboxes choose which metric charts show.
 */
import {
  CategoryScale,
  Chart,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Title,
  Tooltip
} from 'chart.js'
import type { PlotData } from '../plot/collect'

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Legend, Title, Tooltip)

declare const acquireVsCodeApi: () => { postMessage(message: unknown): void }
const vscode = acquireVsCodeApi()

const PALETTE = [
  'charts.blue',
  'charts.orange',
  'charts.green',
  'charts.purple',
  'charts.red',
  'charts.yellow'
]

const css = (name: string, fallback: string): string =>
  getComputedStyle(document.body).getPropertyValue(`--vscode-${name.replace('.', '-')}`).trim() ||
  fallback

const colour = (index: number): string => {
  const base = css(PALETTE[index % PALETTE.length], '#3794ff')
  return index < PALETTE.length ? base : `color-mix(in srgb, ${base} 55%, ${css('foreground', '#888')})`
}

const charts = new Map<string, Chart>()

const render = (data: PlotData, selected: Set<string>): void => {
  const foreground = css('foreground', '#ccc')
  const grid = css('editorWidget.border', 'rgba(128,128,128,0.3)')
  Chart.defaults.color = foreground
  Chart.defaults.font.family = css('font-family', 'sans-serif')
  const container = document.getElementById('charts') as HTMLElement
  for (const chart of charts.values()) {
    chart.destroy()
  }
  charts.clear()
  container.replaceChildren()
  for (const chartData of data.charts.filter(chart => selected.has(chart.key))) {
    const figure = document.createElement('figure')
    const canvas = document.createElement('canvas')
    canvas.setAttribute('role', 'img')
    canvas.setAttribute('aria-label', `${chartData.key} by step for ${chartData.lines.length} runs`)
    figure.append(canvas)
    container.append(figure)
    if (chartData.lines.length === 0) {
      const note = document.createElement('figcaption')
      note.textContent = `${chartData.key}: no points logged for these runs`
      figure.replaceChildren(note)
      continue
    }
    charts.set(
      chartData.key,
      new Chart(canvas, {
        type: 'line',
        data: {
          datasets: chartData.lines.map(line => {
            const index = data.runs.indexOf(line.run)
            return {
              label: line.run,
              data: line.points,
              borderColor: colour(index),
              backgroundColor: colour(index),
              pointRadius: line.points.length > 50 ? 0 : 2,
              borderWidth: 1.5
            }
          })
        },
        options: {
          animation: false,
          maintainAspectRatio: false,
          parsing: false,
          interaction: { mode: 'nearest', intersect: false },
          plugins: { title: { display: true, text: chartData.key } },
          scales: {
            x: { type: 'linear', title: { display: true, text: 'step' }, grid: { color: grid } },
            y: { type: 'linear', grid: { color: grid } }
          }
        }
      })
    )
  }
}

const showKeys = (data: PlotData): void => {
  const selected = new Set(data.selected)
  const form = document.getElementById('keys') as HTMLElement
  form.replaceChildren()
  for (const key of data.keys) {
    const label = document.createElement('label')
    const box = document.createElement('input')
    box.type = 'checkbox'
    box.checked = selected.has(key)
    box.addEventListener('change', () => {
      if (box.checked) {
        selected.add(key)
      } else {
        selected.delete(key)
      }
      render(data, selected)
    })
    label.append(box, ` ${key}`)
    form.append(label)
  }
  render(data, selected)
}

window.addEventListener('message', (event: MessageEvent<{ type: string; data: PlotData }>) => {
  if (event.data?.type === 'data') {
    document.getElementById('title')!.textContent = event.data.data.title
    showKeys(event.data.data)
  }
})

vscode.postMessage({ type: 'ready' })
