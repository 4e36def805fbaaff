// Plain-text rendering for the CLI: aligned tables and the `stingray status` report. No colours:
// the output is read by humans and by scripts alike (use --json for the latter).

import type { StatusSnapshot } from "../observability/status.ts";

/** Left-aligned columns separated by two spaces; the header row comes first. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

export function formatResources(r: Record<string, number> | undefined): string {
  if (!r || Object.keys(r).length === 0) return "-";
  return Object.entries(r)
    .map(([k, v]) => `${k} ${round(v)}`)
    .join(", ");
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/** "RUNNING 2, STARTING 1" (zero counts left out). */
export function formatStates(states: Record<string, number>): string {
  const parts = Object.entries(states)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${s} ${n}`);
  return parts.length > 0 ? parts.join(", ") : "-";
}

export function formatStatus(snap: StatusSnapshot, now = Date.now()): string {
  const out: string[] = [];
  const rt = snap.runtime;
  const head = [`stingray at ${rt.address ?? "?"}`];
  if (rt.pid !== undefined) head.push(`pid ${rt.pid}`);
  if (rt.startedAt !== undefined) head.push(`up ${formatDuration(now - rt.startedAt)}`);
  out.push(head.join(" · "));
  if (rt.resources) {
    const parts = Object.entries(rt.resources.total).map(([k, total]) => {
      const used = total - (rt.resources!.available[k] ?? total);
      return `${k} ${round(used)}/${round(total)} used`;
    });
    if (parts.length > 0) out.push(`resources: ${parts.join(" · ")}`);
  }
  // A replica thread that would not exit holds its CPU/GPU until the process restarts.
  for (const t of rt.unkillableThreads ?? []) {
    out.push(`! replica ${t.replica} of ${t.app}/${t.deployment}: ${t.message}, for ${formatDuration(now - t.since)}; restart the process (/-/ready fails)`);
  }
  if (snap.nodes && snap.nodes.length > 0) {
    const c = snap.cluster;
    out.push("");
    out.push(`cluster ${c?.name ?? "?"} · this node ${c?.nodeId ?? "?"} · leader ${c?.leader ?? "none"}`);
    out.push(
      table(
        ["NODE", "STATE", "LEADER", "ADDRESS", "RESOURCES USED/TOTAL", "LAST SEEN"],
        snap.nodes.map((n) => [
          n.id,
          n.state,
          n.leader ? "yes" : "",
          n.address ?? "-",
          Object.entries(n.resources.total)
            .map(([k, total]) => `${k} ${round(total - (n.resources.available[k] ?? total))}/${round(total)}`)
            .join(", ") || "-",
          n.lastSeenMsAgo === undefined ? "-" : `${(n.lastSeenMsAgo / 1000).toFixed(1)}s ago`,
        ]),
      ),
    );
    for (const n of snap.nodes) for (const m of n.codeMismatch ?? []) out.push(`! node ${n.id} has other code for ${m.app} (${m.actual}, cluster ${m.expected}): not serving it`);
  }
  out.push("");
  if (snap.applications.length === 0) {
    out.push("no applications");
    return out.join("\n");
  }
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const app of snap.applications) {
    if (app.message) notes.push(`${app.name}: ${app.message}`);
    if (app.deployments.length === 0) rows.push([app.name, app.routePrefix, app.status, "-", "-", "-", "-", "-"]);
    app.deployments.forEach((d, i) => {
      const running = d.replicaStates.RUNNING ?? 0;
      rows.push([
        i === 0 ? app.name : "",
        i === 0 ? app.routePrefix : "",
        i === 0 ? app.status : "",
        d.name,
        d.status,
        `${running}/${d.targetReplicas}`,
        formatStates(d.replicaStates),
        formatResources(d.resourcesPerReplica),
      ]);
      if (d.message) notes.push(`${app.name}/${d.name}: ${d.message}`);
      for (const r of d.replicas ?? []) if (r.message) notes.push(`${app.name}/${d.name} replica ${r.id}: ${r.message}`);
    });
  }
  out.push(table(["APP", "ROUTE", "STATUS", "DEPLOYMENT", "STATUS", "RUNNING", "REPLICAS BY STATE", "RESOURCES/REPLICA"], rows));
  if (notes.length > 0) {
    out.push("");
    for (const n of notes) out.push(`! ${n}`);
  }
  return out.join("\n");
}
