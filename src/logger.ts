/**
 * One injected, namespaced logger with levels. info: one line per lifecycle
 * transition; debug: per message or candidate. The library never writes to
 * the console except through the sink a logger is given.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose lines carry `namespace` after this one's. */
  child(namespace: string): Logger;
}

export type LogSink = (level: Exclude<LogLevel, 'silent'>, namespace: string, message: string, fields?: LogFields) => void;

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/* eslint-disable no-console -- the console sink is the one place allowed to print */
export const consoleSink: LogSink = (level, namespace, message, fields) => {
  const line = `[${namespace}] ${message}`;
  const args: unknown[] = fields === undefined ? [line] : [line, fields];
  switch (level) {
    case 'debug':
      console.debug(...args);
      break;
    case 'info':
      console.info(...args);
      break;
    case 'warn':
      console.warn(...args);
      break;
    case 'error':
      console.error(...args);
      break;
  }
};
/* eslint-enable no-console */

/** Creates a logger that passes lines at or above `level` to `sink`. */
export function createLogger(namespace = 'rxpeer', level: LogLevel = 'info', sink: LogSink = consoleSink): Logger {
  const min = ORDER[level];
  const at =
    (lvl: Exclude<LogLevel, 'silent'>) =>
    (message: string, fields?: LogFields): void => {
      if (ORDER[lvl] >= min) sink(lvl, namespace, message, fields);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (sub) => createLogger(`${namespace}:${sub}`, level, sink),
  };
}

/** A logger that drops everything (the default). */
export const silentLogger: Logger = createLogger('rxpeer', 'silent');
