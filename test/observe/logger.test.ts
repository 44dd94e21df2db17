import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, resolveLogFormat, type LogFormat, type LoggerOptions } from '../../src/observe/logger.js';

function sink(): { stream: Writable; lines: () => string[] } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString());
        callback();
      },
    }),
    lines: () => chunks.join('').split('\n').filter(Boolean),
  };
}

function logEverything(options: Omit<LoggerOptions, 'destination'>): string[] {
  const out = sink();
  const log = createLogger({ ...options, destination: out.stream });
  log.trace('t');
  log.debug('d');
  log.info({ packets: 3 }, 'capture started');
  log.warn({ exporter: 'otlp-http', reason: 'http-503' }, 'exporter otlp-http failing: http-503');
  log.error('e');
  return out.lines();
}

describe('the agent log', () => {
  test('JSON lines with level names, the message and its fields', () => {
    const lines = logEverything({ level: 'info', format: 'json' });
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      records.map((r) => [r.level, r.msg]),
      [
        ['info', 'capture started'],
        ['warn', 'exporter otlp-http failing: http-503'],
        ['error', 'e'],
      ],
    );
    assert.equal(records[0].packets, 3);
    assert.equal(records[1].exporter, 'otlp-http');
    assert.equal(records[0].name, 'wiretrace');
    assert.equal(typeof records[0].time, 'number');
  });

  test('--log-level filters: below the level nothing is written, silent writes nothing at all', () => {
    const levelsAt = (level: LoggerOptions['level']): string[] => logEverything({ level, format: 'json' }).map((l) => (JSON.parse(l) as { level: string }).level);
    assert.deepEqual(levelsAt('trace'), ['trace', 'debug', 'info', 'warn', 'error']);
    assert.deepEqual(levelsAt('debug'), ['debug', 'info', 'warn', 'error']);
    assert.deepEqual(levelsAt('warn'), ['warn', 'error']);
    assert.deepEqual(levelsAt('error'), ['error']);
    assert.deepEqual(levelsAt('fatal'), []);
    assert.deepEqual(levelsAt('silent'), []);
  });

  test('pretty: one readable line per message, fields inline, no JSON, no colour when not asked', () => {
    const lines = logEverything({ level: 'info', format: 'pretty', colorize: false });
    assert.equal(lines.length, 3);
    for (const line of lines) assert.throws(() => JSON.parse(line), 'not JSON');
    assert.match(lines[0], /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: capture started \{"packets":3\}$/);
    assert.match(lines[1], /^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: exporter otlp-http failing: http-503 \{"exporter":"otlp-http","reason":"http-503"\}$/);
    assert.ok(!lines.join('\n').includes('\u001b['), 'no ANSI escape');
  });

  test('pretty with colour marks the level with ANSI colour', () => {
    const lines = logEverything({ level: 'warn', format: 'pretty', colorize: true });
    assert.match(lines[0], new RegExp(`${String.fromCharCode(27)}\\[\\d+mWARN`));
  });

  test('auto: pretty on a terminal, JSON otherwise', () => {
    assert.equal(resolveLogFormat('auto', true), 'pretty');
    assert.equal(resolveLogFormat('auto', false), 'json');
    for (const format of ['json', 'pretty'] as LogFormat[]) {
      assert.equal(resolveLogFormat(format, true), format);
      assert.equal(resolveLogFormat(format, false), format);
    }
    const onTerminal = logEverything({ level: 'info', format: 'auto', isTTY: true, colorize: false });
    assert.match(onTerminal[0], /INFO: capture started/);
    const piped = logEverything({ level: 'info', format: 'auto', isTTY: false });
    assert.equal((JSON.parse(piped[0]) as { msg: string }).msg, 'capture started');
  });
});
