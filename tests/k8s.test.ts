// Keeps deploy/k8s true to the code without a cluster: each overlay is built with `kubectl kustomize`, every
// object is checked against the Kubernetes schemas (kubernetes-models) with unknown keys rejected, and every app
// is checked for what running it safely needs: probes, resources, a locked-down security context, its Service,
// PDB and HPA, every environment variable its code reads, secrets only from Secrets, and network policies that
// let in only its callers (outside traffic only for web and the BFF) and let out only what it calls.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { APPS, type AppName, type AppSpec } from "../scripts/apps.ts";
import { SERVICE_CLIENTS } from "../scripts/auth.ts";
import { envReadBy } from "./support/env-reads.ts";
import { repoRoot } from "./support/processes.ts";

// ---- Kubernetes objects, loosely typed: the schema check below is what vouches for their shape. ----

type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [key: string]: any };
type Selector = { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: unknown } };
type Container = { name: string; image: string; command?: string[]; env?: EnvVar[]; envFrom?: { configMapRef?: { name: string }; secretRef?: unknown }[]; [key: string]: any };
type Port = { protocol?: string; port?: number | string };

const kubectl = Bun.which("kubectl");
const CI = process.env.CI === "true";
if (!kubectl && !CI) console.log("k8s.test.ts skipped: kubectl is not installed (it builds the kustomize overlays; CI=true makes this a failure)");

/** `kubectl kustomize <dir>` parsed into its objects, or the error kubectl gave. */
function render(dir: string): { objects: Obj[]; text: string; error: string | null } {
  const run = Bun.spawnSync([kubectl!, "kustomize", join(repoRoot, dir)], { stdout: "pipe", stderr: "pipe" });
  const text = run.stdout.toString();
  if (run.exitCode !== 0) return { objects: [], text, error: `kubectl kustomize ${dir} exited ${run.exitCode}: ${run.stderr.toString()}` };
  const parsed = Bun.YAML.parse(text) as Obj | Obj[];
  return { objects: (Array.isArray(parsed) ? parsed : [parsed]).filter(Boolean), text, error: null };
}

// ---- Schema validation, strict: kubernetes-models checks types and required fields but lets unknown keys
// through (a misspelled `readinesProbe` would be silently dropped by the API server). Its validators read every
// property their schema defines, and no other, so a key that validation never read is not in the schema. ----

async function modelFor(obj: Obj): Promise<{ prototype: { validate(this: unknown): void } }> {
  const module = await import(`kubernetes-models/${obj.apiVersion}/${obj.kind}`);
  return module[obj.kind];
}

/** Schema errors and unknown keys of one object, as "path: problem" lines (none when it is valid). */
async function schemaProblems(obj: Obj): Promise<string[]> {
  let model;
  try {
    model = await modelFor(obj);
  } catch {
    return [`no schema for ${obj.apiVersion} ${obj.kind}`];
  }
  const read = new Map<object, Set<PropertyKey>>();
  const track = (value: unknown): unknown => {
    if (value === null || typeof value !== "object") return value;
    const keys = new Set<PropertyKey>();
    read.set(value, keys);
    return new Proxy(value, {
      get(target, key, receiver) {
        keys.add(key);
        return track(Reflect.get(target, key, receiver));
      },
    });
  };
  // kustomize wraps long base64 values over several lines; the API server's decoder (Go's) skips line breaks,
  // the schema's "byte" format does not: compare what the server would decode.
  if (obj.kind === "Secret" && obj.data) obj = { ...obj, data: Object.fromEntries(Object.entries(obj.data as Record<string, string>).map(([k, v]) => [k, v.replace(/[\r\n]/g, "")])) };
  try {
    model.prototype.validate.call(track(obj));
  } catch (err) {
    return [(err as Error).message];
  }
  const unknown: string[] = [];
  const walk = (value: unknown, path: string) => {
    if (value === null || typeof value !== "object") return;
    if (Array.isArray(value)) return value.forEach((item, i) => walk(item, `${path}[${i}]`));
    const keys = read.get(value);
    for (const [key, child] of Object.entries(value)) {
      if (!keys?.has(key)) unknown.push(`${path}.${key}: not a field of ${obj.kind} (unknown key)`);
      else walk(child, `${path}.${key}`);
    }
  };
  walk(obj, "");
  return unknown;
}

