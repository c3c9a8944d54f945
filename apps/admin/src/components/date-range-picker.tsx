import { type FormEvent, useEffect, useState } from "react";
import { type DateRange, type Day, PRESETS, type Preset, rangeProblem } from "../lib/date-range.ts";

/**
 * Presets (7/30/90 days) as a segmented control, and a custom from/to (UTC days, both included) that
 * applies on "Apply" so half-typed dates never reach the API.
 */
export function DateRangePicker({
  range,
  onPreset,
  onCustom,
}: {
  range: DateRange;
  onPreset: (preset: Preset) => void;
  onCustom: (from: Day, to: Day) => void;
}) {
  const [from, setFrom] = useState(range.from);
  const [to, setTo] = useState(range.to);
  const [problem, setProblem] = useState<string | null>(null);
  // Follow the URL (a preset chosen, back/forward).
  useEffect(() => {
    setFrom(range.from);
    setTo(range.to);
    setProblem(null);
  }, [range.from, range.to]);

  function apply(event: FormEvent) {
    event.preventDefault();
    const found = rangeProblem(from, to);
    setProblem(found);
    if (!found) onCustom(from, to);
  }

  return (
    <div className="range-picker">
      <fieldset className="segmented" aria-label="Date range">
        {PRESETS.map((days) => (
          <button key={days} type="button" className="segment" aria-pressed={range.preset === days} onClick={() => onPreset(days)}>
            {days} days
          </button>
        ))}
      </fieldset>
      <form className="range-custom" onSubmit={apply} aria-label="Custom date range" noValidate>
        <label className="inline-field">
          <span>From</span>
          <input
            type="date"
            value={from}
            max={to || undefined}
            onChange={(e) => setFrom(e.target.value)}
            aria-invalid={problem ? true : undefined}
          />
        </label>
        <label className="inline-field">
          <span>To</span>
          <input
            type="date"
            value={to}
            min={from || undefined}
            onChange={(e) => setTo(e.target.value)}
            aria-invalid={problem ? true : undefined}
          />
        </label>
        <button type="submit" className={`button button-small${range.preset === "custom" ? " button-primary" : ""}`}>
          Apply
        </button>
        <span className="hint">UTC days</span>
        {problem ? (
          <p className="inline-error" role="alert">
            {problem}
          </p>
        ) : null}
      </form>
    </div>
  );
}
