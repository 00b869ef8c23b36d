/**
 * Milliseconds of a history's protobuf Timestamp or Duration (`seconds` may be a Long): the
 * SDK's own converter is internal, and a bench needs no more than this.
 */
export interface ProtoTime {
  seconds?: { toNumber(): number } | number | string | null;
  nanos?: number | null;
}

export function tsToMs(ts: ProtoTime | null | undefined): number {
  if (ts === undefined || ts === null) throw new Error(`Expected timestamp, got ${ts}`);
  const seconds =
    ts.seconds == null ? 0 : typeof ts.seconds === 'object' ? ts.seconds.toNumber() : Number(ts.seconds);
  return seconds * 1000 + Math.floor((ts.nanos || 0) / 1_000_000);
}
