/**
 * The plots dashboard webview (bundled for the browser with ECharts; no CDN): curves of any
 * metric across runs, metric-vs-param scatter and parallel coordinates. Built for many runs:
 * no legend inside the plot (a key below it up to 20 runs, the tooltip beyond), lines are
 * downsampled (LTTB) and drawn without symbols, and a live update replaces data in place.
 */
import { LineChart, ParallelChart, ScatterChart } from 'echarts/charts'
import {
  DataZoomComponent,
  GridComponent,
  ParallelComponent,
  TitleComponent,
  TooltipComponent
} from 'echarts/components'
import * as echarts from 'echarts/core'
import { CanvasRenderer } from 'echarts/renderers'
import {
  type DashboardData,
  type DashboardMessage,
  type DashboardToExtension,
  type PlotRun,
  coloursByParam,
  curveXY,
  describeRun,
  fromMessage,
  imageAt,
  imageTags,
  varyingParams
} from '../plot/dashboard'

const scriptStart = performance.now()

echarts.use([LineChart, ScatterChart, ParallelChart, GridComponent, TooltipComponent, TitleComponent,
  DataZoomComponent, ParallelComponent, CanvasRenderer])

declare const acquireVsCodeApi: () => { postMessage(message: DashboardToExtension): void }
const vscode = acquireVsCodeApi()
// Said first, before the charts are set up: the curves cross from the editor meanwhile and
// are handled as soon as this script is done.
vscode.postMessage({ type: 'ready' })

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T
const css = (name: string, fallback: string): string =>
  getComputedStyle(document.body).getPropertyValue(`--vscode-${name}`).trim() || fallback

let data: DashboardData | undefined
const selected = new Set<string>()
const charts = new Map<string, echarts.ECharts>()
let view: 'curves' | 'scatter' | 'parallel' | 'images' = 'curves'
/** The step each tag's slider is on; a tag without one (or at its end) follows the newest step. */
const imageSteps = new Map<string, number>()

const settings = () => ({
  x: $<HTMLSelectElement>('x').value as 'step' | 'time',
  log: $<HTMLInputElement>('log').checked,
  weight: Number($<HTMLInputElement>('smooth').value),
  colour: $<HTMLSelectElement>('colour').value || undefined
})

const axisStyle = () => {
  const foreground = css('foreground', '#ccc')
  const grid = css('editorWidget-border', 'rgba(128,128,128,0.3)')
  return {
    axisLine: { lineStyle: { color: grid } },
    axisLabel: { color: foreground },
    splitLine: { lineStyle: { color: grid } },
    nameTextStyle: { color: foreground }
  }
}

const tooltipStyle = () => ({
  backgroundColor: css('editorHoverWidget-background', '#252526'),
  borderColor: css('editorHoverWidget-border', '#454545'),
  textStyle: { color: css('editorHoverWidget-foreground', '#ccc'), fontSize: 12 },
  extraCssText: 'white-space: pre; max-width: 60vw;'
})

const chartIn = (id: string, parent: HTMLElement, height = 280): echarts.ECharts => {
  let chart = charts.get(id)
  if (!chart || chart.isDisposed()) {
    const figure = document.createElement('figure')
    figure.style.height = `${height}px`
    figure.dataset.key = id
    parent.append(figure)
    chart = echarts.init(figure, undefined, { renderer: 'canvas' })
    charts.set(id, chart)
  }
  return chart
}

const clearCharts = (): void => {
  for (const chart of charts.values()) {
    chart.dispose()
  }
  charts.clear()
  $('charts').replaceChildren()
}

const runsById = (): Map<string, PlotRun> => new Map((data?.runs ?? []).map(run => [run.run, run]))

