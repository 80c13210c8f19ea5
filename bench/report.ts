// What each scenario hands back (its targets checked and its details as markdown), and RESULTS.md built from them.

export type TargetRow = {
  scenario: string;
  metric: string;
  /** As written in the issue, e.g. "<= 25 ms". */
  target: string;
  measured: string;
  /** null when it could not be measured (a tool missing, a scenario skipped). */
  met: boolean | null;
};

export type Section = {
  title: string;
  targets: TargetRow[];
  /** Markdown: how it was measured and the detailed numbers. */
  body: string[];
};

export const ms = (v: number, digits = 1) => (Number.isFinite(v) ? `${v.toFixed(digits)} ms` : "n/a");
export const mb = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} MB` : "n/a");
export const num = (v: number, digits = 0) =>
  Number.isFinite(v) ? v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }) : "n/a";

/** A target of the form "value <= limit". */
export function atMost(scenario: string, metric: string, value: number, limit: number, unit: string, measured?: string): TargetRow {
  return {
    scenario,
    metric,
    target: `<= ${num(limit, 0)} ${unit}`.trim(),
    measured: measured ?? `${num(value, 1)} ${unit}`.trim(),
    met: Number.isFinite(value) ? value <= limit : null,
  };
}

/** A target of the form "value >= limit". */
export function atLeast(scenario: string, metric: string, value: number, limit: number, unit: string, measured?: string): TargetRow {
  return {
    scenario,
    metric,
    target: `>= ${num(limit, 0)} ${unit}`.trim(),
    measured: measured ?? `${num(value, 1)} ${unit}`.trim(),
    met: Number.isFinite(value) ? value >= limit : null,
  };
}

export const skipped = (scenario: string, metric: string, target: string, why: string): TargetRow => ({ scenario, metric, target, measured: `not measured: ${why}`, met: null });

export function table(head: string[], rows: string[][]): string[] {
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)];
}

export type Machine = {
  cores: number;
  cpu: string;
  memoryGb: number;
  bun: string;
  wrk: string;
  postgres: string;
  date: string;
  durationS: number;
  /** Commit measured, and whether the working tree differed from it. */
  tree: string;
  /** 1-minute load average before the run and at the start of each scenario. */
  load: string;
};

export function renderResults(machine: Machine, sections: Section[], notes: string[]): string {
  const verdict = (m: boolean | null) => (m === null ? "–" : m ? "met" : "**missed**");
  const all = sections.flatMap((s) => s.targets);
  return [
    "# Benchmark results",
    "",
    "Written by `bun run bench` (bench/run.ts); numbers from one run on one machine, load generator included.",
    "",
    ...table(
      ["machine", "value"],
      [
        ["cores", String(machine.cores)],
        ["cpu", machine.cpu],
        ["memory", `${machine.memoryGb.toFixed(0)} GB`],
        ["Bun", machine.bun],
        ["wrk", machine.wrk],
        ["Postgres", machine.postgres],
        ["date", machine.date],
        ["run time", `${machine.durationS.toFixed(0)} s`],
        ["code measured", machine.tree],
        ["machine load (1-min load average)", machine.load],
      ],
    ),
    "",
    "## Targets",
    "",
    ...table(
      ["scenario", "metric", "target", "measured", ""],
      all.map((t) => [t.scenario, t.metric, t.target, t.measured, verdict(t.met)]),
    ),
    "",
    ...sections.flatMap((s) => [`## ${s.title}`, "", ...s.body, ""]),
    ...(notes.length ? ["## Notes", "", ...notes.map((n) => `- ${n}`), ""] : []),
  ].join("\n");
}

// `bun run chaos` keeps its own section in RESULTS.md between these markers; `bun run bench` rewrites the rest
// of the file and carries that section over.
export const CHAOS_START = "<!-- chaos:start -->";
export const CHAOS_END = "<!-- chaos:end -->";

/** The chaos section of a RESULTS.md, markers included, or null when it has none. */
export function chaosSection(markdown: string): string | null {
  const start = markdown.indexOf(CHAOS_START);
  const end = markdown.indexOf(CHAOS_END, start);
  return start >= 0 && end > start ? markdown.slice(start, end + CHAOS_END.length) : null;
}

/** `markdown` with its chaos section replaced by `section` (markers included), or with it appended at the end. */
export function withChaosSection(markdown: string, section: string | null): string {
  if (section === null) return markdown;
  const old = chaosSection(markdown);
  if (old !== null) return markdown.replace(old, () => section);
  return markdown.trim() ? `${markdown.trimEnd()}\n\n${section}\n` : `${section}\n`;
}
