import "../files.css";
import "../dashboard.css";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useSearchParams } from "react-router";
import { ChartPanel } from "../components/charts/chart-panel.tsx";
import { FailuresChart } from "../components/charts/failures-chart.tsx";
import { MimeChart } from "../components/charts/mime-chart.tsx";
import { ScanTimeChart } from "../components/charts/scan-time-chart.tsx";
import { StorageChart } from "../components/charts/storage-chart.tsx";
import { UploadsChart } from "../components/charts/uploads-chart.tsx";
import { DateRangePicker } from "../components/date-range-picker.tsx";
import { Kpi, KpiGrid } from "../components/kpi.tsx";
import { LiveIndicator } from "../components/live-indicator.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { RebuildAnalytics } from "../components/rebuild-analytics.tsx";
import { TopUploaders } from "../components/top-uploaders.tsx";
import {
  formatPercent,
  isQuiet,
  mimeSlices,
  outcomeRows,
  reasonRows,
  scanQueueDepth,
  scanRows,
  storageRows,
} from "../lib/dashboard-data.ts";
import { describeRange, parseRange, rangeParams } from "../lib/date-range.ts";
import { describeError } from "../lib/errors.ts";
import { formatBytes, formatCount, formatDuration, mimeLabel } from "../lib/format.ts";
import { useLiveAnalytics } from "../lib/live-analytics.ts";
import { useTRPC } from "../lib/trpc.ts";

/** Live events refresh the numbers as they change; this catches anything they miss (and queue depths). */
const REFETCH_MS = 30_000;

/**
 * Upload analytics for administrators (DESIGN §8): key figures, five charts and the top uploaders for a
 * range of UTC days kept in the URL. Each panel loads, fails and empties on its own, so one slow or
 * broken query never blanks the page.
 */
