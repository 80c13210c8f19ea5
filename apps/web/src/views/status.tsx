/** @jsxImportSource hono/jsx */
// The status page (/status): every upstream's breaker as the BFF sees it (colour and word) with a sparkline of
// its recent latency, each queue's counts, each service's outbox backlog, the dead letters, Redis; a part the
// BFF could not read is said in words. Reloads itself every 2 seconds (a meta refresh; `?refresh=off` stops
// it). The switches that slow down or break inventory are shown where they may be used.
import type { OutboxStatus, QueueStatus, SystemStatus, UpstreamStatus } from "../admin-shapes.ts";
import type { Chrome } from "../chrome.ts";
import { formatTime } from "../format.ts";
import type { StatusHistory } from "../status-history.ts";
import { Layout } from "./layout.tsx";
import { Banner, CsrfField, PostButton } from "./parts.tsx";
import { Sparkline } from "./sparkline.tsx";

export const REFRESH_SECONDS = 2;

export type StatusView = {
  chrome: Chrome;
  /** The BFF's answer; null when there is none to show, `problem` says why. */
  status: SystemStatus | null;
  problem?: string;
  history: StatusHistory;
  refresh: boolean;
  /** Whether the switches form is shown (development, or an admin). */
  switches: boolean;
};

const STATE_WORDS: Record<string, string> = {
  closed: "Closed: calls go through",
  open: "Open: calls are refused for now",
  half_open: "Half-open: trying calls again",
};

const countText = (n: number | null | undefined) => (n === null || n === undefined ? "unknown" : String(n));

function BreakerState(props: { upstream: UpstreamStatus }) {
  const { state, half_open_in_ms } = props.upstream;
  const known = Object.hasOwn(STATE_WORDS, state);
  return (
    <>
      <span class={`state ${known ? state : "unknown"}`}>{known ? STATE_WORDS[state] : `Unknown state: ${state}`}</span>
      {state === "open" && typeof half_open_in_ms === "number" ? <span class="hint"> (tries again in {(half_open_in_ms / 1000).toFixed(1)} s)</span> : null}
      <Replicas replicas={props.upstream.replicas ?? null} />
    </>
  );
}

/** An upstream given as a list of replicas: how many take calls, and which are left out or refused. */
function Replicas(props: { replicas: NonNullable<UpstreamStatus["replicas"]> | null }) {
  if (!props.replicas?.length) return null;
  const out = props.replicas.filter((r) => r.state === "open" || typeof r.ejected_for_ms === "number");
  return (
    <span class="hint">
      {" "}
      ({props.replicas.length - out.length} of {props.replicas.length} replicas taking calls
      {out.map((r) => (typeof r.ejected_for_ms === "number" ? `; ${r.url} left out for ${(r.ejected_for_ms / 1000).toFixed(1)} s` : `; ${r.url} breaker open`)).join("")})
    </span>
  );
}