// ---- Reading the build ----

const named = (objects: Obj[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const ofKind = (objects: Obj[], kind: string) => objects.filter((o) => o.kind === kind);
const containerOf = (workload: Obj): Container => workload.spec.template.spec.containers[0];

function matches(selector: Selector | undefined, labels: Record<string, string> = {}): boolean {
  if (!selector) return false;
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    if (operator === "In") return key in labels && values.includes(labels[key]!);
    if (operator === "NotIn") return !(key in labels) || !values.includes(labels[key]!);
    if (operator === "Exists") return key in labels;
    if (operator === "DoesNotExist") return !(key in labels);
    throw new Error(`unknown selector operator ${operator}`);
  });
  return byLabels && byExpressions;
}

/** Where each environment variable of a container comes from: a literal, a Secret key, or a ConfigMap. */
function envOf(container: Container, objects: Obj[]) {
  const env = new Map<string, { value?: string; secret?: { name: string; key: string; optional?: boolean }; configMap?: string }>();
  for (const from of container.envFrom ?? []) {
    const name = from.configMapRef?.name;
    const configMap = name ? named(objects, "ConfigMap", name) : undefined;
    if (!configMap) throw new Error(`${container.name}: envFrom names ConfigMap ${name}, which the build does not have`);
    for (const [key, value] of Object.entries((configMap.data ?? {}) as Record<string, string>)) env.set(key, { value, configMap: name });
  }
  for (const entry of container.env ?? []) env.set(entry.name, { value: entry.value, secret: entry.valueFrom?.secretKeyRef });
  return env;
}

const workloads = (objects: Obj[]) => [...ofKind(objects, "Deployment"), ...ofKind(objects, "StatefulSet")];
const podName = (workload: Obj): string => workload.spec.template.metadata.labels["app.kubernetes.io/name"];
const policies = (objects: Obj[]) => ofKind(objects, "NetworkPolicy");
const portKey = (p: Port) => `${p.protocol ?? "TCP"}/${p.port}`;

/** Who may connect to a pod: "anywhere", or the names of the pods in the namespace, with the ports each rule opens. */
function ingressOf(objects: Obj[], labels: Record<string, string>) {
  const sources = new Set<string>();
  const ports = new Set<string>();
  for (const policy of policies(objects)) {
    if (!(policy.spec.policyTypes ?? ["Ingress"]).includes("Ingress") || !matches(policy.spec.podSelector, labels)) continue;
    for (const rule of policy.spec.ingress ?? []) {
      for (const p of rule.ports ?? [{ port: "any" }]) ports.add(portKey(p));
      if (!rule.from?.length) sources.add("anywhere");
      for (const peer of rule.from ?? []) {
        if (peer.ipBlock || peer.namespaceSelector) sources.add(`outside the namespace (${JSON.stringify(peer)})`);
        else for (const w of workloads(objects)) if (matches(peer.podSelector, w.spec.template.metadata.labels)) sources.add(podName(w));
      }
    }
  }
  return { sources: [...sources].sort(), ports: [...ports].sort() };
}

/** Where a pod may connect: pods in the namespace (each with its ports), and ports open to any destination. */
function egressOf(objects: Obj[], labels: Record<string, string>) {
  const pods = new Set<string>();
  const anyDestination = new Set<string>();
  for (const policy of policies(objects)) {
    if (!(policy.spec.policyTypes ?? []).includes("Egress") || !matches(policy.spec.podSelector, labels)) continue;
    for (const rule of policy.spec.egress ?? []) {
      const ports: Port[] = rule.ports ?? [{ port: "any" }];
      if (!rule.to?.length) for (const p of ports) anyDestination.add(portKey(p));
      for (const peer of rule.to ?? []) {
        if (peer.ipBlock || peer.namespaceSelector) pods.add(`outside the namespace (${JSON.stringify(peer)})`);
        else for (const w of workloads(objects)) if (matches(peer.podSelector, w.spec.template.metadata.labels)) for (const p of ports) pods.add(`${podName(w)} ${portKey(p)}`);
      }
    }
  }
  return { pods: [...pods].sort(), anyDestination: [...anyDestination].sort() };
}

