// The worker's structured logs: the Temporal SDK's runtime logger (worker lifecycle, workflow and activity
// logs with their workflow / activity ids) written as pino JSON lines, at METERLINE_LOG_LEVEL, scrubbed of secrets
// like the API's (config/logger.ts).
import { DefaultLogger, type LogEntry, type LogLevel as TemporalLevel } from '@temporalio/worker';
import type pino from 'pino';
import type { LogLevel } from '../config/logger';

const TO_PINO: Record<TemporalLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/** The Temporal level at which entries are produced at all (pino filters again by its own level). */
function temporalLevel(level: LogLevel): TemporalLevel {
  switch (level) {
    case 'trace':
      return 'TRACE';
    case 'debug':
      return 'DEBUG';
    case 'info':
      return 'INFO';
    case 'warn':
      return 'WARN';
    default:
      return 'ERROR';
  }
}

export function temporalRuntimeLogger(log: pino.Logger, level: LogLevel): DefaultLogger {
  return new DefaultLogger(temporalLevel(level), (entry: LogEntry) => {
    log[TO_PINO[entry.level]]({ ...(entry.meta ?? {}) }, entry.message);
  });
}
