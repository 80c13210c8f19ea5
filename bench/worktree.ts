// Older code to measure against: a detached `git worktree` of one commit in a temporary folder, its dependencies
// installed from Bun's cache (`bun install --frozen-lockfile`), removed afterwards, also when the run fails or
// is interrupted. Nothing in the main checkout changes but git's list of worktrees, for as long as it exists.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export type Worktree = { commit: string; dir: string; remove(): Promise<void> };

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const INSTALL_TIMEOUT_MS = 120_000;
const live = new Map<string, Worktree>();
// A last resort when the runner exits without its clean-up (an uncaught error): synchronous, as "exit" requires.
process.on("exit", () => {
  for (const tree of live.values()) {
    Bun.spawnSync(["git", "worktree", "remove", "--force", tree.dir], { cwd: repoRoot, stdout: "ignore", stderr: "ignore" });
    rmSync(join(tree.dir, ".."), { recursive: true, force: true });
  }
});

async function run(cmd: string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  const proc = Bun.spawn(cmd, { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  return { code: proc.signalCode ? null : proc.exitCode, output: `${out}${err}`.trim() };
}

const lastLine = (text: string) => text.split("\n").filter(Boolean).at(-1) ?? "(no output)";

/**
 * `commit` checked out in a temporary folder with its dependencies installed. Throws an error saying why when
 * that cannot be done (not a git checkout, an unknown commit, packages missing from Bun's cache offline); what
 * was made is removed first.
 */
export async function checkoutWorktree(commit: string): Promise<Worktree> {
  const parent = mkdtempSync(join(tmpdir(), "storefront-bench-worktree-"));
  const dir = join(parent, "tree");
  const added = await run(["git", "worktree", "add", "--detach", dir, commit], repoRoot, 60_000);
  if (added.code !== 0) {
    rmSync(parent, { recursive: true, force: true });
    throw new Error(`git worktree add ${commit} failed: ${lastLine(added.output)}`);
  }
  let removing: Promise<void> | null = null;
  const tree: Worktree = {
    commit,
    dir,
    remove: () =>
      (removing ??= (async () => {
        const removed = await run(["git", "worktree", "remove", "--force", dir], repoRoot, 60_000);
        if (removed.code !== 0) console.error(`git worktree remove ${dir}: ${lastLine(removed.output)}`);
        rmSync(parent, { recursive: true, force: true });
        live.delete(dir);
      })()),
  };
  live.set(dir, tree);
  const installed = await run([process.execPath, "install", "--frozen-lockfile"], dir, INSTALL_TIMEOUT_MS);
  if (installed.code !== 0) {
    await tree.remove();
    const why = installed.code === null ? `did not finish within ${INSTALL_TIMEOUT_MS / 1000} s` : lastLine(installed.output);
    throw new Error(`bun install --frozen-lockfile in the worktree of ${commit} failed: ${why}`);
  }
  return tree;
}

/** Removes every worktree still there (the runner's clean-up on error or Ctrl-C). */
export async function removeWorktrees(): Promise<void> {
  await Promise.all([...live.values()].map((tree) => tree.remove()));
}
