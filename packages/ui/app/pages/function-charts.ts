import { Chart } from '../chart.js';
import { errorText } from '../format.js';
import { bucketJobs, recentJobs } from '../job-stats.js';
import { client } from '../session.js';
import { useAsync } from '../use-async.js';
import { type VNode, html, useMemo } from '../vendor/htm-preact.js';

const WINDOW_SEC = 3600;
const STEP_SEC = 60;

/** The last hour of a function, a point a minute: calls, durations, cold vs warm starts, peak memory. */
export function FunctionCharts(props: { name: string; refresh: number }): VNode {
  const stats = useAsync(async () => {
    const { jobs, complete } = await recentJobs(client(), { function: props.name, windowMs: WINDOW_SEC * 1000 });
    return { series: bucketJobs(jobs, WINDOW_SEC, STEP_SEC), complete };
  }, [props.name, props.refresh]);
  const charts = useMemo(() => {
    const s = stats.data?.series;
    if (!s) return undefined;
    return [
      {
        title: 'Invocations per minute',
        series: [
          { label: 'calls', values: s.invocations, color: '#2f6fde' },
          { label: 'errors', values: s.errors, color: '#d43c3c' },
        ],
      },
      {
        title: 'Duration (ms)',
        unit: ' ms',
        series: [
          { label: 'p50', values: s.p50, color: '#2f9e5b', points: true },
          { label: 'p95', values: s.p95, color: '#c07a12', points: true },
        ],
      },
      {
        title: 'Starts',
        series: [
          { label: 'cold', values: s.cold, color: '#5b5bd6' },
          { label: 'warm', values: s.warm, color: '#2aa3a3' },
        ],
      },
      {
        title: 'Peak memory (MiB)',
        unit: ' MiB',
        series: [{ label: 'peak', values: s.peakMemoryMb, color: '#a23fb8', points: true }],
      },
    ];
  }, [stats.data]);
  return html`<section aria-labelledby="charts-title">
    <h2 id="charts-title">Last hour</h2>
    ${stats.error ? html`<p class="error" role="alert">${errorText(stats.error)}</p>` : ''}
    ${stats.data && !stats.data.complete ? html`<p class="muted">Drawn from the newest 1000 jobs.</p>` : ''}
    <div class="charts">
      ${charts?.map((c) => html`<${Chart} key=${c.title} title=${c.title} unit=${c.unit} t=${stats.data!.series.t} series=${c.series} />`)}
    </div>
  </section>`;
}