function Upstreams(props: { upstreams: UpstreamStatus[] | null; history: StatusHistory }) {
  if (props.upstreams === null) return <Banner kind="warn">The breakers are unavailable right now.</Banner>;
  if (props.upstreams.length === 0) return <p>The BFF reports no upstreams.</p>;
  return (
    <table>
      <caption class="vh">Each upstream's breaker and latency as the BFF sees them</caption>
      <thead>
        <tr>
          <th scope="col">Upstream</th>
          <th scope="col">Breaker</th>
          <th scope="col" class="num">
            Calls
          </th>
          <th scope="col" class="num">
            Failures
          </th>
          <th scope="col" class="num">
            Slow
          </th>
          <th scope="col">Latency (median, 99th percentile)</th>
          <th scope="col">Recent median latency</th>
        </tr>
      </thead>
      <tbody>
        {props.upstreams.map((u) => (
          <tr>
            <th scope="row">{u.name}</th>
            <td>
              <BreakerState upstream={u} />
            </td>
            <td class="num">{countText(u.calls)}</td>
            <td class="num">{countText(u.failures)}</td>
            <td class="num">{countText(u.slow)}</td>
            <td>{u.latency_ms && u.latency_ms.p50 !== null ? `${u.latency_ms.p50} ms, ${u.latency_ms.p99 ?? "?"} ms (${u.latency_ms.count} calls)` : "No calls yet"}</td>
            <td>
              <Sparkline name={u.name} samples={props.history.samples(u.name)} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Queues(props: { queues: QueueStatus[] | null }) {
  if (props.queues === null) return <Banner kind="warn">The queues are unavailable right now.</Banner>;
  if (props.queues.length === 0) return <p>No queues.</p>;
  return (
    <table>
      <caption class="vh">Each queue's jobs by state</caption>
      <thead>
        <tr>
          <th scope="col">Queue</th>
          {["Waiting", "Active", "Delayed", "Failed"].map((h) => (
            <th scope="col" class="num">
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.queues.map((q) => (
          <tr>
            <th scope="row">{q.name}</th>
            <td class="num">{countText(q.waiting)}</td>
            <td class="num">{countText(q.active)}</td>
            <td class="num">{countText(q.delayed)}</td>
            <td class="num">{countText(q.failed)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The failed jobs: retried to the end and kept for a person to look at. */
function DeadLetters(props: { queues: QueueStatus[] | null }) {
  if (props.queues === null) return <p>Dead letters are unknown right now (the queues are unavailable).</p>;
  const dead = props.queues.filter((q) => (q.failed ?? 0) > 0);
  const unknown = props.queues.filter((q) => q.failed === null);
  const total = dead.reduce((sum, q) => sum + (q.failed ?? 0), 0);
  return (
    <>
      <p>{total === 0 ? "No dead letters." : `${total} dead ${total === 1 ? "letter" : "letters"}:`}</p>
      {dead.length ? (
        <ul>
          {dead.map((q) => (
            <li>
              {q.name}: {q.failed}
            </li>
          ))}
        </ul>
      ) : null}
      {unknown.length ? <p>Unknown for: {unknown.map((q) => q.name).join(", ")}.</p> : null}
    </>
  );
}

function Outboxes(props: { outboxes: OutboxStatus[] | null }) {
  if (props.outboxes === null) return <Banner kind="warn">The outbox backlogs are unavailable right now.</Banner>;
  if (props.outboxes.length === 0) return <p>No outboxes.</p>;
  return (
    <table>
      <caption class="vh">Events each service has yet to publish</caption>
      <thead>
        <tr>
          <th scope="col">Service</th>
          <th scope="col" class="num">
            Events not yet published
          </th>
        </tr>
      </thead>
      <tbody>
        {props.outboxes.map((o) => (
          <tr>
            <th scope="row">{o.service}</th>
            <td class="num">{o.pending === null ? "Not answering" : o.pending}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Switches(props: { csrfToken: string }) {
  return (
    <section aria-labelledby="switches-heading">
      <h2 id="switches-heading">Switches: slow down or break inventory</h2>
      <p class="hint">
        For trying the breakers: inventory takes these from its next request (it must run with INVENTORY_CHAOS_SWITCHES=1). Leave both delays empty for
        none.
      </p>
      <form method="post" action="/status/switches" class="stack">
        <CsrfField token={props.csrfToken} />
        <div>
          <label for="delay_min">
            Least delay <span class="hint">(milliseconds)</span>
          </label>
          <input id="delay_min" name="delay_min" type="number" min={0} max={60000} />
        </div>
        <div>
          <label for="delay_max">
            Most delay <span class="hint">(milliseconds)</span>
          </label>
          <input id="delay_max" name="delay_max" type="number" min={0} max={60000} />
        </div>
        <div>
          <label for="fail_rate">
            Failure rate <span class="hint">(percent of requests answered with an error)</span>
          </label>
          <input id="fail_rate" name="fail_rate" type="number" min={0} max={100} step="any" required value="0" />
        </div>
        <div>
          <button type="submit">Set the switches</button>
        </div>
      </form>
      <PostButton action="/status/switches" csrfToken={props.csrfToken} fields={{ delay_min: "", delay_max: "", fail_rate: "0" }} class="secondary">
        Switch off: no delay, no failures
      </PostButton>
    </section>
  );
}

export function StatusPage(props: StatusView) {
  const { chrome, status } = props;
  return (
    <Layout title="Status" chrome={chrome} refreshSeconds={props.refresh ? REFRESH_SECONDS : undefined}>
      <h1>Status</h1>
      <p>
        {props.refresh ? (
          <>
            This page reloads every {REFRESH_SECONDS} seconds. <a href="/status?refresh=off">Stop reloading</a>
          </>
        ) : (
          <>
            This page does not reload by itself. <a href="/status">Reload every {REFRESH_SECONDS} seconds</a>
          </>
        )}
        {status?.generated_at ? <> · Read at {formatTime(status.generated_at)}</> : null}
      </p>
      {status === null ? (
        <Banner kind="error">{props.problem ?? "The status is unavailable right now."}</Banner>
      ) : (
        <>
          <p>
            Redis:{" "}
            {status.redis === "up" ? <span class="up">up</span> : status.redis === "down" ? <span class="down">down</span> : <span>unknown right now</span>}
          </p>
          <section aria-labelledby="upstreams-heading">
            <h2 id="upstreams-heading">Upstreams</h2>
            <Upstreams upstreams={status.upstreams} history={props.history} />
          </section>
          <section aria-labelledby="queues-heading">
            <h2 id="queues-heading">Queues</h2>
            <Queues queues={status.queues} />
          </section>
          <section aria-labelledby="dead-heading">
            <h2 id="dead-heading">Dead letters</h2>
            <DeadLetters queues={status.queues} />
          </section>
          <section aria-labelledby="outboxes-heading">
            <h2 id="outboxes-heading">Outboxes</h2>
            <Outboxes outboxes={status.outboxes} />
          </section>
        </>
      )}
      {props.switches ? <Switches csrfToken={chrome.csrfToken} /> : null}
    </Layout>
  );
}
