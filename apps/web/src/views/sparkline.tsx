/** @jsxImportSource hono/jsx */
// A small inline SVG line of an upstream's recent median latency (status-history.ts's samples), drawn on the
// server: no script, no image request. Its label says in words what the line shows.
import type { LatencySample } from "../status-history.ts";

export const SPARK_WIDTH = 120;
export const SPARK_HEIGHT = 28;
const PAD = 2;

const ms = (value: number) => `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;

/** The polyline's points: oldest on the left, 0 ms at the bottom, the largest reading at the top. */
export function sparkPoints(values: readonly number[]): string {
  if (values.length === 0) return "";
  const top = Math.max(...values, 1);
  const x = (i: number) => (values.length === 1 ? [PAD, SPARK_WIDTH - PAD] : [PAD + (i * (SPARK_WIDTH - 2 * PAD)) / (values.length - 1)]);
  const y = (v: number) => SPARK_HEIGHT - PAD - (v / top) * (SPARK_HEIGHT - 2 * PAD);
  return values.flatMap((v, i) => x(i).map((px) => `${px.toFixed(1)},${y(v).toFixed(1)}`)).join(" ");
}

export function Sparkline(props: { name: string; samples: readonly LatencySample[] }) {
  const values = props.samples.map((s) => s.p50).filter((v): v is number => v !== null);
  if (values.length === 0) return <span class="hint">No latency readings yet</span>;
  const label = `Median latency of ${props.name} over the last ${values.length} ${values.length === 1 ? "reading" : "readings"}: from ${ms(Math.min(...values))} to ${ms(Math.max(...values))}, now ${ms(values.at(-1)!)}`;
  return (
    <svg class="spark" role="img" aria-label={label} width={SPARK_WIDTH} height={SPARK_HEIGHT} viewBox={`0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}`} xmlns="http://www.w3.org/2000/svg">
      <title>{label}</title>
      <polyline fill="none" stroke="#0b57d0" stroke-width="1.5" points={sparkPoints(values)} />
    </svg>
  );
}
