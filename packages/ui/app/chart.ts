import type uPlotType from './vendor/uplot.js';
import { type VNode, html, useEffect, useRef } from './vendor/htm-preact.js';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
  /** Draw each value as a dot too: a lone minute between gaps has no line. @default false */
  points?: boolean;
}

/** Short tick labels (1.2k, 350) so the axis fits a phone. */
const compact = (v: number) => (Math.abs(v) >= 1000 ? `${Math.round(v / 100) / 10}k` : `${Math.round(v * 10) / 10}`);

// uPlot is loaded with the first chart, not with the page.
let uplot: Promise<typeof uPlotType> | undefined;
const loadUplot = () => (uplot ??= import('./vendor/uplot.js').then((m) => m.default));

/** A time-series chart (uPlot on a canvas) that follows its container's width. */
export function Chart(props: { title: string; t: number[]; series: ChartSeries[]; unit?: string }): VNode {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let chart: uPlotType | undefined;
    let gone = false;
    const observer = new ResizeObserver(() => chart?.setSize({ width: el.clientWidth, height: 180 }));
    loadUplot().then((UPlot) => {
      if (gone) return;
      const unit = props.unit ?? '';
      chart = new UPlot(
        {
          width: el.clientWidth || 300,
          height: 180,
          legend: { show: true },
          // Room on the right for the last time label, which is centred on the chart's edge.
          padding: [null, 24, null, null],
          series: [
            {},
            ...props.series.map((s) => ({
              label: s.label,
              stroke: s.color,
              width: 2,
              spanGaps: false,
              points: { show: s.points ?? false, size: 6, fill: s.color },
              value: (_u: uPlotType, v: number | null) => (v === null ? '–' : `${Math.round(v * 10) / 10}${unit}`),
            })),
          ],
          axes: [
            {},
            { size: 64, values: (_u: uPlotType, ticks: number[]) => ticks.map((v) => `${compact(v)}${unit}`) },
          ],
        },
        [props.t, ...props.series.map((s) => s.values)] as uPlotType.AlignedData,
        el,
      );
      observer.observe(el);
    });
    return () => {
      gone = true;
      observer.disconnect();
      chart?.destroy();
    };
  }, [props.t, props.series, props.unit]);
  return html`<figure class="chart">
    <figcaption>${props.title}</figcaption>
    <div ref=${box} role="img" aria-label=${`${props.title} over time`}></div>
  </figure>`;
}
