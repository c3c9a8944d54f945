declare module "parse-prometheus-text-format" {
  /** Metric families of a Prometheus text exposition. */
  export default function parse(text: string): Array<{ name: string; help: string; type: string; metrics: Array<Record<string, unknown>> }>;
}