export function DashboardPage() {
  const trpc = useTRPC();
  const [params, setParams] = useSearchParams();
  const range = parseRange(params);
  const input = { from: range.from, to: range.to };
  const live = useLiveAnalytics();
  const options = { placeholderData: keepPreviousData, refetchInterval: REFETCH_MS } as const;

  const metrics = useQuery({ ...trpc.analytics.metrics.queryOptions(input), ...options });
  const timeseries = useQuery({ ...trpc.analytics.timeseries.queryOptions(input), ...options });
  const mime = useQuery({ ...trpc.analytics.mimeBreakdown.queryOptions(input), ...options });
  const failures = useQuery({ ...trpc.analytics.failures.queryOptions({ ...input, limit: 20 }), ...options });
  const scans = useQuery({ ...trpc.analytics.scanTimes.queryOptions(input), ...options });
  const storage = useQuery({ ...trpc.analytics.storageUsage.queryOptions(input), ...options });
  const top = useQuery({ ...trpc.analytics.topUploaders.queryOptions({ ...input, limit: 10, by: "count" }), ...options });
  const queues = useQuery({ ...trpc.analytics.queueDepths.queryOptions(), refetchInterval: 10_000 });

  const m = metrics.data;
  const quiet = timeseries.data ? isQuiet(timeseries.data.points) : false;
  const reasons = failures.data ? reasonRows(failures.data.failed, failures.data.quarantined) : [];
  const slices = mime.data ? mimeSlices(mime.data.items, mimeLabel) : [];
  const depth = queues.data ? scanQueueDepth(queues.data.queues) : null;
  const threatsFound = m ? m.quarantined : 0;

  return (
    <>
      <PageHeader
        title="Dashboard"
        description="Upload volume, scan outcomes, scan times and storage for a range of days, updated live."
        actions={<LiveIndicator status={live} />}
      />
      <div className="dashboard-toolbar">
        <DateRangePicker
          range={range}
          onPreset={(preset) => setParams(rangeParams({ preset, from: range.from, to: range.to }, params))}
          onCustom={(from, to) => setParams(rangeParams({ preset: "custom", from, to }, params))}
        />
        <p className="hint" data-testid="range-description">
          {describeRange(range)}
        </p>
        <div className="dashboard-rebuild">
          <RebuildAnalytics from={range.from} to={range.to} label={describeRange(range)} />
        </div>
      </div>
      {range.problem ? (
        <p className="notice" role="status">
          The address asked for a range that cannot be shown ({range.problem.replace(/\.$/, "")}); showing the last 30 days instead.
        </p>
      ) : null}
      {metrics.isError ? (
        <p className="form-error" role="alert">
          Could not load the key figures: {describeError(metrics.error)}
        </p>
      ) : null}

      <KpiGrid>
        <Kpi
          id="uploads"
          label="Uploads"
          loading={metrics.isPending}
          value={m ? formatCount(m.confirmed) : "—"}
          sub={m ? `${formatCount(m.initiated)} started · ${formatBytes(m.bytes.confirmed)}` : undefined}
        />
        <Kpi
          id="success-rate"
          label="Success rate"
          loading={metrics.isPending}
          value={m ? formatPercent(m.successRate) : "—"}
          sub={m ? `${formatCount(m.failed)} failed` : undefined}
          tone={m?.successRate != null && m.successRate < 0.9 ? "danger" : undefined}
        />
        <Kpi
          id="scan-avg"
          label="Avg scan time"
          loading={scans.isPending}
          value={scans.data ? formatDuration(scans.data.avgMs) : "—"}
          sub={scans.data ? `${formatCount(scans.data.count)} scans` : undefined}
        />
        <Kpi
          id="scan-p95"
          label="p95 scan time"
          loading={scans.isPending}
          value={scans.data ? formatDuration(scans.data.p95Ms) : "—"}
          sub={scans.data ? `p50 ${formatDuration(scans.data.p50Ms)}` : undefined}
        />
        <Kpi
          id="scan-queue"
          label="Scan queue"
          loading={queues.isPending}
          value={depth === null ? "—" : formatCount(depth)}
          sub={queues.isError ? describeError(queues.error) : "jobs pending now"}
        />
        <Kpi
          id="storage"
          label="Storage used"
          loading={storage.isPending}
          value={storage.data ? formatBytes(storage.data.current.bytes.total) : "—"}
          sub={storage.data ? `${formatCount(storage.data.current.assets.total)} files` : undefined}
        />
        <Kpi
          id="threats"
          label="Threats"
          loading={metrics.isPending}
          value={m ? formatCount(threatsFound) : "—"}
          sub={m ? `quarantined · ${formatPercent(m.quarantineRate)} of scans` : undefined}
          tone={threatsFound > 0 ? "danger" : undefined}
        />
      </KpiGrid>

      <div className="chart-grid">
        <ChartPanel
          id="chart-uploads"
          title="Uploads per day"
          wide
          query={timeseries}
          empty={quiet}
          summary={
            m
              ? `${formatCount(m.initiated)} started · ${formatCount(Math.max(0, m.scanned - m.quarantined))} clean · ${formatCount(m.quarantined)} quarantined · ${formatCount(m.failed)} failed`
              : undefined
          }
        >
          {() => <UploadsChart rows={outcomeRows(timeseries.data?.points ?? [])} />}
        </ChartPanel>
        <ChartPanel
          id="chart-mime"
          title="File types"
          query={mime}
          empty={slices.length === 0}
          emptyText="No confirmed uploads in this range."
          summary="Confirmed uploads by detected type"
        >
          {() => <MimeChart slices={slices} />}
        </ChartPanel>
        <ChartPanel
          id="chart-failures"
          title="Failures by reason"
          query={failures}
          empty={reasons.length === 0}
          emptyText="No failed or quarantined uploads in this range."
          summary={
            failures.data
              ? `${formatCount(failures.data.failed.total)} failed · ${formatCount(failures.data.quarantined.total)} quarantined`
              : undefined
          }
        >
          {() => <FailuresChart rows={reasons} />}
        </ChartPanel>
        <ChartPanel
          id="chart-scan-times"
          title="Scan time per day"
          query={scans}
          empty={(scans.data?.count ?? 0) === 0}
          emptyText="No files were scanned in this range."
          summary={
            scans.data
              ? `avg ${formatDuration(scans.data.avgMs)} · p50 ${formatDuration(scans.data.p50Ms)} · p95 ${formatDuration(scans.data.p95Ms)}`
              : undefined
          }
        >
          {() => <ScanTimeChart rows={scanRows(scans.data?.days ?? [])} />}
        </ChartPanel>
        <ChartPanel
          id="chart-storage"
          title="Storage used"
          query={storage}
          empty={(storage.data?.points ?? []).every((p) => p.bytes.total === 0)}
          emptyText="Nothing was stored in this range."
          summary={storage.data ? `${formatBytes(storage.data.current.bytes.total)} at the end of the range` : undefined}
        >
          {() => <StorageChart rows={storageRows(storage.data?.points ?? [])} />}
        </ChartPanel>
        <TopUploaders query={top} data={top.data} />
      </div>
    </>
  );
}