const curveOption = (key: string) => {
  const { x, log, weight, colour } = settings()
  const runs = runsById()
  const varying = varyingParams(data!.runs)
  const colours = coloursByParam(data!.runs, colour)
  const series = data!.series
    .filter(item => item.key === key && runs.has(item.run))
    .map(item => {
      const flat = curveXY(item, x, log, weight)
      const count = flat.length / 2
      return {
        id: item.run,
        name: item.run,
        type: 'line' as const,
        showSymbol: count <= 1,
        symbolSize: 4,
        sampling: 'lttb' as const,
        triggerLineEvent: true,
        lineStyle: { width: 1.4 },
        color: colours.get(item.run),
        emphasis: { focus: 'series' as const, lineStyle: { width: 2.5 } },
        dimensions: ['x', 'y'],
        encode: { x: 0, y: 1 },
        data: flat as unknown as number[][]
      }
    })
  return {
    animation: false,
    title: { text: key, left: 'center', textStyle: { color: css('foreground', '#ccc'), fontSize: 13 } },
    grid: { left: 56, right: 16, top: 32, bottom: 40 },
    tooltip: {
      trigger: 'item' as const,
      ...tooltipStyle(),
      formatter: (params: { seriesName: string; value: [number, number] }) => {
        const run = runs.get(params.seriesName)
        const [px, py] = params.value ?? []
        return `${run ? describeRun(run, varying) : params.seriesName}\n${x} ${px}: ${key} ${py}`
      }
    },
    xAxis: { type: 'value' as const, name: x === 'step' ? 'step' : 'seconds', nameLocation: 'middle' as const, nameGap: 24, scale: true, ...axisStyle() },
    yAxis: { type: (log ? 'log' : 'value') as 'log' | 'value', scale: true, ...axisStyle() },
    dataZoom: [{ type: 'inside' as const, xAxisIndex: 0 }],
    series
  }
}

const drawCurves = (): void => {
  const container = $('charts')
  for (const [id, chart] of charts) {
    if (!selected.has(id)) {
      chart.dispose()
      charts.delete(id)
      container.querySelector(`figure[data-key="${CSS.escape(id)}"]`)?.remove()
    }
  }
  for (const key of data!.keys.filter(key => selected.has(key))) {
    chartIn(key, container).setOption(curveOption(key), { replaceMerge: ['series'] })
  }
}

const drawScatter = (): void => {
  const runs = data!.runs
  const param = $<HTMLSelectElement>('scatter-x').value
  const metric = $<HTMLSelectElement>('scatter-y').value
  const varying = varyingParams(runs)
  const colours = coloursByParam(runs, settings().colour)
  const numericX = runs.every(run => run.params[param] === undefined || typeof run.params[param] === 'number')
  const categories = numericX ? undefined : [...new Set(runs.map(run => String(run.params[param])))]
  const points = runs
    .filter(run => typeof run.metrics[metric] === 'number')
    .map(run => ({
      name: run.run,
      value: [numericX ? run.params[param] : String(run.params[param]), run.metrics[metric]],
      itemStyle: { color: colours.get(run.run) }
    }))
  chartIn('scatter', $('charts'), 420).setOption(
    {
      animation: false,
      grid: { left: 64, right: 24, top: 24, bottom: 48 },
      tooltip: { trigger: 'item', ...tooltipStyle(), formatter: (p: { name: string }) => {
        const run = runs.find(item => item.run === p.name)
        return run ? `${describeRun(run, varying)}\n${metric}=${run.metrics[metric]}` : p.name
      } },
      xAxis: { type: numericX ? 'value' : 'category', data: categories, name: param, nameLocation: 'middle', nameGap: 28, scale: true, ...axisStyle() },
      yAxis: { type: settings().log ? 'log' : 'value', name: metric, scale: true, ...axisStyle() },
      series: [{ type: 'scatter', symbolSize: 8, data: points }]
    },
    { notMerge: true }
  )
}

const drawParallel = (): void => {
  const runs = data!.runs
  const metric = $<HTMLSelectElement>('scatter-y').value
  const params = varyingParams(runs).slice(0, 12)
  const colours = coloursByParam(runs, settings().colour)
  const dims = [...params.map(key => ({ key, kind: 'param' as const })), { key: metric, kind: 'metric' as const }]
  const axes = dims.map((dim, index) => {
    const values = runs.map(run => (dim.kind === 'param' ? run.params[dim.key] : run.metrics[dim.key]))
    const numericAxis = values.every(value => value === undefined || value === null || typeof value === 'number')
    return {
      dim: index,
      name: dim.key,
      type: numericAxis ? ('value' as const) : ('category' as const),
      data: numericAxis ? undefined : [...new Set(values.map(value => String(value)))],
      scale: true,
      nameTextStyle: { color: css('foreground', '#ccc') },
      axisLabel: { color: css('foreground', '#ccc') },
      axisLine: { lineStyle: { color: css('foreground', '#ccc') } }
    }
  })
  const chart = chartIn('parallel', $('charts'), 460)
  chart.setOption(
    {
      animation: false,
      parallel: { left: 60, right: 90, top: 40, bottom: 30 },
      parallelAxis: axes,
      tooltip: { trigger: 'item', ...tooltipStyle(), formatter: (p: { name: string }) => p.name },
      series: [{
        type: 'parallel',
        lineStyle: { width: 1.2, opacity: 0.6 },
        inactiveOpacity: 0.05,
        activeOpacity: 0.9,
        data: runs.map(run => ({
          name: run.run,
          value: dims.map(dim => {
            const value = dim.kind === 'param' ? run.params[dim.key] : run.metrics[dim.key]
            return typeof value === 'number' ? value : value === undefined ? null : String(value)
          }),
          lineStyle: { color: colours.get(run.run) }
        }))
      }]
    },
    { notMerge: true }
  )
  chart.off('axisareaselected')
  chart.on('axisareaselected', () => {
    const model = (chart as unknown as { getModel(): { getSeries(): { getRawIndicesByActiveState(s: string): number[] }[] } }).getModel()
    const active = model.getSeries()[0].getRawIndicesByActiveState('active')
    const brushed = active.length === runs.length ? null : active.map(index => runs[index].run)
    vscode.postMessage({ type: 'brush', runs: brushed })
  })
}

