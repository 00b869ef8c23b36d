/**
 * The production pipeline's settings as it runs with them: the health watch's window, sample
 * interval and verdict parameters, and the escalation's delays and teams, each from the input
 * or its default (docs/pipelines-and-decisions.md "The pipelines"). Pure: durations are read by the function passed in
 * (the workflow passes the SDK's reader, so `'15 minutes'` means what it means to Temporal).
 */
import { defaultHealthParameters, healthParameterProblems, type HealthParameters } from './health-verdict';

/** A duration as written in config: `'15 minutes'`, `'1 hour'`, or milliseconds. */
export type DurationInput = string | number;

export const PRODUCTION_DEFAULTS = {
  window: '30 minutes',
  sampleInterval: '1 minute',
  realertAfter: '15 minutes',
  escalateAfter: '1 hour',
  developmentTeam: 'development',
  operationsTeam: 'operations',
} as const;

/** Samples per window at most (the interval is raised to fit): bounds the history. */
export const MAX_SAMPLES_PER_WINDOW = 240;

export interface ProductionSettingsInput {
  health?: {
    parameters?: Partial<HealthParameters>;
    window?: DurationInput;
    sampleInterval?: DurationInput;
  };
  escalation?: {
    realertAfter?: DurationInput;
    escalateAfter?: DurationInput;
    developmentTeam?: string;
    operationsTeam?: string;
  };
}

export interface ProductionSettings {
  windowMs: number;
  intervalMs: number;
  parameters: HealthParameters;
  realertMs: number;
  escalateMs: number;
  developmentTeam: string;
  operationsTeam: string;
}

export type SettingsResolution =
  { settings: ProductionSettings; problem?: undefined } | { problem: string; settings?: undefined };

class SettingsProblem extends Error {}

/**
 * The settings, or the first problem in words (health parameters first, then the durations in
 * the order window, sampleInterval, realertAfter, escalateAfter). `toMs` throws or returns a
 * non-number for text it cannot read.
 */
export function resolveProductionSettings(
  input: ProductionSettingsInput,
  toMs: (value: DurationInput) => number,
): SettingsResolution {
  const parameters = { ...defaultHealthParameters, ...(input.health?.parameters ?? {}) };
  const problems = healthParameterProblems(parameters);
  if (problems.length) return { problem: `health parameters: ${problems.join('; ')}` };
  const durationMs = (name: string, value: DurationInput | undefined, fallback: DurationInput): number => {
    let ms: number;
    try {
      ms = toMs(value ?? fallback);
    } catch {
      ms = NaN;
    }
    if (!(Number.isFinite(ms) && ms > 0)) {
      throw new SettingsProblem(
        `${name} must be a positive duration such as '15 minutes' or a number of milliseconds, got ${JSON.stringify(value)}`,
      );
    }
    return ms;
  };
  try {
    const windowMs = durationMs('health.window', input.health?.window, PRODUCTION_DEFAULTS.window);
    const asked = durationMs(
      'health.sampleInterval',
      input.health?.sampleInterval,
      PRODUCTION_DEFAULTS.sampleInterval,
    );
    return {
      settings: {
        windowMs,
        intervalMs: Math.min(windowMs, Math.max(asked, Math.ceil(windowMs / MAX_SAMPLES_PER_WINDOW))),
        parameters,
        realertMs: durationMs(
          'escalation.realertAfter',
          input.escalation?.realertAfter,
          PRODUCTION_DEFAULTS.realertAfter,
        ),
        escalateMs: durationMs(
          'escalation.escalateAfter',
          input.escalation?.escalateAfter,
          PRODUCTION_DEFAULTS.escalateAfter,
        ),
        developmentTeam: input.escalation?.developmentTeam ?? PRODUCTION_DEFAULTS.developmentTeam,
        operationsTeam: input.escalation?.operationsTeam ?? PRODUCTION_DEFAULTS.operationsTeam,
      },
    };
  } catch (err) {
    if (err instanceof SettingsProblem) return { problem: err.message };
    throw err;
  }
}
