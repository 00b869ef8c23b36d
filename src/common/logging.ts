/**
 * Structured logs (pino, JSON lines) for the app and, through an adapter, for the Temporal SDK
 * (worker, workflow and activity loggers). Secrets never reach a log line: known secret values
 * are masked before writing.
 */
import pino, { type Logger as PinoLogger } from 'pino';
import type { LogLevel, LogMetadata, Logger as SdkLogger } from '@temporalio/common';
import { maskSecrets } from './secrets';

export type Logger = PinoLogger;

export function createLogger(level: string, destination: NodeJS.WritableStream = process.stdout): Logger {
  const stream = {
    write: (line: string) => destination.write(maskSecrets(line)),
  };
  return pino(
    {
      level,
      base: { app: 'release-flow' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // The SDK reports failures under `error`; without a serializer an Error logs as {}.
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    stream,
  );
}

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Hands the SDK's log calls to pino, keeping the SDK's metadata (workflowId, activityType...). */
export function sdkLogger(logger: Logger): SdkLogger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata) =>
    logger[LEVELS[level]]({ ...meta }, message);
  return {
    log,
    trace: (m, meta) => log('TRACE', m, meta),
    debug: (m, meta) => log('DEBUG', m, meta),
    info: (m, meta) => log('INFO', m, meta),
    warn: (m, meta) => log('WARN', m, meta),
    error: (m, meta) => log('ERROR', m, meta),
  };
}
