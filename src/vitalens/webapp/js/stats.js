// twin: vitalens/aggregate.py
// numpy's percentile (linear interpolation) and median, and vitalens.aggregate's IQR-then-median.

export function percentile(values, q) {
  const sorted = Float64Array.from(values).sort();
  const position = (sorted.length - 1) * (q / 100);
  const lower = Math.floor(position), upper = Math.min(lower + 1, sorted.length - 1);
  const t = position - lower;
  const diff = sorted[upper] - sorted[lower];
  return t >= 0.5 ? sorted[upper] - diff * (1 - t) : sorted[lower] + diff * t;
}

export function median(values) {
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const IQR_FENCE = 1.5;

// Inside the Tukey fences [Q1 - fence*IQR, Q3 + fence*IQR]; fewer than 4 values are all kept.
export function iqrInliers(values, fence = IQR_FENCE) {
  if (values.length < 4) return values.map(() => true);
  const q1 = percentile(values, 25), q3 = percentile(values, 75), spread = q3 - q1;
  return values.map((v) => v >= q1 - fence * spread && v <= q3 + fence * spread);
}

export function aggregateEstimates(values, fence = IQR_FENCE) {
  const finite = values.map((v, i) => [v, i]).filter(([v]) => Number.isFinite(v));
  if (!finite.length) throw new Error('no finite estimates to aggregate');
  const keep = iqrInliers(finite.map(([v]) => v), fence);
  const kept = finite.filter((_, i) => keep[i]);
  const keptIndices = new Set(kept.map(([, i]) => i));
  const rejected = values.map((_, i) => i).filter((i) => !keptIndices.has(i));
  return { estimate: median(kept.map(([v]) => v)), nInputs: values.length, nUsed: kept.length, nRejected: rejected.length, rejected };
}
