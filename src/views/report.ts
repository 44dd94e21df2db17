import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ServiceGraphBuilder, type ServiceGraphBuilderOptions } from '../graph/builder.js';
import { formatCount, formatMs } from '../graph/format.js';
import type { ServiceGraph } from '../graph/types.js';
import { paint, type ViewOptions } from './ansi.js';
import { serviceRows, serviceTable, type ServiceRow } from './service-table.js';
import { TracePicker } from './trace-picker.js';
import { traceToJson, traceTrees, type TraceJson } from './trace-trees.js';

export interface TerminalReportOptions {
  /** Slowest traces shown. Default 5. */
  slowest?: number;
  /** Failing traces shown (besides failing ones already among the slowest). Default 5. */
  failing?: number;
  graph?: ServiceGraphBuilderOptions;
}

export interface TerminalReportJson {
  window: { start: number; end: number; durationMs: number };
  traces: number;
  services: ServiceRow[];
  edges: ServiceGraph['edges'];
  slowest: TraceJson[];
  failing: TraceJson[];
  unknownCallers: number;
  dropped: ServiceGraph['dropped'];
}

/**
 * What `analyze` shows on a terminal, accumulated as span batches stream
 * in: the service graph (for the per-service table, and for --graph) and the
 * few traces worth showing. Holds no span it will not show.
 */
export class TerminalReport {
  readonly #builder: ServiceGraphBuilder;
  readonly #picker: TracePicker;
  readonly #slowest: number;
  readonly #failing: number;

  constructor(options: TerminalReportOptions = {}) {
    this.#slowest = options.slowest ?? 5;
    this.#failing = options.failing ?? 5;
    this.#builder = new ServiceGraphBuilder(options.graph);
    this.#picker = new TracePicker({ slowest: this.#slowest, failing: this.#failing });
  }

  add(spans: readonly ReadableSpan[]): void {
    this.#builder.add(spans);
    this.#picker.add(spans);
  }

  /** The service graph of everything added so far (the same one --graph writes). */
  graph(): ServiceGraph {
    return this.#builder.build();
  }

  render(options: ViewOptions): string {
    const graph = this.graph();
    const { color } = options;
    const seconds = graph.window.end - graph.window.start;
    const heading = paint('Services', 'bold', color) + paint(`  (${formatCount(this.#picker.tracesSeen)} traces over ${formatMs(seconds)})`, 'dim', color);
    return [heading, '', serviceTable(serviceRows(graph), options), '', traceTrees(this.#picker, { ...options, slowest: this.#slowest, failing: this.#failing })].join('\n') + '\n';
  }

  toJSON(): TerminalReportJson {
    const graph = this.graph();
    return {
      window: { start: graph.window.start, end: graph.window.end, durationMs: graph.window.end - graph.window.start },
      traces: this.#picker.tracesSeen,
      services: serviceRows(graph),
      edges: graph.edges,
      slowest: this.#picker.slowest().slice(0, this.#slowest).map(traceToJson),
      failing: this.#picker.failing().slice(0, this.#failing).map(traceToJson),
      unknownCallers: graph.unknownCallers,
      dropped: graph.dropped,
    };
  }
}
