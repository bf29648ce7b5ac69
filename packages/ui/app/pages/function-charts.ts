import { Chart, type ChartSeries } from '../chart.js';
import { errorText, ms } from '../format.js';
import { client } from '../session.js';
import { useAsync } from '../use-async.js';
import type { FunctionStats, StatsBucket } from '../vendor/client/index.js';
import { type VNode, html, useEffect, useMemo } from '../vendor/htm-preact.js';

/** The charts follow new calls without a reload (the workers count a job as it ends). */
const REFRESH_MS = 30_000;

interface ChartSpec {
  title: string;
  unit?: string;
  series: ChartSeries[];
}

function specs(stats: FunctionStats): ChartSpec[] {
  const col = <K extends keyof StatsBucket>(k: K) => stats.buckets.map((b) => b[k]);
  return [
    {
      title: 'Invocations per minute',
      series: [
        { label: 'calls', values: col('invocations'), color: '#2f6fde' },
        { label: 'errors', values: col('errors'), color: '#d43c3c' },
      ],
    },
    {
      title: 'Duration (ms)',
      unit: ' ms',
      series: [
        { label: 'p50', values: col('p50_ms'), color: '#2f9e5b', points: true },
        { label: 'p95', values: col('p95_ms'), color: '#c07a12', points: true },
      ],
    },
    {
      title: 'Starts',
      series: [
        { label: 'cold', values: col('cold'), color: '#5b5bd6' },
        { label: 'warm', values: col('warm'), color: '#2aa3a3' },
      ],
    },
    {
      title: 'Peak memory (MiB)',
      unit: ' MiB',
      series: [{ label: 'peak', values: col('peak_memory_mb'), color: '#a23fb8', points: true }],
    },
  ];
}

/**
 * The last hour of a function, a point a minute (GET /functions/{ref}/stats): calls, durations, starts,
 * memory; read again every 30 s.
 */
export function FunctionCharts(props: { name: string; refresh: number }): VNode {
  const stats = useAsync(
    () => client().functionStats(props.name, { window: '1h', step: 60 }),
    [props.name, props.refresh],
  );
  useEffect(() => {
    const t = setInterval(stats.reload, REFRESH_MS);
    return () => clearInterval(t);
  }, [stats.reload]);
  const charts = useMemo(() => (stats.data ? specs(stats.data) : undefined), [stats.data]);
  const t = useMemo(() => stats.data?.buckets.map((b) => b.t) ?? [], [stats.data]);
  const totals = stats.data?.totals;
  return html`<section aria-labelledby="charts-title">
    <h2 id="charts-title">Last hour</h2>
    ${stats.error ? html`<p class="error" role="alert">${errorText(stats.error)}</p>` : ''}
    ${
      totals &&
      html`<p class="muted" data-testid="stats-totals">${totals.invocations} calls, ${totals.errors} errors,
      p50 ${ms(totals.p50_ms)}, p95 ${ms(totals.p95_ms)}, ${totals.cold} cold / ${totals.warm} warm</p>`
    }
    ${
      // Charts without a single point draw no scale and pile up their time labels: say so instead.
      totals?.invocations === 0
        ? html`<p class="muted" data-testid="stats-empty">No calls in the last hour: the charts appear with the first.</p>`
        : html`<div class="charts">
      ${charts?.map((c) => html`<${Chart} key=${c.title} title=${c.title} unit=${c.unit} t=${t} series=${c.series} />`)}
    </div>`
    }
  </section>`;
}