// ---- What the code says each app needs ----

const spec = (name: AppName) => APPS.find((a) => a.name === name)!;
const callersOf = (app: AppSpec) => APPS.filter((a) => a.upstreams.includes(app.name)).map((a) => a.name).sort();
const usesRedis = (app: AppSpec) => envReadBy(app).includes("REDIS_URL");
const PUBLIC: readonly AppName[] = ["web", "bff"];
/** Names whose values are secrets (or carry credentials): they may only come from a Secret. */
const SECRET_NAME = /(_SECRETS?|_PRIVATE_KEY|_PUBLIC_KEYS|_DATABASE_URL)$|^REDIS_URL$/;
const clientSecretVar = (client: string) => `${client.toUpperCase()}_CLIENT_SECRET`;

/** The variables an app's code reads that the manifests must set (a _DATA_DIR only matters without a database URL). */
const needed = (app: AppSpec, env: Map<string, unknown>) =>
  envReadBy(app).filter((name) => !(name.endsWith("_DATA_DIR") && env.has(name.replace(/_DATA_DIR$/, "_DATABASE_URL"))));

// ---- The checks ----

const skip = !kubectl;

if (!kubectl && CI) {
  test("kubectl is installed (CI=true): it builds the overlays that the rest of this file checks", () => {
    expect(kubectl, "kubectl not found on PATH; install the Kubernetes client (kubectl, with kustomize built in)").not.toBeNull();
  });
}

describe.skipIf(skip)("the strict schema check", () => {
  const { objects } = kubectl ? render("deploy/k8s/overlays/dev") : { objects: [] };
  const deployment = () => structuredClone(named(objects, "Deployment", "users")!);

  test("passes a Deployment from the build as it is", async () => {
    expect(await schemaProblems(deployment())).toEqual([]);
  });

  test("rejects a misspelled key (readinesProbe) that the models alone let through", async () => {
    const obj = deployment();
    const container = containerOf(obj);
    container.readinesProbe = container.readinessProbe;
    delete container.readinessProbe;
    expect(await schemaProblems(obj)).toEqual([".spec.template.spec.containers[0].readinesProbe: not a field of Deployment (unknown key)"]);
  });

  test("rejects an unknown key deep inside a known one, and a value of the wrong type", async () => {
    const misspelled = deployment();
    containerOf(misspelled).securityContext.readOnlyRootFileSystem = true;
    expect(await schemaProblems(misspelled)).toEqual([".spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem: not a field of Deployment (unknown key)"]);
    const wrongType = deployment();
    wrongType.spec.replicas = "two";
    expect((await schemaProblems(wrongType)).join("\n")).toContain("/spec/replicas");
  });

  test("rejects a kind it has no schema for", async () => {
    expect(await schemaProblems({ apiVersion: "apps/v1", kind: "Deploymnet", metadata: { name: "x" } })).toEqual(["no schema for apps/v1 Deploymnet"]);
  });
});

describe.skipIf(skip)("deploy/k8s/base", () => {
  const base = kubectl ? render("deploy/k8s/base") : { objects: [], text: "", error: null };

  test("builds, and holds no Secret objects and no secret value", () => {
    expect(base.error).toBeNull();
    expect(ofKind(base.objects, "Secret")).toEqual([]);
    expect(base.text).not.toContain("PRIVATE KEY");
    expect(base.text).not.toMatch(/postgres(ql)?:\/\/[^\s]*@/);
  });

  test("secret settings come from Secrets (secretKeyRef), never from a ConfigMap or a literal", () => {
    const offenders: string[] = [];
    for (const configMap of ofKind(base.objects, "ConfigMap"))
      for (const key of Object.keys(configMap.data ?? {})) if (SECRET_NAME.test(key)) offenders.push(`ConfigMap ${configMap.metadata.name}: ${key}`);
    for (const workload of workloads(base.objects))
      for (const entry of containerOf(workload).env ?? []) {
        if (entry.name === "SERVICE_CLIENT_SECRETS") continue; // built from secretKeyRefs: checked below
        if (SECRET_NAME.test(entry.name) && !entry.valueFrom?.secretKeyRef) offenders.push(`${workload.metadata.name}: ${entry.name}`);
      }
    expect(offenders).toEqual([]);
  });

  test("the users service's client list is assembled from the client secrets' own Secret keys", () => {
    const env = containerOf(named(base.objects, "Deployment", "users")!).env ?? [];
    const composed = env.find((e) => e.name === "SERVICE_CLIENT_SECRETS");
    expect(composed?.value).toBe(SERVICE_CLIENTS.map((client) => `${client}=$(${clientSecretVar(client)})`).join(","));
    // Kubernetes expands $(VAR) only from variables defined earlier in the list.
    for (const client of SERVICE_CLIENTS) {
      const at = env.findIndex((e) => e.name === clientSecretVar(client));
      expect(at).toBeGreaterThanOrEqual(0);
      expect(at).toBeLessThan(env.indexOf(composed!));
      expect(env[at]!.valueFrom?.secretKeyRef).toEqual({ name: "storefront-auth", key: clientSecretVar(client) });
      // ...and the client itself presents the same Secret key.
      const own = (containerOf(named(base.objects, "Deployment", client)!).env ?? []).find((e) => e.name === "SERVICE_CLIENT_SECRET");
      expect(own?.valueFrom?.secretKeyRef).toEqual({ name: "storefront-auth", key: clientSecretVar(client) });
    }
  });
});