/**
 * Images the runs logged: one section per tag with a step slider; each run shows its image
 * at that step (its last one at or before it). Rebuilt on every update, the slider kept.
 */
const drawImages = (): void => {
  const container = $('images')
  container.replaceChildren()
  const images = data!.images
  for (const [tag, steps] of imageTags(images)) {
    const section = document.createElement('section')
    section.className = 'image-tag'
    section.dataset.tag = tag
    const title = document.createElement('h3')
    title.textContent = tag
    const bar = document.createElement('div')
    bar.className = 'slider'
    const slider = document.createElement('input')
    slider.type = 'range'
    slider.min = '0'
    slider.max = String(steps.length - 1)
    const chosen = imageSteps.get(tag)
    const index = chosen === undefined ? steps.length - 1 : Math.max(0, steps.findIndex(step => step >= chosen))
    slider.value = String(index)
    slider.setAttribute('aria-label', `${tag} step`)
    const label = document.createElement('span')
    label.className = 'step'
    const runs = document.createElement('div')
    runs.className = 'image-runs'
    const show = (): void => {
      const step = steps[Number(slider.value)]
      label.textContent = `step ${step} (${Number(slider.value) + 1}/${steps.length})`
      runs.replaceChildren()
      for (const item of images.filter(each => each.tag === tag)) {
        const at = imageAt(item.steps, step)
        const figure = document.createElement('figure')
        const caption = document.createElement('figcaption')
        caption.textContent = `${item.run} · step ${at?.step ?? '-'}${at ? ` · ${at.width}×${at.height}` : ''}`
        if (at?.uri) {
          const img = document.createElement('img')
          img.src = at.uri
          img.alt = `${item.run} ${tag} step ${at.step}`
          img.dataset.step = String(at.step)
          figure.append(img)
        } else {
          caption.textContent += ' (too large to send)'
        }
        figure.append(caption)
        runs.append(figure)
      }
    }
    slider.addEventListener('input', () => {
      const value = Number(slider.value)
      if (value === steps.length - 1) {
        imageSteps.delete(tag)
      } else {
        imageSteps.set(tag, steps[value])
      }
      show()
    })
    show()
    bar.append(slider, label)
    section.append(title, bar, runs)
    container.append(section)
  }
}

/** A key below the charts for up to 20 runs (out of the plot area); beyond, hover tells. */
const drawKey = (): void => {
  const key = $('key')
  key.replaceChildren()
  const { colour } = settings()
  const colours = coloursByParam(data!.runs, colour)
  if (colour) {
    const values = [...new Set(data!.runs.map(run => String(run.params[colour])))]
    key.textContent = `colour: ${colour} (${values.length} values) `
    for (const run of data!.runs.filter((item, index, all) => all.findIndex(other => String(other.params[colour]) === String(item.params[colour])) === index).slice(0, 20)) {
      const chip = document.createElement('span')
      chip.className = 'chip'
      chip.style.setProperty('--c', colours.get(run.run) ?? '#888')
      chip.textContent = String(run.params[colour])
      key.append(chip)
    }
    return
  }
  if (data!.runs.length > 20) {
    key.textContent = `${data!.runs.length} runs: hover a line for its run and params; colour by a param to see a pattern`
    return
  }
  for (const run of data!.runs) {
    const chip = document.createElement('span')
    chip.className = 'chip'
    chip.style.setProperty('--c', colours.get(run.run) ?? '#888')
    chip.textContent = run.run
    key.append(chip)
  }
}

