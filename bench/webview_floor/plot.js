// The floor of the plots dashboard's benchmark (bench_webview.mjs): ECharts alone drawing the
// same curves in the same chart with the same ECharts settings (one 280 px line chart, a
// series per run, no symbols, LTTB sampling, no animation, flat x,y arrays: ECharts' fastest
// input; line width, emphasis, line events, an inside zoom), and none of the dashboard's code:
// no smoothing, colours by param, tooltip text, key or controls.
import { LineChart } from 'echarts/charts'
import { DataZoomComponent, GridComponent, TitleComponent, TooltipComponent } from 'echarts/components'
import * as echarts from 'echarts/core'
import { CanvasRenderer } from 'echarts/renderers'

echarts.use([LineChart, GridComponent, TitleComponent, TooltipComponent, DataZoomComponent, CanvasRenderer])
let chart
window.addEventListener('message', ({ data: message }) => {
  if (message.type !== 'data') return
  const started = performance.now()
  const { data: packed, index } = message.data.curves
  const series = index.map(({ run, at, count }) => {
    const flat = new Float64Array(2 * count)
    for (let i = 0; i < count; i++) {
      flat[2 * i] = packed[at + i]
      flat[2 * i + 1] = packed[at + count + i]
    }
    return {
      id: run, name: run, type: 'line', showSymbol: false, sampling: 'lttb', triggerLineEvent: true, lineStyle: { width: 1.4 },
      emphasis: { focus: 'series', lineStyle: { width: 2.5 } }, dimensions: ['x', 'y'], encode: { x: 0, y: 1 }, data: flat
    }
  })
  if (!chart) {
    const figure = document.createElement('figure')
    figure.style.height = '280px'
    document.getElementById('charts').append(figure)
    chart = echarts.init(figure, undefined, { renderer: 'canvas' })
  }
  chart.setOption({
    animation: false, title: { text: 'loss', left: 'center' }, grid: { left: 56, right: 16, top: 32, bottom: 40 },
    tooltip: { trigger: 'item' }, xAxis: { type: 'value', scale: true }, yAxis: { type: 'value', scale: true },
    dataZoom: [{ type: 'inside', xAxisIndex: 0 }], series
  }, { replaceMerge: ['series'] })
  document.body.dataset.drawMs = String(Math.round(performance.now() - started))
  document.body.dataset.points = String(index.reduce((sum, curve) => sum + curve.count, 0))
})
acquireVsCodeApi().postMessage({ type: 'ready' })