for (const overlay of ["dev", "prod"] as const) {
  describe.skipIf(skip)(`deploy/k8s/overlays/${overlay}`, () => {
    const build = kubectl ? render(`deploy/k8s/overlays/${overlay}`) : { objects: [], text: "", error: null };
    const { objects } = build;
    const minReplicas = overlay === "prod" ? 3 : 2;

    test("builds with kubectl kustomize", () => {
      expect(build.error).toBeNull();
      expect(objects.length).toBeGreaterThan(0);
    });

    test("every object is valid against the Kubernetes schemas, with no unknown keys", async () => {
      const problems: string[] = [];
      for (const obj of objects) for (const problem of await schemaProblems(obj)) problems.push(`${obj.kind} ${obj.metadata?.name}: ${problem}`);
      expect(problems).toEqual([]);
    });

    test("everything lives in the overlay's namespace, which enforces the restricted Pod Security level", () => {
      const namespace = overlay === "prod" ? "storefront" : "storefront-dev";
      const ns = named(objects, "Namespace", namespace);
      expect(ns?.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
      expect(objects.filter((o) => o.kind !== "Namespace" && (o.metadata as { namespace?: string }).namespace !== namespace).map((o) => `${o.kind} ${o.metadata.name}`)).toEqual([]);
    });

    test("the apps are the eleven of scripts/apps.ts, all from one image", () => {
      expect(ofKind(objects, "Deployment").map((d) => d.metadata.name).sort()).toEqual(APPS.map((a) => a.name).sort());
      expect(new Set(ofKind(objects, "Deployment").map((d) => containerOf(d).image)).size).toBe(1);
    });

    test("ingress and egress are denied by default in the namespace; every pod may resolve names", () => {
      const defaultDeny = policies(objects).find((p) => Object.keys(p.spec.podSelector ?? {}).length === 0 && !p.spec.ingress && !p.spec.egress);
      expect(defaultDeny?.spec.policyTypes?.sort()).toEqual(["Egress", "Ingress"]);
      for (const workload of workloads(objects)) expect(egressOf(objects, workload.spec.template.metadata.labels).anyDestination).toEqual(expect.arrayContaining(["TCP/53", "UDP/53"]));
    });

    test("only web and the BFF take traffic from outside the namespace", () => {
      const open = workloads(objects).filter((w) => ingressOf(objects, w.spec.template.metadata.labels).sources.some((s) => !APPS.some((a) => a.name === s) && !["postgres", "redis"].includes(s)));
      expect(open.map(podName).sort()).toEqual([...PUBLIC].sort());
    });

    for (const app of APPS) {
      describe(app.name, () => {
        const deployment = named(objects, "Deployment", app.name);
        const container = deployment ? containerOf(deployment) : ({ name: app.name, image: "" } as Container);
        const podLabels: Record<string, string> = deployment?.spec.template.metadata.labels ?? {};
        const env = deployment ? envOf(container, objects) : new Map();

        test(`runs bun ${app.entry} as non-root, read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp`, () => {
          expect(container.command).toEqual(["bun", app.entry]);
          const pod = deployment!.spec.template.spec;
          const ctx = { ...pod.securityContext, ...container.securityContext };
          expect(ctx.runAsNonRoot).toBe(true);
          expect(ctx.runAsUser).toBeGreaterThan(0);
          expect(ctx.readOnlyRootFilesystem).toBe(true);
          expect(ctx.allowPrivilegeEscalation).toBe(false);
          expect(ctx.capabilities?.drop).toEqual(["ALL"]);
          expect(ctx.seccompProfile?.type).toBe("RuntimeDefault");
          // The read-only root still leaves a scratch /tmp.
          const tmp = (container.volumeMounts ?? []).find((m: { mountPath: string }) => m.mountPath === "/tmp");
          expect(pod.volumes.find((v: { name: string }) => v.name === tmp?.name)?.emptyDir).toBeDefined();
        });

        test("is ready on /ready, alive on /health, with a startup probe, all on its port", () => {
          const [port] = container.ports ?? [];
          expect(port?.containerPort).toBe(app.defaultPort);
          const target = (probe: { httpGet?: { path: string; port: number | string } } | undefined) =>
            probe?.httpGet && { path: probe.httpGet.path, port: probe.httpGet.port === port?.name ? port.containerPort : probe.httpGet.port };
          expect(target(container.readinessProbe)).toEqual({ path: "/ready", port: app.defaultPort });
          expect(target(container.livenessProbe)).toEqual({ path: "/health", port: app.defaultPort });
          expect(target(container.startupProbe)?.port).toBe(app.defaultPort);
          // The app drains for up to 10 s after SIGTERM: the pod must be given longer than the pause plus that.
          expect(deployment!.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan((container.lifecycle?.preStop?.sleep?.seconds ?? 0) + 10);
        });

        test("requests and is limited to cpu and memory", () => {
          const { requests = {}, limits = {} } = container.resources ?? {};
          expect(Object.keys(requests).sort()).toEqual(["cpu", "memory"]);
          expect(Object.keys(limits).sort()).toEqual(["cpu", "memory"]);
        });

        test(`runs at least ${minReplicas} replicas; its HPA (CPU) and PDB act on the same pods`, () => {
          expect(deployment!.spec.replicas).toBeGreaterThanOrEqual(minReplicas);
          expect(matches(deployment!.spec.selector, podLabels)).toBe(true);
          const hpa = named(objects, "HorizontalPodAutoscaler", app.name)!;
          expect(hpa.apiVersion).toBe("autoscaling/v2");
          expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: app.name });
          expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(minReplicas);
          expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
          expect(hpa.spec.metrics.map((m: { resource?: { name: string } }) => m.resource?.name)).toEqual(["cpu"]);
          const pdb = named(objects, "PodDisruptionBudget", app.name)!;
          expect(pdb.spec.selector).toEqual(deployment!.spec.selector);
          // A budget that lets none go would block every node drain.
          expect(pdb.spec.maxUnavailable ?? hpa.spec.minReplicas - pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
        });

        test("its Service selects its pods and forwards its port to the container", () => {
          const service = named(objects, "Service", app.name)!;
          expect(matches({ matchLabels: service.spec.selector }, podLabels)).toBe(true);
          const [port] = service.spec.ports;
          expect(port.port).toBe(app.defaultPort);
          expect([app.defaultPort, container.ports?.[0]?.name]).toContain(port.targetPort);
        });

        test("sets every environment variable its code reads", () => {
          const reads = envReadBy(app);
          expect(reads).toContain("PORT"); // proves the scan sees this app's reads at all
          expect(needed(app, env).filter((name) => !env.has(name))).toEqual([]);
          expect(env.get("PORT")?.value).toBe(String(app.defaultPort));
          expect(env.has("LOG_LEVEL")).toBe(true); // read by the shared logger, so not seen by the scan
        });

        for (const upstream of app.upstreams) {
          test(`reaches ${upstream} at its Service's DNS name and port`, () => {
            const url = new URL(env.get(`${upstream.toUpperCase()}_URL`)?.value ?? "missing://");
            expect(`${url.protocol}//${url.hostname}:${url.port}`).toBe(`http://${upstream}:${spec(upstream).defaultPort}`);
            expect(named(objects, "Service", upstream)?.spec.ports.map((p: { port: number }) => p.port)).toContain(spec(upstream).defaultPort);
          });
        }

        if (app.hasDatabase || usesRedis(app)) {
          test("takes its database and Redis addresses from the Secret storefront-datastores", () => {
            const expected = [...(app.hasDatabase ? [`${app.name.toUpperCase()}_DATABASE_URL`] : []), ...(usesRedis(app) ? ["REDIS_URL"] : [])];
            for (const name of expected) expect(env.get(name)?.secret).toEqual({ name: expect.stringMatching(/^storefront-datastores(-[a-z0-9]+)?$/), key: name });
          });
        }

        test(app.name === "web" || app.name === "bff" ? "takes traffic from anywhere, on its port only" : `takes traffic only from its callers (${callersOf(app).join(", ")}), on its port only`, () => {
          const ingress = ingressOf(objects, podLabels);
          expect(ingress.sources).toEqual(PUBLIC.includes(app.name) ? ["anywhere"] : callersOf(app));
          expect(ingress.ports).toEqual([`TCP/${app.defaultPort}`]);
        });

        test("may call the apps it calls (each on its port) and reach DNS, Postgres and Redis only as it needs", () => {
          const egress = egressOf(objects, podLabels);
          const datastores = overlay === "dev" ? [...(app.hasDatabase ? ["postgres TCP/5432"] : []), ...(usesRedis(app) ? ["redis TCP/6379"] : [])] : [];
          // In-namespace pods reachable by the any-destination port rules (the dev datastores) count as reachable too.
          const reachable = [...egress.pods, ...workloads(objects).flatMap((w) => egress.anyDestination.filter((p) => w.spec.template.spec.containers[0].ports?.some((cp: { containerPort: number }) => `TCP/${cp.containerPort}` === p)).map((p) => `${podName(w)} ${p}`))];
          expect([...new Set(reachable)].sort()).toEqual([...app.upstreams.map((u) => `${u} TCP/${spec(u).defaultPort}`), ...datastores].sort());
          const ports = ["TCP/53", "UDP/53", ...(app.hasDatabase ? ["TCP/5432"] : []), ...(usesRedis(app) ? ["TCP/6379"] : []), ...(envReadBy(app).includes("NOTIFY_WEBHOOK_URL") ? ["TCP/443"] : [])];
          expect(egress.anyDestination).toEqual(ports.sort());
        });
      });
    }

    if (overlay === "dev") {
      const postgres = named(objects, "StatefulSet", "postgres");
      const redis = named(objects, "StatefulSet", "redis");
      const secrets = ofKind(objects, "Secret");
      const secretValue = (name: string, key: string) => {
        const data = secrets.find((s) => s.metadata.name === name)?.data?.[key];
        return data === undefined ? undefined : Buffer.from(data, "base64").toString("utf8");
      };

      test("runs Postgres 16 as a StatefulSet whose init script creates a database for every app that has one", () => {
        expect(containerOf(postgres!).image).toMatch(/^postgres:16(\b|$)/);
        expect(named(objects, "Service", "postgres")?.spec.ports[0].port).toBe(5432);
        const mount = containerOf(postgres!).volumeMounts.find((m: { mountPath: string }) => m.mountPath === "/docker-entrypoint-initdb.d");
        const volume = postgres!.spec.template.spec.volumes.find((v: { name: string }) => v.name === mount?.name);
        const script = Object.values(named(objects, "ConfigMap", volume?.configMap?.name)?.data ?? {}).join("\n");
        const created = [...script.matchAll(/create database\s+"?([a-z_][a-z0-9_]*)"?/gi)].map((m) => m[1]!.toLowerCase()).sort();
        expect(created).toEqual(APPS.filter((a) => a.hasDatabase).map((a) => a.name).sort());
      });

      test("runs Redis 7 as a StatefulSet with AOF on and no eviction, as compose does", () => {
        expect(containerOf(redis!).image).toMatch(/^redis:7(\b|$)/);
        const command = (containerOf(redis!).command ?? []).join(" ");
        expect(command).toMatch(/--appendonly yes\b/);
        expect(command).toMatch(/--maxmemory-policy noeviction\b/);
        expect(named(objects, "Service", "redis")?.spec.ports[0].port).toBe(6379);
      });

      test("the databases and Redis take connections only from the apps that use them", () => {
        expect(ingressOf(objects, postgres!.spec.template.metadata.labels).sources).toEqual(APPS.filter((a) => a.hasDatabase).map((a) => a.name).sort());
        expect(ingressOf(objects, redis!.spec.template.metadata.labels).sources).toEqual(APPS.filter(usesRedis).map((a) => a.name).sort());
      });

      test("the development Secrets hold every key the pods ask for, and each database URL names its own database on the in-cluster Postgres", () => {
        const missing: string[] = [];
        for (const workload of workloads(objects))
          for (const entry of containerOf(workload).env ?? []) {
            const ref = entry.valueFrom?.secretKeyRef;
            if (ref && !ref.optional && secretValue(ref.name, ref.key) === undefined) missing.push(`${workload.metadata.name}: ${ref.name}/${ref.key}`);
          }
        expect(missing).toEqual([]);
        const passwordRef = (containerOf(postgres!).env ?? []).find((e) => e.name === "POSTGRES_PASSWORD")?.valueFrom?.secretKeyRef;
        const password = secretValue(passwordRef?.name ?? "missing", passwordRef?.key ?? "missing");
        for (const app of APPS.filter((a) => a.hasDatabase)) {
          const ref = envOf(containerOf(named(objects, "Deployment", app.name)!), objects).get(`${app.name.toUpperCase()}_DATABASE_URL`)!.secret!;
          const url = new URL(secretValue(ref.name, ref.key)!);
          expect({ host: url.host, database: url.pathname, password: decodeURIComponent(url.password) }).toEqual({ host: "postgres:5432", database: `/${app.name}`, password: password! });
        }
        expect(secretValue(secrets.find((s) => s.metadata.name.startsWith("storefront-datastores"))!.metadata.name, "REDIS_URL")).toBe("redis://redis:6379");
      });

      test("the dev Postgres creates the databases compose creates (kustomize cannot read outside the overlay, so it is a copy)", () => {
        const read = (path: string) => readFileSync(join(repoRoot, path), "utf8");
        expect(read("deploy/k8s/overlays/dev/init-databases.sql")).toBe(read("compose/init-databases.sql"));
      });

      test("the development secrets say they are for development only", () => {
        for (const file of ["dev-only-auth.env", "dev-only-datastores.env"])
          expect(readFileSync(join(repoRoot, "deploy/k8s/overlays/dev", file), "utf8").split("\n")[0]).toStartWith("# DEVELOPMENT ONLY");
      });
    }

    if (overlay === "prod") {
      test("runs no database and holds no Secret: both are the operator's", () => {
        expect(ofKind(objects, "StatefulSet")).toEqual([]);
        expect(ofKind(objects, "Secret")).toEqual([]);
      });

      test("the Secret keys documented in its kustomization.yaml are exactly the ones the pods ask for", () => {
        const documented: string[] = [];
        let secret = "";
        let optional = false;
        for (const line of readFileSync(join(repoRoot, "deploy/k8s/overlays/prod/kustomization.yaml"), "utf8").split("\n")) {
          const heading = line.match(/^# Secret (\S+)/);
          if (heading) [secret, optional] = [heading[1]!, false];
          if (/^#\s+optional:/.test(line)) optional = true;
          const key = line.match(/^#\s+- ([A-Z][A-Z0-9_]*)\b/);
          if (key && secret) documented.push(`${secret}/${key[1]}${optional ? " (optional)" : ""}`);
        }
        const asked = new Set<string>();
        for (const workload of workloads(objects))
          for (const entry of containerOf(workload).env ?? []) {
            const ref = entry.valueFrom?.secretKeyRef;
            if (ref) asked.add(`${ref.name}/${ref.key}${ref.optional ? " (optional)" : ""}`);
          }
        expect(documented.sort()).toEqual([...asked].sort());
      });

      test("web sets Secure session cookies", () => {
        expect(envOf(containerOf(named(objects, "Deployment", "web")!), objects).get("WEB_SECURE_COOKIES")?.value).toBe("true");
      });
    }
  });
}
