/**
 * `svcfleet inspect SERVICE`: a read-only drift report. Hosts are grouped by identical configuration (the
 * snapshot's configHash); the largest group is the baseline and every other group lists only the fields where
 * it differs from it. Outliers (the smallest groups) come first: they are what needs looking at.
 */
import type { ProbeResult } from '../engine/probe.js';
import type { ServiceConfig } from '../remote/protocol.js';
import { foldHosts } from '../util/hostrange.js';
import type { HostFolder } from '../state/queries.js';

export interface ConfigGroup {
  configHash: string;
  hosts: string[];
  config: ServiceConfig;
  /** The baseline (largest) group. */
  baseline: boolean;
  /** Fields that differ from the baseline (empty for the baseline). */
  differences: { field: string; value: unknown; baseline: unknown }[];
  findings: string[];
}

export interface InspectReport {
  service: string;
  groups: ConfigGroup[];
  /** Hosts without a snapshot, grouped by error. */
  problems: { code: string; message: string; hosts: string[] }[];
}

export function inspectReport(service: string, results: readonly ProbeResult[]): InspectReport {
  const byHash = new Map<string, ConfigGroup>();
  const problems = new Map<string, { code: string; message: string; hosts: string[] }>();
  for (const r of results) {
    if (r.snapshot) {
      let g = byHash.get(r.snapshot.configHash);
      if (!g) {
        g = {
          configHash: r.snapshot.configHash,
          hosts: [],
          config: r.snapshot.config,
          baseline: false,
          differences: [],
          findings: r.snapshot.findings.map((f) => f.code),
        };
        byHash.set(r.snapshot.configHash, g);
      }
      g.hosts.push(r.host);
    } else {
      const code = r.error?.code ?? 'unknown';
      const message = r.error?.message.replace(new RegExp(escapeRe(r.host), 'g'), '<host>') ?? '';
      const key = `${code}\0${message}`;
      let p = problems.get(key);
      if (!p) problems.set(key, (p = { code, message, hosts: [] }));
      p.hosts.push(r.host);
    }
  }
  // Baseline: the largest group; ties go to the group seen first (inventory order).
  const groups = [...byHash.values()];
  const baseline = groups.reduce<ConfigGroup | undefined>((best, g) => (!best || g.hosts.length > best.hosts.length ? g : best), undefined);
  if (baseline) {
    baseline.baseline = true;
    for (const g of groups) if (g !== baseline) g.differences = differences(baseline.config, g.config);
  }
  groups.sort((a, b) => a.hosts.length - b.hosts.length || (a.baseline ? 1 : 0) - (b.baseline ? 1 : 0));
  return { service, groups, problems: [...problems.values()].sort((a, b) => b.hosts.length - a.hosts.length) };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function differences(base: ServiceConfig, other: ServiceConfig): ConfigGroup['differences'] {
  const out: ConfigGroup['differences'] = [];
  const b = base as unknown as Record<string, unknown>;
  const o = other as unknown as Record<string, unknown>;
  for (const field of new Set([...Object.keys(b), ...Object.keys(o)])) {
    if (field === 'failure' && b.failure && o.failure) {
      const bf = b.failure as Record<string, unknown>;
      const of = o.failure as Record<string, unknown>;
      for (const sub of new Set([...Object.keys(bf), ...Object.keys(of)])) {
        if (JSON.stringify(bf[sub]) !== JSON.stringify(of[sub])) out.push({ field: `failure.${sub}`, value: of[sub], baseline: bf[sub] });
      }
      continue;
    }
    if (JSON.stringify(b[field]) !== JSON.stringify(o[field])) out.push({ field, value: o[field], baseline: b[field] });
  }
  return out;
}

export function formatInspect(report: InspectReport, fold: HostFolder = foldHosts): string[] {
  const lines: string[] = [];
  const total = report.groups.reduce((n, g) => n + g.hosts.length, 0) + report.problems.reduce((n, p) => n + p.hosts.length, 0);
  lines.push(
    `${report.service} on ${total} host${total === 1 ? '' : 's'}: ${report.groups.length} distinct configuration${report.groups.length === 1 ? '' : 's'}${report.problems.length ? `, ${report.problems.reduce((n, p) => n + p.hosts.length, 0)} without a snapshot` : ''}`,
  );
  for (const g of report.groups) {
    const head = `${g.hosts.length} host${g.hosts.length === 1 ? '' : 's'} ${fold(g.hosts)} [${g.configHash.slice(0, 12)}]`;
    if (g.baseline) {
      lines.push(`${head} (baseline)`);
      lines.push(`    binaryPath ${JSON.stringify(g.config.binaryPath)}; startType ${g.config.startType}; account ${JSON.stringify(g.config.account)}`);
    } else {
      lines.push(`${head} (outlier)`);
      for (const d of g.differences) lines.push(`    ${d.field}: ${JSON.stringify(d.value)} (baseline ${JSON.stringify(d.baseline)})`);
    }
    if (g.findings.length) lines.push(`    findings: ${g.findings.join(', ')}`);
  }
  for (const p of report.problems) lines.push(`${fold(p.hosts)}: ${p.code}: ${p.message} (${p.hosts.length})`);
  return lines;
}
