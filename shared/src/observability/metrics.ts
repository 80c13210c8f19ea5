// A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text exposition
// format. Hand-written because what the apps need is ~100 lines and must stay cheap on the hot path
// (a label set is one Map lookup by a joined key).

type LabelValues = readonly (string | number)[];

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const keyOf = (values: LabelValues) => values.join("\u0001");
const renderLabels = (names: readonly string[], values: LabelValues, extra = "") => {
  const parts = names.map((n, i) => `${n}="${escapeLabel(String(values[i]))}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
};

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  private readonly series = new Map<string, { values: LabelValues; value: number }>();
  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly string[] = []) {}
  inc(values: LabelValues = [], by = 1) {
    const key = keyOf(values);
    const s = this.series.get(key);
    if (s) s.value += by;
    else this.series.set(key, { values: [...values], value: by });
  }
  get(values: LabelValues = []): number {
    return this.series.get(keyOf(values))?.value ?? 0;
  }
  render() {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    for (const s of this.series.values()) out += `${this.name}${renderLabels(this.labelNames, s.values)} ${s.value}\n`;
    return out;
  }
}

/** Values read when scraped, e.g. breaker states or memory. */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly collect: () => Iterable<[LabelValues, number]>,
  ) {}
  render() {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n`;
    for (const [values, value] of this.collect()) out += `${this.name}${renderLabels(this.labelNames, values)} ${value}\n`;
    return out;
  }
}

/** Seconds, from 1 ms to 10 s: request and upstream latencies. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Histogram implements Metric {
  private readonly series = new Map<string, { values: LabelValues; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[] = [],
    readonly buckets: readonly number[] = LATENCY_BUCKETS,
  ) {}
  observe(values: LabelValues, value: number) {
    const key = keyOf(values);
    let s = this.series.get(key);
    if (!s) {
      s = { values: [...values], counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    // Non-cumulative here; made cumulative when rendered.
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i++;
    if (i < this.buckets.length) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  count(values: LabelValues = []): number {
    return this.series.get(keyOf(values))?.count ?? 0;
  }
  render() {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += s.counts[i]!;
        out += `${this.name}_bucket${renderLabels(this.labelNames, s.values, `le="${this.buckets[i]}"`)} ${cumulative}\n`;
      }
      out += `${this.name}_bucket${renderLabels(this.labelNames, s.values, 'le="+Inf"')} ${s.count}\n`;
      out += `${this.name}_sum${renderLabels(this.labelNames, s.values)} ${s.sum}\n`;
      out += `${this.name}_count${renderLabels(this.labelNames, s.values)} ${s.count}\n`;
    }
    return out;
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  counter(name: string, help: string, labelNames: readonly string[] = []) {
    return this.add(new Counter(name, help, labelNames));
  }
  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets?: readonly number[]) {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }
  gauge(name: string, help: string, labelNames: readonly string[], collect: () => Iterable<[LabelValues, number]>) {
    return this.add(new Gauge(name, help, labelNames, collect));
  }
  render(): string {
    return this.metrics.map((m) => m.render()).join("");
  }
  private add<M extends Metric>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
