// A small metrics registry and the Prometheus text exposition format, version 0.0.4. Written here
// rather than taken from prom-client: mailroom needs counters, gauges and histograms with fixed label
// names and nothing else (no default process collectors, no push gateway, no global registry), and a
// registry per server keeps two embedded servers in one process apart.

/** The format /metrics answers in (the Content-Type Prometheus expects for text exposition 0.0.4). */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Label sets per metric past which new ones are folded into one series whose labels all read
 * "overflow": a bug that puts a client-chosen value in a label must cost one series, not memory.
 */
export const MAX_SERIES_PER_METRIC = 500;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Seconds: from a quick in-memory reply to a slow store or remote MX. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

type LabelValues<L extends string> = Record<L, string>;

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Go's float formatting as Prometheus reads it: +Inf, -Inf, NaN, else the shortest decimal. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

function formatLabels(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const pairs = names.map((name, index) => `${name}="${escapeLabelValue(values[index] ?? "")}"`);
  if (extra) pairs.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
}

abstract class Metric<L extends string, S> {
  protected readonly series = new Map<string, { values: string[]; state: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
  ) {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
    for (const label of labelNames) {
      // "le" is the histogram's own label; names starting "__" are reserved by Prometheus.
      if (!LABEL_NAME.test(label) || label.startsWith("__") || label === "le")
        throw new Error(`invalid label name ${JSON.stringify(label)} on ${name}`);
    }
  }

  abstract readonly type: "counter" | "gauge" | "histogram";
  protected abstract initial(): S;
  protected abstract samples(values: readonly string[], state: S): string[];

  protected stateFor(labels: LabelValues<L> | undefined): S {
    let values = this.labelNames.map((name) => String(labels?.[name] ?? ""));
    let key = values.join("\u0000");
    let entry = this.series.get(key);
    if (entry === undefined) {
      if (this.series.size >= MAX_SERIES_PER_METRIC) {
        values = this.labelNames.map(() => "overflow");
        key = values.join("\u0000");
        entry = this.series.get(key);
      }
      if (entry === undefined) {
        entry = { values, state: this.initial() };
        this.series.set(key, entry);
      }
    }
    return entry.state;
  }

  expose(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const { values, state } of this.series.values()) lines.push(...this.samples(values, state));
    return `${lines.join("\n")}\n`;
  }
}

export class Counter<L extends string = never> extends Metric<L, { value: number }> {
  readonly type = "counter";
  protected initial() {
    return { value: 0 };
  }
  inc(labels?: LabelValues<L>, by = 1): void {
    if (!(by >= 0)) throw new Error(`${this.name}: a counter only goes up`);
    this.stateFor(labels).value += by;
  }
  /** Makes a series show as 0 before its first event, so rate() sees it from the start. */
  touch(labels?: LabelValues<L>): void {
    this.stateFor(labels);
  }
  protected samples(values: readonly string[], state: { value: number }): string[] {
    return [`${this.name}${formatLabels(this.labelNames, values)} ${formatValue(state.value)}`];
  }
}

export class Gauge<L extends string = never> extends Metric<L, { value: number }> {
  readonly type = "gauge";
  protected initial() {
    return { value: 0 };
  }
  set(labels: LabelValues<L> | undefined, value: number): void {
    this.stateFor(labels).value = value;
  }
  inc(labels?: LabelValues<L>, by = 1): void {
    this.stateFor(labels).value += by;
  }
  dec(labels?: LabelValues<L>, by = 1): void {
    this.stateFor(labels).value -= by;
  }
  protected samples(values: readonly string[], state: { value: number }): string[] {
    return [`${this.name}${formatLabels(this.labelNames, values)} ${formatValue(state.value)}`];
  }
}

interface HistogramState {
  /** Per bucket, observations ≤ its bound (not yet cumulative). */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram<L extends string = never> extends Metric<L, HistogramState> {
  readonly type = "histogram";
  readonly buckets: readonly number[];

  constructor(name: string, help: string, labelNames: readonly L[], buckets: readonly number[]) {
    super(name, help, labelNames);
    const sorted = [...buckets].sort((a, b) => a - b);
    if (sorted.length === 0 || sorted.some((bound, i) => !Number.isFinite(bound) || bound === sorted[i - 1]))
      throw new Error(`${name}: buckets must be distinct finite numbers`);
    this.buckets = sorted;
  }

  protected initial(): HistogramState {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }

  observe(labels: LabelValues<L> | undefined, value: number): void {
    if (!Number.isFinite(value)) return;
    const state = this.stateFor(labels);
    const index = this.buckets.findIndex((bound) => value <= bound);
    if (index !== -1) state.counts[index] = (state.counts[index] ?? 0) + 1;
    state.sum += value;
    state.count += 1;
  }

  /** Starts a timer; the function it returns records the seconds elapsed. */
  startTimer(labels?: LabelValues<L>): () => void {
    const start = process.hrtime.bigint();
    return () => this.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
  }

  protected samples(values: readonly string[], state: HistogramState): string[] {
    const lines: string[] = [];
    let cumulative = 0;
    this.buckets.forEach((bound, index) => {
      cumulative += state.counts[index] ?? 0;
      lines.push(
        `${this.name}_bucket${formatLabels(this.labelNames, values, ["le", formatValue(bound)])} ${cumulative}`,
      );
    });
    lines.push(`${this.name}_bucket${formatLabels(this.labelNames, values, ["le", "+Inf"])} ${state.count}`);
    lines.push(`${this.name}_sum${formatLabels(this.labelNames, values)} ${formatValue(state.sum)}`);
    lines.push(`${this.name}_count${formatLabels(this.labelNames, values)} ${state.count}`);
    return lines;
  }
}

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

export class Registry {
  private readonly metrics = new Map<string, AnyMetric>();
  private readonly collectors: Array<() => Promise<void> | void> = [];

  counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return this.add(new Counter<L>(name, help, labelNames));
  }

  gauge<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return this.add(new Gauge<L>(name, help, labelNames));
  }

  histogram<L extends string = never>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    buckets: readonly number[] = LATENCY_BUCKETS,
  ): Histogram<L> {
    return this.add(new Histogram<L>(name, help, labelNames, buckets));
  }

  /** Runs before each exposition: gauges read from elsewhere (the queue) are set here. */
  collect(collector: () => Promise<void> | void): void {
    this.collectors.push(collector);
  }

  /**
   * The text exposition. A collector that fails, or has not finished within `timeoutMs`, is reported
   * and leaves its gauges at their last values: a hung store must not hang the scrape.
   */
  async expose(onCollectorError?: (error: unknown) => void, timeoutMs = 5_000): Promise<string> {
    await Promise.all(
      this.collectors.map(async (collector) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`a collector took over ${timeoutMs} ms`)), timeoutMs);
        });
        try {
          await Promise.race([Promise.resolve().then(collector), timeout]);
        } catch (error) {
          onCollectorError?.(error);
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return [...this.metrics.values()].map((metric) => metric.expose()).join("");
  }

  private add<M extends AnyMetric>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`metric ${metric.name} is registered twice`);
    this.metrics.set(metric.name, metric);
    return metric;
  }
}
