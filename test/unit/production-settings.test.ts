import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { durationToMs } from '../../src/domain/duration-ms';
import { defaultHealthParameters } from '../../src/domain/health-verdict';
import {
  MAX_SAMPLES_PER_WINDOW,
  resolveProductionSettings,
  type ProductionSettingsInput,
} from '../../src/domain/production-settings';

const MINUTE = 60_000;

describe('production settings', () => {
  it('defaults, overrides, and the sample interval raised to fit the window', () => {
    const table: [string, ProductionSettingsInput, Record<string, unknown>][] = [
      [
        'defaults',
        {},
        {
          windowMs: 30 * MINUTE,
          intervalMs: MINUTE,
          realertMs: 15 * MINUTE,
          escalateMs: 60 * MINUTE,
          developmentTeam: 'development',
          operationsTeam: 'operations',
        },
      ],
      [
        'milliseconds',
        { health: { window: 10_000, sampleInterval: 1_000 } },
        { windowMs: 10_000, intervalMs: 1_000 },
      ],
      [
        'an interval too short for the window is raised',
        { health: { window: '4 hours', sampleInterval: '1 second' } },
        { windowMs: 240 * MINUTE, intervalMs: Math.ceil((240 * MINUTE) / MAX_SAMPLES_PER_WINDOW) },
      ],
      [
        'an interval longer than the window is the window',
        { health: { window: '1 minute', sampleInterval: '5 minutes' } },
        { intervalMs: MINUTE },
      ],
      [
        'teams and delays',
        {
          escalation: {
            realertAfter: '2 minutes',
            escalateAfter: 600_000,
            developmentTeam: 'web',
            operationsTeam: 'sre',
          },
        },
        { realertMs: 2 * MINUTE, escalateMs: 10 * MINUTE, developmentTeam: 'web', operationsTeam: 'sre' },
      ],
    ];
    for (const [name, input, expected] of table) {
      const resolved = resolveProductionSettings(input, durationToMs);
      assert.equal(resolved.problem, undefined, name);
      assert.ok(resolved.settings, name);
      assert.deepEqual(resolved.settings.parameters, { ...defaultHealthParameters }, name);
      for (const [key, value] of Object.entries(expected)) {
        assert.equal(resolved.settings[key as keyof typeof resolved.settings], value, `${name}: ${key}`);
      }
    }
    const tuned = resolveProductionSettings({ health: { parameters: { maxErrorRate: 0.2 } } }, durationToMs);
    assert.equal(tuned.settings?.parameters.maxErrorRate, 0.2);
    assert.equal(tuned.settings?.parameters.minRequests, defaultHealthParameters.minRequests);
  });

  it('the first problem, in words a person can act on', () => {
    const table: [string, ProductionSettingsInput, string][] = [
      [
        'bad parameter',
        { health: { parameters: { maxErrorRate: 2 } } },
        'health parameters: maxErrorRate must be between 0 and 1',
      ],
      [
        'unreadable window',
        { health: { window: 'soon' } },
        `health.window must be a positive duration such as '15 minutes' or a number of milliseconds, got "soon"`,
      ],
      [
        'zero interval',
        { health: { sampleInterval: 0 } },
        'health.sampleInterval must be a positive duration',
      ],
      [
        'negative realert',
        { escalation: { realertAfter: -5 } },
        'escalation.realertAfter must be a positive duration',
      ],
      [
        'escalate not a number',
        { escalation: { escalateAfter: Number.NaN } },
        'escalation.escalateAfter must be a positive duration',
      ],
      [
        'parameters before durations',
        { health: { parameters: { maxErrorRate: -1 }, window: 'soon' } },
        'health parameters:',
      ],
      ['window before interval', { health: { window: 'soon', sampleInterval: 'later' } }, 'health.window'],
    ];
    for (const [name, input, problem] of table) {
      const resolved = resolveProductionSettings(input, durationToMs);
      assert.ok(resolved.problem?.startsWith(problem), `${name}: ${resolved.problem}`);
    }
  });
});