const render = (): void => {
  if (!data) {
    return
  }
  const started = performance.now()
  drawKey()
  if (view === 'curves') {
    drawCurves()
  } else if (view === 'scatter') {
    drawScatter()
  } else if (view === 'images') {
    drawImages()
  } else {
    drawParallel()
  }
  document.body.dataset.drawMs = String(Math.round(performance.now() - started))
  document.body.dataset.points = String(data.series.reduce((sum, item) => sum + item.steps.length, 0))
}

const fillSelect = (id: string, options: string[], keep: string): void => {
  const select = $<HTMLSelectElement>(id)
  const current = select.value || keep
  select.replaceChildren(...options.map(option => new Option(option || '—', option, false, option === current)))
}

const showControls = (): void => {
  const keys = $('keys')
  keys.replaceChildren()
  for (const key of data!.keys) {
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
      render()
    })
    label.append(box, ` ${key}`)
    keys.append(label)
  }
  const params = varyingParams(data!.runs)
  const allParams = [...new Set(data!.runs.flatMap(run => Object.keys(run.params)))].sort()
  const metrics = [...new Set(data!.runs.flatMap(run => Object.keys(run.metrics)))].sort()
  fillSelect('colour', ['', ...params], '')
  fillSelect('scatter-x', allParams, params[0] ?? allParams[0] ?? '')
  fillSelect('scatter-y', metrics, data!.selected.find(key => metrics.includes(key)) ?? metrics[0] ?? '')
}

const setView = (next: typeof view): void => {
  view = next
  for (const tab of document.querySelectorAll<HTMLButtonElement>('[data-view]')) {
    tab.classList.toggle('active', tab.dataset.view === next)
  }
  $('curve-controls').hidden = next !== 'curves'
  $('scatter-controls').hidden = next === 'curves' || next === 'images'
  $('charts').hidden = next === 'images'
  $('images').hidden = next !== 'images'
  clearCharts()
  render()
}

for (const tab of document.querySelectorAll<HTMLButtonElement>('[data-view]')) {
  tab.addEventListener('click', () => setView(tab.dataset.view as typeof view))
}
for (const id of ['x', 'log', 'smooth', 'colour', 'scatter-x', 'scatter-y']) {
  $(id).addEventListener(id === 'smooth' ? 'input' : 'change', () => {
    $('smooth-value').textContent = $<HTMLInputElement>('smooth').value
    render()
  })
}
window.addEventListener('resize', () => charts.forEach(chart => chart.resize()))

window.addEventListener('message', (event: MessageEvent<{ type: string; data: DashboardMessage }>) => {
  if (event.data?.type !== 'data') {
    return
  }
  const received = performance.now()
  const first = data === undefined || data.title !== event.data.data.title
  data = fromMessage(event.data.data)
  if (first) {
    selected.clear()
    data.selected.filter(key => data!.keys.includes(key)).forEach(key => selected.add(key))
    if (selected.size === 0) {
      data.keys.slice(0, 4).forEach(key => selected.add(key))
    }
    clearCharts()
  }
  $('title').textContent = data.title
  $('live').hidden = !data.live
  const hasImages = (data.images ?? []).length > 0
  document.querySelector<HTMLButtonElement>('[data-view="images"]')!.hidden = !hasImages
  document.body.dataset.images = String((data.images ?? []).length)
  if (!hasImages && view === 'images') {
    view = 'curves'
    setView('curves')
  }
  showControls()
  render()
  document.body.dataset.updates = String(Number(document.body.dataset.updates ?? 0) + 1)
  // for the benchmark: the message's arrival to the frame after the draw, and that frame by
  // the machine's clock (ms since the epoch)
  requestAnimationFrame(() =>
    setTimeout(() => {
      document.body.dataset.paintedMs = String(Math.round(performance.now() - received))
      document.body.dataset.paintedAt = String(performance.timeOrigin + performance.now())
      document.body.dataset.receivedAt = String(performance.timeOrigin + received)
    })
  )
})

// For the benchmark: when this frame started to load (ms since the epoch), and how long it
// took to get to this script (its download and compile) and to run it
document.body.dataset.loaded = JSON.stringify({
  at: performance.timeOrigin,
  fetched: performance.getEntriesByType('resource').find(entry => entry.name.endsWith('.js'))?.toJSON(),
  script: scriptStart,
  done: performance.now()
})
